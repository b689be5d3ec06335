import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import WebSocket from 'ws';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { CloseCode } from '../../src/core/errors';
import { revokeUser } from '../../src/modules/auth/revoke';
import { Y } from '../../src/modules/yjs/esm';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startAuthNodes, token } from '../auth/auth-helpers';
import { startNode, uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { waitFor, within } from '../helpers/wait';
import { destroyAll, type Provider, provider, synced } from './yjs-helpers';

interface Close {
  readonly code: number;
  readonly reason: string;
}

/** The provider's next close as the server sent it. */
function nextClose(p: Provider): Promise<Close> {
  return new Promise((resolve) => {
    const listener = (event: { code: number; reason: string } | null) => {
      if (!event) return;
      p.off('connection-close', listener);
      resolve({ code: event.code, reason: event.reason });
    };
    p.on('connection-close', listener);
  });
}

/** A y-websocket 3.x provider that treats the close as final: it emitted `closed` and will not connect again. */
async function stops(p: Provider, close: Promise<Close>, code: number): Promise<Close> {
  const closed = new Promise<{ code: number }>((resolve) => p.once('closed', resolve));
  const got = await within(close, `close ${code}`, 8000);
  assert.equal(got.code, code);
  assert.ok(got.reason.length > 0, 'the close carries a reason');
  assert.equal((await within(closed, 'the provider’s closed event')).code, code);
  assert.equal(p.shouldConnect, false, 'the provider stopped');
  return got;
}

/**
 * A y-websocket 3.x provider that tries again: after the close it starts a new connection
 * (its `status` goes to `connecting`; a refused attempt may be over before a poll sees it).
 */
async function reconnects(
  p: Provider,
  close: Promise<Close>,
  code: number,
  timeoutMs = 8000,
): Promise<Close> {
  const attempt = new Promise<void>((resolve) => {
    const listener = (event: { status: string }) => {
      if (event.status !== 'connecting') return;
      p.off('status', listener);
      resolve();
    };
    void close.then(() => p.on('status', listener));
  });
  const got = await within(close, `close ${code}`, timeoutMs);
  assert.equal(got.code, code);
  assert.ok(got.reason.length > 0, 'the close carries a reason');
  assert.equal(p.shouldConnect, true, 'the provider still wants to connect');
  await within(attempt, 'the provider to connect again', timeoutMs);
  return got;
}

/** `ws` without automatic pongs: a client whose pongs never come back. */
class NoPong extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols, { autoPong: false });
  }
}

describe('close codes on /yjs and what a y-websocket 3.x provider does with them', () => {
  const nodes: SwarmNode[] = [];
  const start = async (env: Record<string, string> = {}, yjs = new YjsExtension()) => {
    const node = await startNode({ extensions: [yjs], env });
    nodes.push(node);
    return node;
  };
  afterEach(() => destroyAll());
  after(async () => {
    for (const node of nodes) await node.close();
  });

  it('1003 for a text frame: the provider reconnects and syncs again', async () => {
    const node = await start();
    const p = await synced(provider(node, uniquePrefix('text')));
    const close = nextClose(p);
    p.ws!.send('not binary');
    assert.equal((await reconnects(p, close, CloseCode.UnsupportedData)).reason, 'frames on /yjs are binary');
    await synced(p);
  });

  it('4400 for a frame that does not decode: the provider stops', async () => {
    const node = await start();
    const p = await synced(provider(node, uniquePrefix('bad')));
    const close = nextClose(p);
    // A sync message of type 7: there is none.
    p.ws!.send(new Uint8Array([0, 7, 0]));
    await stops(p, close, CloseCode.BadYjsFrame);
  });

  it('4413 for a frame over YJS_MAX_FRAME_BYTES, with the limit as reason: the provider stops', async () => {
    const node = await start({ YJS_MAX_FRAME_BYTES: '1024' });
    const p = await synced(provider(node, uniquePrefix('big')));
    const close = nextClose(p);
    p.doc.getText('text').insert(0, 'x'.repeat(4000));
    const got = await stops(p, close, CloseCode.YjsFrameTooBig);
    assert.equal(got.reason, 'frame over 1024 bytes (YJS_MAX_FRAME_BYTES)');
  });

  it('4504 when pongs do not come back: the provider reconnects', async () => {
    const node = await start({ PING_INTERVAL_MS: '200' });
    const p = provider(node, uniquePrefix('pong'), new Y.Doc(), {}, NoPong);
    const close = nextClose(p);
    assert.equal((await reconnects(p, close, CloseCode.HeartbeatTimeout)).reason, 'no pong');
  });

  it('1012 when the node drains: the provider reconnects (to another node behind the load balancer)', async () => {
    const node = await start();
    const p = await synced(provider(node, uniquePrefix('drain')));
    const close = nextClose(p);
    const drained = node.drain(2000);
    assert.equal((await reconnects(p, close, CloseCode.ServiceRestart)).reason, 'node draining');
    await drained;
  });

  it('4508 for a reader that does not read, with the reason docs/codes.md gives: the provider reconnects, resyncs and holds the whole document', async () => {
    const yjs = new YjsExtension();
    // No compaction of the 20 MiB written below: merging it every 1 MiB would take most of the test.
    const node = await start(
      { MAX_SEND_BUFFER_BYTES: String(256 * 1024), YJS_COMPACT_BYTES: String(64 * 1024 * 1024) },
      yjs,
    );
    const room = uniquePrefix('slow');
    const p = await synced(provider(node, room));
    const close = nextClose(p);
    // The provider's socket is `ws`'s: paused, it reads nothing, so the node's send buffer for it fills.
    const socket = p.ws as unknown as WebSocket;
    socket.pause();
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (update: Uint8Array) => updates.push(update));
    // 40 x 512 KiB = 20 MiB: more than the kernel's socket buffers on loopback hold.
    for (let i = 0; i < 40; i++) source.getMap('blobs').set(`b${i}`, String(i % 10).repeat(512 * 1024));
    for (const update of updates) await yjs.applyUpdate(room, update);
    const serverSockets = (yjs as unknown as { open: Map<WebSocket, unknown> }).open;
    await waitFor(
      () => [...serverSockets.keys()].some((s) => s.readyState === s.CLOSING),
      'the node to close the reader that does not read',
    );
    // Reading again, it takes what the kernel holds, then the close frame.
    socket.resume();
    const got = await reconnects(p, close, CloseCode.SlowConsumer);
    assert.equal(got.reason, 'send buffer full: read faster, then reconnect');
    await synced(p, 20_000);
    await waitFor(
      () => p.doc.getMap('blobs').size === 40,
      'the reconnected provider to hold the whole document',
      20_000,
    );
    assert.deepEqual(p.doc.getMap('blobs').toJSON(), source.getMap('blobs').toJSON());
    source.destroy();
  });

  it('1011 when the room cannot be read for another reason than Redis: the provider reconnects', async () => {
    let failing = true;
    const node = await startNode({
      extensions: [new YjsExtension()],
      backend: (config) => {
        const backend = new MemoryBackend(config.nodeId, new SharedMemory(config.historyLimit));
        const list = backend.awareness.list.bind(backend.awareness);
        backend.awareness.list = async (room, maxAgeMs) => {
          if (failing) throw new Error('a store that fails');
          return list(room, maxAgeMs);
        };
        return backend;
      },
    });
    nodes.push(node);
    const p = provider(node, uniquePrefix('internal'));
    const close = nextClose(p);
    await reconnects(p, close, CloseCode.InternalError);
    failing = false;
    await synced(p);
  });
});

