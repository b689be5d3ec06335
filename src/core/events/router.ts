import type { Backend } from '../../backend/backend';
import type { Authorizer } from '../access-hooks';
import type { Connection } from '../connection';
import { ErrorCode, SwarmError, toWireError } from '../errors';
import type { Logger } from '../log';
import type { ClientFrame } from '../protocol/wire';
import type { RoomHub } from '../rooms/room-hub';
import { DEFAULT_STREAM, type Event, type RoomEvent, type Sender } from './event';
import type {
  Access,
  AnyEventDefinition,
  EmitOptions,
  EmitResult,
  HandlerContext,
  NodeServices,
  Origin,
  RoomStateApi,
  Scope,
} from './event-definition';
import { idempotencyKey, MAX_KEPT_ANSWER_BYTES } from './idempotency';
import type { EventRegistry } from './registry';

/** A frame as a codec hands it over: not yet validated against any schema. */
export type IncomingFrame = ClientFrame;

/**
 * Waits until a room event this node appended is in the durable tier; rejects (with an
 * `unavailable` SwarmError) when it cannot say so in time. Installed by the storage module.
 */
export type DurableWait = (event: RoomEvent) => Promise<void>;

const allowAll: Authorizer = () => true;

export interface RouterObserver {
  received?(type: string, scope: string): void;
  failed?(type: string, code: ErrorCode): void;
  /** This node published an event to the cluster (room or cluster scope), as `type`. */
  published?(type: string, scope: Scope): void;
  /** A room event of `type` was a repeat of one already stored under its `id`: not stored again. */
  repeated?(type: string): void;
}

export interface RouterDeps {
  readonly node: string;
  readonly registry: EventRegistry;
  readonly backend: Backend;
  readonly hub: RoomHub;
  readonly services: () => NodeServices;
  readonly log: Logger;
  readonly authorize?: Authorizer;
  readonly observer?: RouterObserver;
  /** IDEMPOTENCY_WINDOW_MS: how long a room event's client `id` is remembered; 0 or absent: not at all. */
  readonly idempotencyWindowMs?: number;
}

/** An idempotent append as the router asks for it: the key, and the answer to keep once known. */
interface Once {
  readonly key: string;
  readonly windowMs: number;
  /** The ack's answer when the handler gave one (ctx.reply) before the append. */
  readonly held: () => { answer: unknown } | undefined;
}

/** What running an event came to, as the socket path needs it. */
type RunResult = EmitResult & {
  appended?: RoomEvent;
  /** A repeat of an event appended under the same key: nothing was appended now. */
  repeat?: { readonly answer?: string };
};

/** How many issues of a failed schema check the error message lists. */
const MAX_ISSUES = 3;

/**
 * Validates, authorises, runs handlers and routes by scope (docs/architecture.md "The
 * flow of one message"). Entry points: frames from sockets, events from server code, cluster
 * events from the bus.
 */
export class Router {
  private readonly authorize: Authorizer;
  private durableWait: DurableWait | undefined;
  private readonly appendListeners: Array<(event: RoomEvent) => void> = [];

  constructor(private readonly deps: RouterDeps) {
    // The node's composed authorizers (src/core/access-hooks.ts); alone, a router allows everything.
    this.authorize = deps.authorize ?? allowAll;
  }

  /** How `"durable": true` frames wait for the database; without one they are answered `unavailable`. */
  setDurableWait(wait: DurableWait): void {
    this.durableWait = wait;
  }

  /** Calls `listener` with every room event this node appended to a stream (the storage module's cue). */
  onAppended(listener: (event: RoomEvent) => void): void {
    this.appendListeners.push(listener);
  }

  /** The current authorizer, for handlers that check access to a room they are about to enter. */
  can(conn: Connection, access: Access, room: string | undefined): boolean {
    return this.authorize(conn, access, room);
  }

  /** Handles one decoded client frame and answers it with an `ack` or an `error`. */
  async fromSocket(conn: Connection, frame: IncomingFrame): Promise<void> {
    const { id } = frame;
    try {
      const answer = await this.dispatchFromSocket(conn, frame);
      if (answer !== NO_ACK && id !== undefined) conn.ack(id, answer);
    } catch (err) {
      const wire = toWireError(err);
      if (wire.code === ErrorCode.Internal) {
        this.deps.log.error({ err, type: frame.type, id, conn: conn.id }, 'handler failed');
      }
      this.deps.observer?.failed?.(frame.type, wire.code);
      conn.error(id, wire.code, wire.message);
    }
  }

