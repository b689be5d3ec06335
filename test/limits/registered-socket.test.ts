import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { Connection } from '../../src/core/connection';
import type { CloseCode, ErrorCode } from '../../src/core/errors';
import { CloseCode as Codes } from '../../src/core/errors';
import type { Event } from '../../src/core/events/event';
import type { Extension, SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';

/** A binary protocol like /yjs: it cannot drop frames, so the node paces and polices it. */
class BinaryConnection implements Connection {
  readonly id = randomUUID();
  readonly endpoint = 'yjs';
  readonly joinsRooms = false;
  readonly limitsOwnRate = false;
  readonly rooms = new Set<string>();
  readonly identity = { user: `raw-${this.id}` };
  constructor(readonly socket: WebSocket) {}
  deliver(_event: Event): void {}
  ack(_id: string | number, _answer: unknown): void {}
  error(_id: string | number | undefined, _code: ErrorCode, _message: string): void {}
  close(code: CloseCode, reason: string): void {
    this.socket.close(code, reason);
  }
}

/** Server-side sockets of the `/raw` endpoint, newest last. */
const serverSockets: WebSocket[] = [];

/**
 * `/raw`: registers each socket with the node; a text frame "flood" makes it send a
 * 1 MiB chunk every 5 ms while the socket is open, at most 200: more than the kernel's
 * socket buffers on loopback (they autotune up to 32 MiB) can hold.
 */
function rawEndpoint(): Extension {
  const sockets = new WebSocketServer({ noServer: true });
  return {
    name: 'raw',
    install(node) {
      node.addUpgrade('/raw', (req, socket, head) => {
        sockets.handleUpgrade(req, socket, head, (ws) => {
          serverSockets.push(ws);
          const conn = new BinaryConnection(ws);
          node.register(conn, ws);
          ws.on('close', () => node.track(node.disconnect(conn)));
          ws.on('message', (data, isBinary) => {
            if (isBinary || data.toString() !== 'flood') return;
            const chunk = Buffer.alloc(1024 * 1024, 1);
            let sent = 0;
            const more = () => {
              if (ws.readyState !== ws.OPEN || ++sent > 200) return;
              ws.send(chunk);
              setTimeout(more, 5);
            };
            more();
          });
        });
      });
    },
    close() {
      for (const socket of sockets.clients) socket.terminate();
    },
  };
}

describe('limits of a socket registered with the node (any protocol)', () => {
  let node: SwarmNode;
  const sockets: WebSocket[] = [];
  const open = async (options?: WebSocket.ClientOptions) => {
    const socket = new WebSocket(`ws://127.0.0.1:${node.port}/raw`, options);
    sockets.push(socket);
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await within(new Promise((resolve) => socket.once('open', resolve)), 'raw socket open');
    return { socket, closed };
  };

  before(async () => {
    node = await startNode({
      extensions: [rawEndpoint()],
      env: {
        YJS_RATE_LIMIT_PER_SEC: '10',
        YJS_RATE_LIMIT_BURST: '10',
        MAX_SEND_BUFFER_BYTES: String(256 * 1024),
        // A client that does not read cannot answer pings either; this node leaves that to the next test.
        PING_INTERVAL_MS: '0',
      },
    });
  });
  after(async () => {
    for (const socket of sockets) socket.terminate();
    await node.close();
  });

  it('reads a socket that sends past its rate more slowly instead of closing it, and lets one within its rate be', async () => {
    const calm = await open();
    const flood = await open();
    const [calmServer, floodServer] = serverSockets.slice(-2) as [WebSocket, WebSocket];
    const count = (socket: WebSocket) => {
      let n = 0;
      socket.on('message', () => n++);
      return () => n;
    };
    const [calmCount, floodCount] = [count(calmServer), count(floodServer)];
    const started = Date.now();
    for (let i = 0; i < 5; i++) calm.socket.send(Buffer.from([i]));
    for (let i = 0; i < 30; i++) flood.socket.send(Buffer.from([i]));
    await waitFor(() => calmCount() === 5, 'the calm socket’s frames');
    // What arrived in one read is handled: 20 frames past a burst of 10, in debt.
    await waitFor(() => floodCount() === 30, 'the flooding frames');
    flood.socket.send(Buffer.from([30]));
    await waitFor(() => floodCount() === 31, 'the frame after the flood', 10_000);
    // Not read again until the debt is repaid at 10/s: the socket cannot have been read sooner.
    assert.ok(Date.now() - started >= 1500, 'the flood was paced');
    assert.equal(flood.socket.readyState, WebSocket.OPEN);
    assert.equal(calm.socket.readyState, WebSocket.OPEN);
  });

  it('closes a socket that does not read with 4508', async () => {
    const slow = await open();
    slow.socket.send('flood');
    slow.socket.pause();
    const server = serverSockets.at(-1)!;
    // Had the node kept buffering, it would never close, and the client would get all 200 MiB.
    await waitFor(() => server.readyState === WebSocket.CLOSING, 'the node to close the slow socket', 10_000);
    slow.socket.resume();
    let got = 0;
    slow.socket.on('message', () => got++);
    assert.equal(await within(slow.closed, 'slow socket closed', 5000), Codes.SlowConsumer);
    assert.ok(got < 200, `the node stopped sending after ${got} MiB`);
  });

  it('closes a socket that stops answering pings with 4504', async () => {
    const pinging = await startNode({ extensions: [rawEndpoint()], env: { PING_INTERVAL_MS: '250' } });
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${pinging.port}/raw`, { autoPong: false });
      sockets.push(socket);
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      assert.equal(await within(closed, 'dead socket closed', 3000), Codes.HeartbeatTimeout);
    } finally {
      await pinging.close();
    }
  });
});
