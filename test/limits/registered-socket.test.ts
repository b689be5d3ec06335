import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { Connection } from '../../src/connection';
import type { CloseCode, ErrorCode } from '../../src/errors';
import { CloseCode as Codes } from '../../src/errors';
import type { Event } from '../../src/events/event';
import type { Extension, SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor, within } from '../helpers/wait';

/** A binary protocol like /yjs: it cannot drop frames, so the node's limits do the policing. */
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
        RATE_LIMIT_PER_SEC: '10',
        RATE_LIMIT_BURST: '10',
        RATE_LIMIT_MAX_DROPS: '20',
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

  it('closes a socket that keeps flooding with 4429, and lets one within its rate be', async () => {
    const calm = await open();
    const flood = await open();
    for (let i = 0; i < 5; i++) calm.socket.send(Buffer.from([i]));
    for (let i = 0; i < 100; i++) flood.socket.send(Buffer.from([i]));
    assert.equal(await within(flood.closed, 'flood closed'), Codes.RateLimited);
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

  it('closes a socket that stops answering pings with 4408', async () => {
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