  /** Dispatches an event as the server: access `server` is allowed and membership is not checked. */
  async emit(type: string, options: EmitOptions, from?: Sender): Promise<EmitResult> {
    const definition = this.deps.registry.get(type);
    if (!definition) throw new SwarmError(ErrorCode.UnknownType, `no event type "${type}" is declared`);
    const data = this.validate(definition, options.data);
    const room = definition.scope === 'room' ? requireRoom(options.room) : options.room;
    const event: Event = { type, room, data, from: from ?? { node: this.deps.node } };
    const replies: unknown[] = [];
    const { appended: _appended, ...result } = await this.run(
      definition,
      event,
      { kind: 'server' },
      undefined,
      (a) => replies.push(a),
    );
    return replies.length > 0 ? { ...result, answer: replies[0] } : result;
  }

  /** A cluster-scope event published by another node: run its handler here. */
  async fromBus(event: Event, node: string): Promise<void> {
    const definition = this.deps.registry.get(event.type);
    if (definition?.scope !== 'cluster') {
      this.deps.log.warn({ type: event.type, node }, 'cluster event of an unknown type dropped');
      return;
    }
    try {
      await this.invoke(definition, event, { kind: 'bus', node }, undefined, () => {});
    } catch (err) {
      this.deps.log.error({ err, type: event.type, node }, 'cluster handler failed');
    }
  }

  private async dispatchFromSocket(conn: Connection, frame: IncomingFrame): Promise<unknown> {
    const definition = this.deps.registry.get(frame.type);
    if (!definition || definition.access === 'server') {
      throw new SwarmError(ErrorCode.UnknownType, `no event type "${frame.type}" is declared`);
    }
    this.deps.observer?.received?.(definition.type, definition.scope);
    const data = this.validate(definition, frame.data);
    const room = definition.scope === 'room' ? requireRoom(frame.room) : frame.room;
    if (definition.access === 'read' || definition.access === 'write') {
      if (room === undefined) throw new SwarmError(ErrorCode.BadFrame, `"${definition.type}" needs a "room"`);
      if (!conn.rooms.has(room)) {
        throw new SwarmError(ErrorCode.NotJoined, `join room "${room}" before sending events to it`);
      }
    }
    if (!this.authorize(conn, definition.access, room)) {
      throw new SwarmError(
        ErrorCode.Forbidden,
        `no ${definition.access} access to "${room ?? definition.type}"`,
      );
    }
    const event: Event = {
      type: definition.type,
      room,
      data,
      id: frame.id,
      from: { node: this.deps.node, conn: conn.id, user: conn.identity.user },
    };
    const stream = definition.stream === undefined ? DEFAULT_STREAM : definition.stream;
    const windowMs = this.deps.idempotencyWindowMs ?? 0;
    let replied = false;
    let held: { answer: unknown } | undefined;
    const once: Once | undefined =
      frame.id !== undefined && definition.scope === 'room' && stream !== null && windowMs > 0
        ? { key: idempotencyKey(conn, frame.id), windowMs, held: () => held }
        : undefined;
    const reply = (answer: unknown) => {
      if (replied) return;
      replied = true;
      // An idempotent event's ack waits for the append: a repeat is answered as the first was.
      if (once) held = { answer };
      else if (frame.id !== undefined) conn.ack(frame.id, answer);
    };
    if (frame.durable && (definition.scope !== 'room' || definition.stream === null)) {
      throw new SwarmError(
        ErrorCode.BadFrame,
        `"durable" is for events stored in a room stream, not "${definition.type}"`,
      );
    }
    if (frame.durable && !this.durableWait) {
      throw new SwarmError(
        ErrorCode.Unavailable,
        'this node has no database (STORAGE=none): nothing can be acknowledged as durable',
      );
    }
    const result = await this.run(definition, event, { kind: 'socket', conn }, conn, reply, once);
    if (result.repeat) {
      const offset = result.position?.offset ?? 0;
      if (frame.durable && stream !== null) {
        await this.durableWait!({
          type: definition.type,
          room: room!,
          data: null,
          from: event.from,
          stream,
          offset,
          epoch: result.position?.epoch ?? '',
        });
      }
      if (result.repeat.answer !== undefined) return JSON.parse(result.repeat.answer) as unknown;
      return held ? held.answer : { offset };
    }
    if (held) return held.answer;
    if (replied) return NO_ACK;
    if (definition.scope === 'local') return result.answer ?? {};
    if (frame.durable && result.appended) await this.durableWait!(result.appended);
    return { offset: result.position?.offset };
  }

