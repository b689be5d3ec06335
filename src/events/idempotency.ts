import type { Connection } from '../connection';
import type { FrameId } from '../protocol/wire';

/**
 * Idempotent publishing (docs/protocol.md, "Sending an event twice"): a room event's
 * client `id` is remembered for IDEMPOTENCY_WINDOW_MS under a key scoped to its sender, so
 * that a resend is stored once and two senders that both use id "1" are never merged.
 *
 * - A connection that named its client instance (`?client=` on /events, as the client
 *   library does) is scoped by that instance, and by the user when it authenticated: its
 *   resends on a new connection, to any node, are recognised.
 * - Any other connection is scoped by itself: a resend on the same connection (after
 *   `unavailable`) is recognised, one on a new connection is a new event.
 */
export function idempotencyKey(conn: Connection, id: FrameId): string {
  const scope =
    conn.client === undefined
      ? `conn|${conn.id}`
      : conn.identity.anonymous
        ? `client|${conn.client}`
        : `user|${conn.identity.user}|${conn.client}`;
  // JSON keeps 1 and "1" apart, as the ack echoes them.
  return `${scope}|${JSON.stringify(id)}`;
}

/** What `?client=` must be: long enough to be unguessable when drawn at random. */
export const CLIENT_INSTANCE = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The longest answer kept with an id for its repeats' ack: a bigger one is not kept (the
 * repeat is answered by its own run of the handler), so one remembered id stays small.
 */
export const MAX_KEPT_ANSWER_BYTES = 1024;
