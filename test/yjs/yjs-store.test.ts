import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { MemoryCluster } from '../../src/backend/memory/memory-cluster';
import { RedisBackend } from '../../src/backend/redis/redis-backend';
import { createLogger } from '../../src/log';
import { Compactor } from '../../src/yjs/compaction';
import { DocumentCache } from '../../src/yjs/document-cache';
import { Y } from '../../src/yjs/esm';
import { MemoryYjsStore } from '../../src/yjs/memory-yjs-store';
import { RedisYjsStore, SNAPSHOT_PART_BYTES } from '../../src/yjs/redis-yjs-store';
import { YjsLog } from '../../src/yjs/yjs-log';
import type { AwarenessEntry, YjsStore } from '../../src/yjs/yjs-store';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';

const silent = createLogger('silent', 'store-test');

interface Fixture {
  readonly backend: Backend;
  readonly store: YjsStore;
}

/** Appends one Yjs update to the room's log, as the router does. */
async function append(backend: Backend, room: string, update: Uint8Array): Promise<number> {
  const published = await backend.bus.publishRoom(
    { type: 'yjs.update', room, data: update, from: { node: 'test' } },
    'yjs',
  );
  return published.offset!;
}

function entry(client: number, clock: number, node: string): AwarenessEntry {
  return { client, clock, state: `{"n":${clock}}`, node, conn: `c-${client}`, updatedAt: Date.now() };
}