  private validate(definition: AnyEventDefinition, data: unknown): unknown {
    const parsed = definition.data.safeParse(data ?? {});
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues
      .slice(0, MAX_ISSUES)
      .map((issue) => `${issue.path.join('.') || 'data'}: ${issue.message}`)
      .join('; ');
    throw new SwarmError(ErrorCode.InvalidData, `invalid data for "${definition.type}": ${issues}`);
  }

  private async run(
    definition: AnyEventDefinition,
    event: Event,
    origin: Origin,
    conn: Connection | undefined,
    reply: (answer: unknown) => void,
    once?: Once,
  ): Promise<RunResult> {
    switch (definition.scope) {
      case 'local':
        return { answer: await this.invoke(definition, event, origin, conn, reply) };
      case 'room': {
        const result = await this.invoke(definition, event, origin, conn, reply);
        const outgoing: RoomEvent = {
          type: definition.publishAs ?? definition.type,
          room: event.room!,
          data: result === undefined ? event.data : result,
          from: event.from,
        };
        const stream = definition.stream === undefined ? DEFAULT_STREAM : definition.stream;
        let published: RoomEvent;
        if (once && stream !== null) {
          const answer = keptAnswer(once.held());
          const outcome = await this.deps.backend.bus.appendOnce(outgoing, stream, {
            key: once.key,
            windowMs: once.windowMs,
            ...(answer === undefined ? {} : { answer }),
          });
          if (outcome.repeat) {
            this.deps.observer?.repeated?.(definition.type);
            return {
              position: outcome.position,
              repeat: outcome.answer === undefined ? {} : { answer: outcome.answer },
            };
          }
          published = outcome.event;
        } else {
          published = await this.deps.backend.bus.publishRoom(outgoing, stream);
        }
        this.deps.observer?.published?.(published.type, 'room');
        this.deps.hub.receive(published);
        if (published.offset === undefined) return {};
        for (const listener of this.appendListeners) listener(published);
        return { position: { offset: published.offset, epoch: published.epoch ?? '' }, appended: published };
      }
      case 'cluster': {
        const { id: _id, ...published } = event;
        await this.deps.backend.bus.publishCluster(published);
        this.deps.observer?.published?.(published.type, 'cluster');
        await this.invoke(definition, event, origin, conn, reply);
        return {};
      }
    }
  }

  private invoke(
    definition: AnyEventDefinition,
    event: Event,
    origin: Origin,
    conn: Connection | undefined,
    reply: (answer: unknown) => void,
  ): unknown {
    if (!definition.handle) return undefined;
    const ctx = this.context(event, origin, conn, reply);
    return definition.handle(ctx);
  }

  private context(
    event: Event,
    origin: Origin,
    connection: Connection | undefined,
    reply: (answer: unknown) => void,
  ): HandlerContext<unknown> {
    const { backend, log } = this.deps;
    const room = event.room;
    let child: Logger | undefined;
    const state: RoomStateApi = {
      get: (key) => backend.state.get(requireRoom(room), key),
      set: (key, value) => backend.state.set(requireRoom(room), key, value),
      all: () => backend.state.all(requireRoom(room)),
    };
    return {
      event,
      data: event.data,
      room,
      from: event.from,
      origin,
      connection,
      node: this.deps.services(),
      // Made on first use: most handlers never log, and a child logger per event showed
      // in the bench's profiles.
      get log() {
        child ??= log.child({ type: event.type, room });
        return child;
      },
      reply,
      emit: (type, options) => this.emit(type, options),
      state,
      fail(message: string, details?: unknown): never {
        throw new SwarmError(ErrorCode.Rejected, message, details);
      },
    };
  }
}

/** The answer to keep with an idempotent append, as JSON, unless there is none or it is too big to keep. */
function keptAnswer(held: { answer: unknown } | undefined): string | undefined {
  if (held === undefined || held.answer === undefined) return undefined;
  const json = JSON.stringify(held.answer);
  return Buffer.byteLength(json) <= MAX_KEPT_ANSWER_BYTES ? json : undefined;
}

/** Marks an answer already sent through ctx.reply. */
const NO_ACK = Symbol('no-ack');

function requireRoom(room: string | undefined): string {
  if (room === undefined || room === '') {
    throw new SwarmError(ErrorCode.BadFrame, 'this event type needs a "room"');
  }
  return room;
}

export type { RoomEvent };
