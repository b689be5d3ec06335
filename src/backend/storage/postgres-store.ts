import { Pool, type PoolClient } from 'pg';
import { ConfigError } from '../../core/errors';
import type { Position } from '../../core/events/event';
import type { Logger } from '../../core/log';
import { nextEventsPosition, redactUrl, replacesDocument } from './copy-rules';
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
import { NOTHING_COPIED } from './document-store';
import { SCHEMA_VERSION } from './schema-version';

/**
 * The schema, one entry per version (docs/storage.md shows the result). A migration is
 * never edited once released: a new version is a new entry.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE swarmcast_rooms (
     room text PRIMARY KEY,
     events_epoch text NOT NULL DEFAULT '',
     events_offset bigint NOT NULL DEFAULT 0,
     state json NOT NULL DEFAULT '{}',
     yjs_update bytea,
     yjs_epoch text NOT NULL DEFAULT '',
     yjs_offset bigint NOT NULL DEFAULT 0,
     active_at bigint NOT NULL
   );
   CREATE TABLE swarmcast_events (
     room text NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     epoch text NOT NULL,
     "offset" bigint NOT NULL,
     type text NOT NULL,
     sender json NOT NULL,
     data json NOT NULL,
     PRIMARY KEY (room, epoch, "offset")
   );`,
];

/** Any number works; it only has to be the same on every node, so migrations run one at a time. */
const MIGRATION_LOCK = 0x5357_4d43;
/** A database that does not answer a connect in this time counts as down. */
const CONNECT_TIMEOUT_MS = 5000;

export interface PostgresStoreOptions {
  readonly url: string;
  readonly log: Logger;
  /** Connections per node; copies are batched, so few are needed. */
  readonly poolSize?: number;
}

interface RoomRow {
  room: string;
  events_epoch: string;
  events_offset: string;
  state: Record<string, unknown>;
  yjs_update: Buffer | null;
  yjs_epoch: string;
  yjs_offset: string;
  active_at: string;
}

/** What a load reads of a room's row: the document as base64 text. */
interface LoadedRoomRow extends Omit<RoomRow, 'room' | 'yjs_update'> {
  yjs_base64: string | null;
}

interface EventRow {
  offset: string;
  type: string;
  sender: StoredEvent['from'];
  data: unknown;
}

/** The cluster's store: every node on the same PostgreSQL, through a `pg` Pool. */
export class PostgresStore implements DocumentStore {
  readonly description: string;
  private readonly pool: Pool;

  constructor(private readonly options: PostgresStoreOptions) {
    this.description = `PostgreSQL at ${redactUrl(options.url)}`;
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // An idle connection that dies (database restarted) is dropped by the pool; without
    // a listener the error would end the process.
    this.pool.on('error', (err) => options.log.warn({ err }, 'PostgreSQL connection lost'));
  }

