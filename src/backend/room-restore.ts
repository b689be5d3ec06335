import type { StreamName } from '../core/events/event';
import type { StoredRoom } from './storage/document-store';

/**
 * Putting a room back into the hot tier (Redis, or the embedded node's memory) from the
 * database (docs/storage.md, "Loading a room back"). Redis and memory implement it.
 */
export interface RoomRestore {
  /** Whether the room is in the hot tier as the storage tier knows it (loaded, or live since storage was on). */
  isLoaded(room: string): Promise<boolean>;
  /** Takes the right to load the room for `ttlMs`, so that one node loads it however many open it. */
  lock(room: string, ttlMs: number): Promise<string | undefined>;
  unlock(room: string, token: string): Promise<void>;
  /**
   * In one step: marks the room loaded and, unless it has live stream keys already (of
   * the stored streams, `streams` or `yjs`; they are never overwritten), writes `stored`
   * back: every stored stream's head and epoch and its newest entries, the key/value
   * state and the Yjs snapshot. `streams` are the event streams the node's events
   * declare. Resolves whether it wrote.
   */
  restore(room: string, stored: StoredRoom | undefined, streams: readonly StreamName[]): Promise<boolean>;
  /**
   * In one step, removes every key of the room from the hot tier (of `streams`, the event
   * streams the node's events declare, of every stream recorded as copied, and of `yjs`),
   * if no node serves it (no member, no subscribed node) and no stream's head is past
   * what was recorded as copied (unless `force`: the room is being deleted everywhere);
   * otherwise does nothing. Resolves whether it removed the room.
   */
  evict(room: string, streams: readonly StreamName[], force?: boolean): Promise<boolean>;
}
