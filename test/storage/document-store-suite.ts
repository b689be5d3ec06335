import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DocumentStore, StoredEvent } from '../../src/backend/storage/document-store';
import { NOTHING_COPIED } from '../../src/backend/storage/document-store';

/** What a store's test file hands the suite: a fresh, empty store per call. */
export interface StoreFixture {
  /** A new empty store, opened. */
  create(): Promise<DocumentStore>;
  /** A second store on the same data as `store` (the same database or file), opened. */
  reopen(store: DocumentStore): Promise<DocumentStore>;
  teardown(): Promise<void>;
}

function events(from: number, to: number, text = 'hi'): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (let offset = from; offset <= to; offset++) {
    out.push({
      offset,
      type: 'chat.message',
      data: { text: `${text} ${offset}` },
      from: { node: 'n1', conn: 'c1', user: 'u1' },
    });
  }
  return out;
}

/**
 * The contract every DocumentStore passes (docs/storage.md). Each implementation's test
 * file calls this with its fixture, so a new store is one fixture, nothing else.
 */
export function documentStoreSuite(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    const opened: DocumentStore[] = [];
    const fresh = async () => {
      const store = await fixture.create();
      opened.push(store);
      return store;
    };

    before(async () => {
      fixture = await setup();
    });
    after(async () => {
      for (const store of opened) await store.close().catch(() => {});
      await fixture?.teardown();
    });

    it('knows nothing of a room that was never saved', async () => {
      const store = await fresh();
      assert.equal(await store.load('nowhere', 10), undefined);
      assert.deepEqual(await store.progress('nowhere'), NOTHING_COPIED);
      assert.deepEqual(await store.history('nowhere', { limit: 10 }), { epoch: '', events: [] });
      assert.equal(await store.delete('nowhere'), false);
    });

    it('loads back the events, state and document it saved, exactly', async () => {
      const store = await fresh();
      const update = Uint8Array.from([0, 1, 2, 250, 255, 0, 7]);
      const odd = { 'z key': [1, 2.5, null, true], a: { 'é ü 漢字': 'x'.repeat(3) }, n: -0.125 };
      const progress = await store.save({
        room: 'r/1 ü',
        streams: {
          events: {
            epoch: 'e1',
            entries: [
              ...events(1, 2),
              { offset: 3, type: 'room.state.set', data: odd, from: { node: 'n2' } },
            ],
          },
        },
        state: { title: 'Plan', odd },
        document: { update, offset: 9, epoch: 'y1' },
        activeAt: 1000,
      });
      assert.deepEqual(progress, {
        streams: { events: { offset: 3, epoch: 'e1' } },
        yjs: { offset: 9, epoch: 'y1' },
      });
      const room = await store.load('r/1 ü', 10);
      assert.ok(room);
      assert.deepEqual(room.progress, progress);
      assert.deepEqual(room.state, { title: 'Plan', odd });
      assert.deepEqual(
        room.recent.events?.map((e) => e.offset),
        [1, 2, 3],
      );
      assert.deepEqual(room.recent.events?.[0], events(1, 1)[0]);
      assert.deepEqual(room.recent.events?.[2], {
        offset: 3,
        type: 'room.state.set',
        data: odd,
        from: { node: 'n2' },
      });
      assert.deepEqual(room.document, { update, offset: 9, epoch: 'y1' });
      assert.equal(room.activeAt, 1000);
    });

    it('returns only the newest events asked for, oldest first', async () => {
      const store = await fresh();
      await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(1, 50) } },
        activeAt: 1,
      });
      const room = await store.load('r', 5);
      assert.deepEqual(
        room?.recent.events?.map((e) => e.offset),
        [46, 47, 48, 49, 50],
      );
    });

    it('changes nothing when the same batch is saved twice, or batches overlap', async () => {
      const store = await fresh();
      const batch = { room: 'r', streams: { events: { epoch: 'e', entries: events(1, 10) } }, activeAt: 5 };
      await store.save(batch);
      await store.save(batch);
      const progress = await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(5, 15, 'again') } },
        activeAt: 6,
      });
      assert.deepEqual(progress.streams.events, { offset: 15, epoch: 'e' });
      const page = await store.history('r', { limit: 100 });
      assert.deepEqual(
        page.events.map((e) => e.offset),
        Array.from({ length: 15 }, (_, i) => i + 1),
      );
      // The first copy of an offset stays: a repeat is the same event, not a new one.
      assert.deepEqual(page.events[6]?.data, { text: 'hi 7' });
      assert.deepEqual(page.events[12]?.data, { text: 'again 13' });
    });

    it('never moves the copy position back when an older batch arrives late', async () => {
      const store = await fresh();
      await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(1, 10) } },
        activeAt: 5,
      });
      const progress = await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(3, 4) } },
        activeAt: 2,
      });
      assert.deepEqual(progress.streams.events, { offset: 10, epoch: 'e' });
      assert.equal((await store.load('r', 1))?.activeAt, 5);
    });

    it('keeps a document only when it covers more, or is of a new epoch', async () => {
      const store = await fresh();
      const v = (n: number) => Uint8Array.from([n]);
      await store.save({ room: 'r', document: { update: v(1), offset: 10, epoch: 'y1' }, activeAt: 1 });
      await store.save({ room: 'r', document: { update: v(2), offset: 8, epoch: 'y1' }, activeAt: 1 });
      assert.deepEqual((await store.load('r', 0))?.document, { update: v(1), offset: 10, epoch: 'y1' });
      await store.save({ room: 'r', document: { update: v(3), offset: 12, epoch: 'y1' }, activeAt: 1 });
      assert.deepEqual((await store.progress('r')).yjs, { offset: 12, epoch: 'y1' });
      await store.save({ room: 'r', document: { update: v(4), offset: 2, epoch: 'y2' }, activeAt: 1 });
      assert.deepEqual((await store.load('r', 0))?.document, { update: v(4), offset: 2, epoch: 'y2' });
    });

    it('replaces the key/value state whole, and keeps it when a batch has none', async () => {
      const store = await fresh();
      await store.save({ room: 'r', state: { a: 1, b: 2 }, activeAt: 1 });
      await store.save({ room: 'r', state: { b: 3 }, activeAt: 1 });
      await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(1, 1) } },
        activeAt: 1,
      });
      assert.deepEqual((await store.load('r', 0))?.state, { b: 3 });
    });

    it('starts the history over when the events stream has a new epoch', async () => {
      const store = await fresh();
      await store.save({
        room: 'r',
        streams: { events: { epoch: 'old', entries: events(1, 20) } },
        activeAt: 1,
      });
      const progress = await store.save({
        room: 'r',
        streams: { events: { epoch: 'new', entries: events(1, 3) } },
        activeAt: 2,
      });
      assert.deepEqual(progress.streams.events, { offset: 3, epoch: 'new' });
      const page = await store.history('r', { limit: 100 });
      assert.equal(page.epoch, 'new');
      assert.deepEqual(
        page.events.map((e) => e.offset),
        [1, 2, 3],
      );
      assert.deepEqual(
        (await store.load('r', 100))?.recent.events?.map((e) => e.offset),
        [1, 2, 3],
      );
    });

    it('pages back through the history with before and limit', async () => {
      const store = await fresh();
      await store.save({
        room: 'r',
        streams: { events: { epoch: 'e', entries: events(1, 25) } },
        activeAt: 1,
      });
      const newest = await store.history('r', { limit: 10 });
      assert.deepEqual(
        newest.events.map((e) => e.offset),
        Array.from({ length: 10 }, (_, i) => i + 16),
      );
      const older = await store.history('r', { before: 16, limit: 10 });
      assert.deepEqual(
        older.events.map((e) => e.offset),
        Array.from({ length: 10 }, (_, i) => i + 6),
      );
      const oldest = await store.history('r', { before: 6, limit: 10 });
      assert.deepEqual(
        oldest.events.map((e) => e.offset),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual((await store.history('r', { before: 1, limit: 10 })).events, []);
    });

    it('keeps every event stream apart: its own entries, position, epoch and history', async () => {
      const store = await fresh();
      const first = await store.save({
        room: 'r',
        streams: {
          events: { epoch: 'e', entries: events(1, 5) },
          moves: { epoch: 'm', entries: events(1, 3, 'move') },
        },
        activeAt: 1,
      });
      assert.deepEqual(first.streams, {
        events: { offset: 5, epoch: 'e' },
        moves: { offset: 3, epoch: 'm' },
      });
      // A batch of one stream leaves the others where they are; a new epoch of one starts only it over.
      await store.save({
        room: 'r',
        streams: { moves: { epoch: 'm2', entries: events(1, 2, 'again') } },
        activeAt: 2,
      });
      await store.save({ room: 'r', streams: { cursors: { epoch: 'c', entries: [] } }, activeAt: 2 });
      const progress = await store.progress('r');
      assert.deepEqual(progress.streams, {
        events: { offset: 5, epoch: 'e' },
        moves: { offset: 2, epoch: 'm2' },
      });
      const moves = await store.history('r', { stream: 'moves', limit: 10 });
      assert.equal(moves.epoch, 'm2');
      assert.deepEqual(
        moves.events.map((e) => e.data),
        [{ text: 'again 1' }, { text: 'again 2' }],
      );
      assert.deepEqual(
        (await store.history('r', { stream: 'moves', before: 2, limit: 10 })).events.map((e) => e.offset),
        [1],
      );
      const history = await store.history('r', { limit: 10 });
      assert.equal(history.epoch, 'e');
      assert.deepEqual(
        history.events.map((e) => e.data),
        events(1, 5).map((e) => e.data),
      );
      assert.deepEqual(await store.history('r', { stream: 'never', limit: 10 }), { epoch: '', events: [] });
      const room = await store.load('r', 3);
      assert.deepEqual(room?.progress, progress);
      assert.deepEqual(
        room?.recent.events?.map((e) => e.offset),
        [3, 4, 5],
      );
      assert.deepEqual(
        room?.recent.moves?.map((e) => e.data),
        [{ text: 'again 1' }, { text: 'again 2' }],
      );
      assert.deepEqual((await store.rooms({ limit: 10 }))[0]?.progress, progress);
      assert.equal(await store.delete('r'), true);
      assert.deepEqual(await store.history('r', { stream: 'moves', limit: 10 }), { epoch: '', events: [] });
      assert.deepEqual(await store.progress('r'), NOTHING_COPIED);
    });

    it('loads a stream with a position but no entries asked for', async () => {
      const store = await fresh();
      await store.save({ room: 'r', streams: { moves: { epoch: 'm', entries: events(1, 4) } }, activeAt: 1 });
      const room = await store.load('r', 0);
      assert.deepEqual(room?.progress.streams, { moves: { offset: 4, epoch: 'm' } });
      assert.deepEqual(room?.recent.moves ?? [], []);
    });

    it('lists rooms in name order, page by page, with their size and last activity', async () => {
      const store = await fresh();
      for (const room of ['c', 'a', 'b', 'd']) {
        await store.save({
          room,
          streams: { events: { epoch: 'e', entries: events(1, 2) } },
          state: { k: room },
          activeAt: 100,
        });
      }
      await store.save({
        room: 'b',
        document: { update: new Uint8Array(1000), offset: 1, epoch: 'y' },
        activeAt: 200,
      });
      const first = await store.rooms({ limit: 2 });
      assert.deepEqual(
        first.map((r) => r.room),
        ['a', 'b'],
      );
      const rest = await store.rooms({ after: 'b', limit: 10 });
      assert.deepEqual(
        rest.map((r) => r.room),
        ['c', 'd'],
      );
      const [a, b] = first;
      assert.ok(a!.bytes > 0);
      assert.ok(b!.bytes >= a!.bytes + 1000, `b holds a 1000-byte document: ${b!.bytes} vs ${a!.bytes}`);
      assert.equal(a!.activeAt, 100);
      assert.equal(b!.activeAt, 200);
      assert.deepEqual(b!.progress, {
        streams: { events: { offset: 2, epoch: 'e' } },
        yjs: { offset: 1, epoch: 'y' },
      });
    });

    it('deletes a room with everything it holds', async () => {
      const store = await fresh();
      await store.save({
        room: 'gone',
        streams: { events: { epoch: 'e', entries: events(1, 5) } },
        state: { a: 1 },
        activeAt: 1,
      });
      await store.save({
        room: 'kept',
        streams: { events: { epoch: 'e', entries: events(1, 5) } },
        activeAt: 1,
      });
      assert.equal(await store.delete('gone'), true);
      assert.equal(await store.load('gone', 10), undefined);
      assert.deepEqual((await store.history('gone', { limit: 10 })).events, []);
      assert.equal((await store.history('kept', { limit: 10 })).events.length, 5);
      // A room saved again after a delete starts from nothing.
      await store.save({
        room: 'gone',
        streams: { events: { epoch: 'e2', entries: events(1, 1) } },
        activeAt: 2,
      });
      assert.deepEqual(
        (await store.history('gone', { limit: 10 })).events.map((e) => e.offset),
        [1],
      );
    });

    it('applies concurrent batches of one room without losing any', async () => {
      const store = await fresh();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.save({
            room: 'busy',
            streams: { events: { epoch: 'e', entries: events(i * 10 + 1, i * 10 + 10) } },
            activeAt: i,
          }),
        ),
      );
      const page = await store.history('busy', { limit: 1000 });
      assert.equal(page.events.length, 100);
      assert.deepEqual((await store.progress('busy')).streams.events, { offset: 100, epoch: 'e' });
    });

    it('keeps everything across a close and a new store on the same data', async () => {
      const store = await fresh();
      await store.save({
        room: 'kept',
        streams: { events: { epoch: 'e', entries: events(1, 3) } },
        state: { a: 1 },
        document: { update: Uint8Array.from([9, 9]), offset: 4, epoch: 'y' },
        activeAt: 42,
      });
      const again = await fixture.reopen(store);
      opened.push(again);
      await store.close();
      const room = await again.load('kept', 10);
      assert.deepEqual(
        room?.recent.events?.map((e) => e.offset),
        [1, 2, 3],
      );
      assert.deepEqual(room?.state, { a: 1 });
      assert.deepEqual(room?.document, { update: Uint8Array.from([9, 9]), offset: 4, epoch: 'y' });
      // Opening an up-to-date schema again is a no-op, not a second migration.
      const third = await fixture.reopen(again);
      opened.push(third);
      assert.deepEqual((await third.progress('kept')).streams.events, { offset: 3, epoch: 'e' });
    });
  });
}
