import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Y } from '../../src/modules/yjs/esm';
import { mergeBatch } from '../../src/modules/yjs/update-batch';
import { EMPTY_UPDATE } from '../../src/modules/yjs/yjs-codec';

/** The updates of `count` one-key transactions on a fresh document, one per key, in order. */
function keyUpdates(count: number): Uint8Array[] {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  const map = doc.getMap<number>('keys');
  for (let i = 0; i < count; i++) map.set(`k${i}`, i);
  doc.destroy();
  return updates;
}

describe('mergeBatch', () => {
  it('merges a run of updates into one that a document applies as it would apply the run', () => {
    const updates = keyUpdates(50);
    const batch = mergeBatch(updates);
    assert.equal(batch.kind, 'merged');
    const doc = new Y.Doc();
    Y.applyUpdate(doc, batch.kind === 'merged' ? batch.update : EMPTY_UPDATE);
    assert.deepEqual(doc.getMap('keys').toJSON(), Object.fromEntries(updates.map((_, i) => [`k${i}`, i])));
    doc.destroy();
  });

  it('says a run of empty updates changes nothing', () => {
    assert.deepEqual(mergeBatch([EMPTY_UPDATE, EMPTY_UPDATE, EMPTY_UPDATE]), { kind: 'empty' });
  });

  it('asks for the run one by one when any update of it is not a Yjs update', () => {
    const updates = keyUpdates(10);
    const garbage = new Uint8Array([7, 200, 13, 99, 1, 250, 3]);
    assert.deepEqual(mergeBatch([...updates.slice(0, 5), garbage, ...updates.slice(5)]), { kind: 'split' });
    assert.deepEqual(mergeBatch([garbage, ...updates]), { kind: 'split' });
  });
});