function storeSuite(name: string, fixture: () => Fixture | Promise<Fixture>): void {
  describe(`yjs store over ${name}`, () => {
    it('writes a snapshot and trims the log up to it in one step, and only under the lock', async () => {
      const { backend, store } = await fixture();
      const room = uniquePrefix('snap');
      const doc = new Y.Doc();
      for (let i = 0; i < 5; i++) {
        const before = Y.encodeStateVector(doc);
        doc.getArray('a').push([i]);
        await append(backend, room, Y.encodeStateAsUpdate(doc, before));
      }
      const { epoch } = await backend.history.head(room, 'yjs');
      assert.deepEqual(await store.snapshot(room), { update: undefined, offset: 0, epoch: '' });
      const token = (await store.lock(room, 5000))!;
      assert.ok(token);
      assert.equal(await store.lock(room, 5000), undefined, 'the lock is exclusive');
      const snapshot = Y.encodeStateAsUpdate(doc);
      assert.equal(await store.compact(room, snapshot, 3, epoch, 'not-the-token'), false);
      assert.equal(await store.compact(room, snapshot, 3, 'another-epoch', token), false);
      assert.equal(await store.compact(room, snapshot, 3, epoch, token), true);
      assert.equal(await store.compact(room, snapshot, 3, epoch, token), false, 'not twice for one offset');
      const stored = await store.snapshot(room);
      assert.deepEqual([stored.offset, stored.epoch], [3, epoch]);
      assert.deepEqual(stored.update, snapshot);
      const tail = await backend.history.read(room, 'yjs', 3);
      assert.deepEqual(
        tail.events.map((e) => e.offset),
        [4, 5],
      );
      assert.equal((await backend.history.read(room, 'yjs', 2)).complete, false, 'entries 1-3 are gone');
      await store.unlock(room, 'not-the-token');
      assert.equal(await store.lock(room, 5000), undefined, 'a wrong token does not unlock');
      await store.unlock(room, token);
      const again = await store.lock(room, 5000);
      assert.ok(again);
      await store.unlock(room, again);
      doc.destroy();
    });

    it('keeps a large snapshot byte for byte, and a smaller one replaces it whole', async () => {
      const { backend, store } = await fixture();
      const room = uniquePrefix('big');
      const doc = new Y.Doc();
      // Incompressible text, so the update is about as large as the text: 100 KB, several parts.
      const text = Array.from({ length: 100_000 }, (_, i) =>
        String.fromCharCode(97 + ((i * 7919) % 26)),
      ).join('');
      doc.getText('t').insert(0, text);
      await append(backend, room, Y.encodeStateAsUpdate(doc));
      doc.getText('t').delete(0, text.length);
      doc.getText('t').insert(0, 'short');
      await append(backend, room, Y.encodeStateAsUpdate(doc));
      const { epoch } = await backend.history.head(room, 'yjs');
      const large = new Uint8Array(100_003).map((_, i) => (i * 31) % 251);
      let token = (await store.lock(room, 5000))!;
      assert.equal(await store.compact(room, large, 1, epoch, token), true);
      await store.unlock(room, token);
      const first = await store.snapshot(room);
      assert.equal(first.update?.length, large.length);
      assert.deepEqual(first.update, large);
      const small = Y.encodeStateAsUpdate(doc);
      token = (await store.lock(room, 5000))!;
      assert.equal(await store.compact(room, small, 2, epoch, token), true);
      await store.unlock(room, token);
      assert.deepEqual(await store.snapshot(room), { update: small, offset: 2, epoch });
      doc.destroy();
    });

    it('never shows a reader a hole while compactions run under appends', async () => {
      const { backend, store } = await fixture();
      const room = uniquePrefix('hole');
      const log = new YjsLog(store, backend.history);
      // A second reader with a cache, as joins use it: its fast path must be as hole-free.
      const cache = new DocumentCache(64 * 1024 * 1024);
      cache.retain(room);
      const cachedLog = new YjsLog(store, backend.history, cache, 50);
      const compactor = new Compactor(store, log, { maxEntries: 1e9, maxBytes: 1e12 }, silent);
      const doc = new Y.Doc();
      const total = 300;
      let writing = true;
      let compactions = 0;
      let reads = 0;
      const writer = (async () => {
        for (let i = 0; i < total; i++) {
          const before = Y.encodeStateVector(doc);
          doc.getArray('a').push([i]);
          await append(backend, room, Y.encodeStateAsUpdate(doc, before));
          if (i % 10 === 9) void compactor.compact(room).then((done) => done && compactions++);
        }
        writing = false;
      })();
      const reader = async (from: () => Promise<{ update: Uint8Array; offset: number }>) => {
        while (writing) {
          const state = await from();
          const seen = new Y.Doc();
          Y.applyUpdate(seen, state.update);
          // Update n pushed element n-1: a document at offset n holds exactly n elements, in order.
          const items = seen.getArray<number>('a').toArray();
          assert.equal(items.length, state.offset, `a hole at offset ${state.offset}`);
          assert.deepEqual(
            items,
            Array.from({ length: state.offset }, (_, i) => i),
          );
          seen.destroy();
          reads++;
        }
      };
      await Promise.all([
        writer,
        reader(() => log.read(room)),
        reader(() => log.read(room)),
        reader(() => cachedLog.current(room)),
        reader(() => cachedLog.current(room)),
      ]);
      assert.equal(cache.size, 1, 'the cached reader used its cache');
      await compactor.idle();
      assert.ok(compactions >= 5, `${compactions} compactions`);
      assert.ok(reads >= 10, `${reads} reads`);
      const final = await log.read(room);
      const seen = new Y.Doc();
      Y.applyUpdate(seen, final.update);
      assert.equal(seen.getArray('a').length, total);
      seen.destroy();
      doc.destroy();
    });

    it('gives callers who arrive during a document read the next read, with what was appended since', async () => {
      const { backend, store } = await fixture();
      const room = uniquePrefix('burst');
      const log = new YjsLog(store, backend.history);
      const doc = new Y.Doc();
      const push = async (value: number) => {
        const before = Y.encodeStateVector(doc);
        doc.getArray('a').push([value]);
        return append(backend, room, Y.encodeStateAsUpdate(doc, before));
      };
      await push(0);
      const first = log.current(room);
      // Appended after the first read began, before the second caller asked: it must see it.
      const offset = await push(1);
      const [a, b, c] = await Promise.all([first, log.current(room), log.current(room)]);
      const items = (update: Uint8Array) => {
        const seen = new Y.Doc();
        Y.applyUpdate(seen, update);
        return seen.getArray<number>('a').toArray();
      };
      assert.ok(a.offset <= offset);
      assert.equal(b.offset, offset);
      assert.deepEqual(items(b.update), [0, 1]);
      assert.equal(b, c, 'callers queued behind one read share it');
      doc.destroy();
    });

    it('keeps the latest awareness state per client and removes a dead node’s', async () => {
      const { store } = await fixture();
      const room = uniquePrefix('aw');
      const other = uniquePrefix('aw');
      await store.putAwareness(room, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
      await store.putAwareness(room, [entry(1, 2, 'a')]);
      await store.putAwareness(other, [entry(3, 1, 'a')]);
      const listed = await store.listAwareness(room, 30_000);
      assert.deepEqual(listed.map((e) => [e.client, e.clock]).sort(), [
        [1, 2],
        [2, 1],
      ]);
      assert.deepEqual([...(await store.awarenessOf(room, [1, 9])).keys()], [1]);
      await store.putAwareness(room, [{ ...entry(4, 1, 'b'), updatedAt: Date.now() - 60_000 }]);
      assert.equal((await store.listAwareness(room, 30_000)).length, 2, 'outdated states are not listed');
      const removed = await store.removeNode('a');
      assert.deepEqual(
        removed.map((r) => [r.room, r.entries.map((e) => e.client)]).sort(),
        [
          [other, [3]],
          [room, [1]],
        ].sort(),
      );
      assert.deepEqual(
        (await store.listAwareness(room, 30_000)).map((e) => e.client),
        [2],
      );
      await store.removeAwareness(room, [2, 4]);
      assert.deepEqual(await store.listAwareness(room, 30_000), []);
    });
  });
}

storeSuite('memory', () => {
  const cluster = new MemoryCluster(1000);
  return { backend: new MemoryBackend('n1', cluster), store: new MemoryYjsStore(cluster) };
});

let redis: TestRedis;
const backends: RedisBackend[] = [];
before(async () => {
  redis = await TestRedis.start();
});
after(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await redis.close();
});

