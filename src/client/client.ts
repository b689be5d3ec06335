import {
  type AckFrame,
  type ClientFrame,
  type ErrorFrame,
  type EventFrame,
  type JoinAnswer,
  type JoinRequest,
  ROOM_RESET,
  type RoomResetData,
  TOKEN_PROTOCOL_PREFIX,
  type Welcome,
} from '../protocol/wire';
import { Backoff, type BackoffOptions } from './backoff';
import { ClientErrorCode, SwarmClientError } from './client-error';
import { closeAction } from './close-policy';
import { Listeners } from './listeners';
import { type JoinOptions, Room, type RoomChannel, type SendOptions } from './room';
import { expiryOf, refreshDelay } from './token';
import type { EventList, RequestAnswer, RequestData, RequestType } from './typed-events';
import {
  type CloseEventLike,
  type MessageEventLike,
  OPEN,
  type WebSocketConstructor,
  type WebSocketLike,
  webSocketConstructor,
} from './websocket';

export interface ConnectOptions {
  /** `ws://host:port/events`; or `urls`, tried in turn. */
  readonly url?: string;
  /** Several nodes (or load balancers): each reconnect goes to the next one. */
  readonly urls?: readonly string[];
  /** A JWT, sent as the `swarmcast.token.<jwt>` subprotocol (not in the URL, so not in access logs). */
  readonly token?: string;
  /**
   * Gives a fresh token: called before the current one expires (then sent in band with
   * `auth.refresh`, the connection stays open), and after a 4401 close.
   */
  readonly getToken?: () => string | Promise<string>;
  /** Node 20 has no global WebSocket: pass `ws` (`require('ws')`). Browsers need nothing. */
  readonly WebSocket?: WebSocketConstructor;
  readonly backoff?: BackoffOptions;
  /** Default time an emit or request waits for its answer once sent. */
  readonly timeoutMs?: number;
  /** Default for emits made while disconnected: queue them (the default) or reject them. */
  readonly offline?: 'queue' | 'reject';
  /** How many emits may wait for a connection; past it they reject with `offline`. */
  readonly queueLimit?: number;
  /** Refresh the token this long before it expires (at most half its remaining life). */
  readonly refreshBeforeMs?: number;
  /**
   * Sends `node.info` this often and gives the socket up when no answer comes within the
   * same time: a node behind a cut cable never closes the socket by itself. 0: off.
   */
  readonly pingIntervalMs?: number;
  /** Errors of the app's own listeners, and server errors that answer nothing; default: console.error. */
  readonly onError?: (err: unknown) => void;
  /**
   * A room emit whose fate is unknown (the connection was lost before its answer, or the
   * node answered `unavailable`) is sent again with the same `id`, for this long after it
   * was first sent; the server stores it once and answers with the first ack (docs/client.md,
   * "Exactly once"). Keep it under the server's IDEMPOTENCY_WINDOW_MS. 0: never resend;
   * such emits reject with `outcome_unknown` (or the server's `unavailable`).
   */
  readonly resendForMs?: number;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * `connecting`: the first connection. `open`: welcomed by a node. `reconnecting`: the
 * connection ended; the next try goes to `url` after `delayMs`. `closed`: for good, by
 * the app (`byApp`) or because retrying cannot help (`code` and `reason` say why).
 */
export type ClientState =
  | { readonly status: 'connecting'; readonly url: string }
  | { readonly status: 'open'; readonly url: string; readonly welcome: Welcome }
  | {
      readonly status: 'reconnecting';
      readonly url: string;
      readonly delayMs: number;
      readonly lastClose: CloseInfo;
    }
  | { readonly status: 'closed'; readonly code: number; readonly reason: string; readonly byApp: boolean };

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_QUEUE_LIMIT = 100;
const DEFAULT_REFRESH_BEFORE_MS = 30_000;
const DEFAULT_PING_MS = 15_000;
/** A minute: room for a dozen reconnects at the backoff's 5 s cap, well inside the server's 5-minute window. */
const DEFAULT_RESEND_FOR_MS = 60_000;
/** The server's error code after which an emit may or may not have been stored. */
const UNAVAILABLE = 'unavailable';
/** No refresh sooner than this after the last: a getToken that keeps giving the same token must not spin. */
const MIN_REFRESH_MS = 250;
/** The subprotocol offered next to the token entry; the server answers with it. */
const SUBPROTOCOL = 'swarmcast';
/** The close code a client may send (RFC 6455 reserves 1006 for "no close frame"). */
const CLIENT_CLOSE = 1000;
/** What the client reports when it gives up a socket itself (no close frame came). */
const ABNORMAL = 1006;

/** A frame the app sent, from the call until its answer: queued, in flight, or waiting to be resent. */
interface Outgoing {
  readonly frame: ClientFrame;
  readonly room: Room<EventList> | undefined;
  readonly timeoutMs: number;
  resolve(data: unknown): void;
  reject(err: SwarmClientError): void;
  /** Set when first sent; a resend goes with the same id, so the server recognises it. */
  id?: string;
  sentAt?: number;
  /** Delays between resends after `unavailable`. */
  backoff?: Backoff;
}

interface Pending {
  readonly item: Outgoing;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/** A client of `WS /events`; see `connect`. */
export class SwarmClient<L extends EventList = EventList> {
  private readonly urls: readonly string[];
  private readonly WS: WebSocketConstructor;
  private readonly backoff: Backoff;
  private readonly states: Listeners<[ClientState]>;
  private readonly rooms = new Map<string, Room<EventList>>();
  private readonly pending = new Map<string, Pending>();
  private queue: Outgoing[] = [];
  /** Emits answered `unavailable`, waiting for their resend. */
  private readonly resends = new Map<ReturnType<typeof setTimeout>, Outgoing>();
  /** This client's instance, sent as `?client=` on every connection: its ids are unique within it. */
  private readonly instance = randomInstance();
  private stateValue: ClientState;
  private socket: WebSocketLike | undefined;
  private welcome: Welcome | undefined;
  private token: string | undefined;
  private index = 0;
  private nextId = 0;
  private dialTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private readonly channel: RoomChannel;
  readonly onError: (err: unknown) => void;

