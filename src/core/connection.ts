import type { CloseCode, ErrorCode } from './errors';
import type { Event } from './events/event';

/**
 * What the upgrade established about a client. Set once at the upgrade; never from frames.
 * `auth.refresh` replaces grants and expiry later: the auth module holds the current ones
 * (src/modules/auth/sessions.ts); `user` never changes.
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
  readonly rooms: RoomSet;
  /** Delivers an event of a room it joined, or one addressed to it. */
  deliver(event: Event): void;
  /** Accepts the event with this correlation id; a no-op for protocols without acks. */
  ack(id: string | number, answer: unknown): void;
  /** Refuses a frame; the connection stays open. */
  error(id: string | number | undefined, code: ErrorCode, message: string): void;
  close(code: CloseCode, reason: string): void;
}

/** The rooms a connection is in, as the node reads and changes them: a `Set<string>` is one. */
export interface RoomSet extends Iterable<string> {
  has(room: string): boolean;
  add(room: string): unknown;
  delete(room: string): unknown;
}

/**
 * The rooms of a connection bound to one room (`joinsRooms: false`): a field, where a Set
 * would cost its hash table, about 200 bytes of an idle socket's 4.5 KB of heap (bench S4).
 */
export class OneRoom implements RoomSet {
  private room: string | undefined;

  has(room: string): boolean {
    return this.room === room;
  }

  add(room: string): void {
    if (this.room !== undefined && this.room !== room) {
      throw new Error(`a connection bound to room ${this.room} cannot enter ${room}`);
    }
    this.room = room;
  }

  delete(room: string): boolean {
    if (this.room !== room) return false;
    this.room = undefined;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    if (this.room !== undefined) yield this.room;
  }
}