describe('4503 on /yjs when Redis is unavailable', () => {
  let redis: TestRedis;
  let node: SwarmNode;
  afterEach(() => destroyAll());
  after(async () => {
    await node?.close();
    await redis?.close();
  });

  it('closes with 4503 when an update cannot be stored; the provider reconnects, and its edit is stored once Redis is back', async () => {
    redis = await TestRedis.start();
    const yjs = new YjsExtension();
    node = await startRedisNode(redis.url, uniquePrefix('unavail'), { extensions: [yjs] });
    const room = uniquePrefix('room');
    const p = await synced(provider(node, room));
    const close = nextClose(p);
    await redis.stop();
    p.doc.getText('text').insert(0, 'kept');
    const got = await within(close, 'close 4503', 15_000);
    assert.equal(got.code, CloseCode.Unavailable);
    assert.ok(got.reason.length > 0);
    assert.equal(p.shouldConnect, true, 'the provider keeps trying');
    await redis.resume();
    await synced(p, 20_000);
    await waitFor(
      async () => (await yjs.getDoc(room)).getText('text').toString() === 'kept',
      'the edit stored after the reconnect',
      20_000,
    );
  });
});

describe('tokens and y-websocket 3.x', () => {
  let nodes: SwarmNode[] = [];
  afterEach(() => destroyAll());
  after(async () => {
    for (const node of nodes) await node.close();
  });

  it('4403 when the user is revoked: the provider stops', async () => {
    nodes = await startAuthNodes(1, { extensions: () => [new YjsExtension()] });
    const claims = {
      sub: 'kicked',
      rooms: { 'doc-*': 'write' as const },
      iat: Math.floor(Date.now() / 1000) - 5,
    };
    const p = await synced(provider(nodes[0]!, 'doc-kick', new Y.Doc(), { token: await token(claims) }));
    const close = nextClose(p);
    await revokeUser(nodes[0]!, 'kicked', 'doc-kick');
    await stops(p, close, CloseCode.Revoked);
  });

  it('4401 at expiry stops the provider; the app sets a new token in params and calls connect(), and its edits go through', async () => {
    const node = nodes[0]!;
    const claims = { sub: 'u-exp', rooms: { 'doc-*': 'write' as const } };
    const p = await synced(
      provider(node, 'doc-exp', new Y.Doc(), { token: await token({ ...claims, expiresIn: 2 }) }),
    );
    await stops(p, nextClose(p), CloseCode.TokenExpired);
    p.doc.getText('text').insert(0, 'written while expired');
    // What docs/yjs.md tells an app to do after `closed` with 4401: a fresh token, then connect().
    p.params.token = await token({ ...claims, expiresIn: 60 });
    p.connect();
    await synced(p);
    const reader = await synced(
      provider(node, 'doc-exp', new Y.Doc(), { token: await token({ ...claims, expiresIn: 60 }) }),
    );
    await waitFor(
      () => reader.doc.getText('text').toString() === 'written while expired',
      'the edit after the refresh',
    );
  });
});
