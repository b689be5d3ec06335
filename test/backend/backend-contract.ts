import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { AwarenessEntry } from '../../src/backend/awareness-store';
import type { Backend, BusListener, Member } from '../../src/backend/backend';
import { DOCUMENT_STREAM } from '../../src/backend/document-store';
import type { Event, RoomEvent, StoredEvent } from '../../src/core/events/event';
import { Y } from '../../src/modules/yjs/esm';
import { uniquePrefix } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import type { BackendFixture, Deployment } from './backend-fixture';

const STREAM = 'events';

/** What one backend's listener heard, and how to wait for it. */
class Heard implements BusListener {
  readonly rooms: RoomEvent[] = [];
  readonly clusters: Event[] = [];
  resyncs = 0;
  room(event: RoomEvent): void {
    this.rooms.push(event);
  }
  cluster(event: Event): void {
    this.clusters.push(event);
  }
  resync(): void {
    this.resyncs++;
  }
}

function event(room: string, data: unknown, type = 'test.event'): RoomEvent {
  return { type, room, data, from: { node: 'a' } };
}

function awareness(client: number, clock: number, node: string, updatedAt = Date.now()): AwarenessEntry {
  return { client, clock, state: `{"n":${clock}}`, node, conn: `c-${client}`, updatedAt };
}

/**
 * A real Yjs update inserting `text`. The backend keeps a document's bytes as given, but
 * the suite also runs with the storage tier on, which merges a room's updates to copy it.
 */
function yjsUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

function member(conn: string, node: string): Member {
  return { conn, user: `u-${conn}`, node };
}

/**
 * The contract every backend keeps, method by method, at the Backend interface. Run it
 * with one line per backend (test/backend/*.test.ts); a new backend passes it before
 * anything else runs on it.
 */
