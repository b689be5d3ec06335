import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RedisKeys } from '../../src/backend/redis/keys';
import { Y } from '../../src/modules/yjs/esm';
import {
  encodeAwareness,
  encodeAwarenessUpdate,
  encodeSyncStep1,
  encodeUpdate,
} from '../../src/modules/yjs/yjs-codec';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';
import { startRedisNode } from '../helpers/redis-nodes';
import { waitFor } from '../helpers/wait';
import { RawYjsClient } from './yjs-helpers';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const ROOMS = Number(process.env.YJS_HEAP_ROOMS ?? 1000);
const AT_ONCE = 25;
/**
 * What the rooms may leave behind in total. Measured: +0.5 to +1.9 MB after 1,000 rooms,
 * +2.5 MB after 3,000; a heap-snapshot diff shows it is V8 compiled code (optimised code,
 * deopt data), with no growth in any object type. A leaked connection with its socket
 * holds well over 4 KB, so 1,000 of them would blow this bound several times over.
 */
const BOUND_BYTES = 4 * 1024 * 1024;

function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('yjs node memory', () => {
  let redis: TestRedis;
  let node: SwarmNode;
  let yjs: YjsExtension;
  const prefix = uniquePrefix('heap');

  before(async () => {
    redis = await TestRedis.start();
    yjs = new YjsExtension();
    node = await startRedisNode(redis.url, prefix, { extensions: [yjs] });
  });
  after(async () => {
    await node.close();
    await redis.close();
  });

  /** One client: opens a room, syncs, writes, shows presence, leaves; then server code reads the room. */
  async function visit(room: string, n: number): Promise<void> {
    const client = await RawYjsClient.connect(node, room);
    await client.next((f) => f[0] === 0 && f[1] === 0, 'sync step 1');
    client.send(encodeSyncStep1(new Uint8Array([0])));
    await client.next((f) => f[0] === 0 && f[1] === 1, 'sync step 2');
    const doc = new Y.Doc();
    doc.getText('text').insert(0, `visit ${n}`);
    client.send(encodeUpdate(Y.encodeStateAsUpdate(doc)));
    const presence = encodeAwarenessUpdate([{ client: doc.clientID, clock: 1, state: '{"name":"v"}' }]);
    client.send(encodeAwareness(presence));
    await client.next((f) => f[0] === 1, 'the awareness echo');
    doc.destroy();
    client.socket.close();
    await client.closed;
    await yjs.getUpdate(room);
  }

  async function visitRooms(prefix: string, count: number): Promise<void> {
    for (let start = 0; start < count; start += AT_ONCE) {
      const batch = [];
      for (let n = start; n < Math.min(count, start + AT_ONCE); n++) batch.push(visit(`${prefix}-${n}`, n));
      await Promise.all(batch);
    }
    await waitFor(() => node.connections.size === 0 && node.hub.size === 0, 'every room left', 10_000);
  }

  it('is back near its starting heap after 1,000 rooms were opened, written, left and read by server code', async () => {
    // Warm up: code paths compiled, pools and caches at their working size.
    await visitRooms('warm', 100);
    const before = settledHeap();
    const started = Date.now();
    await visitRooms('room', ROOMS);
    const seconds = (Date.now() - started) / 1000;
    const afterHeap = settledHeap();
    const grown = afterHeap - before;
    process.stdout.write(
      `# heap before ${(before / 1e6).toFixed(1)} MB, after ${ROOMS} rooms ${(afterHeap / 1e6).toFixed(1)} MB ` +
        `(${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(0)} KB, ${(grown / ROOMS).toFixed(0)} B/room); ` +
        `${(ROOMS / seconds).toFixed(0)} rooms/s\n`,
    );
    assert.ok(grown < BOUND_BYTES, `heap grew by ${grown} bytes`);
    // Nor does Redis keep a list of the rooms for the reaper to visit.
    const client = redis.client();
    try {
      assert.equal(await client.scard(new RedisKeys(prefix).yjsNodeRooms(node.id)), 0);
    } finally {
      client.disconnect();
    }
  });
});
