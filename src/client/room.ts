import { ErrorCode } from '../core/errors';
import type {
  EventFrame,
  JoinAnswer,
  Member,
  RoomResetData,
  StateChange,
  WireSender,
} from '../core/protocol/wire';
import { ClientErrorCode, SwarmClientError } from './client-error';
import { Listeners } from './listeners';
import type {
  EventList,
  RequestAnswer,
  RequestData,
  RequestType,
  RoomEventData,
  RoomEventType,
} from './typed-events';

/**
 * `joining`: the first join is on its way. `joined`: in the room, events flow.
 * `rejoining`: the connection was lost or the room reset; events resume after the rejoin.
 * `left`: `leave()` was called. `failed`: the server refused the join (`error` says why).
 * `closed`: the client closed.
 */
export type RoomStatus = 'joining' | 'joined' | 'rejoining' | 'left' | 'failed' | 'closed';

export interface JoinOptions {
  /**
   * Start from this offset: the first join replays the room's events after it (0: the
   * whole history the server keeps). Without it, events start after the join.
   */
  readonly since?: number;
  /** The epoch `since` belongs to, from an earlier session's `room.epoch`. */
  readonly epoch?: string;
}

/** What a room event handler gets besides the data. */
export interface EventMeta {
  readonly type: string;
  readonly room: string;
  readonly from: WireSender;
  readonly offset: number | undefined;
  /** From before this join's answer (history replayed after `since`): members and state already include it. */
  readonly replayed: boolean;
}

/**
 * The room's history could not be followed: a rejoin found the missed events gone
 * (`recovered: false`) or the server reset the room's history. Events in between are
 * lost to this client: reload whatever the app derives from them from `members` and
 * `state` (the room as of `offset`); events after `offset` follow.
 */
export interface RoomReset {
  readonly reason: 'unrecovered' | 'reset';
  readonly members: readonly Member[];
  readonly state: Readonly<Record<string, unknown>>;
  readonly offset: number;
  readonly epoch: string;
}

export interface SendOptions {
  /** Reject with `timeout` when no answer came this long after sending; default: the client's. */
  readonly timeoutMs?: number;
  /** While disconnected: wait in the queue and go after the rejoin, or reject with `offline` at once. */
  readonly offline?: 'queue' | 'reject';
}

/** What a room needs of its client. */
export interface RoomChannel {
  /** Sends `room.join` on the current connection; rejects with `outcome_unknown` when it drops first. */
  join(data: { room: string; since?: number; epoch?: string }): Promise<JoinAnswer>;
  /** Sends now, or queues until `room` (or, without one, the connection) is ready. */
  send(
    frame: { type: string; room?: string; data: unknown },
    room: Room<EventList> | undefined,
    options: SendOptions,
  ): Promise<unknown>;
  /** True while the connection is open (welcome received). */
  isConnected(): boolean;
  /** Waits before retrying a join the server could not take (`unavailable`). */
  retryDelay(): number;
  forget(room: Room<EventList>): void;
  /** The room (re)joined: its queued emits can go. */
  joinedRoom(room: Room<EventList>): void;
  readonly onError: (err: unknown) => void;
}

/** Server error codes after which a join is tried again; any other refusal is final. */
const RETRIED_JOIN_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Unavailable,
  ErrorCode.Internal,
  ErrorCode.RateLimited,
]);

/** Event types of the Yjs module: their offsets count the room's `yjs` stream, not the one `since` refers to. */
const YJS_EVENT_PREFIX = 'yjs.';

type Handler = (data: unknown, meta: EventMeta) => void;

/**
 * A joined room: its members, its key/value state and the offset of the last event the
 * app received. Across reconnects it rejoins with that offset and epoch and hands the
 * app each event once, in offset order.
 */
export class Room<L extends EventList = EventList> {
  private statusValue: RoomStatus = 'joining';
  private errorValue: SwarmClientError | undefined;
  private readonly memberMap = new Map<string, Member>();
  private stateValue: Record<string, unknown> = {};
  /** The last offset handed to the app; undefined before the first join answer. */
  private last: number | undefined;
  private epochValue: string | undefined;
  /** Events up to this offset were in the room when the last join answered. */
  private answeredAt = 0;
  /** Events that came before this connection's join answer, in arrival order. */
  private early: EventFrame[] = [];
  /** After a reset, the next join answer is reported as one. */
  private pendingReset: RoomReset['reason'] | undefined;
  private firstJoin = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly changes: Listeners<[Room<L>]>;
  private readonly resets: Listeners<[RoomReset]>;
  /** The first join's answer; rejects when the server refuses the room. */
  readonly ready: Promise<JoinAnswer>;
  private settleReady!: { resolve(answer: JoinAnswer): void; reject(err: Error): void };

