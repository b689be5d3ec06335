import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { SharedMemory } from '../../src/backend/memory/shared-memory';
import { DocumentCache } from '../../src/modules/yjs/document-cache';
import { Y } from '../../src/modules/yjs/esm';
import { YjsLog } from '../../src/modules/yjs/yjs-log';

const doc = (bytes: number, offset = 1, epoch = 'e') => ({
  update: new Uint8Array(bytes),
  offset,
  epoch,
  absorbed: 0,
});

describe('document cache', () => {
  it('keeps only rooms this node serves, within its byte bound, least recently used out', () => {
    const cache = new DocumentCache(100);
    cache.set('not-served', doc(10));
    assert.equal(cache.size, 0);
    for (const room of ['a', 'b', 'c']) cache.retain(room);
    cache.set('a', doc(40));
    cache.set('b', doc(40));
    cache.get('a');
    cache.set('c', doc(40));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.ok(cache.get('a') && cache.get('c'));
    assert.equal(cache.totalBytes, 80);
    cache.set('a', doc(50, 0));
    assert.equal(cache.get('a')!.update.length, 40, 'an older document does not replace a newer one');
    cache.set('a', doc(200, 5));
    assert.equal(cache.get('a')!.update.length, 40, 'a document over the bound is not cached');
    cache.release('a');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.totalBytes, 40);
  });

  it('spares a join the merge of the whole log tail (figures printed)', async () => {
    const cluster = new SharedMemory(1000);
    const backend = new MemoryBackend('n', cluster);
    const store = backend.documents;
    const room = 'bench';
    const source = new Y.Doc();
    const tail = 199;
    for (let i = 0; i < tail; i++) {
      const before = Y.encodeStateVector(source);
      source.getText('t').insert(i % 40, 'ab');
      source.getMap('m').set(`k${i % 20}`, i);
      await backend.bus.publishRoom(
        { type: 'yjs.update', room, data: Y.encodeStateAsUpdate(source, before), from: { node: 'n' } },
        'yjs',
      );
    }
    const plain = new YjsLog(store, backend.history);
    const cache = new DocumentCache(1024 * 1024);
    cache.retain(room);
    const cached = new YjsLog(store, backend.history, cache, 1000);
    const joins = 20;
    const time = async (read: () => Promise<{ update: Uint8Array }>) => {
      const started = performance.now();
      let last: Uint8Array = new Uint8Array();
      for (let i = 0; i < joins; i++) last = (await read()).update;
      return { ms: (performance.now() - started) / joins, last };
    };
    const full = await time(() => plain.read(room));
    await cached.current(room);
    const fast = await time(() => cached.current(room));
    const a = new Y.Doc();
    const b = new Y.Doc();
    Y.applyUpdate(a, full.last);
    Y.applyUpdate(b, fast.last);
    assert.equal(b.getText('t').toString(), source.getText('t').toString());
    assert.deepEqual(b.getMap('m').toJSON(), a.getMap('m').toJSON());
    process.stdout.write(
      `# join with a ${tail}-entry tail: full read ${full.ms.toFixed(2)} ms, from the cache ${fast.ms.toFixed(2)} ms\n`,
    );
    for (const d of [a, b, source]) d.destroy();
  });
});
