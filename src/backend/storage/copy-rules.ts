import type { Position } from '../../core/events/event';
import type { RoomCopy, StreamBatch } from './document-store';

/**
 * The rules both stores apply to one batch, so that they cannot drift apart: what the
 * position of an event stream becomes, and whether a document replaces the stored one.
 */

/** A batch of the same epoch moves the position forward only; a new epoch starts over. */
export function nextStreamPosition(stored: Position, batch: StreamBatch): Position {
  if (batch.entries.length === 0) return stored;
  const last = batch.entries[batch.entries.length - 1]!.offset;
  if (batch.epoch !== stored.epoch) return { offset: last, epoch: batch.epoch };
  return { offset: Math.max(stored.offset, last), epoch: stored.epoch };
}

/** The streams of a batch that carry entries, in name order (so transactions lock alike). */
export function batchesOf(copy: RoomCopy): Array<[string, StreamBatch]> {
  return Object.entries(copy.streams ?? {})
    .filter(([, batch]) => batch.entries.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A document of the same epoch replaces the stored one only when it covers more. */
export function replacesDocument(stored: Position, copy: RoomCopy): boolean {
  const document = copy.document;
  if (!document) return false;
  return document.epoch !== stored.epoch || document.offset > stored.offset;
}

/** A password in a connection string never reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
