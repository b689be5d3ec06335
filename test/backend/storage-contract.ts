import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend';
import type { CopyProgress, StoredRoom } from '../../src/backend/storage/document-store';
import type { RoomEvent } from '../../src/core/events/event';
import { uniquePrefix } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import type { BackendFixture } from './backend-fixture';

const NONE = { offset: 0, epoch: '' };
/** The event streams the nodes' events declare: `events`, and one of the app's own. */
const STREAMS = ['events', 'moves'];

function event(room: string, n: number): RoomEvent {
  return { type: 'test.event', room, data: { n }, from: { node: 'a' } };
}

/**
 * The contract of what a backend provides the storage tier (`copies`, `restore`), method
 * by method: one node at a time copies a room, the index of warm rooms tells the sweep
 * what is quiet and what is behind, a cold room is loaded back once and never over live
 * streams, and (where the backend evicts) a room leaves the hot tier only when no node
 * serves it and the database has everything.
 */
export function storageContract(fixture: BackendFixture): void {
  describe(`the storage seam of the ${fixture.name} backend`, () => {
    const open: Backend[] = [];

    before(async () => fixture.setUp?.());
    after(async () => fixture.tearDown?.());
    afterEach(async () => {
      await Promise.all(open.splice(0).map((backend) => backend.close()));
    });

    async function two(): Promise<[Backend, Backend]> {
      const deployment = fixture.deployment({ historyLimit: 50 });
      const a = await deployment.node('a');
      const b = await deployment.node('b');
      open.push(a, b);
      return [a, b];
    }

    it('gives a room’s copy duty to one node at a time, until it is given back or expires', async () => {
      const [a, b] = await two();
      const room = uniquePrefix('room');
      const token = await a.copies.lock(room, 10_000);
      assert.ok(token, 'the first node takes the duty');
      assert.equal(await b.copies.lock(room, 10_000), undefined, 'a second node does not');
      assert.equal(await b.copies.renew(room, 'not-the-token', 10_000), false);
      assert.equal(await a.copies.renew(room, token, 10_000), true);
      await b.copies.unlock(room, 'not-the-token');
      assert.equal(await b.copies.lock(room, 10_000), undefined, 'a wrong token gives nothing back');
      await a.copies.unlock(room, token);
      const second = await b.copies.lock(room, 100);
      assert.ok(second, 'given back, the duty is free');
      await waitFor(async () => (await a.copies.lock(room, 10_000)) !== undefined, 'the duty to expire');
      assert.equal(await b.copies.renew(room, second, 10_000), false, 'an expired duty cannot be renewed');
    });

    it('lists a touched room as idle once it has been quiet, at most `limit`, until it is forgotten', async () => {
      const [a, b] = await two();
      const rooms = [uniquePrefix('room'), uniquePrefix('room'), uniquePrefix('room')];
      for (const room of rooms) await a.copies.touch(room, 1_000);
      const idle = await b.copies.idle(2_000, 100);
      for (const room of rooms) assert.ok(idle.includes(room), `${room} is idle`);
      assert.equal((await b.copies.idle(2_000, 2)).length, 2);
      assert.deepEqual(
        (await b.copies.idle(1_000, 100)).filter((r) => rooms.includes(r)),
        [],
        'active at the bound: not quiet yet',
      );
      await a.copies.touch(rooms[0]!, 5_000);
      assert.ok(!(await b.copies.idle(2_000, 100)).includes(rooms[0]!), 'a later touch makes it active');
      await b.copies.forget(rooms[1]!);
      assert.ok(!(await a.copies.idle(2_000, 100)).includes(rooms[1]!), 'forgotten');
    });

    it('lists a quiet room whose streams are past what was recorded copied, and not once it is', async () => {
      const [a, b] = await two();
      const room = uniquePrefix('room');
      await a.bus.publishRoom(event(room, 1), 'events');
      await a.bus.publishRoom(event(room, 2), 'events');
      await a.copies.touch(room, 1_000);
      assert.ok((await b.copies.behind(2_000, 100, STREAMS)).includes(room), 'two events not copied');
      const head = await a.history.head(room, 'events');
      await a.copies.copied(
        room,
        { streams: { events: { offset: 1, epoch: head.epoch } }, yjs: NONE },
        1_000,
      );
      assert.ok((await b.copies.behind(2_000, 100, STREAMS)).includes(room), 'one event not copied');
      await a.copies.copied(room, { streams: { events: head }, yjs: NONE }, 1_000);
      assert.ok(!(await b.copies.behind(2_000, 100, STREAMS)).includes(room), 'all copied');
      await a.bus.publishRoom(event(room, 3), 'moves');
      assert.ok((await b.copies.behind(2_000, 100, STREAMS)).includes(room), 'a move not copied');
      const moves = await a.history.head(room, 'moves');
      await a.copies.copied(room, { streams: { events: head, moves }, yjs: NONE }, 1_000);
      assert.ok(!(await b.copies.behind(2_000, 100, STREAMS)).includes(room), 'both streams copied');
      assert.ok(
        !(await b.copies.behind(500, 100, STREAMS)).includes(room),
        'active since: the appender’s job',
      );
    });

    it('loads a cold room back once: one loader, its streams continue, and a room with live streams is never overwritten', async () => {
      const [a, b] = await two();
      const room = uniquePrefix('room');
      const token = await a.restore.lock(room, 10_000);
      assert.ok(token);
      assert.equal(await b.restore.lock(room, 10_000), undefined, 'one node loads a room');
      assert.equal(await b.restore.isLoaded(room), false);
      const stored: StoredRoom = {
        room,
        progress: {
          streams: { events: { offset: 7, epoch: 'e-stored' }, moves: { offset: 3, epoch: 'm-stored' } },
          yjs: NONE,
        },
        recent: {
          events: [
            { offset: 6, type: 'test.event', data: { n: 6 }, from: { node: 'x' } },
            { offset: 7, type: 'test.event', data: { n: 7 }, from: { node: 'x' } },
          ],
          moves: [{ offset: 3, type: 'test.move', data: { to: 3 }, from: { node: 'x' } }],
        },
        state: { title: 'kept' },
        document: undefined,
        activeAt: 1_000,
      };
      assert.equal(await a.restore.restore(room, stored, STREAMS), true);
      await a.restore.unlock(room, token);
      assert.equal(await b.restore.isLoaded(room), true);
      assert.deepEqual(await b.history.head(room, 'events'), { offset: 7, epoch: 'e-stored' });
      const read = await b.history.read(room, 'events', 5, 'e-stored');
      assert.deepEqual(
        read.events.map((e) => [e.offset, e.data]),
        [
          [6, { n: 6 }],
          [7, { n: 7 }],
        ],
      );
      assert.deepEqual(await b.state.all(room), { title: 'kept' });
      const next = await b.bus.publishRoom(event(room, 8), 'events');
      assert.deepEqual([next.offset, next.epoch], [8, 'e-stored'], 'offsets and epoch continue');
      const moves = await b.history.read(room, 'moves', 2, 'm-stored');
      assert.deepEqual(
        moves.events.map((e) => [e.offset, e.type, e.data]),
        [[3, 'test.move', { to: 3 }]],
        'every stored stream is written back',
      );
      const move = await b.bus.publishRoom(event(room, 4), 'moves');
      assert.deepEqual([move.offset, move.epoch], [4, 'm-stored'], 'the app stream continues too');
      assert.equal(
        await b.restore.restore(room, stored, STREAMS),
        false,
        'a loaded room is not loaded twice',
      );

      const live = uniquePrefix('room');
      await a.bus.publishRoom(event(live, 1), 'events');
      const before = await a.history.head(live, 'events');
      assert.equal(await b.restore.restore(live, { ...stored, room: live }, STREAMS), false);
      assert.deepEqual(await a.history.head(live, 'events'), before, 'live streams are kept');

      // Live keys of an app stream alone keep the room as the hot tier has it, too.
      const moving = uniquePrefix('room');
      await a.bus.publishRoom(event(moving, 1), 'moves');
      assert.equal(await b.restore.restore(moving, { ...stored, room: moving }, STREAMS), false);
      assert.deepEqual(
        await a.history.head(moving, 'events'),
        NONE,
        'nothing written over a live app stream',
      );
    });

    if (fixture.evictsColdRooms) {
      it('evicts a room only when no node serves it and everything in it was copied, then loads it back', async () => {
        const [a, b] = await two();
        const room = uniquePrefix('room');
        await a.bus.publishRoom(event(room, 1), 'events');
        await a.state.set(room, 'k', 'v');
        let head = await a.history.head(room, 'events');
        const copied = (events = head): CopyProgress => ({ streams: { events }, yjs: NONE });
        assert.equal(await b.restore.evict(room, STREAMS), false, 'nothing was copied yet');
        await a.copies.copied(room, copied(), 1_000);
        await b.bus.subscribe(room);
        assert.equal(await a.restore.evict(room, STREAMS), false, 'a node is subscribed to the room');
        await b.bus.unsubscribe(room);
        await b.members.add(room, { conn: 'c1', user: 'u1', node: 'b' });
        assert.equal(await a.restore.evict(room, STREAMS), false, 'the room has a member');
        await b.members.remove(room, 'c1');
        await a.bus.publishRoom(event(room, 2), 'events');
        assert.equal(await a.restore.evict(room, STREAMS), false, 'an event was appended since the copy');
        head = await a.history.head(room, 'events');
        await a.copies.copied(room, copied(), 1_000);
        await a.bus.publishRoom(event(room, 1), 'moves');
        assert.equal(await a.restore.evict(room, STREAMS), false, 'a move was appended since the copy');
        const moves = await a.history.head(room, 'moves');
        await a.copies.copied(room, { streams: { events: head, moves }, yjs: NONE }, 1_000);
        assert.equal(await a.restore.evict(room, STREAMS), true, 'idle and copied: evicted');
        assert.deepEqual(await b.history.head(room, 'events'), NONE, 'no stream left');
        assert.deepEqual(await b.history.head(room, 'moves'), NONE, 'no app stream left');
        assert.deepEqual(await b.state.all(room), {}, 'no state left');
        assert.equal(await b.restore.isLoaded(room), false);
        const stored: StoredRoom = {
          room,
          progress: { streams: { events: head, moves }, yjs: NONE },
          recent: {},
          state: { k: 'v' },
          document: undefined,
          activeAt: 1_000,
        };
        assert.equal(await b.restore.restore(room, stored, STREAMS), true);
        const next = await a.bus.publishRoom(event(room, 3), 'events');
        assert.deepEqual([next.offset, next.epoch], [head.offset + 1, head.epoch]);
        const move = await a.bus.publishRoom(event(room, 2), 'moves');
        assert.deepEqual([move.offset, move.epoch], [moves.offset + 1, moves.epoch]);
      });

      it('evicts a room nothing of which was copied when forced (deleted everywhere), but never one with a member', async () => {
        const [a, b] = await two();
        const room = uniquePrefix('room');
        await a.bus.publishRoom(event(room, 1), 'events');
        await b.members.add(room, { conn: 'c1', user: 'u1', node: 'b' });
        assert.equal(await a.restore.evict(room, STREAMS, true), false, 'the room has a member');
        await b.members.remove(room, 'c1');
        assert.equal(await a.restore.evict(room, STREAMS, true), true);
        assert.deepEqual(await b.history.head(room, 'events'), NONE);
      });
    } else {
      it('keeps every room in its hot tier (it does not evict)', async () => {
        const [a] = await two();
        const room = uniquePrefix('room');
        await a.bus.publishRoom(event(room, 1), 'events');
        const head = await a.history.head(room, 'events');
        await a.copies.copied(room, { streams: { events: head }, yjs: NONE }, 1_000);
        assert.equal(await a.restore.evict(room, STREAMS), false);
        assert.deepEqual(await a.history.head(room, 'events'), head);
      });
    }
  });
}
