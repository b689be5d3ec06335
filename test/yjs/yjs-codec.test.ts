import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoding, encoding, Y } from '../../src/modules/yjs/esm';
import {
  decodeAwarenessUpdate,
  decodeYjsFrame,
  encodeAwareness,
  encodeAwarenessUpdate,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeUpdate,
  isEmptyUpdate,
  isValidUpdate,
} from '../../src/modules/yjs/yjs-codec';
import { awarenessProtocol } from './yjs-helpers';

type SyncModule = typeof import('y-protocols/sync', { with: { 'resolution-mode': 'import' }});
type AuthModule = typeof import('y-protocols/auth', { with: { 'resolution-mode': 'import' }});
const syncProtocol: SyncModule = require('y-protocols/sync');
const authProtocol: AuthModule = require('y-protocols/auth');

function docWith(text: string): InstanceType<typeof Y.Doc> {
  const doc = new Y.Doc();
  doc.getText('text').insert(0, text);
  return doc;
}

/** A frame as y-websocket builds it: message type, then the y-protocols writer's output. */
function frame(type: number, write: (encoder: InstanceType<typeof encoding.Encoder>) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

describe('yjs codec', () => {
  it('decodes every message a y-websocket client sends', () => {
    const doc = docWith('hello');
    const step1 = decodeYjsFrame(frame(0, (e) => syncProtocol.writeSyncStep1(e, doc)));
    assert.deepEqual(step1, {
      ok: true,
      message: { kind: 'sync-step1', stateVector: Y.encodeStateVector(doc) },
    });
    const step2 = decodeYjsFrame(frame(0, (e) => syncProtocol.writeSyncStep2(e, doc)));
    assert.deepEqual(step2, {
      ok: true,
      message: { kind: 'sync-step2', update: Y.encodeStateAsUpdate(doc) },
    });
    const update = decodeYjsFrame(frame(0, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc))));
    assert.equal(update.ok && update.message.kind, 'update');
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState({ name: 'ada' });
    const bytes = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]);
    const decoded = decodeYjsFrame(frame(1, (e) => encoding.writeVarUint8Array(e, bytes)));
    assert.deepEqual(decoded, { ok: true, message: { kind: 'awareness', update: bytes } });
    assert.deepEqual(decodeAwarenessUpdate(bytes), [
      { client: doc.clientID, clock: 1, state: '{"name":"ada"}' },
    ]);
    assert.deepEqual(decodeYjsFrame(new Uint8Array([3])), { ok: true, message: { kind: 'query-awareness' } });
    awareness.destroy();
    doc.destroy();
  });

  it('refuses frames that do not decode, and never reads past the frame', () => {
    const pool = Buffer.alloc(64, 7);
    // A length of 50 inside a 5-byte frame that is a view on a 64-byte buffer.
    pool.set([0, 2, 50, 0, 0], 0);
    const cases: Array<[string, Uint8Array]> = [
      ['empty frame', new Uint8Array([])],
      ['truncated varint', new Uint8Array([0x80])],
      ['unknown message type', new Uint8Array([9])],
      ['unknown sync type', new Uint8Array([0, 7, 0])],
      ['length past the end', pool.subarray(0, 5)],
      ['trailing bytes', new Uint8Array([0, 2, 2, 0, 0, 1])],
      ['auth from a client', new Uint8Array([2, 0, 0])],
      ['bad state vector', new Uint8Array([0, 0, 1, 0x80])],
      ['awareness with bad JSON', new Uint8Array([1, 5, 1, 1, 1, 1, 0x7b])],
    ];
    for (const [what, bytes] of cases) {
      const decoded = decodeYjsFrame(bytes);
      assert.equal(decoded.ok, false, what);
    }
  });

  it('encodes messages y-protocols reads', () => {
    const server = docWith('server text');
    const client = new Y.Doc();
    const step2 = encodeSyncStep2(Y.encodeStateAsUpdate(server));
    const reply = encoding.createEncoder();
    const decoder = decoding.createDecoder(step2);
    assert.equal(decoding.readVarUint(decoder), 0);
    assert.equal(
      syncProtocol.readSyncMessage(decoder, reply, client, null),
      syncProtocol.messageYjsSyncStep2,
    );
    assert.equal(client.getText('text').toString(), 'server text');

    const step1 = decoding.createDecoder(encodeSyncStep1(Y.encodeStateVector(server)));
    decoding.readVarUint(step1);
    assert.equal(syncProtocol.readSyncMessage(step1, reply, client, null), syncProtocol.messageYjsSyncStep1);

    const more = docWith('!');
    const update = decoding.createDecoder(encodeUpdate(Y.encodeStateAsUpdate(more)));
    decoding.readVarUint(update);
    assert.equal(syncProtocol.readSyncMessage(update, reply, client, null), syncProtocol.messageYjsUpdate);

    const awareness = new awarenessProtocol.Awareness(client);
    const states = encodeAwarenessUpdate([{ client: 77, clock: 3, state: '{"cursor":1}' }]);
    const message = decoding.createDecoder(encodeAwareness(states));
    assert.equal(decoding.readVarUint(message), 1);
    awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(message), null);
    assert.deepEqual(awareness.getStates().get(77), { cursor: 1 });

    let reason = '';
    const denied = decoding.createDecoder(encodePermissionDenied('read-only'));
    assert.equal(decoding.readVarUint(denied), 2);
    authProtocol.readAuthMessage(denied, client, (_doc, why) => {
      reason = why;
    });
    assert.equal(reason, 'read-only');
    awareness.destroy();
    for (const doc of [server, client, more]) doc.destroy();
  });

  it('accepts real updates and rejects random bytes', () => {
    const doc = docWith('valid');
    assert.equal(isValidUpdate(Y.encodeStateAsUpdate(doc)), true);
    assert.equal(isValidUpdate(new Uint8Array([0, 0])), true);
    // Fixed pseudo-random bytes (a seeded LCG), so the test is the same every run.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed >> 16;
    };
    for (let i = 0; i < 200; i++) {
      const garbage = Uint8Array.from({ length: 1 + (i % 40) }, () => next() & 0xff);
      assert.equal(isValidUpdate(garbage), false, `garbage ${[...garbage]}`);
    }
    assert.equal(isEmptyUpdate(new Uint8Array([0, 0])), true);
    assert.equal(isEmptyUpdate(Y.encodeStateAsUpdate(new Y.Doc())), true);
    assert.equal(isEmptyUpdate(Y.encodeStateAsUpdate(doc)), false);
    doc.destroy();
  });
});