  constructor(
    readonly name: string,
    private readonly channel: RoomChannel,
    options: JoinOptions = {},
  ) {
    this.last = options.since;
    this.epochValue = options.epoch;
    this.changes = new Listeners(channel.onError);
    this.resets = new Listeners(channel.onError);
    this.ready = new Promise<JoinAnswer>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    // An app that never awaits `ready` must not get an unhandled rejection from it.
    this.ready.catch(() => {});
  }

  get status(): RoomStatus {
    return this.statusValue;
  }

  /** Why the room failed or closed. */
  get error(): SwarmClientError | undefined {
    return this.errorValue;
  }

  get members(): readonly Member[] {
    return [...this.memberMap.values()];
  }

  get state(): Readonly<Record<string, unknown>> {
    return this.stateValue;
  }

  /** The offset of the last room event handed to the app (or of the join answer). */
  get offset(): number | undefined {
    return this.last;
  }

  get epoch(): string | undefined {
    return this.epochValue;
  }

  /** Calls `handler` for every event of `type` in this room, once each, in offset order. */
  on<K extends RoomEventType<L>>(
    type: K,
    handler: (data: RoomEventData<L, K>, meta: EventMeta) => void,
  ): () => void {
    const set = this.handlers.get(type) ?? new Set<Handler>();
    this.handlers.set(type, set);
    const erased = handler as Handler;
    set.add(erased);
    return () => set.delete(erased);
  }

  /** Called on every change of status, members or state. */
  onChange(listener: (room: Room<L>) => void): () => void {
    return this.changes.add(listener);
  }

  /** Called when the history could not be followed: reload from what it carries. */
  onReset(listener: (reset: RoomReset) => void): () => void {
    return this.resets.add(listener);
  }

  /** Sends an event to this room; resolves with the ack's data (`{offset}` for room events). */
  emit<K extends RequestType<L>>(
    type: K,
    data: RequestData<L, K>,
    options: SendOptions = {},
  ): Promise<RequestAnswer<L, K>> {
    return this.channel.send({ type, room: this.name, data }, this as Room<EventList>, options) as Promise<
      RequestAnswer<L, K>
    >;
  }

  /** Sets a key of the room's state (null deletes it); members get `room.state.changed`. */
  setState(key: string, value: unknown, options?: SendOptions): Promise<{ readonly offset: number }> {
    return this.emit('room.state.set', { key, value }, options);
  }

  /** Leaves the room; queued emits for it reject with `closed`. */
  async leave(): Promise<void> {
    if (this.statusValue === 'left' || this.statusValue === 'closed') return;
    const wasJoined = this.statusValue === 'joined' && this.channel.isConnected();
    this.end('left', new SwarmClientError(ClientErrorCode.Closed, `left room "${this.name}"`));
    this.channel.forget(this as Room<EventList>);
    // Without a connection there is nothing to tell: the server dropped the membership with it.
    if (wasJoined) {
      await this.channel.send({ type: 'room.leave', data: { room: this.name } }, undefined, {
        offline: 'reject',
      });
    }
  }

  /** Whether emits for this room wait in the queue rather than go now. */
  get accepting(): 'now' | 'later' | 'never' {
    if (this.statusValue === 'joined') return 'now';
    if (this.statusValue === 'joining' || this.statusValue === 'rejoining') return 'later';
    return 'never';
  }

  /** Joins on the current connection, from the last offset seen. The client calls it on every welcome. */
  join(): void {
    if (this.accepting === 'never') return;
    clearTimeout(this.retryTimer);
    const since = this.last;
    const epoch = since === undefined ? undefined : this.epochValue || undefined;
    this.early = [];
    this.channel.join({ room: this.name, since, epoch }).then(
      (answer) => this.joined(answer, since),
      (err: unknown) => this.joinFailed(err),
    );
  }

  /** The connection is gone: events resume after the next welcome's rejoin. */
  disconnected(): void {
    if (this.statusValue === 'joined') this.setStatus('rejoining');
    clearTimeout(this.retryTimer);
    this.early = [];
  }

  /** A room event from the current connection. */
  receive(frame: EventFrame): void {
    if (frame.type.startsWith(YJS_EVENT_PREFIX)) return;
    if (this.statusValue !== 'joined') {
      // Before the join answer (a reset's rejoin on the same connection): sorted out by the answer.
      if (this.accepting === 'later') this.early.push(frame);
      return;
    }
    this.deliver(frame);
  }

