/**
 * What the Yjs module keeps outside a node, besides the update log itself (the room's
 * `yjs` stream, read through the backend's HistoryStore): the snapshot the log is
 * compacted into, the compaction lock, and the latest awareness state of each client.
 * Memory and Redis implement it.
 */

/** A room's compacted document: the merged updates of every log entry up to `offset`. */
export interface YjsSnapshot {
  /** A Yjs update; undefined while the room was never compacted. */
  readonly update: Uint8Array | undefined;
  /** The last `yjs` stream offset the snapshot covers (0: none). */
  readonly offset: number;
  /**
   * The epoch of the `yjs` stream that offset belongs to. If the stream restarted under a
   * new epoch (its keys were lost), the snapshot is still valid content but its offset
   * means nothing in the new stream: the whole new stream is its tail.
   */
  readonly epoch: string;
}

/** The latest awareness state of one Yjs client, and where it is connected. */
export interface AwarenessEntry {
  readonly client: number;
  readonly clock: number;
  /** The state as JSON text, as the client sent it. */
  readonly state: string;
  readonly node: string;
  readonly conn?: string;
  /** Unix milliseconds of the last update, so outdated states can be dropped. */
  readonly updatedAt: number;
}

export interface YjsStore {
  snapshot(room: string): Promise<YjsSnapshot>;
  /** Takes the room's compaction lock for `ttlMs`; resolves with its token, or undefined when taken. */
  lock(room: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lock if `token` still holds it. */
  unlock(room: string, token: string): Promise<void>;
  /**
   * In one atomic step: replaces the snapshot with `update` covering `offset` of stream
   * epoch `epoch` and trims the room's `yjs` stream entries up to `offset`. Does nothing
   * (resolves false) when the lock is no longer held by `token`, the snapshot already
   * covers `offset`, or the stream's epoch is no longer `epoch`.
   */
  compact(room: string, update: Uint8Array, offset: number, epoch: string, token: string): Promise<boolean>;

  putAwareness(room: string, entries: readonly AwarenessEntry[]): Promise<void>;
  removeAwareness(room: string, clients: readonly number[]): Promise<void>;
  /** The stored states of these clients (those that have one). */
  awarenessOf(room: string, clients: readonly number[]): Promise<Map<number, AwarenessEntry>>;
  /** The room's awareness states updated within `maxAgeMs`. */
  listAwareness(room: string, maxAgeMs: number): Promise<AwarenessEntry[]>;
  /**
   * The node's last local client of the room left (and cleared its states): the room no
   * longer needs to be visited when the node dies, so the node's room list stays short.
   */
  forgetRoom(node: string, room: string): Promise<void>;
  /** Removes every awareness state held by a (dead) node's clients and returns them per room. */
  removeNode(node: string): Promise<Array<{ room: string; entries: AwarenessEntry[] }>>;
}
