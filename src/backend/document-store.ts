import type { Position, StoredEvent } from '../core/events/event';

/**
 * A room's compacted document next to its update stream: the snapshot the stream is
 * compacted into and the lock that lets one node at a time compact it. The stream itself
 * is read through the HistoryStore and appended to through the Bus.
 */

/** A room's compacted document: the merged updates of every stream entry up to `offset`. */
export interface DocumentSnapshot {
  /** The merged update; undefined while the room was never compacted. */
  readonly update: Uint8Array | undefined;
  /** The last stream offset the snapshot covers (0: none). */
  readonly offset: number;
  /**
   * The epoch of the stream that offset belongs to. If the stream restarted under a new
   * epoch (its keys were lost), the snapshot is still valid content but its offset means
   * nothing in the new stream: the whole new stream is its tail.
   */
  readonly epoch: string;
}

/** A snapshot and the first history page after that snapshot, read together (`snapshotWithTail`). */
export interface SnapshotWithTail {
  readonly snapshot: DocumentSnapshot;
  /**
   * What `history.read(room, DOCUMENT_STREAM, snapshot.offset, snapshot.epoch || undefined,
   * limit)` answered right after the snapshot was read (a HistoryRead, spelled out here
   * because backend.ts imports this file).
   */
  readonly tail: { readonly head: Position; readonly events: StoredEvent[]; readonly complete: boolean };
}

export interface DocumentStore {
  snapshot(room: string): Promise<DocumentSnapshot>;
  /**
   * Optional: the snapshot and the stream entries after it together, so that a document
   * read (every join) waits for one round trip instead of two. Without it, or when it
   * answers undefined (it could not tell the tail follows the snapshot it read), readers
   * read the snapshot, then the history.
   */
  snapshotWithTail?(room: string, limit: number): Promise<SnapshotWithTail | undefined>;
  /** Takes the room's compaction lock for `ttlMs`; resolves with its token, or undefined when taken. */
  lock(room: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lock if `token` still holds it. */
  unlock(room: string, token: string): Promise<void>;
  /**
   * In one atomic step: replaces the snapshot with `update` covering `offset` of stream
   * epoch `epoch` and trims the room's document stream entries up to `offset`. Does
   * nothing (resolves false) when the lock is no longer held by `token`, the snapshot
   * already covers `offset`, or the stream's epoch is no longer `epoch`.
   */
  compact(room: string, update: Uint8Array, offset: number, epoch: string, token: string): Promise<boolean>;
}

/**
 * The room stream a document compacts: the only stream that is not capped, because
 * compaction trims it instead. Its updates are appended by the module that keeps
 * documents (src/modules/yjs/).
 */
export const DOCUMENT_STREAM = 'yjs';
