import type { Position } from '../../core/events/event';
import type { RoomCopy } from './document-store';

/**
 * The rules both stores apply to one batch, so that they cannot drift apart: what the
 * `events` position becomes, and whether a document replaces the stored one.
 */

/** A batch of the same epoch moves the position forward only; a new epoch starts over. */
export function nextEventsPosition(stored: Position, copy: RoomCopy): Position {
  const events = copy.events;
  if (!events || events.entries.length === 0) return stored;
  const last = events.entries[events.entries.length - 1]!.offset;
  if (events.epoch !== stored.epoch) return { offset: last, epoch: events.epoch };
  return { offset: Math.max(stored.offset, last), epoch: stored.epoch };
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
