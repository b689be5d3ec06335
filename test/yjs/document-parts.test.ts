import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DocumentParts,
  documentFrames,
  mergeParts,
  stateVectorOf,
  syncAnswer,
  wholeDocument,
} from '../../src/modules/yjs/document-parts';
import { decoding, encoding, Y, type YDoc } from '../../src/modules/yjs/esm';

type SyncModule = typeof import('y-protocols/sync', { with: { 'resolution-mode': 'import' }});
const syncProtocol: SyncModule = require('y-protocols/sync');

/** A document written by three clients: one before the snapshot only, one after it only, one in both. */
function history(): { parts: DocumentParts; whole: YDoc } {
  const updates: Uint8Array[] = [];
  const whole = new Y.Doc();
  whole.on('update', (update: Uint8Array) => updates.push(update));
  const writer = (client: number) => {
    const doc = new Y.Doc();
    doc.clientID = client;
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(whole));
    return doc;
  };
  const edit = (client: number, text: string) => {
    const doc = writer(client);
    doc.getText('t').insert(doc.getText('t').length, text);
    doc.getMap('m').set(`k${client}`, text.length);
    Y.applyUpdate(whole, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(whole)));
  };
  edit(1, 'before the snapshot, ');
  edit(2, 'in both, ');
  const atSnapshot = updates.length;
  edit(2, 'again, ');
  edit(3, 'after it only.');
  // A deletion in the tail of content that is in the snapshot.
  const deleter = writer(4);
  deleter.getText('t').delete(0, 7);
  Y.applyUpdate(whole, Y.encodeStateAsUpdate(deleter, Y.encodeStateVector(whole)));
  return {
    parts: {
      snapshot: Y.mergeUpdates(updates.slice(0, atSnapshot)),
      tail: Y.mergeUpdates(updates.slice(atSnapshot)),
    },
    whole,
  };
}

/** What a y-websocket provider does with the frames, answering nothing; returns the doc and whether step 2 came last. */
function receive(doc: YDoc, frames: readonly Uint8Array[]): { syncedWith: string } {
  let syncedWith = '';
  for (const frame of frames) {
    const decoder = decoding.createDecoder(frame);
    assert.equal(decoding.readVarUint(decoder), 0, 'a sync message');
    const type = syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, 'server');
    if (type === syncProtocol.messageYjsSyncStep2) syncedWith = doc.getText('t').toString();
  }
  return { syncedWith };
}

describe('a document read in two parts', () => {
  it('gives a new client the whole document by the time sync step 2 has been applied', () => {
    const { parts, whole } = history();
    const client = new Y.Doc();
    const { syncedWith } = receive(client, syncAnswer(parts, Y.encodeStateVector(new Y.Doc())));
    assert.equal(syncedWith, whole.getText('t').toString());
    assert.deepEqual(client.getMap('m').toJSON(), whole.getMap('m').toJSON());
  });

  it('gives a client that holds the snapshot only what it lacks', () => {
    const { parts, whole } = history();
    const client = new Y.Doc();
    Y.applyUpdate(client, parts.snapshot!);
    const frames = syncAnswer(parts, Y.encodeStateVector(client));
    receive(client, frames);
    assert.equal(client.getText('t').toString(), whole.getText('t').toString());
    assert.ok(
      frames.reduce((sum, f) => sum + f.length, 0) < parts.snapshot!.length + parts.tail!.length,
      'not the whole document again',
    );
  });

  it('has the state vector of the merged document, and merges to it', () => {
    const { parts, whole } = history();
    assert.deepEqual(
      Y.decodeStateVector(stateVectorOf(parts)),
      Y.decodeStateVector(Y.encodeStateVector(whole)),
    );
    assert.deepEqual(
      Y.decodeStateVector(stateVectorOf(parts)),
      Y.decodeStateVector(Y.encodeStateVectorFromUpdate(mergeParts(parts))),
    );
    const merged = new Y.Doc();
    Y.applyUpdate(merged, mergeParts(parts));
    assert.equal(merged.getText('t').toString(), whole.getText('t').toString());
  });

  it('does not count a tail that cannot continue the snapshot yet', () => {
    const base = new Y.Doc();
    base.clientID = 7;
    const updates: Uint8Array[] = [];
    base.on('update', (update: Uint8Array) => updates.push(update));
    for (const word of ['one ', 'two ', 'three ']) base.getText('t').insert(base.getText('t').length, word);
    // The snapshot holds the first update, the tail only the third: the second is missing.
    const parts = { snapshot: updates[0]!, tail: updates[2]! };
    assert.deepEqual([...Y.decodeStateVector(stateVectorOf(parts))], [[7, 4]]);
  });

  it('stops counting at a gap inside the tail, as the merged document would', () => {
    const base = new Y.Doc();
    base.clientID = 7;
    const updates: Uint8Array[] = [];
    base.on('update', (update: Uint8Array) => updates.push(update));
    for (const word of ['one ', 'two ', 'three ', 'four '])
      base.getText('t').insert(base.getText('t').length, word);
    // The tail holds 'two ' and 'four ': 'three ' is missing between them (a skip).
    const parts = { snapshot: updates[0]!, tail: Y.mergeUpdates([updates[1]!, updates[3]!]) };
    assert.deepEqual([...Y.decodeStateVector(stateVectorOf(parts))], [[7, 8]]);
    assert.deepEqual(
      Y.decodeStateVector(stateVectorOf(parts)),
      Y.decodeStateVector(Y.encodeStateVectorFromUpdate(mergeParts(parts))),
    );
  });

  it('sends the parts alone when one is missing, and as updates to a client that has an older document', () => {
    const { parts, whole } = history();
    assert.equal(syncAnswer({ snapshot: parts.snapshot }, new Uint8Array([0])).length, 1);
    assert.equal(syncAnswer({ tail: parts.tail }, new Uint8Array([0])).length, 1);
    assert.equal(syncAnswer({}, new Uint8Array([0])).length, 1);
    const older = new Y.Doc();
    Y.applyUpdate(older, parts.snapshot!);
    receive(older, documentFrames(parts));
    assert.equal(older.getText('t').toString(), whole.getText('t').toString());
  });

  it('gives the new clients of one read the same frames, and a client with a state vector its own', () => {
    const { parts } = history();
    const fresh = new Uint8Array([0]);
    const first = syncAnswer(parts, fresh);
    assert.equal(syncAnswer(parts, fresh), first);
    const older = new Y.Doc();
    Y.applyUpdate(older, parts.snapshot!);
    assert.notEqual(syncAnswer(parts, Y.encodeStateVector(older)), first);
  });

  it('gives one cached update the same parts each time, so that its joiners share one state vector', () => {
    const { parts } = history();
    const cached = mergeParts(parts);
    assert.equal(wholeDocument(cached), wholeDocument(cached));
    assert.equal(stateVectorOf(wholeDocument(cached)), stateVectorOf(wholeDocument(cached)));
  });
});
