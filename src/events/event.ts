import type { z } from 'zod';
import type { Connection } from '../connection';
import type { Logger } from '../log';
import type { NodeServices } from '../services';

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
 * The ordered, durable streams a room has. Every room-scope event goes to one of them
 * (and gets its offset there), or to none when its definition says `stream: null`
 * (ephemeral: awareness, typing indicators).
 */
export type StreamName = 'events' | 'yjs';
export const STREAMS: readonly StreamName[] = ['events', 'yjs'];

/** Who caused an event. `conn`/`user` are absent for server-emitted events. Clients never set it. */
export interface Sender {
  readonly node: string;
  readonly conn?: string;
  readonly user?: string;
}

/** A position in a room stream. The epoch changes when the stream's history is reset. */
export interface Position {
  readonly offset: number;
  readonly epoch: string;
}

/** Event payloads are JSON values, or raw bytes for binary protocols (Yjs). */
export type EventData = unknown;

export interface Event<D = EventData> {
  readonly type: string;
  readonly room?: string;
  readonly data: D;
  /** The client's correlation id, echoed in `ack` and `error`. Never published. */
  readonly id?: string | number;
  readonly from: Sender;
  /** Set once the event is appended to a room stream. */
  readonly stream?: StreamName;
  readonly offset?: number;
  readonly epoch?: string;
}

/** A room event as it travels between nodes and to members. */
export interface RoomEvent<D = EventData> extends Event<D> {
  readonly room: string;
}

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

export interface HandlerContext<D> {
  readonly event: Event<D>;
  readonly data: D;
  readonly room: string | undefined;
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
 * The type parameters keep the literal type, scope and name and the handler's answer,
 * so that the client library types an app's events from these definitions alone.
 */
export interface EventDefinition<
  S extends z.ZodType = z.ZodType,
  R = unknown,
  T extends string = string,
  C extends Scope = Scope,
  P extends string | undefined = string | undefined,
  A extends Access = Access,
> {
  readonly type: T;
  readonly scope: C;
  readonly access: A;
  readonly data: S;
  readonly stream?: StreamName | null;
  readonly publishAs?: P;
  readonly description?: string;
  handle?(ctx: HandlerContext<z.output<S>>): R;
}

/** A definition with its data type erased, as the registry holds it. */
export type AnyEventDefinition = EventDefinition<z.ZodType>;

/** Declares an event type; the data type of its handler is inferred from the schema. */
export function defineEvent<
  S extends z.ZodType,
  R = undefined,
  const T extends string = string,
  const C extends Scope = Scope,
  const P extends string | undefined = undefined,
  const A extends Access = Access,
>(definition: EventDefinition<S, R, T, C, P, A>): EventDefinition<S, R, T, C, P, A> {
  return definition;
}