export function backendContract(fixture: BackendFixture): void {
  describe(`the ${fixture.name} backend`, () => {
    const open: Backend[] = [];
    let deployment: Deployment;
    let historyLimit = 50;

    before(async () => fixture.setUp?.());
    after(async () => fixture.tearDown?.());
    afterEach(async () => {
      await Promise.all(open.splice(0).map((backend) => backend.close()));
      historyLimit = 50;
    });

    async function nodes(...ids: string[]): Promise<Backend[]> {
      deployment = fixture.deployment({ historyLimit });
      const backends: Backend[] = [];
      for (const id of ids) {
        const backend = await deployment.node(id);
        open.push(backend);
        backends.push(backend);
      }
      return backends;
    }

    /** Node a sends; node b listens and is subscribed to a fresh room. */
    async function senderAndSubscriber() {
      const [a, b] = await nodes('a', 'b');
      const room = uniquePrefix('room');
      const heard = new Heard();
      b!.bus.listen(heard);
      a!.bus.listen(new Heard());
      await b!.bus.subscribe(room);
      return { a: a!, b: b!, room, heard };
    }

    describe('bus', () => {
      it('appends a room event to its stream and publishes it in one step, with its position', async () => {
        const { a, b, room, heard } = await senderAndSubscriber();
        // What a receiver does on a gap: read history. The event it was handed must be there.
        const inHistory: boolean[] = [];
        const room0 = heard.room.bind(heard);
        heard.room = (e) => {
          room0(e);
          void b.history
            .read(room, STREAM, (e.offset ?? 1) - 1, e.epoch)
            .then((read) => inHistory.push(read.events.some((x) => x.offset === e.offset)));
        };
        const first = await a.bus.publishRoom(event(room, { n: 1 }), STREAM);
        const second = await a.bus.publishRoom(event(room, { n: 2 }), STREAM);
        assert.deepEqual([first.offset, second.offset], [1, 2]);
        assert.equal(first.stream, STREAM);
        const head = await a.history.head(room, STREAM);
        assert.deepEqual(head, { offset: 2, epoch: first.epoch });
        assert.ok(first.epoch.length > 0);
        await waitFor(() => heard.rooms.length === 2 && inHistory.length === 2, 'both events on node b');
        assert.deepEqual(
          heard.rooms.map((e) => [e.offset, e.epoch, e.data]),
          [
            [1, first.epoch, { n: 1 }],
            [2, first.epoch, { n: 2 }],
          ],
        );
        assert.deepEqual(inHistory, [true, true], 'a delivered event is already in history');
      });

      it('publishes an event without a stream with no position and appends nothing', async () => {
        const { a, room, heard } = await senderAndSubscriber();
        const published = await a.bus.publishRoom(event(room, 'hi'), null);
        assert.equal(published.offset, undefined);
        await waitFor(() => heard.rooms.length === 1, 'the ephemeral event on node b');
        assert.equal(heard.rooms[0]!.offset, undefined);
        assert.deepEqual(await a.history.head(room, STREAM), { offset: 0, epoch: '' });
      });

      it('delivers room events only to other nodes subscribed to the room, never back to the sender', async () => {
        const [a, b, c] = await nodes('a', 'b', 'c');
        const room = uniquePrefix('room');
        const heardA = new Heard();
        const heardB = new Heard();
        const heardC = new Heard();
        a!.bus.listen(heardA);
        b!.bus.listen(heardB);
        c!.bus.listen(heardC);
        await a!.bus.subscribe(room);
        await b!.bus.subscribe(room);
        await a!.bus.publishRoom(event(room, 1), STREAM);
        await waitFor(() => heardB.rooms.length === 1, 'node b to hear the first event');
        await b!.bus.unsubscribe(room);
        await a!.bus.publishRoom(event(room, 2), STREAM);
        // c subscribes last and hears the third: everything before it was not for c.
        await c!.bus.subscribe(room);
        await a!.bus.publishRoom(event(room, 3), STREAM);
        await waitFor(() => heardC.rooms.length === 1, 'node c to hear the third event');
        assert.deepEqual(
          heardC.rooms.map((e) => e.data),
          [3],
        );
        assert.deepEqual(
          heardB.rooms.map((e) => e.data),
          [1],
        );
        assert.equal(heardA.rooms.length, 0, 'the sender hears nothing of its own');
      });

      it('delivers a cluster event once to every other node', async () => {
        const [a, b, c] = await nodes('a', 'b', 'c');
        const heard = [new Heard(), new Heard(), new Heard()];
        [a!, b!, c!].forEach((backend, i) => {
          backend.bus.listen(heard[i]!);
        });
        // Cluster events need no room subscription; give the subscriber connections a moment
        // to be listening by round-tripping a room subscription first.
        await Promise.all([a!, b!, c!].map((backend) => backend.bus.subscribe(uniquePrefix('warm'))));
        await a!.bus.publishCluster({ type: 'test.cluster', data: { x: 1 }, from: { node: 'a' } });
        await waitFor(() => heard[1]!.clusters.length === 1 && heard[2]!.clusters.length === 1, 'b and c');
        assert.deepEqual(heard[1]!.clusters[0]!.data, { x: 1 });
        assert.equal(heard[0]!.clusters.length, 0);
      });
    });

    describe('idempotent appends', () => {
      const WINDOW_MS = 60_000;

      it('stores an event appended twice under one key once, and answers the repeat with the first position and answer', async () => {
        const { a, b, room, heard } = await senderAndSubscriber();
        const first = await a.bus.appendOnce(event(room, 1), STREAM, {
          key: 'k1',
          windowMs: WINDOW_MS,
          answer: '{"ok":true}',
        });
        assert.equal(first.repeat, false);
        if (first.repeat) return;
        // Through another node, as a client that reconnected elsewhere resends it.
        const again = await b.bus.appendOnce(event(room, 1), STREAM, { key: 'k1', windowMs: WINDOW_MS });
        assert.deepEqual(again, {
          repeat: true,
          position: { offset: first.event.offset, epoch: first.event.epoch },
          answer: '{"ok":true}',
        });
        const other = await a.bus.appendOnce(event(room, 2), STREAM, { key: 'k2', windowMs: WINDOW_MS });
        assert.equal(other.repeat, false);
        assert.equal(other.repeat === false && other.event.offset, first.event.offset + 1);
        const bare = await b.bus.appendOnce(event(room, 2), STREAM, { key: 'k2', windowMs: WINDOW_MS });
        assert.deepEqual(bare, { repeat: true, position: { offset: 2, epoch: first.event.epoch } });
        await waitFor(() => heard.rooms.length === 2, 'the two events on node b');
        assert.deepEqual(
          heard.rooms.map((e) => e.data),
          [1, 2],
        );
        const read = await b.history.read(room, STREAM, 0);
        assert.deepEqual(
          read.events.map((e) => e.data),
          [1, 2],
          'each event stored once',
        );
      });

      it('stores one event when two nodes append under one key at the same time', async () => {
        const [a, b] = await nodes('a', 'b');
        a!.bus.listen(new Heard());
        b!.bus.listen(new Heard());
        const room = uniquePrefix('race');
        const once = { key: 'same', windowMs: WINDOW_MS };
        const outcomes = await Promise.all([
          a!.bus.appendOnce(event(room, 'x'), STREAM, once),
          b!.bus.appendOnce(event(room, 'x'), STREAM, once),
        ]);
        const appended = outcomes.flatMap((o) => (o.repeat ? [] : [o.event]));
        const repeats = outcomes.flatMap((o) => (o.repeat ? [o.position] : []));
        assert.equal(appended.length, 1, 'one of them appended');
        assert.deepEqual(repeats, [{ offset: appended[0]!.offset, epoch: appended[0]!.epoch }]);
        assert.deepEqual(await a!.history.head(room, STREAM), repeats[0]);
      });

      it('takes an append under a key past its window for a new event', async () => {
        const [a] = await nodes('a');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('window');
        const windowMs = 1000;
        const first = await a!.bus.appendOnce(event(room, 1), STREAM, { key: 'k', windowMs });
        // Taken once the append answered: the key was remembered before, so its window ends
        // before this plus windowMs, however long the append took (a room loaded first).
        const sentAt = Date.now();
        const within = await a!.bus.appendOnce(event(room, 1), STREAM, { key: 'k', windowMs });
        assert.equal(first.repeat, false);
        assert.equal(within.repeat, true);
        await waitFor(() => Date.now() > sentAt + windowMs + 20, 'the window to pass');
        const later = await a!.bus.appendOnce(event(room, 1), STREAM, { key: 'k', windowMs });
        assert.equal(later.repeat, false);
        assert.equal(later.repeat === false && later.event.offset, 2);
      });

      it('forgets the keys of a stream that was lost: a repeat under the new epoch is a new event', async () => {
        const [a] = await nodes('a');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('lost-ids');
        const first = await a!.bus.appendOnce(event(room, 1), STREAM, { key: 'k', windowMs: WINDOW_MS });
        await deployment.lose(room, STREAM);
        const after = await a!.bus.appendOnce(event(room, 1), STREAM, { key: 'k', windowMs: WINDOW_MS });
        assert.equal(after.repeat, false);
        if (first.repeat || after.repeat) return;
        assert.equal(after.event.offset, 1);
        assert.notEqual(after.event.epoch, first.event.epoch);
      });
    });

    describe('history', () => {
      it('has offset 0 and the empty epoch for a stream never written', async () => {
        const [a] = await nodes('a');
        assert.deepEqual(await a!.history.head(uniquePrefix('none'), STREAM), { offset: 0, epoch: '' });
      });

      it('reads the events after an offset in order, up to a limit, and says it is complete', async () => {
        const [a] = await nodes('a');
        const room = uniquePrefix('room');
        a!.bus.listen(new Heard());
        const stored: StoredEvent[] = [];
        for (let i = 1; i <= 5; i++) stored.push(await a!.bus.publishRoom(event(room, { i }), STREAM));
        const { epoch } = stored[0]!;
        const read = await a!.history.read(room, STREAM, 2);
        assert.equal(read.complete, true);
        assert.deepEqual(read.head, { offset: 5, epoch });
        assert.deepEqual(
          read.events.map((e) => [e.offset, e.epoch, e.stream, e.data]),
          [
            [3, epoch, STREAM, { i: 3 }],
            [4, epoch, STREAM, { i: 4 }],
            [5, epoch, STREAM, { i: 5 }],
          ],
        );
        const limited = await a!.history.read(room, STREAM, 0, epoch, 2);
        assert.deepEqual(
          limited.events.map((e) => e.offset),
          [1, 2],
        );
        assert.equal(limited.complete, true);
        const atHead = await a!.history.read(room, STREAM, 5, epoch);
        assert.deepEqual([atHead.events.length, atHead.complete], [0, true]);
        // Streams of one room are apart: the other stream of the room is empty.
        assert.deepEqual(await a!.history.head(room, 'other'), { offset: 0, epoch: '' });
      });

      it('says incomplete when the capped history no longer reaches back to the offset', async () => {
        // A cap may be approximate (Redis trims whole stream nodes of 100 entries): appending
        // a few hundred past it must have dropped the oldest, and kept at least the newest.
        historyLimit = 3;
        const [a] = await nodes('a');
        const room = uniquePrefix('capped');
        a!.bus.listen(new Heard());
        const total = 350;
        for (let i = 1; i <= total; i++) await a!.bus.publishRoom(event(room, i), STREAM);
        assert.equal((await a!.history.read(room, STREAM, 1)).complete, false);
        const recent = await a!.history.read(room, STREAM, total - 3);
        assert.equal(recent.complete, true);
        assert.deepEqual(
          recent.events.map((e) => e.data),
          [total - 2, total - 1, total],
        );
      });

      it('leaves the document stream uncapped: only compaction trims it', async () => {
        historyLimit = 3;
        const [a] = await nodes('a');
        const room = uniquePrefix('doc');
        a!.bus.listen(new Heard());
        for (let i = 1; i <= 6; i++)
          await a!.bus.publishRoom(event(room, yjsUpdate(`${i}`)), DOCUMENT_STREAM);
        const read = await a!.history.read(room, DOCUMENT_STREAM, 0);
        assert.equal(read.complete, true);
        assert.equal(read.events.length, 6);
      });

      it('starts a lost stream again under a new epoch, and a read in the old epoch is incomplete', async () => {
        const [a] = await nodes('a');
        const room = uniquePrefix('lost');
        a!.bus.listen(new Heard());
        const before = await a!.bus.publishRoom(event(room, 1), STREAM);
        await a!.bus.publishRoom(event(room, 2), STREAM);
        await deployment.lose(room, STREAM);
        const after = await a!.bus.publishRoom(event(room, 3), STREAM);
        assert.equal(after.offset, 1);
        assert.notEqual(after.epoch, before.epoch);
        const stale = await a!.history.read(room, STREAM, 1, before.epoch);
        assert.equal(stale.complete, false);
        assert.deepEqual(stale.head, { offset: 1, epoch: after.epoch });
        assert.equal((await a!.history.read(room, STREAM, 0, after.epoch)).complete, true);
      });
    });

    describe('members', () => {
      it('adds, lists and removes members, saying whether one was there', async () => {
        const [a] = await nodes('a');
        const room = uniquePrefix('room');
        await a!.members.add(room, member('c1', 'a'));
        await a!.members.add(room, member('c2', 'a'));
        await a!.members.add(room, member('c1', 'a'));
        const listed = await a!.members.list(room);
        assert.deepEqual(listed.map((m) => m.conn).sort(), ['c1', 'c2']);
        assert.deepEqual(
          listed.find((m) => m.conn === 'c1'),
          member('c1', 'a'),
        );
        assert.equal(await a!.members.remove(room, 'c1'), true);
        assert.equal(await a!.members.remove(room, 'c1'), false);
        assert.deepEqual(await a!.members.list(room), [member('c2', 'a')]);
      });

      it('removes every member of a dead node, in every room, and returns them', async () => {
        const [a, b] = await nodes('a', 'b');
        const [r1, r2] = [uniquePrefix('r1'), uniquePrefix('r2')];
        await a!.members.add(r1, member('a1', 'a'));
        await a!.members.add(r2, member('a2', 'a'));
        await b!.members.add(r1, member('b1', 'b'));
        const removed = await b!.members.removeNode('a');
        assert.deepEqual(
          removed.map((r) => [r.room, r.member.conn]).sort(),
          [
            [r1, 'a1'],
            [r2, 'a2'],
          ].sort(),
        );
        assert.deepEqual(await b!.members.list(r1), [member('b1', 'b')]);
        assert.deepEqual(await b!.members.list(r2), []);
        assert.deepEqual(await b!.members.removeNode('a'), [], 'nothing is removed twice');
      });
    });

    describe('state', () => {
      it('keeps a room’s JSON values by key, and null deletes a key', async () => {
        const [a, b] = await nodes('a', 'b');
        const room = uniquePrefix('room');
        assert.equal(await a!.state.get(room, 'title'), undefined);
        await a!.state.set(room, 'title', 'hello');
        await a!.state.set(room, 'config', { n: 1, list: [true, 'x'] });
        assert.deepEqual(await b!.state.get(room, 'config'), { n: 1, list: [true, 'x'] });
        assert.deepEqual(await b!.state.all(room), { title: 'hello', config: { n: 1, list: [true, 'x'] } });
        await a!.state.set(room, 'title', null);
        assert.deepEqual(await b!.state.all(room), { config: { n: 1, list: [true, 'x'] } });
        assert.deepEqual(await b!.state.all(uniquePrefix('other')), {});
      });
    });

    describe('node registry', () => {
      const info = (id: string) => ({ id, startedAt: 1, connections: 2, rooms: 3 });

      it('lists a beating node as live, then as dead once its heartbeat expires', async () => {
        const [a, b] = await nodes('a', 'b');
        // 2 s: long enough that a loaded machine does not see it lapse before the checks
        // below, short enough to wait for.
        assert.equal(await a!.nodes.heartbeat(info('a'), 2_000), false, 'the first beat finds none alive');
        assert.equal(await a!.nodes.heartbeat(info('a'), 2_000), true);
        assert.equal(await b!.nodes.heartbeat(info('b'), 60_000), false);
        assert.deepEqual((await b!.nodes.live()).map((n) => n.id).sort(), ['a', 'b']);
        assert.deepEqual(
          (await b!.nodes.live()).find((n) => n.id === 'a'),
          info('a'),
        );
        assert.deepEqual(await b!.nodes.dead(), []);
        await waitFor(async () => (await b!.nodes.dead()).includes('a'), 'node a to be dead');
        assert.deepEqual(
          (await b!.nodes.live()).map((n) => n.id),
          ['b'],
        );
        assert.equal(await a!.nodes.heartbeat(info('a'), 200), false, 'a beat after a lapse says so');
      });

      it('forgets a node that said goodbye with no members listed for it', async () => {
        const [a, b] = await nodes('a', 'b');
        await a!.nodes.heartbeat(info('a'), 60_000);
        await b!.nodes.remove('a');
        assert.deepEqual(await b!.nodes.live(), []);
        assert.deepEqual(await b!.nodes.dead(), [], 'a clean goodbye leaves nothing for a reaper');
      });

      it('lists a node that said goodbye with members still listed as dead, and forgets it once cleaned up after', async () => {
        const [a, b] = await nodes('a', 'b');
        const room = uniquePrefix('goodbye');
        await a!.nodes.heartbeat(info('a'), 60_000);
        await a!.members.add(room, member('c1', 'a'));
        await b!.nodes.remove('a');
        assert.deepEqual(await b!.nodes.dead(), ['a']);
        assert.deepEqual(await b!.nodes.live(), []);
        await b!.members.removeNode('a');
        await b!.nodes.forget('a');
        assert.deepEqual(await b!.nodes.dead(), []);
      });

      it('gives the right to clean up after a dead node to one claimant until it expires', async () => {
        const [a, b] = await nodes('a', 'b');
        assert.equal(await a!.nodes.claim('dead', 150), true);
        assert.equal(await b!.nodes.claim('dead', 150), false);
        assert.equal(await b!.nodes.claim('other', 150), true);
        await waitFor(() => b!.nodes.claim('dead', 150), 'the claim to expire');
      });
    });

    describe('documents', () => {
      async function appendDocument(backend: Backend, room: string, count: number): Promise<StoredEvent[]> {
        const stored: StoredEvent[] = [];
        for (let i = 0; i < count; i++) {
          stored.push(
            await backend.bus.publishRoom(event(room, yjsUpdate(`${i}`), 'doc.update'), DOCUMENT_STREAM),
          );
        }
        return stored;
      }

      it('has no snapshot before the first compaction', async () => {
        const [a] = await nodes('a');
        assert.deepEqual(await a!.documents.snapshot(uniquePrefix('none')), {
          update: undefined,
          offset: 0,
          epoch: '',
        });
      });

      it('locks a room’s compaction for one holder, and only its token unlocks it', async () => {
        const [a, b] = await nodes('a', 'b');
        const room = uniquePrefix('lock');
        const token = await a!.documents.lock(room, 5000);
        assert.ok(token);
        assert.equal(await b!.documents.lock(room, 5000), undefined);
        await b!.documents.unlock(room, 'not-the-token');
        assert.equal(await b!.documents.lock(room, 5000), undefined, 'a wrong token does not unlock');
        await a!.documents.unlock(room, token);
        const again = await b!.documents.lock(room, 5000);
        assert.ok(again);
        assert.notEqual(again, token);
        await b!.documents.unlock(room, again);
        const short = await a!.documents.lock(room, 100);
        assert.ok(short);
        await waitFor(() => b!.documents.lock(room, 5000), 'a lock to expire');
      });

      it('replaces the snapshot and trims the stream up to it in one step, only under the lock', async () => {
        const [a] = await nodes('a');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('compact');
        const stored = await appendDocument(a!, room, 5);
        const { epoch } = stored[0]!;
        const snapshot = yjsUpdate('snapshot');
        const token = (await a!.documents.lock(room, 5000))!;
        assert.equal(await a!.documents.compact(room, snapshot, 3, epoch, 'not-the-token'), false);
        assert.equal(await a!.documents.compact(room, snapshot, 3, 'another-epoch', token), false);
        assert.deepEqual(
          (await a!.documents.snapshot(room)).offset,
          0,
          'a refused compaction writes nothing',
        );
        assert.equal(await a!.documents.compact(room, snapshot, 3, epoch, token), true);
        assert.equal(
          await a!.documents.compact(room, snapshot, 3, epoch, token),
          false,
          'not twice for one offset',
        );
        assert.equal(await a!.documents.compact(room, snapshot, 2, epoch, token), false, 'never backwards');
        assert.deepEqual(await a!.documents.snapshot(room), { update: snapshot, offset: 3, epoch });
        const tail = await a!.history.read(room, DOCUMENT_STREAM, 3);
        assert.deepEqual(
          tail.events.map((e) => e.offset),
          [4, 5],
        );
        assert.equal(
          (await a!.history.read(room, DOCUMENT_STREAM, 2)).complete,
          false,
          'entries 1-3 are gone',
        );
        await a!.documents.unlock(room, token);
        const expired = (await a!.documents.lock(room, 50))!;
        await waitFor(async () => (await a!.documents.lock(room, 1)) !== undefined, 'the lock to expire');
        assert.equal(await a!.documents.compact(room, snapshot, 5, epoch, expired), false, 'a lost lock');
      });

      it('keeps a large snapshot byte for byte, and a smaller one replaces it whole', async () => {
        const [a] = await nodes('a');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('big');
        const stored = await appendDocument(a!, room, 2);
        const { epoch } = stored[0]!;
        const large = yjsUpdate('x'.repeat(100_000));
        let token = (await a!.documents.lock(room, 5000))!;
        assert.equal(await a!.documents.compact(room, large, 1, epoch, token), true);
        await a!.documents.unlock(room, token);
        assert.deepEqual((await a!.documents.snapshot(room)).update, large);
        const small = yjsUpdate('small');
        token = (await a!.documents.lock(room, 5000))!;
        assert.equal(await a!.documents.compact(room, small, 2, epoch, token), true);
        await a!.documents.unlock(room, token);
        assert.deepEqual(await a!.documents.snapshot(room), { update: small, offset: 2, epoch });
      });

      it('reads the snapshot with the entries after it as the two reads one after the other would', async () => {
        const [a] = await nodes('a');
        assert.ok(a!.documents.snapshotWithTail, 'both backends read the two together');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('together');
        const apart = async (limit: number) => {
          const snapshot = await a!.documents.snapshot(room);
          const tail = await a!.history.read(
            room,
            DOCUMENT_STREAM,
            snapshot.offset,
            snapshot.epoch || undefined,
            limit,
          );
          return { snapshot, tail };
        };
        const none = await a!.documents.snapshotWithTail!(room, 1000);
        assert.deepEqual(none, await apart(1000), 'no snapshot, no stream');
        assert.equal(none!.tail.events.length, 0);
        const stored = await appendDocument(a!, room, 5);
        const uncompacted = await a!.documents.snapshotWithTail!(room, 1000);
        assert.deepEqual(uncompacted, await apart(1000), 'no snapshot: the whole stream');
        assert.deepEqual(
          uncompacted!.tail.events.map((e) => e.offset),
          [1, 2, 3, 4, 5],
        );
        const { epoch } = stored[0]!;
        const token = (await a!.documents.lock(room, 5000))!;
        assert.equal(await a!.documents.compact(room, yjsUpdate('snapshot'), 3, epoch, token), true);
        await a!.documents.unlock(room, token);
        const compacted = await a!.documents.snapshotWithTail!(room, 1);
        assert.deepEqual(compacted, await apart(1), 'a snapshot and the first page after it');
        assert.equal(compacted!.snapshot.offset, 3);
        assert.deepEqual(
          compacted!.tail.events.map((e) => e.offset),
          [4],
        );
        await deployment.lose(room, DOCUMENT_STREAM);
        await appendDocument(a!, room, 1);
        const restarted = await a!.documents.snapshotWithTail!(room, 1000);
        assert.deepEqual(restarted, await apart(1000), 'the stream restarted under a new epoch');
        assert.equal(restarted!.tail.complete, false);
      });

      it('refuses to compact into a stream that restarted under a new epoch', async () => {
        const [a] = await nodes('a');
        a!.bus.listen(new Heard());
        const room = uniquePrefix('epoch');
        const [old] = await appendDocument(a!, room, 1);
        await deployment.lose(room, DOCUMENT_STREAM);
        await appendDocument(a!, room, 1);
        const token = (await a!.documents.lock(room, 5000))!;
        assert.equal(await a!.documents.compact(room, yjsUpdate('1'), 1, old!.epoch, token), false);
        await a!.documents.unlock(room, token);
      });
    });

    describe('awareness', () => {
      it('keeps the latest state per client, lists only recent ones, and removes them', async () => {
        const [a, b] = await nodes('a', 'b');
        const room = uniquePrefix('aw');
        const other = uniquePrefix('aw-other');
        await a!.awareness.put(room, [awareness(1, 1, 'a'), awareness(2, 1, 'b')]);
        await a!.awareness.put(room, [awareness(1, 2, 'a')]);
        await a!.awareness.put(other, [awareness(3, 1, 'a')]);
        await a!.awareness.put(room, []);
        const listed = await b!.awareness.list(room, 30_000);
        assert.deepEqual(listed.map((e) => [e.client, e.clock]).sort(), [
          [1, 2],
          [2, 1],
        ]);
        assert.deepEqual(
          [...(await b!.awareness.of(room, [1, 9])).entries()],
          [[1, listed.find((e) => e.client === 1)]],
        );
        assert.equal((await b!.awareness.of(room, [])).size, 0);
        await a!.awareness.put(room, [awareness(4, 1, 'b', Date.now() - 60_000)]);
        assert.equal((await b!.awareness.list(room, 30_000)).length, 2, 'outdated states are not listed');
        await b!.awareness.remove(room, [2, 4]);
        await b!.awareness.remove(room, []);
        assert.deepEqual(
          (await a!.awareness.list(room, 30_000)).map((e) => e.client),
          [1],
        );
      });

      it('removes every state of a dead node’s clients, per room, and returns them', async () => {
        const [a, b] = await nodes('a', 'b');
        const [r1, r2, r3] = [uniquePrefix('aw1'), uniquePrefix('aw2'), uniquePrefix('aw3')];
        await a!.awareness.put(r1, [awareness(1, 1, 'a'), awareness(2, 1, 'b')]);
        await a!.awareness.put(r2, [awareness(3, 5, 'a')]);
        // A room the node's last client left, its states cleared: forgotten, nothing to remove.
        await a!.awareness.put(r3, [awareness(4, 1, 'a')]);
        await a!.awareness.remove(r3, [4]);
        await a!.awareness.forgetRoom('a', r3);
        const removed = await b!.awareness.removeNode('a');
        assert.deepEqual(
          removed.map((r) => [r.room, r.entries.map((e) => [e.client, e.clock])]).sort(),
          [
            [r1, [[1, 1]]],
            [r2, [[3, 5]]],
          ].sort(),
        );
        assert.deepEqual(
          (await b!.awareness.list(r1, 30_000)).map((e) => e.client),
          [2],
        );
        assert.deepEqual(await b!.awareness.list(r2, 30_000), []);
        assert.deepEqual(await b!.awareness.removeNode('a'), [], 'nothing is removed twice');
      });
    });

    describe('revocations', () => {
      it('hands every node the revocations younger than the age asked for, and drops older ones', async () => {
        const [a, b] = await nodes('a', 'b');
        const now = Math.floor(Date.now() / 1000);
        await a!.revocations.add({ user: 'u1', at: now });
        await a!.revocations.add({ user: 'u2', room: 'r', at: now - 10 });
        await a!.revocations.add({ user: 'u3', at: now - 3600 });
        const recent = await b!.revocations.recent(60_000);
        assert.deepEqual(recent.map((r) => [r.user, r.room, r.at]).sort(), [
          ['u1', undefined, now],
          ['u2', 'r', now - 10],
        ]);
        assert.deepEqual(
          (await b!.revocations.recent(24 * 3600_000)).map((r) => r.user).sort(),
          ['u1', 'u2'],
          'an older one, once dropped, stays dropped',
        );
      });
    });

    describe('status', () => {
      it('is up once started, names itself, and reports going down and coming back', async () => {
        const [a] = await nodes('a');
        assert.equal(a!.status(), 'up');
        assert.ok(a!.name.length > 0);
        assert.ok(a!.summary.length > 0);
        const seen: string[] = [];
        a!.onStatus((status) => seen.push(status));
        const outage = deployment.outage;
        if (!outage) {
          await a!.state.set(uniquePrefix('room'), 'k', 1);
          assert.deepEqual([a!.status(), seen], ['up', []], 'a backend that cannot go down stays up');
          return;
        }
        const restore = await outage();
        await waitFor(() => a!.status() === 'down', 'the backend to report down', 10_000);
        await restore();
        await waitFor(() => a!.status() === 'up', 'the backend to report up again', 10_000);
        assert.deepEqual(seen, ['down', 'up']);
      });

      it('reports the time of its calls where it has any worth timing', async () => {
        const [a] = await nodes('a');
        if (!a!.useMetrics) return;
        const calls: string[] = [];
        a!.useMetrics({ call: (kind, seconds, ok) => calls.push(`${kind}:${ok}:${seconds >= 0}`) });
        await a!.state.set(uniquePrefix('room'), 'k', 1);
        await a!.state.all(uniquePrefix('room'));
        assert.deepEqual(calls, ['write:true:true', 'read:true:true']);
      });
    });
  });
}
