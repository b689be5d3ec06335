import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { ConfigError } from '../../core/errors';
import { DEFAULT_STREAM, type Position } from '../../core/events/event';
import { batchesOf, nextStreamPosition, replacesDocument } from './copy-rules';
import { decodeDocument, encodeDocument } from './document-encoding';
import type {
  CopyProgress,
  DocumentStore,
  HistoryPage,
  HistoryQuery,
  RoomCopy,
  RoomSummary,
  RoomsQuery,
  StoredEvent,
  StoredRoom,
} from './document-store';
import { NOT_COPIED, NOTHING_COPIED } from './document-store';
import { SCHEMA_VERSION } from './schema-version';

/** The same tables as PostgresStore's, in SQLite's types (docs/storage.md). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE swarmcast_rooms (
     room TEXT PRIMARY KEY,
     events_epoch TEXT NOT NULL DEFAULT '',
     events_offset INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL DEFAULT '{}',
     yjs_update BLOB,
     yjs_epoch TEXT NOT NULL DEFAULT '',
     yjs_offset INTEGER NOT NULL DEFAULT 0,
     active_at INTEGER NOT NULL
   );
   CREATE TABLE swarmcast_events (
     room TEXT NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     epoch TEXT NOT NULL,
     "offset" INTEGER NOT NULL,
     type TEXT NOT NULL,
     sender TEXT NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (room, epoch, "offset")
   );`,
  // 2: every event stream of a room is kept, each with its own copy position. SQLite
  // cannot change a primary key in place: the events table is made anew and filled.
  `CREATE TABLE swarmcast_events_v2 (
     room TEXT NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     stream TEXT NOT NULL,
     epoch TEXT NOT NULL,
     "offset" INTEGER NOT NULL,
     type TEXT NOT NULL,
     sender TEXT NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (room, stream, epoch, "offset")
   );
   INSERT INTO swarmcast_events_v2 (room, stream, epoch, "offset", type, sender, data)
     SELECT room, 'events', epoch, "offset", type, sender, data FROM swarmcast_events;
   DROP TABLE swarmcast_events;
   ALTER TABLE swarmcast_events_v2 RENAME TO swarmcast_events;
   CREATE TABLE swarmcast_streams (
     room TEXT NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     stream TEXT NOT NULL,
     epoch TEXT NOT NULL,
     "offset" INTEGER NOT NULL,
     PRIMARY KEY (room, stream)
   );
   INSERT INTO swarmcast_streams (room, stream, epoch, "offset")
     SELECT room, 'events', events_epoch, events_offset FROM swarmcast_rooms WHERE events_offset > 0;
   ALTER TABLE swarmcast_rooms DROP COLUMN events_epoch;
   ALTER TABLE swarmcast_rooms DROP COLUMN events_offset;`,
  // 3: documents are stored deflated (document-encoding.ts), as in PostgreSQL; the column
  // is renamed so that a node of version 2 fails instead of misreading one.
  `ALTER TABLE swarmcast_rooms RENAME COLUMN yjs_update TO yjs_document;
   ALTER TABLE swarmcast_rooms ADD COLUMN yjs_encoding TEXT NOT NULL DEFAULT 'raw';
   ALTER TABLE swarmcast_rooms ADD COLUMN yjs_bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE swarmcast_rooms SET yjs_bytes = length(yjs_document) WHERE yjs_document IS NOT NULL;`,
];

/** The file's name under DATA_DIR. */
export const FILE_NAME = 'swarmcast.sqlite';

interface RoomRow {
  room: string;
  state: string;
  yjs_document: Buffer | null;
  yjs_encoding: string;
  yjs_epoch: string;
  yjs_offset: number;
  active_at: number;
}

interface EventRow {
  offset: number;
  type: string;
  sender: string;
  data: string;
}

interface PositionRow {
  stream: string;
  epoch: string;
  offset: number;
}

/**
 * The embedded node's store: one SQLite file under DATA_DIR, through better-sqlite3.
 * Its calls are synchronous; they are small (one batch of one room at a time), and
 * SQLite in WAL mode commits one in well under a millisecond, so they are run inline.
 */
export class FileStore implements DocumentStore {
  readonly description: string;
  private db: Database.Database | undefined;