  /** `room.reset` for this room: its history was reset, join afresh and tell the app. */
  reset(data: RoomResetData): void {
    if (data.stream !== 'events' || this.accepting === 'never') return;
    this.last = undefined;
    this.epochValue = undefined;
    this.pendingReset = 'reset';
    this.setStatus('rejoining');
    if (this.channel.isConnected()) this.join();
  }

  /** The client closed for good. */
  close(error: SwarmClientError): void {
    if (this.accepting !== 'never') this.end('closed', error);
  }

  private joined(answer: JoinAnswer, since: number | undefined): void {
    if (this.statusValue === 'left') {
      // Left while the join was on its way: the server has the membership now; give it back.
      this.channel
        .send({ type: 'room.leave', data: { room: this.name } }, undefined, { offline: 'reject' })
        .catch(() => {});
      return;
    }
    if (this.accepting === 'never') return;
    this.memberMap.clear();
    for (const member of answer.members) this.memberMap.set(member.conn, member);
    this.stateValue = { ...answer.state };
    this.epochValue = answer.epoch;
    this.answeredAt = answer.offset;
    const recovered = since !== undefined && answer.recovered === true;
    if (!recovered) {
      this.last = answer.offset;
      if (since !== undefined) this.pendingReset ??= 'unrecovered';
    }
    const wasFirst = this.firstJoin;
    this.firstJoin = false;
    this.setStatus('joined');
    this.channel.joinedRoom(this as Room<EventList>);
    const reset = this.pendingReset;
    this.pendingReset = undefined;
    if (reset) {
      this.resets.emit({
        reason: reset,
        members: answer.members,
        state: answer.state,
        offset: answer.offset,
        epoch: answer.epoch,
      });
    }
    if (wasFirst) this.settleReady.resolve(answer);
    const early = this.early;
    this.early = [];
    for (const frame of early) this.deliver(frame);
  }

  private joinFailed(err: unknown): void {
    if (this.accepting === 'never') return;
    const error =
      err instanceof SwarmClientError ? err : new SwarmClientError(ErrorCode.Internal, String(err));
    // The connection dropped first: the next welcome rejoins.
    if (error.code === ClientErrorCode.OutcomeUnknown || error.code === ClientErrorCode.Timeout) return;
    if (error.code === ClientErrorCode.Closed) {
      this.close(error);
      return;
    }
    if (RETRIED_JOIN_CODES.has(error.code)) {
      this.retryTimer = setTimeout(() => {
        if (this.channel.isConnected()) this.join();
      }, this.channel.retryDelay());
      return;
    }
    this.end('failed', error);
    this.channel.forget(this as Room<EventList>);
  }

  private deliver(frame: EventFrame): void {
    const offset = frame.offset;
    if (offset !== undefined) {
      // At or before the last one handed over: a replay overlap, or a reconnect's repeat.
      if (this.last !== undefined && offset <= this.last) return;
      this.last = offset;
    }
    const replayed = offset !== undefined && offset <= this.answeredAt;
    if (!replayed && this.apply(frame)) this.changes.emit(this);
    const handlers = this.handlers.get(frame.type);
    if (!handlers) return;
    const meta: EventMeta = { type: frame.type, room: this.name, from: frame.from, offset, replayed };
    for (const handler of [...handlers]) {
      try {
        handler(frame.data, meta);
      } catch (err) {
        this.channel.onError(err);
      }
    }
  }

  /** Keeps members and state current; true when they changed. */
  private apply(frame: EventFrame): boolean {
    switch (frame.type) {
      case 'room.member.joined': {
        const member = frame.data as Member;
        this.memberMap.set(member.conn, member);
        return true;
      }
      case 'room.member.left':
        return this.memberMap.delete((frame.data as Member).conn);
      case 'room.state.changed': {
        const { key, value } = frame.data as StateChange;
        const next = { ...this.stateValue };
        if (value === null) delete next[key];
        else next[key] = value;
        this.stateValue = next;
        return true;
      }
      default:
        return false;
    }
  }

  private end(status: 'left' | 'failed' | 'closed', error: SwarmClientError): void {
    clearTimeout(this.retryTimer);
    this.errorValue = error;
    this.early = [];
    if (this.firstJoin) this.settleReady.reject(error);
    this.setStatus(status);
  }

  private setStatus(status: RoomStatus): void {
    if (this.statusValue === status) return;
    this.statusValue = status;
    this.changes.emit(this);
  }
}
