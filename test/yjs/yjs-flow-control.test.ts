import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { MAX_BACKLOG_BYTES } from '../../src/core/limits/flow-control';
import { Y, type YDoc } from '../../src/modules/yjs/esm';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { scrape } from '../ops/scrape';
import { destroyAll, provider, synced, yjsServerUrl } from './yjs-helpers';

type V2Module = typeof import('y-websocket-v2', { with: { 'resolution-mode': 'import' }});
const v2: V2Module = require('y-websocket-v2');

const UPDATES = 10_000;
const READERS = 10;
/** Each update carries this much, so that 10,000 unread updates would show on the node's heap. */
const VALUE = 'x'.repeat(512);
/**
 * What one paused writer may hold on the node beyond the backlog bound: one read of its
 * socket (at most 64 KiB) and the frame being parsed.
 */
const READ_SLACK = 128 * 1024;
/**
 * Growth of the writer's node (heap plus Buffers, garbage included: a scrape cannot run
 * the collector) allowed while it is slowed. Measured 19-84 MiB without a heap cap: most of it is compaction
 * merging a document that grows to ~5.5 MB every 200 updates. The exact bound is the
 * backlog's (asserted too); this is a coarse ceiling on everything else.
 */
const NODE_GROWTH_BOUND = 96 * 1024 * 1024;

/** The old-space cap of both nodes (MiB): a few times what the writer's node holds live. */
const HEAP_CAP_MIB = 128;

interface Writer {
  readonly doc: YDoc;
  readonly closes: number[];
  destroy(): void;
}

/** A y-websocket 2.x provider (installed as `y-websocket-v2`), which reconnects on every close. */
function v2Writer(port: number, room: string): Writer {
  const doc = new Y.Doc();
  const closes: number[] = [];
  const p = new v2.WebsocketProvider(yjsServerUrl(port), room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  p.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0));
  return {
    doc,
    closes,
    destroy: () => {
      p.destroy();
      doc.destroy();
    },
  };
}

function v3Writer(port: number, room: string): Writer {
  const p = provider(port, room);
  const closes: number[] = [];
  p.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0));
  return { doc: p.doc, closes, destroy: () => {} };
}

async function nodeMemory(port: number): Promise<number> {
  const metrics = await scrape(port);
  return metrics.value('nodejs_heap_size_used_bytes') + metrics.value('nodejs_external_memory_bytes');
}

describe('flow control of a fast Yjs writer (two node processes on Redis)', () => {
  let redis: TestRedis;
  let a: NodeProcess;
  let b: NodeProcess;
  const cleanups: (() => void)[] = [];

  before(async () => {
    redis = await TestRedis.start();
    // A capped old space: V8 collects before it would pass it, so what the scrapes see is
    // closer to the live heap, and a node whose live heap grew past it would die.
    // A burst of 50 frames (the default is 10,000; the rate stays at its default, 2,000/s).
    // The writer's node merges queued updates into one append (yjs-connection.ts) and can
    // keep up with 10,000 updates without its backlog ever filling, and a loaded machine may
    // send them slower than any rate; but the writer has written all of them at once, so
    // each read of its socket (64 KiB, ~120 frames) is more than the bucket can hold, and
    // the rate part pauses it whatever the machine's speed.
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('flow'),
      NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}`,
      YJS_RATE_LIMIT_BURST: '50',
    };
    a = await spawnNode(env);
    b = await spawnNode(env);
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    destroyAll();
  });
  after(async () => {
    for (const node of [a, b]) node?.kill('SIGKILL');
    await Promise.all([a?.exited, b?.exited]);
    await redis.close();
  });

  async function writeFlatOut(writerOf: (port: number, room: string) => Writer): Promise<string> {
    const room = uniquePrefix('flood');
    const readers = await Promise.all(
      Array.from({ length: READERS }, () => synced(provider(b.port, room), 10_000)),
    );
    const writer = writerOf(a.port, room);
    cleanups.push(() => writer.destroy());
    await waitFor(
      async () => (await scrape(a.port)).value('swarmcast_connections', { protocol: 'yjs' }) === 1,
      'the writer to connect',
    );
    const pausesBefore = (await scrape(a.port)).value('swarmcast_flow_pauses_total');
    const baseline = await nodeMemory(a.port);
    const started = Date.now();

    const map = writer.doc.getMap<string>('keys');
    // As fast as it can: one transaction, so one frame, per key, all in one go.
    for (let i = 0; i < UPDATES; i++) map.set(`k${i}`, VALUE);

    let peakMemory = 0;
    let peakBacklog = 0;
    let pausedSeen = false;
    await waitFor(
      async () => {
        const metrics = await scrape(a.port);
        peakMemory = Math.max(
          peakMemory,
          metrics.value('nodejs_heap_size_used_bytes') + metrics.value('nodejs_external_memory_bytes'),
        );
        peakBacklog = Math.max(peakBacklog, metrics.value('swarmcast_flow_backlog_bytes'));
        pausedSeen ||= metrics.value('swarmcast_flow_paused_sockets') > 0;
        return readers.every((r) => r.doc.getMap('keys').size === UPDATES);
      },
      `all ${READERS} readers to hold ${UPDATES} keys`,
      240_000,
    );

    for (const reader of readers) {
      const keys = reader.doc.getMap<string>('keys');
      assert.equal(keys.get('k0'), VALUE);
      assert.equal(keys.get(`k${UPDATES - 1}`), VALUE);
    }
    assert.deepEqual(writer.closes, [], 'the writer was never closed');
    assert.equal(a.proc.exitCode, null, `the writer's node is alive under its ${HEAP_CAP_MIB} MiB heap cap`);
    const pauses = (await scrape(a.port)).value('swarmcast_flow_pauses_total') - pausesBefore;
    assert.ok(pauses > 0 || pausedSeen, 'the writer was slowed down (its socket paused)');
    assert.ok(
      peakBacklog <= MAX_BACKLOG_BYTES + READ_SLACK,
      `backlog on the writer's node stayed bounded: ${peakBacklog} bytes`,
    );
    assert.ok(
      peakMemory - baseline < NODE_GROWTH_BOUND,
      `the writer's node grew by ${((peakMemory - baseline) / 2 ** 20).toFixed(1)} MiB while it was slowed`,
    );
    return (
      `all readers complete after ${Date.now() - started} ms; ${pauses} pauses; peak backlog ${peakBacklog} bytes; ` +
      `node growth ${((peakMemory - baseline) / 2 ** 20).toFixed(1)} MiB`
    );
  }

  it('slows a y-websocket 3.x writer of 10,000 updates instead of closing it; ten readers on the other node get every update', async (t) => {
    t.diagnostic(await writeFlatOut(v3Writer));
  });

  it('does the same for a y-websocket 2.x writer', async (t) => {
    t.diagnostic(await writeFlatOut(v2Writer));
  });
});
