import type { z } from 'zod';
import type { Backend } from '../../backend/backend';
import type { Connection } from '../connection';
import type { ConnectionTable } from '../connection-table';
import type { Logger } from '../log';
import type { RoomHub } from '../rooms/room-hub';
import type { Event, EventData, Position, Sender, StreamName } from './event';

/**
 * Where an event runs. `local`: on the node that received it, answer to the sender.
 * `room`: on that node, then appended to the room's stream and delivered to every
 * member on every node. `cluster`: the handler runs once on every live node.
 */
export type Scope = 'local' | 'room' | 'cluster';

/**
 * What the sender must hold. `connect`: any connection. `read` / `write`: that access
 * to the event's room. `server`: only server-side code may emit it (clients get
 * `unknown_type`, so they cannot probe for it).
 */
export type Access = 'connect' | 'read' | 'write' | 'server';

/**
 * Where this copy of an event came from, so that nothing is echoed back to its node
 * or stored twice: a client socket on this node, server-side code on this node, or
 * another node through the bus.
 */
export type Origin =
  | { readonly kind: 'socket'; readonly conn: Connection }
  | { readonly kind: 'server' }
  | { readonly kind: 'bus'; readonly node: string };

export interface EmitOptions {
  readonly room?: string;
  readonly data: EventData;
}

/** What `emit` gives back: the handler's answer for local events, the position for room events. */
export interface EmitResult {
  readonly answer?: unknown;
  readonly position?: Position;
}

export interface RoomStateApi {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  all(): Promise<Record<string, unknown>>;
}

/** A room-scope event always has its room; the other scopes may have none. */
export type RoomOf<S extends Scope> = S extends 'room' ? string : string | undefined;

export interface HandlerContext<D, S extends Scope = Scope> {
  readonly event: Event<D>;
  readonly data: D;
  readonly room: RoomOf<S>;
  readonly from: Sender;
  readonly origin: Origin;
  /** The sending connection, on the node that received the event from a socket. */
  readonly connection: Connection | undefined;
  readonly node: NodeServices;
  readonly log: Logger;
  /**
   * Sends the `ack` now, with this answer, instead of after the handler returns. Use it
   * when the sender must see the answer before frames the handler releases next.
   */
  reply(answer: unknown): void;
  /** Dispatches a further event as the server (access `server` allowed, no membership check). */
  emit(type: string, options: EmitOptions): Promise<EmitResult>;
  /** The event room's key/value state. Throws for events without a room. */
  readonly state: RoomStateApi;
  /** Rejects the event: the sender gets an `error` with code `rejected` and this message. */
  fail(message: string, details?: unknown): never;
}

/**
 * A declared event type. Room scope: the handler's return value, when not undefined,
 * replaces `data` in what is published; `publishAs` renames the published type.
 * Local scope: the return value is the `ack` answer. Cluster scope: runs on every node.
 * The type parameters keep the literal type, access and published name and the
 * handler's answer, so that the client library types an app's events from these
 * definitions alone.
 */
export interface EventDefinition<
  S extends z.ZodType = z.ZodType,
  Sc extends Scope = Scope,
  R = unknown,
  T extends string = string,
  P extends string | undefined = string | undefined,
  A extends Access = Access,
> {
  readonly type: T;
  readonly scope: Sc;
  readonly access: A;
  readonly data: S;
  readonly stream?: StreamName | null;
  readonly publishAs?: P;
  readonly description?: string;
  handle?(ctx: HandlerContext<z.output<S>, Sc>): R;
}

/** A definition with its data type erased, as the registry holds it. */
export type AnyEventDefinition = EventDefinition<z.ZodType>;

/** Declares an event type; the data type of its handler is inferred from the schema. */
export function defineEvent<
  S extends z.ZodType,
  const Sc extends Scope,
  R = undefined,
  const T extends string = string,
  const P extends string | undefined = undefined,
  const A extends Access = Access,
>(definition: EventDefinition<S, Sc, R, T, P, A>): EventDefinition<S, Sc, R, T, P, A> {
  return definition;
}

/** What handlers can reach on the node they run on. */
export interface NodeServices {
  readonly id: string;
  readonly backend: Backend;
  readonly hub: RoomHub;
  readonly connections: ConnectionTable;
  /** Whether `conn` holds `access` to `room`, by the node's authorizer. */
  can(conn: Connection, access: Access, room: string): boolean;
  /** Dispatches an event as the server, through the router. */
  emit(type: string, options: EmitOptions): Promise<EmitResult>;
  /** A member's leave could not be written to the backend: rewrite this node's members once it answers. */
  membershipStale(): void;
}