storeSuite('Redis', async () => {
  const backend = new RedisBackend({
    url: redis.url,
    node: 'store-test',
    keyPrefix: uniquePrefix('ys'),
    historyLimit: 1000,
    log: silent,
  });
  backends.push(backend);
  await backend.start();
  return { backend, store: new RedisYjsStore(backend) };
});

describe('yjs snapshot layout in Redis', () => {
  it('stores parts of at most SNAPSHOT_PART_BYTES, and still reads a snapshot stored as one field', async () => {
    const prefix = uniquePrefix('parts');
    const backend = new RedisBackend({
      url: redis.url,
      node: 'parts-test',
      keyPrefix: prefix,
      historyLimit: 1000,
      log: silent,
    });
    backends.push(backend);
    await backend.start();
    const store = new RedisYjsStore(backend);
    const room = 'r';
    const published = await append(backend, room, Y.encodeStateAsUpdate(new Y.Doc()));
    const { epoch } = await backend.history.head(room, 'yjs');
    const update = new Uint8Array(SNAPSHOT_PART_BYTES * 2 + 5).map((_, i) => i % 256);
    const token = (await store.lock(room, 5000))!;
    assert.equal(await store.compact(room, update, published, epoch, token), true);
    await store.unlock(room, token);
    const key = backend.keys.yjsSnapshot(room);
    const fields = await backend.redis.hgetallBuffer(key);
    assert.deepEqual(Object.keys(fields).sort(), ['epoch', 'offset', 'p0', 'p1', 'p2', 'parts']);
    assert.deepEqual(
      [fields.p0!.length, fields.p1!.length, fields.p2!.length],
      [SNAPSHOT_PART_BYTES, SNAPSHOT_PART_BYTES, 5],
    );
    // The layout before parts: one `update` field.
    const legacy = new Uint8Array([1, 2, 3, 4]);
    await backend.redis.del(key);
    await backend.redis.hset(key, 'update', Buffer.from(legacy), 'offset', String(published), 'epoch', epoch);
    assert.deepEqual(await store.snapshot(room), { update: legacy, offset: published, epoch });
    // A part gone missing is an error, not a silently shorter document.
    await backend.redis.del(key);
    await backend.redis.hset(key, 'offset', '1', 'epoch', epoch, 'parts', '2', 'p0', 'x');
    await assert.rejects(store.snapshot(room), /lacks part 1 of 2/);
    await backend.redis.hset(key, 'parts', 'two');
    await assert.rejects(store.snapshot(room), /no valid part count/);
    // Both layouts in one hash cannot be written (the script deletes the hash first); if
    // they were, the one-field layout alone is a whole document and is what is read.
    await backend.redis.hset(key, 'update', Buffer.from(legacy), 'parts', '1');
    assert.deepEqual((await store.snapshot(room)).update, legacy);
  });
});
