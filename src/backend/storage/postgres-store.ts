import { Pool, type PoolClient } from 'pg';
import { ConfigError } from '../../core/errors';
import { DEFAULT_STREAM, type Position } from '../../core/events/event';
import type { Logger } from '../../core/log';
import { batchesOf, nextStreamPosition, redactUrl, replacesDocument } from './copy-rules';
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
  StreamBatch,
} from './document-store';
import { NOT_COPIED, NOTHING_COPIED } from './document-store';
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
  // 2: every event stream of a room is kept, each with its own copy position.
  `ALTER TABLE swarmcast_events ADD COLUMN stream text NOT NULL DEFAULT 'events';
   ALTER TABLE swarmcast_events ALTER COLUMN stream DROP DEFAULT;
   ALTER TABLE swarmcast_events DROP CONSTRAINT swarmcast_events_pkey;
   ALTER TABLE swarmcast_events ADD PRIMARY KEY (room, stream, epoch, "offset");
   CREATE TABLE swarmcast_streams (
     room text NOT NULL REFERENCES swarmcast_rooms (room) ON DELETE CASCADE,
     stream text NOT NULL,
     epoch text NOT NULL,
     "offset" bigint NOT NULL,
     PRIMARY KEY (room, stream)
   );
   INSERT INTO swarmcast_streams (room, stream, epoch, "offset")
     SELECT room, 'events', events_epoch, events_offset FROM swarmcast_rooms WHERE events_offset > 0;
   ALTER TABLE swarmcast_rooms DROP COLUMN events_epoch, DROP COLUMN events_offset;`,
  // 3: documents are stored deflated (document-encoding.ts), so a cold room's load moves
  // their compressed bytes; yjs_bytes keeps their size. The column is renamed so that a
  // node of version 2 still running fails its loads instead of taking deflated bytes for a
  // document. Rows of version 2 stay as they were ('raw') until their document is next written.
  `ALTER TABLE swarmcast_rooms RENAME COLUMN yjs_update TO yjs_document;
   ALTER TABLE swarmcast_rooms ADD COLUMN yjs_encoding text NOT NULL DEFAULT 'raw',
     ADD COLUMN yjs_bytes bigint NOT NULL DEFAULT 0;
   UPDATE swarmcast_rooms SET yjs_bytes = octet_length(yjs_document) WHERE yjs_document IS NOT NULL;
   ALTER TABLE swarmcast_rooms ALTER COLUMN yjs_document SET STORAGE EXTERNAL;`,
];

/** Every stream position of the row's room, as one JSON object: stream -> [epoch, offset]. */
const STREAMS_JSON = `(SELECT json_object_agg(s.stream, json_build_array(s.epoch, s."offset"))
   FROM swarmcast_streams s WHERE s.room = r.room) AS streams`;

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
  state: Record<string, unknown>;
  yjs_document: Buffer | null;
  yjs_epoch: string;
  yjs_offset: string;
  active_at: string;
}

/** A room row with its stream positions (`STREAMS_JSON`; null when it has none). */
interface ProgressRow extends Pick<RoomRow, 'yjs_epoch' | 'yjs_offset'> {
  streams: Record<string, [string, number]> | null;
}

/** What a load reads of a room's row: the document as stored (`yjs_encoding`), as base64 text. */
interface LoadedRoomRow extends Omit<RoomRow, 'room' | 'yjs_document'> {
  yjs_base64: string | null;
  yjs_encoding: string;
}

interface EventRow {
  offset: string;
  type: string;
  sender: StoredEvent['from'];
  data: unknown;
}

/** A stream position and, when it has any, one of its newest entries (a load's LEFT JOIN LATERAL). */
interface RecentRow extends Omit<EventRow, 'offset'> {
  stream: string;
  position_epoch: string;
  position_offset: string;
  offset: string | null;
}

