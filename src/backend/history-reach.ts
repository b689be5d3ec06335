import type { Position } from '../core/events/event';

/**
 * Whether a stream's history still holds every event after `after`: the same epoch
 * (none asked, or the empty one of a stream never seen, means any), not past the head,
 * and its oldest entry (`first`, or the next offset when the stream is empty) no later
 * than the first one asked for. One rule for every backend's HistoryStore.read.
 */
export function reachesBack(
  head: Position,
  first: number,
  after: number,
  epoch: string | undefined,
): boolean {
  const sameEpoch = epoch === undefined || epoch === '' || epoch === head.epoch;
  return sameEpoch && after <= head.offset && first <= after + 1;
}
