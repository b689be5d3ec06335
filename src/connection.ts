import type { CloseCode, ErrorCode } from './errors';
import type { Event } from './events/event';

/**
 * What the upgrade established about a client. Set once at the upgrade; never from frames.
 * `auth.refresh` replaces grants and expiry later: the auth module holds the current ones
 * (src/auth/sessions.ts); `user` never changes.
 */
export interface Identity {
  /** The user id (`sub` of the token); anonymous connections get `anon-<pid>-<n>`. */
  readonly user: string;
  /** No authenticator decided: `user` is this connection's own and says nothing across connections. */
  readonly anonymous?: boolean;
  /** Room grants from the token; undefined when auth is off (everything allowed). */
  readonly grants?: RoomGrants;
  /** Unix seconds after which the token is no longer valid. */
  readonly expiresAt?: number;
  /** The token's `iat` (Unix seconds): revocations refuse tokens issued before them. */
  readonly issuedAt?: number;
}

/** Exact room names or simple `*` patterns, each mapped to an access level. */
export type RoomGrants = Readonly<Record<string, 'read' | 'write'>>;

/**
 * One client socket, whatever its protocol. The router and the room hub talk to
 * connections only through this interface: a connection says what it can do, never
 * which protocol it speaks.
 */
export interface Connection {
  readonly id: string;
  /** The endpoint it came through, as metrics count it (`json`, `yjs`); never switched on. */
  readonly endpoint: string;
  /**
   * It joins and leaves rooms by request, and is listed among their members. Otherwise it
   * is bound to one room for its life, and losing access to that room closes it.
   */
  readonly joinsRooms: boolean;
  /** It drops and answers frames past its rate itself; otherwise the node closes it when it floods. */
  readonly limitsOwnRate: boolean;
  readonly identity: Identity;
  /**
   * The client instance it says it is (`?client=` on /events): the ids of its room events
   * are deduplicated across that instance's connections (src/events/idempotency.ts).
   */
  readonly client?: string;
  /** Rooms this connection has joined on this node. */
  readonly rooms: Set<string>;
  /** Delivers an event of a room it joined, or one addressed to it. */
  deliver(event: Event): void;
  /** Accepts the event with this correlation id; a no-op for protocols without acks. */
  ack(id: string | number, answer: unknown): void;
  /** Refuses a frame; the connection stays open. */
  error(id: string | number | undefined, code: ErrorCode, message: string): void;
  close(code: CloseCode, reason: string): void;
}
