import type { StreamName } from '../core/events/event';
import type { CopyProgress } from './storage/document-store';

/**
 * What the nodes share to copy rooms to the database one at a time (docs/storage.md):
 * a copy lock per room, a record of what the database holds of each room warm in Redis,
 * and the index of those rooms, which every node sweeps for work a dead node left.
 * Redis implements it for a cluster, memory for the embedded node.
 */
export interface CopyCoordination {
  /** Takes the room's copy duty for `ttlMs`; its token, or undefined when another node has it. */
  lock(room: string, ttlMs: number): Promise<string | undefined>;
  /** Gives the duty back if `token` still holds it. */
  unlock(room: string, token: string): Promise<void>;
  /** Extends the duty by `ttlMs` if `token` still holds it; false when it was lost. */
  renew(room: string, token: string, ttlMs: number): Promise<boolean>;
  /** The room is warm (something was appended at `at`): it joins the index the sweep reads. */
  touch(room: string, at: number): Promise<void>;
  /**
   * Records how far the database holds the room, for the sweep to compare with the
   * stream heads, and that it was active at `at`.
   */
  copied(room: string, progress: CopyProgress, at: number): Promise<void>;
  /**
   * Rooms of the index last active before `quietSince` whose stream heads (of `streams`,
   * the event streams the node's events declare, and `yjs`) are past what was recorded as
   * copied; at most `limit`. Rooms active since are their appenders' job.
   */
  behind(quietSince: number, limit: number, streams: readonly StreamName[]): Promise<string[]>;
  /** Rooms of the index last active before `quietSince`, at most `limit`: the eviction's candidates. */
  idle(quietSince: number, limit: number): Promise<string[]>;
  /** Drops the room from the index (it left the hot tier). */
  forget(room: string): Promise<void>;
}
