import type { Position, Sender, StreamName } from '../../core/events/event';

/**
 * The durable tier behind Redis (docs/storage.md). Redis stays the hot path and what an
 * ordinary ack means; a `DocumentStore` keeps what must outlive Redis: each room's
 * compacted Yjs document, its key/value state and the whole history of each of its event
 * streams (`events`, and any stream an app's events declare). PostgreSQL
 * (`PostgresStore`) and a file (`FileStore`) implement it; a user who keeps documents
 * elsewhere writes one class that passes the same contract suite
 * (test/storage/document-store-suite.ts).
 *
 * Every write is idempotent by offset, so a batch copied twice (a node died after the
 * write but before it said so) changes nothing the second time.
 */
export interface DocumentStore {
  /** Where the data goes, for the start-up log: never a password. */
  readonly description: string;
  /**
   * Connects, and creates or migrates the schema. Rejects with a `ConfigError` naming the
   * variable (`DATABASE_URL`, `DATA_DIR`) when the store cannot be reached or its schema
   * is newer than this code.
   */
  open(): Promise<void>;
  close(): Promise<void>;
  /** The room as stored, with the newest `recent` entries of each stream; undefined when it was never saved. */
  load(room: string, recent: number): Promise<StoredRoom | undefined>;
  /** Applies one batch of the write-behind in one transaction and returns how far the room is now. */
  save(copy: RoomCopy): Promise<CopyProgress>;
  /** How far the room's copy has got; `NOTHING_COPIED` for a room never saved. */
  progress(room: string): Promise<CopyProgress>;
  /**
   * Entries of the stream `query.stream` (`events` when unset) of its current epoch with
   * offset < `before` (all when unset), the newest `limit`, oldest first.
   */
  history(room: string, query: HistoryQuery): Promise<HistoryPage>;
  /** Rooms in name order after `after`, at most `limit`. */
  rooms(query: RoomsQuery): Promise<RoomSummary[]>;
  /** Removes the room and all it holds; resolves whether there was one. */
  delete(room: string): Promise<boolean>;
}

/** One event stream entry as stored: what a member received, minus the room and stream. */
export interface StoredEvent {
  readonly offset: number;
  readonly type: string;
  /** A JSON value. */
  readonly data: unknown;
  readonly from: Sender;
}

/** A room's Yjs document: the merged updates of its `yjs` stream up to `offset` of `epoch`. */
export interface StoredDocument {
  readonly update: Uint8Array;
  readonly offset: number;
  readonly epoch: string;
}

/** One stream's entries in one batch: in offset order, all of one epoch. */
export interface StreamBatch {
  readonly epoch: string;
  readonly entries: readonly StoredEvent[];
}

/**
 * One batch of the write-behind for one room. Any part may be absent. `streams` holds
 * entries per event stream (`events`, and any stream the app's events declare), each
 * batch of one epoch; entries already stored are skipped. A `document` is kept only if
 * it is of another epoch or covers a later offset than the stored one. `state` replaces
 * the stored key/value state whole.
 */
export interface RoomCopy {
  readonly room: string;
  readonly streams?: Readonly<Record<StreamName, StreamBatch>>;
  readonly state?: Readonly<Record<string, unknown>>;
  readonly document?: StoredDocument;
  /** Unix milliseconds of the room's last activity. */
  readonly activeAt: number;
}

/**
 * What has been copied of a room: the last offset (and its epoch) of each event stream
 * that has entries in the store (a stream never copied is absent: read it with
 * `copiedOf`), and the `yjs` stream position the stored document covers.
 */
export interface CopyProgress {
  readonly streams: Readonly<Record<StreamName, Position>>;
  readonly yjs: Position;
}

export interface StoredRoom {
  readonly room: string;
  readonly progress: CopyProgress;
  /** Per stream of `progress.streams`, its newest entries of the stream's current epoch, oldest first. */
  readonly recent: Readonly<Record<StreamName, StoredEvent[]>>;
  readonly state: Record<string, unknown>;
  readonly document: StoredDocument | undefined;
  readonly activeAt: number;
}

export interface HistoryQuery {
  /** The event stream to page through; `events` when unset. */
  readonly stream?: StreamName;
  readonly before?: number;
  readonly limit: number;
}

export interface HistoryPage {
  readonly epoch: string;
  readonly events: StoredEvent[];
}

export interface RoomsQuery {
  readonly after?: string;
  readonly limit: number;
}

export interface RoomSummary {
  readonly room: string;
  /** Bytes the room takes in the store: document, state and events. */
  readonly bytes: number;
  readonly activeAt: number;
  readonly progress: CopyProgress;
}

/** The position of a stream nothing of which was copied. */
export const NOT_COPIED: Position = { offset: 0, epoch: '' };

export const NOTHING_COPIED: CopyProgress = { streams: {}, yjs: NOT_COPIED };

/** How far `stream` is copied: `NOT_COPIED` when the store holds none of it. */
export function copiedOf(progress: CopyProgress, stream: StreamName): Position {
  return progress.streams[stream] ?? NOT_COPIED;
}