interface PositionRow {
  stream: string;
  epoch: string;
  offset: string;
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
    // Both queries at once: a cold room's reopen waits for this load. Each stream's
    // newest entries are read with its position in one statement, so they are of the
    // epoch the position names even while a copy runs. The document comes deflated (it is
    // stored so), as base64 text, which PostgreSQL encodes and Node decodes faster than
    // bytea's hex text (test/bench/findings.md, S9).
    const [found, streams] = await Promise.all([
      this.pool.query<LoadedRoomRow>(
        `SELECT state, yjs_epoch, yjs_offset, active_at, yjs_encoding, encode(yjs_document, 'base64') AS yjs_base64
         FROM swarmcast_rooms WHERE room = $1`,
        [room],
      ),
      this.pool.query<RecentRow>(
        `SELECT s.stream, s.epoch AS position_epoch, s."offset" AS position_offset,
           e."offset", e.type, e.sender, e.data
         FROM swarmcast_streams s LEFT JOIN LATERAL (
           SELECT "offset", type, sender, data FROM swarmcast_events e
           WHERE e.room = s.room AND e.stream = s.stream AND e.epoch = s.epoch
           ORDER BY "offset" DESC LIMIT $2
         ) e ON true
         WHERE s.room = $1`,
        [room, recent],
      ),
    ]);
    const row = found.rows[0];
    if (!row) return undefined;
    const positions: Record<string, Position> = {};
    const entries: Record<string, StoredEvent[]> = {};
    for (const line of streams.rows) {
      positions[line.stream] = { offset: Number(line.position_offset), epoch: line.position_epoch };
      const list = entries[line.stream] ?? [];
      entries[line.stream] = list;
      if (line.offset !== null) list.push(toEvent({ ...line, offset: line.offset }));
    }
    for (const list of Object.values(entries)) list.sort((a, b) => a.offset - b.offset);
    const yjs = { offset: Number(row.yjs_offset), epoch: row.yjs_epoch };
    return {
      room,
      progress: { streams: positions, yjs },
      recent: entries,
      state: row.state,
      document:
        row.yjs_base64 === null
          ? undefined
          : { update: decodeDocument(Buffer.from(row.yjs_base64, 'base64'), row.yjs_encoding), ...yjs },
      activeAt: Number(row.active_at),
    };
  }

  async save(copy: RoomCopy): Promise<CopyProgress> {
    // Before the transaction, so that it holds no row lock while deflating.
    const encoded = copy.document && (await encodeDocument(copy.document.update));
    const client = await this.checkout();
    try {
      await client.query('BEGIN');
      // The upsert takes the row lock, so two copies of one room are applied one after the other.
      const found = await client.query<RoomRow>(
        `INSERT INTO swarmcast_rooms (room, active_at) VALUES ($1, $2)
         ON CONFLICT (room) DO UPDATE SET active_at = GREATEST(swarmcast_rooms.active_at, EXCLUDED.active_at)
         RETURNING yjs_epoch, yjs_offset`,
        [copy.room, copy.activeAt],
      );
      const storedPositions = await client.query<PositionRow>(
        'SELECT stream, epoch, "offset" FROM swarmcast_streams WHERE room = $1',
        [copy.room],
      );
      const streams: Record<string, Position> = {};
      for (const row of storedPositions.rows)
        streams[row.stream] = { offset: Number(row.offset), epoch: row.epoch };
      for (const [stream, batch] of batchesOf(copy)) {
        streams[stream] = nextStreamPosition(streams[stream] ?? NOT_COPIED, batch);
        await this.insertEntries(client, copy.room, stream, batch);
        await client.query(
          `INSERT INTO swarmcast_streams (room, stream, epoch, "offset") VALUES ($1, $2, $3, $4)
           ON CONFLICT (room, stream) DO UPDATE SET epoch = EXCLUDED.epoch, "offset" = EXCLUDED."offset"`,
          [copy.room, stream, streams[stream]!.epoch, streams[stream]!.offset],
        );
      }
      const row = found.rows[0]!;
      let yjs: Position = { offset: Number(row.yjs_offset), epoch: row.yjs_epoch };
      if (replacesDocument(yjs, copy)) {
        const document = copy.document!;
        yjs = { offset: document.offset, epoch: document.epoch };
        await client.query(
          `UPDATE swarmcast_rooms SET yjs_document = $2, yjs_encoding = $3, yjs_bytes = $4,
             yjs_epoch = $5, yjs_offset = $6 WHERE room = $1`,
          [copy.room, encoded!.bytes, encoded!.encoding, encoded!.size, document.epoch, document.offset],
        );
      }
      if (copy.state) {
        await client.query('UPDATE swarmcast_rooms SET state = $2::json WHERE room = $1', [
          copy.room,
          JSON.stringify(copy.state),
        ]);
      }
      await client.query('COMMIT');
      return { streams, yjs };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** One stream's entries of a batch, skipping those already stored (idempotent by offset). */
  private async insertEntries(
    client: PoolClient,
    room: string,
    stream: string,
    batch: StreamBatch,
  ): Promise<void> {
    const entries = batch.entries;
    await client.query(
      `INSERT INTO swarmcast_events (room, stream, epoch, "offset", type, sender, data)
       SELECT $1, $2, $3, e.o, e.t, e.s, e.d
       FROM unnest($4::bigint[], $5::text[], $6::json[], $7::json[]) AS e(o, t, s, d)
       ON CONFLICT DO NOTHING`,
      [
        room,
        stream,
        batch.epoch,
        entries.map((e) => e.offset),
        entries.map((e) => e.type),
        entries.map((e) => JSON.stringify(e.from)),
        entries.map((e) => JSON.stringify(e.data ?? null)),
      ],
    );
  }

  async progress(room: string): Promise<CopyProgress> {
    const found = await this.pool.query<ProgressRow>(
      `SELECT r.yjs_epoch, r.yjs_offset, ${STREAMS_JSON} FROM swarmcast_rooms r WHERE r.room = $1`,
      [room],
    );
    return found.rows[0] ? toProgress(found.rows[0]) : NOTHING_COPIED;
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const stream = query.stream ?? DEFAULT_STREAM;
    const found = await this.pool.query<{ epoch: string }>(
      'SELECT epoch FROM swarmcast_streams WHERE room = $1 AND stream = $2',
      [room, stream],
    );
    const epoch = found.rows[0]?.epoch ?? '';
    const events = await this.pool.query<EventRow>(
      `SELECT "offset", type, sender, data FROM swarmcast_events
       WHERE room = $1 AND stream = $2 AND epoch = $3 AND "offset" < $4 ORDER BY "offset" DESC LIMIT $5`,
      [room, stream, epoch, query.before ?? Number.MAX_SAFE_INTEGER, query.limit],
    );
    return { epoch, events: events.rows.map(toEvent).reverse() };
  }

  async rooms(query: RoomsQuery): Promise<RoomSummary[]> {
    const found = await this.pool.query<RoomRow & ProgressRow & { bytes: string }>(
      `SELECT r.room, r.yjs_epoch, r.yjs_offset, r.active_at, ${STREAMS_JSON},
         r.yjs_bytes + octet_length(r.state::text)
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
function toProgress(row: ProgressRow): CopyProgress {
  const streams: Record<string, Position> = {};
  for (const [stream, [epoch, offset]] of Object.entries(row.streams ?? {})) {
    streams[stream] = { offset: Number(offset), epoch };
  }
  return { streams, yjs: { offset: Number(row.yjs_offset), epoch: row.yjs_epoch } };
}

function toEvent(row: EventRow): StoredEvent {
  return { offset: Number(row.offset), type: row.type, data: row.data, from: row.sender };
}
