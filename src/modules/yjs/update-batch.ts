import { Y } from './esm';
import { isEmptyUpdate, isValidUpdate } from './yjs-codec';

/**
 * Most update frames one stream entry is merged from. A writer's backlog is bounded at 256
 * frames (flow-control.ts), so this is all of a full backlog: one entry, one append script
 * and one frame per reader instead of 256. (The bench's fast writer, 100 one-key updates
 * per macrotask, comes in runs of about that many.)
 */
export const MAX_BATCH_FRAMES = 256;
/**
 * Most frame bytes one entry is merged from: a quarter of the backlog's byte bound, so a
 * run of large frames (a paste) still makes entries and readers' frames of a few socket
 * reads, not one of a megabyte that every reader must take at once.
 */
export const MAX_BATCH_BYTES = 256 * 1024;

/** What a run of one connection's queued updates comes to. */
export type Batch =
  /** One update, valid, with everything the run carried. */
  | { readonly kind: 'merged'; readonly update: Uint8Array }
  /** The run changes nothing: nothing to store. */
  | { readonly kind: 'empty' }
  /** Some update of the run is bad: handle them one by one, so the bad one is found and the ones before it are kept. */
  | { readonly kind: 'split' };

/**
 * Merges a run of updates (oldest first) into one, checked as `yjs.update`'s schema checks
 * one update: it must apply to a scratch document. A Yjs merge keeps every struct and
 * deletion of its inputs, so appending the merged update is appending each of them, in one
 * stream entry; readers apply it as they would apply the run.
 */
export function mergeBatch(updates: readonly Uint8Array[]): Batch {
  let merged: Uint8Array;
  try {
    merged = Y.mergeUpdates(updates as Uint8Array[]);
    if (isEmptyUpdate(merged)) return { kind: 'empty' };
  } catch {
    return { kind: 'split' };
  }
  return isValidUpdate(merged) ? { kind: 'merged', update: merged } : { kind: 'split' };
}
