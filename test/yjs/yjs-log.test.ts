import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend';
import type { DocumentStore } from '../../src/backend/document-store';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { RedisBackend } from '../../src/backend/redis/redis-backend';
import { SNAPSHOT_PART_BYTES } from '../../src/backend/redis/redis-document-store';
import { createLogger } from '../../src/core/log';
import { Compactor } from '../../src/modules/yjs/compaction';
import { DocumentCache } from '../../src/modules/yjs/document-cache';
import { Y } from '../../src/modules/yjs/esm';
import { YjsLog } from '../../src/modules/yjs/yjs-log';
import { uniquePrefix } from '../helpers/nodes';
import { TestRedis } from '../helpers/redis';

const silent = createLogger('silent', 'store-test');

interface Fixture {
  readonly backend: Backend;
  readonly store: DocumentStore;
}

/** Appends one Yjs update to the room's log, as the router does. */
async function append(backend: Backend, room: string, update: Uint8Array): Promise<number> {
  const published = await backend.bus.publishRoom(
    { type: 'yjs.update', room, data: update, from: { node: 'test' } },
    'yjs',
  );
  return published.offset!;
}

/** Pushes `value` into `doc`'s array 'a' and appends that change to `room`; resolves with its offset. */
function pusher(
  backend: Backend,
  room: string,
  doc: InstanceType<typeof Y.Doc>,
): (value: number) => Promise<number> {
  return (value) => {
    const before = Y.encodeStateVector(doc);
    doc.getArray('a').push([value]);
    return append(backend, room, Y.encodeStateAsUpdate(doc, before));
  };
}

/**
 * `store`, with every read's answer held until `release`: callers that ask meanwhile
 * arrive while a read runs, however fast the store answers (one round trip or two).
 */
function holdingReads(store: DocumentStore): { store: DocumentStore; release: () => void } {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = async <T>(read: Promise<T>): Promise<T> => {
    const answer = await read;
    await released;
    return answer;
  };
  return {
    release,
    store: {
      snapshot: (r) => held(store.snapshot(r)),
      ...(store.snapshotWithTail
        ? { snapshotWithTail: (r: string, limit: number) => held(store.snapshotWithTail!(r, limit)) }
        : {}),
      lock: (r, ttl) => store.lock(r, ttl),
      unlock: (r, token) => store.unlock(r, token),
      compact: (r, update, offset, epoch, token) => store.compact(r, update, offset, epoch, token),
    },
  };
}

function storeSuite(name: string, fixture: () => Fixture | Promise<Fixture>): void {
  describe(`the Yjs log and compaction over ${name}`, () => {
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
      // The first read's answer is held until the later callers have asked, so that they
      // arrive while it runs however fast the store answers (one round trip or two).
      const { store: slowStore, release: releaseFirst } = holdingReads(store);
      const log = new YjsLog(slowStore, backend.history);
      const doc = new Y.Doc();
      const push = pusher(backend, room, doc);
      await push(0);
      const first = log.current(room);
      // Appended after the first read began, before the second caller asked: it must see it.
      const offset = await push(1);
      const later = [log.current(room), log.current(room)];
      releaseFirst();
      const [a, b, c] = await Promise.all([first, ...later]);
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

    it('gives a caller the running read when it reaches where the caller entered, else a later one', async () => {
      const { backend, store } = await fixture();
      const room = uniquePrefix('covering');
      const { store: slowStore, release } = holdingReads(store);
      const log = new YjsLog(slowStore, backend.history);
      const doc = new Y.Doc();
      const push = pusher(backend, room, doc);
      const at = await push(0);
      const { epoch } = await backend.history.head(room, 'yjs');
      const first = log.current(room);
      const reached = log.current(room, { offset: at, epoch });
      const offset = await push(1);
      // Entered after the second append: the running read may not hold it.
      const beyond = log.current(room, { offset, epoch });
      const otherEpoch = log.current(room, { offset: at, epoch: 'another-epoch' });
      release();
      const [a, b, c, d] = await Promise.all([first, reached, beyond, otherEpoch]);
      assert.equal(a.offset, at, 'the first read ran before the second append');
      assert.equal(b, a, 'a caller whose position the running read reaches shares it');
      assert.notEqual(c, a);
      assert.equal(c.offset, offset);
      assert.notEqual(d, a, 'not across epochs');
      assert.equal(d.offset, offset);
      doc.destroy();
    });
  });
}

storeSuite('memory', () => {
  const cluster = new SharedMemory(1000);
  const backend = new MemoryBackend('n1', cluster);
  return { backend, store: backend.documents };
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
  return { backend, store: backend.documents };
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
    const store = backend.documents;
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
