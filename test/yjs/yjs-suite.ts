import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { decoding, encoding, Y } from '../../src/modules/yjs/esm';
import type { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { waitFor } from '../helpers/wait';
import { destroyAll, type Provider, provider, RawYjsClient, synced } from './yjs-helpers';

/** A running cluster of nodes, each with its own YjsExtension. */
export interface YjsCluster {
  readonly nodes: SwarmNode[];
  readonly yjs: YjsExtension[];
}

export interface YjsFixture {
  /** Starts `count` more nodes in the same cluster, with `env` added to their configuration. */
  start(count: number, env?: Record<string, string>): Promise<YjsCluster>;
  stop(): Promise<void>;
}

let roomCount = 0;
const freshRoom = (name: string) => `${name}-${++roomCount}-${Date.now().toString(36)}`;

function text(p: Provider): string {
  return p.doc.getText('text').toString();
}

/**
 * What Yjs collaboration must do across nodes, whatever the backend: run over the
 * in-memory cluster and over Redis.
 */
export function yjsClusterSuite(name: string, fixture: () => YjsFixture): void {
  describe(`yjs on three nodes over ${name}`, () => {
    let current: YjsFixture;
    let cluster: YjsCluster;

    before(async () => {
      current = fixture();
      cluster = await current.start(3, { YJS_COMPACT_ENTRIES: '25' });
    });
    afterEach(() => destroyAll());
    after(async () => {
      destroyAll();
      await current.stop();
    });

    it('converges concurrent edits of one Y.Text and Y.Map from providers on three nodes', async () => {
      const room = freshRoom('converge');
      const editors = await Promise.all(cluster.nodes.map((node) => synced(provider(node, room))));
      const rounds = 30;
      await Promise.all(
        editors.map(async (p, i) => {
          for (let n = 0; n < rounds; n++) {
            p.doc.getText('text').insert(0, `${i}`);
            p.doc.getMap('map').set(`k${n % 5}`, `${i}:${n}`);
            p.doc.getMap('map').set(`from-${i}`, n);
            if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      );
      const mapJson = (p: Provider) => JSON.stringify(Object.entries(p.doc.getMap('map').toJSON()).sort());
      // Text and map changes are separate transactions: wait for both to arrive everywhere.
      await waitFor(
        () =>
          editors.every(
            (p) =>
              text(p).length === rounds * 3 &&
              text(p) === text(editors[0]!) &&
              [0, 1, 2].every((i) => p.doc.getMap('map').get(`from-${i}`) === rounds - 1) &&
              mapJson(p) === mapJson(editors[0]!),
          ),
        'every editor to see every change',
      );
      const map = editors[0]!.doc.getMap('map').toJSON();
      for (const p of editors) assert.deepEqual(p.doc.getMap('map').toJSON(), map);
      for (let i = 0; i < 3; i++) assert.equal(map[`from-${i}`], rounds - 1);
      const count = (s: string, c: string) => [...s].filter((x) => x === c).length;
      for (let i = 0; i < 3; i++) assert.equal(count(text(editors[0]!), `${i}`), rounds);

      // A late provider on a fourth node gets the whole document.
      const late = await current.start(1);
      const newcomer = await synced(provider(late.nodes[0]!, room));
      await waitFor(() => text(newcomer) === text(editors[0]!), 'late provider to get the text');
      assert.deepEqual(newcomer.doc.getMap('map').toJSON(), map);
    });

    it('syncs a multi-MB document to a new client on another node', async () => {
      const room = freshRoom('big');
      const writer = await synced(provider(cluster.nodes[0]!, room));
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 48; i++) writer.doc.getText('text').insert(0, `${i}${chunk}`);
      const size = Y.encodeStateAsUpdate(writer.doc).length;
      assert.ok(size > 3_000_000, `document of ${size} bytes`);
      const reader = await synced(provider(cluster.nodes[2]!, room), 20_000);
      await waitFor(() => text(reader).length === text(writer).length, 'the whole document', 20_000);
      assert.equal(text(reader), text(writer));
    });

    it('loses nothing when the log is compacted under concurrent edits', async () => {
      const room = freshRoom('compact');
      const editors = await Promise.all(cluster.nodes.map((node) => synced(provider(node, room))));
      const perEditor = 120;
      await Promise.all(
        editors.map(async (p, i) => {
          for (let n = 0; n < perEditor; n++) {
            p.doc.getArray('list').push([`${i}-${n}`]);
            if (n % 3 === 0) p.doc.getText('text').delete(0, Math.min(1, text(p).length));
            p.doc.getText('text').insert(0, 'ab');
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }),
      );
      const total = perEditor * 3;
      await waitFor(
        () => editors.every((p) => p.doc.getArray('list').length === total && text(p) === text(editors[0]!)),
        'editors to converge',
        15_000,
      );
      // The log was compacted (25 entries at most before a compaction), and the stored
      // document still has every element.
      const snapshot = await cluster.yjs[1]!.getDoc(room);
      const list = snapshot.getArray<string>('list').toArray();
      assert.equal(list.length, total);
      assert.equal(new Set(list).size, total);
      assert.equal(snapshot.getText('text').toString(), text(editors[0]!));
      snapshot.destroy();
      const head = await cluster.nodes[0]!.backend.history.head(room, 'yjs');
      const tail = await cluster.nodes[0]!.backend.history.read(room, 'yjs', 0);
      assert.equal(tail.complete, false, 'the start of the log was trimmed');
      // Updates that queue up on a connection are appended merged (one entry for several), so
      // there are fewer entries than updates; still several compactions' worth.
      assert.ok(head.offset > 2 * 25, `${head.offset} entries appended`);
      const late = await synced(provider(cluster.nodes[2]!, room));
      await waitFor(() => late.doc.getArray('list').length === total, 'a new client to get every element');
    });

    it('shows awareness set on one node on another, and removes it everywhere when the socket closes', async () => {
      const room = freshRoom('aware');
      const [a, b, c] = await Promise.all(cluster.nodes.map((node) => synced(provider(node, room))));
      a!.awareness.setLocalStateField('cursor', { index: 7 });
      const id = a!.doc.clientID;
      await waitFor(
        () => (c!.awareness.getStates().get(id) as { cursor?: { index: number } })?.cursor?.index === 7,
        'cursor on node C',
      );
      // A client that joins later, on yet another node, sees it from the store.
      const late = await synced(provider(cluster.nodes[1]!, room));
      await waitFor(() => late.awareness.getStates().has(id), 'cursor for a late joiner');
      // b and c send a's state back (y-websocket relays what it receives): that must not make
      // it theirs, so closing b keeps a visible.
      b!.ws!.close();
      b!.shouldConnect = false;
      await waitFor(() => !c!.awareness.getStates().has(b!.doc.clientID), 'b removed on node C');
      assert.ok(c!.awareness.getStates().has(id), 'a still shown after b left');
      // Closing the socket (without the client saying goodbye) removes its state everywhere.
      a!.ws!.close();
      a!.shouldConnect = false;
      for (const p of [c!, late]) {
        await waitFor(() => !p.awareness.getStates().has(id), 'state removed on every node');
      }
      // A new joiner gets the room's stored states in one message when it opens: once it shows
      // d (stored before it joined), it has had that message, and a's state must not be in it.
      const d = await synced(provider(cluster.nodes[0]!, room));
      d.awareness.setLocalStateField('name', 'd');
      await waitFor(() => c!.awareness.getStates().has(d.doc.clientID), 'd stored and shown on node C');
      const again = await synced(provider(cluster.nodes[2]!, room));
      await waitFor(
        () => again.awareness.getStates().has(d.doc.clientID),
        'the stored states at a new joiner',
      );
      assert.equal(again.awareness.getStates().has(id), false, 'not shown to a new joiner either');
    });

    it('answers query-awareness with the states of clients on every node', async () => {
      const room = freshRoom('query');
      const a = await synced(provider(cluster.nodes[0]!, room));
      a.awareness.setLocalStateField('name', 'ada');
      const raw = await RawYjsClient.connect(cluster.nodes[2]!, room);
      const hasAda = (frame: Uint8Array) => frame[0] === 1 && Buffer.from(frame).includes('"ada"');
      await raw.next(hasAda, 'awareness of ada on open');
      raw.frames.length = 0;
      raw.send(new Uint8Array([3]));
      const answer = await raw.next(hasAda, 'answer to query-awareness');
      assert.equal(answer[0], 1);
      raw.socket.close();
    });

    it('applies an update from server code through the same path, and reads the document back', async () => {
      const room = freshRoom('server');
      const p = await synced(provider(cluster.nodes[1]!, room));
      const doc = new Y.Doc();
      doc.getText('text').insert(0, 'from the server');
      const position = await cluster.yjs[0]!.applyUpdate(room, Y.encodeStateAsUpdate(doc));
      assert.ok((position?.offset ?? 0) >= 1);
      await waitFor(() => text(p) === 'from the server', 'server update on the client');
      p.doc.getMap('map').set('k', 'v');
      await waitFor(async () => {
        const read = await cluster.yjs[2]!.getDoc(room);
        const ok =
          read.getMap('map').get('k') === 'v' && read.getText('text').toString() === 'from the server';
        read.destroy();
        return ok;
      }, 'client edit in the server’s read');
      await assert.rejects(cluster.yjs[0]!.applyUpdate(room, new Uint8Array([1, 2, 3])), {
        code: 'invalid_data',
      });
      const head = await cluster.nodes[0]!.backend.history.head(room, 'yjs');
      assert.equal(await cluster.yjs[0]!.applyUpdate(room, new Uint8Array([0, 0])), undefined);
      assert.equal((await cluster.nodes[0]!.backend.history.head(room, 'yjs')).offset, head.offset);
    });

    it('closes a socket that sends an undecodable frame with 4400, appends nothing, and others go on', async () => {
      const room = freshRoom('bad');
      const good = await synced(provider(cluster.nodes[0]!, room));
      const before = await cluster.nodes[0]!.backend.history.head(room, 'yjs');
      const frames: Array<[string, Uint8Array]> = [
        ['a truncated varint', new Uint8Array([0x80])],
        ['an unknown message type', new Uint8Array([9])],
        ['an unknown sync type', new Uint8Array([0, 7, 0])],
        ['a length past the end', new Uint8Array([0, 2, 50, 1, 2])],
        ['garbage update bytes', syncUpdate(new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04]))],
        ['trailing bytes', new Uint8Array([...syncUpdate(new Uint8Array([0, 0])), 5])],
        ['an auth message from a client', new Uint8Array([2, 0, 0])],
        ['a bad awareness update', new Uint8Array([1, 3, 1, 1, 1])],
      ];
      for (const [what, frame] of frames) {
        const raw = await RawYjsClient.connect(cluster.nodes[1]!, room);
        raw.send(frame);
        const closed = await raw.closed;
        assert.equal(closed.code, 4400, what);
      }
      const textFrames = await RawYjsClient.connect(cluster.nodes[1]!, room);
      textFrames.send('hello');
      assert.equal((await textFrames.closed).code, 1003);
      const after = await cluster.nodes[0]!.backend.history.head(room, 'yjs');
      assert.equal(after.offset, before.offset, 'nothing appended');
      good.doc.getText('text').insert(0, 'still here');
      const other = await synced(provider(cluster.nodes[2]!, room));
      await waitFor(() => text(other) === 'still here', 'the room works on');
    });
  });
}

/** A sync update message around `update`. */
export function syncUpdate(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, 2);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** Reads the reason of a permission-denied auth message, or undefined for other frames. */
export function permissionDenied(frame: Uint8Array): string | undefined {
  if (frame[0] !== 2) return undefined;
  const decoder = decoding.createDecoder(frame);
  decoding.readVarUint(decoder);
  if (decoding.readVarUint(decoder) !== 0) return undefined;
  return decoding.readVarString(decoder);
}