  constructor(private readonly dir: string) {
    this.description = `the file ${path.join(dir, FILE_NAME)}`;
  }

  async open(): Promise<void> {
    let Sqlite: typeof Database;
    try {
      // Loaded only here: a node on PostgreSQL (the Docker image) needs no SQLite binary.
      Sqlite = (await import('better-sqlite3')).default;
    } catch (err) {
      throw new ConfigError(
        'STORAGE',
        `the file store needs better-sqlite3's native module, which did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); set DATABASE_URL, or STORAGE=none`,
      );
    }
    let db: Database.Database;
    try {
      mkdirSync(this.dir, { recursive: true });
      db = new Sqlite(path.join(this.dir, FILE_NAME));
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
    } catch (err) {
      throw new ConfigError(
        'DATA_DIR',
        `cannot open ${path.join(this.dir, FILE_NAME)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    try {
      db.transaction(() => {
        db.exec('CREATE TABLE IF NOT EXISTS swarmcast_schema (version INTEGER NOT NULL)');
        const found = db.prepare('SELECT version FROM swarmcast_schema').get() as
          | { version: number }
          | undefined;
        const version = found?.version ?? 0;
        if (version > SCHEMA_VERSION) {
          throw new ConfigError(
            'DATA_DIR',
            `${path.join(this.dir, FILE_NAME)} has schema version ${version}, newer than this code's ${SCHEMA_VERSION}: run a newer swarmcast, or use another DATA_DIR`,
          );
        }
        for (let next = version; next < SCHEMA_VERSION; next++) db.exec(MIGRATIONS[next]!);
        if (found) db.prepare('UPDATE swarmcast_schema SET version = ?').run(SCHEMA_VERSION);
        else db.prepare('INSERT INTO swarmcast_schema (version) VALUES (?)').run(SCHEMA_VERSION);
      }).immediate();
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  async load(room: string, recent: number): Promise<StoredRoom | undefined> {
    const db = this.database();
    const row = db.prepare('SELECT * FROM swarmcast_rooms WHERE room = ?').get(room) as RoomRow | undefined;
    if (!row) return undefined;
    const progress = this.progressOf(row);
    const newest = db.prepare(
      `SELECT "offset", type, sender, data FROM swarmcast_events
       WHERE room = ? AND stream = ? AND epoch = ? ORDER BY "offset" DESC LIMIT ?`,
    );
    const entries: Record<string, StoredEvent[]> = {};
    for (const [stream, position] of Object.entries(progress.streams)) {
      const rows = newest.all(room, stream, position.epoch, recent) as EventRow[];
      entries[stream] = rows.map(toEvent).reverse();
    }
    return {
      room,
      progress,
      recent: entries,
      state: JSON.parse(row.state) as Record<string, unknown>,
      document: row.yjs_document
        ? { update: decodeDocument(row.yjs_document, row.yjs_encoding), ...progress.yjs }
        : undefined,
      activeAt: row.active_at,
    };
  }

  async save(copy: RoomCopy): Promise<CopyProgress> {
    // Deflated before the transaction, which cannot wait for it (a document older than the
    // file's is then deflated for nothing).
    const encoded = copy.document && (await encodeDocument(copy.document.update));
    const db = this.database();
    return db
      .transaction((): CopyProgress => {
        const row = db
          .prepare(
            `INSERT INTO swarmcast_rooms (room, active_at) VALUES (?, ?)
           ON CONFLICT (room) DO UPDATE SET active_at = max(active_at, excluded.active_at)
           RETURNING *`,
          )
          .get(copy.room, copy.activeAt) as RoomRow;
        const stored = this.progressOf(row);
        const streams: Record<string, Position> = { ...stored.streams };
        const insert = db.prepare(
          `INSERT INTO swarmcast_events (room, stream, epoch, "offset", type, sender, data)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        );
        const position = db.prepare(
          `INSERT INTO swarmcast_streams (room, stream, epoch, "offset") VALUES (?, ?, ?, ?)
           ON CONFLICT (room, stream) DO UPDATE SET epoch = excluded.epoch, "offset" = excluded."offset"`,
        );
        for (const [stream, batch] of batchesOf(copy)) {
          for (const entry of batch.entries) {
            insert.run(
              copy.room,
              stream,
              batch.epoch,
              entry.offset,
              entry.type,
              JSON.stringify(entry.from),
              JSON.stringify(entry.data ?? null),
            );
          }
          const next = nextStreamPosition(streams[stream] ?? NOT_COPIED, batch);
          streams[stream] = next;
          position.run(copy.room, stream, next.epoch, next.offset);
        }
        let yjs: Position = stored.yjs;
        if (replacesDocument(stored.yjs, copy)) {
          const document = copy.document!;
          yjs = { offset: document.offset, epoch: document.epoch };
          db.prepare(
            `UPDATE swarmcast_rooms SET yjs_document = ?, yjs_encoding = ?, yjs_bytes = ?,
               yjs_epoch = ?, yjs_offset = ? WHERE room = ?`,
          ).run(encoded!.bytes, encoded!.encoding, encoded!.size, document.epoch, document.offset, copy.room);
        }
        if (copy.state) {
          db.prepare('UPDATE swarmcast_rooms SET state = ? WHERE room = ?').run(
            JSON.stringify(copy.state),
            copy.room,
          );
        }
        return { streams, yjs };
      })
      .immediate();
  }

  async progress(room: string): Promise<CopyProgress> {
    const row = this.database()
      .prepare('SELECT room, yjs_epoch, yjs_offset FROM swarmcast_rooms WHERE room = ?')
      .get(room) as RoomRow | undefined;
    return row ? this.progressOf(row) : NOTHING_COPIED;
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const db = this.database();
    const stream = query.stream ?? DEFAULT_STREAM;
    const row = db
      .prepare('SELECT epoch FROM swarmcast_streams WHERE room = ? AND stream = ?')
      .get(room, stream) as Pick<PositionRow, 'epoch'> | undefined;
    const epoch = row?.epoch ?? '';
    const events = db
      .prepare(
        `SELECT "offset", type, sender, data FROM swarmcast_events
         WHERE room = ? AND stream = ? AND epoch = ? AND "offset" < ? ORDER BY "offset" DESC LIMIT ?`,
      )
      .all(room, stream, epoch, query.before ?? Number.MAX_SAFE_INTEGER, query.limit) as EventRow[];
    return { epoch, events: events.map(toEvent).reverse() };
  }

  async rooms(query: RoomsQuery): Promise<RoomSummary[]> {
    const rows = this.database()
      .prepare(
        `SELECT r.room, r.yjs_epoch, r.yjs_offset, r.active_at,
           r.yjs_bytes + length(CAST(r.state AS BLOB))
           + coalesce((SELECT sum(length(CAST(e.data AS BLOB)) + length(CAST(e.sender AS BLOB)) + length(CAST(e.type AS BLOB)))
                       FROM swarmcast_events e WHERE e.room = r.room), 0) AS bytes
         FROM swarmcast_rooms r WHERE r.room > ? ORDER BY r.room LIMIT ?`,
      )
      .all(query.after ?? '', query.limit) as Array<RoomRow & { bytes: number }>;
    return rows.map((row) => ({
      room: row.room,
      bytes: row.bytes,
      activeAt: row.active_at,
      progress: this.progressOf(row),
    }));
  }

  async delete(room: string): Promise<boolean> {
    return this.database().prepare('DELETE FROM swarmcast_rooms WHERE room = ?').run(room).changes > 0;
  }

  /** The room's stream positions and the position of its document. */
  private progressOf(row: Pick<RoomRow, 'room' | 'yjs_epoch' | 'yjs_offset'>): CopyProgress {
    const positions = this.database()
      .prepare('SELECT stream, epoch, "offset" FROM swarmcast_streams WHERE room = ?')
      .all(row.room) as PositionRow[];
    const streams: Record<string, Position> = {};
    for (const position of positions)
      streams[position.stream] = { offset: position.offset, epoch: position.epoch };
    return { streams, yjs: { offset: row.yjs_offset, epoch: row.yjs_epoch } };
  }

  private database(): Database.Database {
    if (!this.db) throw new Error('FileStore used before open() or after close()');
    return this.db;
  }
}

function toEvent(row: EventRow): StoredEvent {
  return {
    offset: row.offset,
    type: row.type,
    data: JSON.parse(row.data) as unknown,
    from: JSON.parse(row.sender) as StoredEvent['from'],
  };
}