  constructor(private readonly options: ConnectOptions) {
    const urls = options.urls ?? (options.url === undefined ? [] : [options.url]);
    if (urls.length === 0) throw new TypeError('connect: give `url` or a non-empty `urls`');
    this.urls = urls;
    this.WS = webSocketConstructor(options.WebSocket);
    this.backoff = new Backoff(options.backoff);
    this.token = options.token;
    this.onError = options.onError ?? ((err) => console.error('swarmcast client:', err));
    this.states = new Listeners(this.onError);
    this.stateValue = { status: 'connecting', url: urls[0]! };
    this.channel = this.makeChannel();
    void this.dial();
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** Called on every change of `state`. */
  onState(listener: (state: ClientState) => void): () => void {
    return this.states.add(listener);
  }

  /**
   * The room, joined now or as soon as the client is connected, and rejoined after every
   * reconnect. Register its handlers right away (before awaiting `room.ready`) to see
   * every event. Joining a room twice gives the same room.
   */
  join(name: string, options: JoinOptions = {}): Room<L> {
    const existing = this.rooms.get(name);
    if (existing) return existing as unknown as Room<L>;
    const room = new Room<L>(name, this.channel, options);
    if (this.stateValue.status === 'closed') {
      room.close(new SwarmClientError(ClientErrorCode.Closed, 'the client is closed'));
      return room;
    }
    this.rooms.set(name, room as unknown as Room<EventList>);
    if (this.welcome) room.join();
    return room;
  }

  /** A local-scope event (`node.info`, the app's own): resolves with the handler's answer. */
  request<K extends RequestType<L>>(
    type: K,
    data: RequestData<L, K>,
    options: SendOptions = {},
  ): Promise<RequestAnswer<L, K>> {
    return this.send({ type, data }, undefined, options) as Promise<RequestAnswer<L, K>>;
  }

  /** Closes for good: queued emits reject with `closed`, those in flight with `outcome_unknown`. */
  close(): void {
    if (this.stateValue.status === 'closed') return;
    const socket = this.socket;
    this.shutdown(CLIENT_CLOSE, 'closed by the app', true);
    socket?.close(CLIENT_CLOSE, 'client closed');
  }

  private makeChannel(): RoomChannel {
    return {
      join: (data) => this.sendJoin(data),
      send: (frame, room, options) => this.send(frame, room, options),
      isConnected: () => this.connected,
      retryDelay: () => this.backoff.next(),
      forget: (room) => {
        if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
        this.dropQueued((item) => item.room === room, `left room "${room.name}"`);
      },
      joinedRoom: (room) => this.flush((item) => item.room === room),
      onError: (err) => this.onError(err),
    };
  }

  private get currentUrl(): string {
    return this.urls[this.index % this.urls.length]!;
  }

  private get connected(): boolean {
    return this.welcome !== undefined && this.socket?.readyState === OPEN;
  }

  private send(
    frame: ClientFrame,
    room: Room<EventList> | undefined,
    options: SendOptions,
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (this.stateValue.status === 'closed') {
      return Promise.reject(new SwarmClientError(ClientErrorCode.Closed, this.stateValue.reason));
    }
    const when = room ? room.accepting : this.connected ? 'now' : 'later';
    if (when === 'never') {
      return Promise.reject(
        room?.error ?? new SwarmClientError(ClientErrorCode.Closed, `room "${room?.name}" is not joined`),
      );
    }
    if (when === 'now' && this.connected) return this.transmit(frame, timeoutMs, room);
    if ((options.offline ?? this.options.offline ?? 'queue') === 'reject') {
      return Promise.reject(new SwarmClientError(ClientErrorCode.Offline, 'not connected; not sent'));
    }
    if (this.queue.length >= (this.options.queueLimit ?? DEFAULT_QUEUE_LIMIT)) {
      return Promise.reject(
        new SwarmClientError(ClientErrorCode.Offline, 'the offline queue is full; not sent'),
      );
    }
    return new Promise((resolve, reject) => this.queue.push({ frame, room, timeoutMs, resolve, reject }));
  }

  /** Sends now; the promise settles with the answer, a timeout, or the connection's loss. */
  private transmit(frame: ClientFrame, timeoutMs: number, room?: Room<EventList>): Promise<unknown> {
    return new Promise((resolve, reject) => this.sendItem({ frame, room, timeoutMs, resolve, reject }));
  }

  /** Sends (or resends, with its id) on the current connection. */
  private sendItem(item: Outgoing): void {
    const socket = this.socket!;
    item.id ??= `c${++this.nextId}`;
    item.sentAt ??= Date.now();
    const id = item.id;
    const timer =
      item.timeoutMs > 0
        ? setTimeout(() => {
            this.pending.delete(id);
            item.reject(
              new SwarmClientError(
                ClientErrorCode.Timeout,
                `no answer to ${item.frame.type} in ${item.timeoutMs} ms`,
              ),
            );
          }, item.timeoutMs)
        : undefined;
    this.pending.set(id, { item, timer });
    socket.send(JSON.stringify({ ...item.frame, id }));
  }

  /** Whether an emit whose fate is unknown goes again: room emits, within `resendForMs` of the first send. */
  private mayResend(item: Outgoing): boolean {
    const within = this.options.resendForMs ?? DEFAULT_RESEND_FOR_MS;
    return (
      item.room !== undefined &&
      item.room.accepting !== 'never' &&
      this.stateValue.status !== 'closed' &&
      Date.now() - (item.sentAt ?? 0) < within
    );
  }

  /** Resends now if the room is joined, else after its rejoin (ahead of what was queued since). */
  private resend(item: Outgoing): void {
    if (!this.mayResend(item)) {
      item.reject(
        new SwarmClientError(
          ClientErrorCode.OutcomeUnknown,
          `${item.frame.type} was not answered; not resent`,
        ),
      );
      return;
    }
    if (item.room?.accepting === 'now' && this.connected) this.sendItem(item);
    else this.queue.unshift(item);
  }

  private sendJoin(data: JoinRequest): Promise<JoinAnswer> {
    if (!this.connected) {
      return Promise.reject(new SwarmClientError(ClientErrorCode.OutcomeUnknown, 'not connected'));
    }
    const socket = this.socket;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const joined = this.transmit({ type: 'room.join', data }, timeoutMs) as Promise<JoinAnswer>;
    joined.catch((err: unknown) => {
      // A node that takes a join but never answers is as good as gone: go elsewhere.
      if (err instanceof SwarmClientError && err.code === ClientErrorCode.Timeout) {
        this.abandon(socket, 'no answer to room.join');
      }
    });
    return joined;
  }

  /** Sends the queued frames that `match` says may go now, in the order they were queued. */
  private flush(match: (item: Outgoing) => boolean): void {
    const ready = this.queue.filter(match);
    this.queue = this.queue.filter((item) => !match(item));
    for (const item of ready) this.sendItem(item);
  }

  private dropQueued(match: (item: Outgoing) => boolean, reason: string): void {
    const dropped = this.queue.filter(match);
    this.queue = this.queue.filter((item) => !match(item));
    for (const item of dropped) {
      // One that went once and waited for its resend may have been stored.
      item.reject(
        item.id === undefined
          ? new SwarmClientError(ClientErrorCode.Closed, `${reason}; not sent`)
          : new SwarmClientError(ClientErrorCode.OutcomeUnknown, `${reason} before the answer`),
      );
    }
  }

  private async dial(): Promise<void> {
    this.dialTimer = undefined;
    const url = this.currentUrl;
    let token: string | undefined;
    try {
      token = await this.tokenForDial();
    } catch (err) {
      this.onError(err);
      return this.retry(this.backoff.next(), { code: ABNORMAL, reason: 'getToken failed' });
    }
    if (this.stateValue.status === 'closed') return;
    let socket: WebSocketLike;
    try {
      socket = new this.WS(
        withInstance(url, this.instance),
        token === undefined ? undefined : [SUBPROTOCOL, TOKEN_PROTOCOL_PREFIX + token],
      );
    } catch (err) {
      // A malformed URL: no retry can fix it.
      return this.shutdown(
        ABNORMAL,
        `cannot open ${url}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.socket = socket;
    socket.onmessage = (event: MessageEventLike) => {
      if (socket === this.socket) this.onMessage(event.data);
    };
    socket.onclose = (event: CloseEventLike) => {
      if (socket === this.socket) void this.lost(event.code, event.reason);
    };
    // A failed socket also closes; the close says what to do.
    socket.onerror = () => {};
  }

  /** The token to open a socket with: a fresh one from `getToken` when the current one is about to expire. */
  private async tokenForDial(): Promise<string | undefined> {
    const { getToken } = this.options;
    if (!getToken) return this.token;
    const expiresAt = this.token === undefined ? 0 : expiryOf(this.token);
    const margin = this.options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    if (expiresAt !== undefined && refreshDelay(expiresAt, Date.now(), margin) <= 0) {
      this.token = await getToken();
    }
    return this.token;
  }

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let frame: { type?: unknown; id?: unknown; room?: unknown };
    try {
      frame = JSON.parse(raw) as typeof frame;
    } catch (err) {
      this.onError(err);
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.welcomed((frame as { data: Welcome }).data);
        break;
      case 'ack':
      case 'error':
        this.answered(frame as AckFrame | ErrorFrame);
        break;
      case ROOM_RESET: {
        const data = (frame as { data: RoomResetData }).data;
        this.rooms.get(data.room)?.reset(data);
        break;
      }
      default:
        if (typeof frame.room === 'string') this.rooms.get(frame.room)?.receive(frame as EventFrame);
    }
  }

  private welcomed(welcome: Welcome): void {
    this.welcome = welcome;
    this.backoff.reset();
    this.setState({ status: 'open', url: this.currentUrl, welcome });
    for (const room of this.rooms.values()) room.join();
    this.flush((item) => item.room === undefined);
    this.scheduleRefresh(this.token === undefined ? undefined : expiryOf(this.token));
    this.startPing();
  }

  private answered(frame: AckFrame | ErrorFrame): void {
    if (frame.id === undefined) {
      if (frame.type === 'error') this.onError(new SwarmClientError(frame.code, frame.message));
      return;
    }
    const pending = this.pending.get(String(frame.id));
    if (!pending) return;
    this.pending.delete(String(frame.id));
    clearTimeout(pending.timer);
    const { item } = pending;
    if (frame.type === 'ack') {
      item.resolve(frame.data);
      return;
    }
    if (frame.code === UNAVAILABLE && this.mayResend(item)) {
      // The node could not say whether Redis took it: the same id again, once Redis may be back.
      item.backoff ??= new Backoff(this.options.backoff);
      const delay = item.backoff.next();
      const timer = setTimeout(() => {
        this.resends.delete(timer);
        this.resend(item);
      }, delay);
      this.resends.set(timer, item);
      return;
    }
    item.reject(new SwarmClientError(frame.code, frame.message));
  }

  /** The socket ended: settle what was in flight, then reconnect or stop, as the close code says. */
  private async lost(code: number, reason: string): Promise<void> {
    this.socket = undefined;
    this.welcome = undefined;
    this.stopTimers();
    const resent: Outgoing[] = [];
    for (const [id, { item, timer }] of this.pending) {
      clearTimeout(timer);
      this.pending.delete(id);
      if (this.mayResend(item)) resent.push(item);
      else {
        item.reject(
          new SwarmClientError(ClientErrorCode.OutcomeUnknown, `connection lost (${code}) before the answer`),
        );
      }
    }
    // In the order they were first sent, ahead of what was queued while they were in flight.
    this.queue = [...resent, ...this.queue];
    for (const room of this.rooms.values()) room.disconnected();
    if (this.stateValue.status === 'closed') return;
    const close = { code, reason };
    switch (closeAction(code)) {
      case 'stop':
        return this.shutdown(code, reason || `closed with ${code}`);
      case 'new-token': {
        this.setState({ status: 'reconnecting', url: this.currentUrl, delayMs: 0, lastClose: close });
        const fresh = await this.freshToken();
        if (fresh === undefined) return this.shutdown(code, reason || 'token expired', false);
        this.token = fresh;
        return this.retry(0, close);
      }
      case 'next-now':
        this.index++;
        return this.retry(0, close);
      case 'retry':
        this.index++;
        return this.retry(this.backoff.next(), close);
    }
  }

  /** A token other than the current one from `getToken`, or undefined when there is none. */
  private async freshToken(): Promise<string | undefined> {
    if (!this.options.getToken) return undefined;
    try {
      const token = await this.options.getToken();
      return token && token !== this.token ? token : undefined;
    } catch (err) {
      this.onError(err);
      return undefined;
    }
  }

  private retry(delayMs: number, lastClose: CloseInfo): void {
    if (this.stateValue.status === 'closed') return;
    const url = this.currentUrl;
    this.setState({ status: 'reconnecting', url, delayMs, lastClose });
    clearTimeout(this.dialTimer);
    this.dialTimer = setTimeout(() => void this.dial(), delayMs);
  }

  /** Gives up a socket that stopped answering, without waiting for a close that may never come. */
  private abandon(socket: WebSocketLike | undefined, reason: string): void {
    if (!socket || socket !== this.socket) return;
    socket.onclose = null;
    socket.onmessage = null;
    socket.close(CLIENT_CLOSE, reason);
    void this.lost(ABNORMAL, reason);
  }

  private scheduleRefresh(expiresAt: number | undefined): void {
    clearTimeout(this.refreshTimer);
    if (!this.options.getToken || expiresAt === undefined) return;
    const margin = this.options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    const delay = Math.max(MIN_REFRESH_MS, refreshDelay(expiresAt, Date.now(), margin));
    this.refreshTimer = setTimeout(() => void this.refresh(), delay);
  }

  /** Gets a new token and hands it to the node in band; the connection stays open. */
  private async refresh(): Promise<void> {
    const socket = this.socket;
    let token: string;
    try {
      token = await this.options.getToken!();
    } catch (err) {
      this.onError(err);
      return;
    }
    if (socket !== this.socket || !this.connected) return;
    try {
      const answer = await this.request('auth.refresh', { token }, { offline: 'reject' });
      this.token = token;
      this.scheduleRefresh(answer.expiresAt === null ? undefined : answer.expiresAt * 1000);
    } catch (err) {
      // The old token stays in force; if it runs out the node closes with 4401 and getToken is asked again.
      this.onError(err);
    }
  }

  private startPing(): void {
    const every = this.options.pingIntervalMs ?? DEFAULT_PING_MS;
    if (every <= 0) return;
    const socket = this.socket;
    this.pingTimer = setInterval(() => {
      this.request('node.info', {}, { timeoutMs: every, offline: 'reject' }).catch((err: unknown) => {
        if (err instanceof SwarmClientError && err.code === ClientErrorCode.Timeout) {
          this.abandon(socket, 'no answer to a ping');
        }
      });
    }, every);
  }

  private stopTimers(): void {
    clearTimeout(this.refreshTimer);
    clearInterval(this.pingTimer);
  }

  private shutdown(code: number, reason: string, byApp = false): void {
    if (this.stateValue.status === 'closed') return;
    this.stopTimers();
    clearTimeout(this.dialTimer);
    this.setState({ status: 'closed', code, reason, byApp });
    const error = new SwarmClientError(ClientErrorCode.Closed, reason);
    for (const [id, { item, timer }] of this.pending) {
      clearTimeout(timer);
      item.reject(new SwarmClientError(ClientErrorCode.OutcomeUnknown, `${reason} before the answer`));
      this.pending.delete(id);
    }
    for (const [timer, item] of this.resends) {
      clearTimeout(timer);
      item.reject(new SwarmClientError(ClientErrorCode.OutcomeUnknown, `${reason} before the resend`));
    }
    this.resends.clear();
    this.dropQueued(() => true, reason);
    for (const room of this.rooms.values()) room.close(error);
    this.rooms.clear();
    const socket = this.socket;
    this.socket = undefined;
    this.welcome = undefined;
    if (socket && !byApp) socket.close(CLIENT_CLOSE, reason);
  }

  private setState(state: ClientState): void {
    this.stateValue = state;
    this.states.emit(state);
  }
}

/** 16 random bytes, base64url: a client instance id nobody can guess (`?client=`, 16-64 characters). */
function randomInstance(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The URL with `client=<instance>` added; left as it is when it does not parse (the dial reports that). */
function withInstance(url: string, instance: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('client', instance);
    return parsed.toString();
  } catch {
    return url;
  }
}
