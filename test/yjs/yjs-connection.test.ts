import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { CloseCode } from '../../src/core/errors';
import { decoding, Y } from '../../src/modules/yjs/esm';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, RawYjsClient, synced, upgradeStatus, yjsServerUrl } from './yjs-helpers';
import { permissionDenied, syncUpdate } from './yjs-suite';

const bytes = (frame: Uint8Array) => [...frame];

describe('yjs connection on one node', () => {
  let node: SwarmNode;
  let yjs: YjsExtension;

  before(async () => {
    yjs = new YjsExtension();
    node = await startNode({ extensions: [yjs] });
    // Readers: `?role=reader` in the URL; the authorizer refuses them write access.
    node.addAuthenticator(async (_req, url, room) => {
      if (url.searchParams.get('role') === 'nobody') return { ok: false, status: 403, message: 'no access' };
      const reader = url.searchParams.get('role') === 'reader';
      return { ok: true, identity: { user: `${reader ? 'reader' : 'writer'}-${room}` } };
    });
    node.addAuthorizer((conn, access) => !(access === 'write' && conn.identity.user.startsWith('reader')));
  });
  afterEach(() => destroyAll());
  after(() => node.close());

  it('refuses an upgrade with an empty, too long or badly encoded room name with 400', async () => {
    assert.equal(await upgradeStatus(`${yjsServerUrl(node)}/`), 400);
    assert.equal(await upgradeStatus(`${yjsServerUrl(node)}/${'x'.repeat(201)}`), 400);
    assert.equal(await upgradeStatus(`${yjsServerUrl(node)}/%E0%A4%A`), 400);
    const longest = await RawYjsClient.connect(node, 'x'.repeat(200));
    longest.socket.close();
  });

  it('refuses an upgrade with the status the authenticator answers', async () => {
    assert.equal(await upgradeStatus(`${yjsServerUrl(node)}/private?role=nobody`), 403);
  });

  it('opens with sync step 1 of the room and answers step 1 with step 2, empty for an empty room', async () => {
    const raw = await RawYjsClient.connect(node, 'empty-room');
    // sync, step 1, a state vector of 1 byte: no clients.
    await raw.next((f) => bytes(f).join() === [0, 0, 1, 0].join(), 'sync step 1 of an empty document');
    raw.send(new Uint8Array([0, 0, 1, 0]));
    // sync, step 2, an update of 2 bytes: no structs, no deletions.
    await raw.next((f) => bytes(f).join() === [0, 1, 2, 0, 0].join(), 'an empty sync step 2');
    raw.socket.close();
  });

  it('answers sync step 1 with only what the client lacks', async () => {
    const room = 'diff-room';
    const base = new Y.Doc();
    base.getText('text').insert(0, 'known');
    const first = Y.encodeStateAsUpdate(base);
    await yjs.applyUpdate(room, first);
    const stateVector = Y.encodeStateVector(base);
    base.getText('text').insert(5, ' and new');
    await yjs.applyUpdate(room, Y.encodeStateAsUpdate(base, stateVector));
    const raw = await RawYjsClient.connect(node, room);
    raw.send(new Uint8Array([0, 0, stateVector.length, ...stateVector]));
    const step2 = await raw.next((f) => f[0] === 0 && f[1] === 1, 'sync step 2');
    const decoder = decoding.createDecoder(step2);
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
    const diff = decoding.readVarUint8Array(decoder);
    const { structs } = Y.decodeUpdate(diff);
    assert.ok(structs.length > 0);
    assert.ok(
      structs.every((struct) => struct.id.clock >= 5),
      'only structs after the client’s state',
    );
    const client = new Y.Doc();
    Y.applyUpdate(client, first);
    Y.applyUpdate(client, diff);
    assert.equal(client.getText('text').toString(), 'known and new');
    raw.socket.close();
    base.destroy();
    client.destroy();
  });

  it('echoes a client’s awareness update back to it, which keeps y-websocket’s idle timer alive', async () => {
    const raw = await RawYjsClient.connect(node, 'echo-room');
    const state = Buffer.from('{"user":"solo"}');
    const update = new Uint8Array([1, 42, 1, state.length, ...state]);
    const frame = new Uint8Array([1, update.length, ...update]);
    raw.send(frame);
    await raw.next((f) => bytes(f).join() === bytes(frame).join(), 'the awareness echo');
    raw.socket.close();
  });

  it('refuses a reader’s updates with permission-denied and stores nothing; the reader still syncs and has presence', async () => {
    const room = 'read-only';
    const writer = await synced(provider(node, room));
    writer.doc.getText('text').insert(0, 'written');
    const reader = provider(node, room, new Y.Doc(), { role: 'reader' });
    const denied: string[] = [];
    reader.messageHandlers[2] = (_encoder, decoder) => {
      const reason = permissionDenied(new Uint8Array([2, ...decoder.arr.subarray(decoder.pos)]));
      if (reason !== undefined) denied.push(reason);
    };
    await synced(reader);
    await waitFor(() => reader.doc.getText('text').toString() === 'written', 'the reader to sync');
    const head = await node.backend.history.head(room, 'yjs');
    reader.doc.getText('text').insert(0, 'forbidden ');
    await waitFor(() => denied.length > 0, 'permission denied');
    assert.match(denied[0]!, /write/);
    assert.equal((await node.backend.history.head(room, 'yjs')).offset, head.offset, 'nothing appended');
    assert.equal(writer.doc.getText('text').toString(), 'written');
    reader.awareness.setLocalStateField('name', 'reader');
    await waitFor(() => writer.awareness.getStates().has(reader.doc.clientID), 'the reader’s presence');
    // A raw reader's update frame gets the exact auth message.
    const raw = await RawYjsClient.connect(node, `${room}?role=reader`);
    const doc = new Y.Doc();
    doc.getText('text').insert(0, 'nope');
    raw.send(syncUpdate(Y.encodeStateAsUpdate(doc)));
    const frame = await raw.next((f) => permissionDenied(f) !== undefined, 'permission-denied message');
    assert.equal(frame[0], 2);
    assert.equal(frame[1], 0);
    raw.socket.close();
    doc.destroy();
  });

  it('closes a socket whose frame is over YJS_MAX_FRAME_BYTES with 4413 and a reason naming the limit', async () => {
    const small = new YjsExtension();
    const limited = await startNode({ extensions: [small], env: { YJS_MAX_FRAME_BYTES: '1024' } });
    try {
      const raw = await RawYjsClient.connect(limited, 'big-frame');
      raw.send(syncUpdate(new Uint8Array(2000)));
      assert.deepEqual(await raw.closed, {
        code: CloseCode.YjsFrameTooBig,
        reason: 'frame over 1024 bytes (YJS_MAX_FRAME_BYTES)',
      });
    } finally {
      await limited.close();
    }
  });
});
