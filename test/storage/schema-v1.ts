import assert from 'node:assert/strict';
import type { DocumentStore } from '../../src/backend/storage/document-store';

/**
 * A database as swarmcast wrote it at schema version 1 (before app streams were kept),
 * for the migration tests of both stores: the tables as version 1 created them, one room
 * with three events of the `events` stream, its state and its document. Every statement
 * is plain SQL both PostgreSQL and SQLite take (bytea/BLOB values are set by the caller).
 */
export const V1_SCHEMA = [
  `CREATE TABLE swarmcast_schema (version integer NOT NULL)`,
  `INSERT INTO swarmcast_schema (version) VALUES (1)`,
  `CREATE TABLE swarmcast_rooms (
     room text PRIMARY KEY,
     events_epoch text NOT NULL DEFAULT '',
     events_offset bigint NOT NULL DEFAULT 0,
     state %JSON% NOT NULL DEFAULT '{}',
     yjs_update %BYTES%,
     yjs_epoch text NOT NULL DEFAULT '',
     yjs_offset bigint NOT NULL DEFAULT 0,
     active_at bigint NOT NULL
   )`,
  `CREATE TABLE swarmcast_events (
     room text NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     epoch text NOT NULL,
     "offset" bigint NOT NULL,
     type text NOT NULL,
     sender %JSON% NOT NULL,
     data %JSON% NOT NULL,
     PRIMARY KEY (room, epoch, "offset")
   )`,
  `INSERT INTO swarmcast_rooms (room, events_epoch, events_offset, state, yjs_epoch, yjs_offset, active_at)
   VALUES ('old', 'e1', 3, '{"title":"v1"}', 'y1', 4, 1000)`,
  `INSERT INTO swarmcast_events (room, epoch, "offset", type, sender, data) VALUES
     ('old', 'e1', 1, 'chat.message', '{"node":"n1"}', '{"text":"one"}'),
     ('old', 'e1', 2, 'chat.message', '{"node":"n1"}', '{"text":"two"}'),
     ('old', 'e1', 3, 'chat.message', '{"node":"n1"}', '{"text":"three"}')`,
  // A room whose row was written (its state) before any event was copied.
  `INSERT INTO swarmcast_rooms (room, state, active_at) VALUES ('bare', '{"a":1}', 2000)`,
];

/** The version 1 statements in one dialect's types. */
export function v1Schema(types: { readonly json: string; readonly bytes: string }): string[] {
  return V1_SCHEMA.map((sql) => sql.replaceAll('%JSON%', types.json).replaceAll('%BYTES%', types.bytes));
}

/** The document the version 1 room holds (the caller writes it into `yjs_update`). */
export const V1_DOCUMENT = Uint8Array.from([1, 2, 3, 4]);

/**
 * What a store opened on the version 1 database must show: everything still there, the
 * `events` stream's position carried over, and offsets continuing, beside a new stream.
 */
export async function assertMigratedFromV1(store: DocumentStore): Promise<void> {
  const from = { node: 'n1' };
  const room = await store.load('old', 10);
  assert.ok(room, 'the room is still there');
  assert.deepEqual(room.progress, {
    streams: { events: { offset: 3, epoch: 'e1' } },
    yjs: { offset: 4, epoch: 'y1' },
  });
  assert.deepEqual(
    room.recent.events?.map((e) => [e.offset, e.data, e.from]),
    [
      [1, { text: 'one' }, from],
      [2, { text: 'two' }, from],
      [3, { text: 'three' }, from],
    ],
  );
  assert.deepEqual(room.state, { title: 'v1' });
  assert.deepEqual(room.document, { update: V1_DOCUMENT, offset: 4, epoch: 'y1' });
  assert.equal(room.activeAt, 1000);
  assert.deepEqual((await store.progress('bare')).streams, {}, 'a room without events has no stream');
  assert.deepEqual((await store.load('bare', 10))?.state, { a: 1 });

  // Offsets continue in the old epoch; a repeat of an old offset changes nothing.
  const progress = await store.save({
    room: 'old',
    streams: {
      events: {
        epoch: 'e1',
        entries: [3, 4, 5].map((offset) => ({
          offset,
          type: 'chat.message',
          data: { text: `new ${offset}` },
          from,
        })),
      },
      moves: { epoch: 'm1', entries: [{ offset: 1, type: 'game.move', data: { to: 1 }, from }] },
    },
    activeAt: 3000,
  });
  assert.deepEqual(progress.streams, {
    events: { offset: 5, epoch: 'e1' },
    moves: { offset: 1, epoch: 'm1' },
  });
  const page = await store.history('old', { limit: 10 });
  assert.deepEqual(
    page.events.map((e) => [e.offset, e.data]),
    [
      [1, { text: 'one' }],
      [2, { text: 'two' }],
      [3, { text: 'three' }],
      [4, { text: 'new 4' }],
      [5, { text: 'new 5' }],
    ],
  );
  assert.deepEqual(
    (await store.history('old', { stream: 'moves', limit: 10 })).events.map((e) => e.data),
    [{ to: 1 }],
  );
}