  async open(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.checkout();
    } catch (err) {
      throw new ConfigError(
        'DATABASE_URL',
        `cannot connect to ${redactUrl(this.options.url)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS swarmcast_schema (version integer NOT NULL)');
      const found = await client.query<{ version: number }>('SELECT version FROM swarmcast_schema');
      const version = found.rows[0]?.version ?? 0;
      if (version > SCHEMA_VERSION) {
        throw new ConfigError(
          'DATABASE_URL',
          `the database schema is version ${version}, newer than this code's ${SCHEMA_VERSION}: run a newer swarmcast, or use another database`,
        );
      }
      for (let next = version; next < SCHEMA_VERSION; next++) await client.query(MIGRATIONS[next]!);
      if (found.rows.length === 0) {
        await client.query('INSERT INTO swarmcast_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
      } else {
        await client.query('UPDATE swarmcast_schema SET version = $1', [SCHEMA_VERSION]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * A client for a transaction. A connection that breaks between two of its queries
   * emits 'error' on the client (not the pool); the next query fails with it, which is
   * what the caller handles, so the event itself only needs a listener.
   */
  private async checkout(): Promise<PoolClient> {
    const client = await this.pool.connect();
    if (client.listenerCount('error') === 0) client.on('error', () => {});
    return client;
  }

  async load(room: string, recent: number): Promise<StoredRoom | undefined> {
    // Both queries at once (the events' epoch is the row's, read in the query): a cold
    // room's reopen waits for this load. The document comes as base64 text, which
    // PostgreSQL encodes and Node decodes about twice as fast as bytea's hex text for a
    // 1 MB document (test/bench/findings.md, S9).
    const [found, events] = await Promise.all([
      this.pool.query<LoadedRoomRow>(
        `SELECT events_epoch, events_offset, state, yjs_epoch, yjs_offset, active_at,
           encode(yjs_update, 'base64') AS yjs_base64
         FROM swarmcast_rooms WHERE room = $1`,
        [room],
      ),
      this.pool.query<EventRow & { epoch: string }>(
        `SELECT epoch, "offset", type, sender, data FROM swarmcast_events
         WHERE room = $1 AND epoch = (SELECT events_epoch FROM swarmcast_rooms WHERE room = $1)
         ORDER BY "offset" DESC LIMIT $2`,
        [room, recent],
      ),
    ]);
    const row = found.rows[0];
    if (!row) return undefined;
    const progress = toProgress(row);
    return {
      room,
      progress,
      // A copy between the two reads may have started a new epoch: only events of the row's own.
      recent: events.rows
        .filter((event) => event.epoch === progress.events.epoch)
        .map(toEvent)
        .reverse(),
      state: row.state,
      document:
        row.yjs_base64 === null
          ? undefined
          : {
              update: new Uint8Array(Buffer.from(row.yjs_base64, 'base64')),
              offset: progress.yjs.offset,
              epoch: progress.yjs.epoch,
            },
      activeAt: Number(row.active_at),
    };
  }

  async save(copy: RoomCopy): Promise<CopyProgress> {
    const client = await this.checkout();
    try {
      await client.query('BEGIN');
      // The upsert takes the row lock, so two copies of one room are applied one after the other.
      const found = await client.query<RoomRow>(
        `INSERT INTO swarmcast_rooms (room, active_at) VALUES ($1, $2)
         ON CONFLICT (room) DO UPDATE SET active_at = GREATEST(swarmcast_rooms.active_at, EXCLUDED.active_at)
         RETURNING *`,
        [copy.room, copy.activeAt],
      );
      const stored = toProgress(found.rows[0]!);
      const events = nextEventsPosition(stored.events, copy);
      if (copy.events && copy.events.entries.length > 0) {
        const entries = copy.events.entries;
        await client.query(
          `INSERT INTO swarmcast_events (room, epoch, "offset", type, sender, data)
           SELECT $1, $2, e.o, e.t, e.s, e.d
           FROM unnest($3::bigint[], $4::text[], $5::json[], $6::json[]) AS e(o, t, s, d)
           ON CONFLICT DO NOTHING`,
          [
            copy.room,
            copy.events.epoch,
            entries.map((e) => e.offset),
            entries.map((e) => e.type),
            entries.map((e) => JSON.stringify(e.from)),
            entries.map((e) => JSON.stringify(e.data ?? null)),
          ],
        );
      }
      let yjs: Position = stored.yjs;
      if (replacesDocument(stored.yjs, copy)) {
        const document = copy.document!;
        yjs = { offset: document.offset, epoch: document.epoch };
        await client.query(
          'UPDATE swarmcast_rooms SET yjs_update = $2, yjs_epoch = $3, yjs_offset = $4 WHERE room = $1',
          [copy.room, Buffer.from(document.update), document.epoch, document.offset],
        );
      }
      await client.query(
        `UPDATE swarmcast_rooms SET events_epoch = $2, events_offset = $3,
           state = COALESCE($4::json, state) WHERE room = $1`,
        [copy.room, events.epoch, events.offset, copy.state ? JSON.stringify(copy.state) : null],
      );
      await client.query('COMMIT');
      return { events, yjs };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async progress(room: string): Promise<CopyProgress> {
    const found = await this.pool.query<RoomRow>(
      'SELECT events_epoch, events_offset, yjs_epoch, yjs_offset FROM swarmcast_rooms WHERE room = $1',
      [room],
    );
    return found.rows[0] ? toProgress(found.rows[0]) : NOTHING_COPIED;
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const found = await this.pool.query<{ events_epoch: string }>(
      'SELECT events_epoch FROM swarmcast_rooms WHERE room = $1',
      [room],
    );
    const epoch = found.rows[0]?.events_epoch ?? '';
    const events = await this.pool.query<EventRow>(
      `SELECT "offset", type, sender, data FROM swarmcast_events
       WHERE room = $1 AND epoch = $2 AND "offset" < $3 ORDER BY "offset" DESC LIMIT $4`,
      [room, epoch, query.before ?? Number.MAX_SAFE_INTEGER, query.limit],
    );
    return { epoch, events: events.rows.map(toEvent).reverse() };
  }

  async rooms(query: RoomsQuery): Promise<RoomSummary[]> {
    const found = await this.pool.query<RoomRow & { bytes: string }>(
      `SELECT r.room, r.events_epoch, r.events_offset, r.yjs_epoch, r.yjs_offset, r.active_at,
         COALESCE(octet_length(r.yjs_update), 0) + octet_length(r.state::text)
         + COALESCE((SELECT sum(octet_length(e.data::text) + octet_length(e.sender::text) + octet_length(e.type))
                     FROM swarmcast_events e WHERE e.room = r.room), 0) AS bytes
       FROM swarmcast_rooms r WHERE r.room > $1 ORDER BY r.room LIMIT $2`,
      [query.after ?? '', query.limit],
    );
    return found.rows.map((row) => ({
      room: row.room,
      bytes: Number(row.bytes),
      activeAt: Number(row.active_at),
      progress: toProgress(row),
    }));
  }

  async delete(room: string): Promise<boolean> {
    const found = await this.pool.query('DELETE FROM swarmcast_rooms WHERE room = $1', [room]);
    return (found.rowCount ?? 0) > 0;
  }
}

/** bigint columns come back as strings (they may pass 2^53); offsets never do. */
function toProgress(
  row: Pick<RoomRow, 'events_epoch' | 'events_offset' | 'yjs_epoch' | 'yjs_offset'>,
): CopyProgress {
  return {
    events: { offset: Number(row.events_offset), epoch: row.events_epoch },
    yjs: { offset: Number(row.yjs_offset), epoch: row.yjs_epoch },
  };
}

function toEvent(row: EventRow): StoredEvent {
  return { offset: Number(row.offset), type: row.type, data: row.data, from: row.sender };
}
