import type { JoinAnswer, ServerFrame, Welcome } from './protocol';
import type { Settings } from './settings';

/** `refused`: the server will not let this page into the room; retrying would not change that. */
export type SocketStatus = 'connecting' | 'connected' | 'disconnected' | 'refused';

export interface EventSocketListener {
  status(status: SocketStatus, address: string, reason?: string): void;
  /** A new connection is in the room: `answer` is the room as of `answer.offset`. */
  joined(welcome: Welcome, answer: JoinAnswer, address: string): void;
  /** A room event; `replayed` when it is history from before the join (offset <= the ack's). */
  event(frame: ServerFrame, replayed: boolean): void;
}

/** Reconnect delays grow from this, doubling per failed try, up to the cap, with jitter. */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5000;
/** A node that stops answering without closing the socket (a cut cable) is noticed by this ping. */
const PING_EVERY_MS = 15_000;
const PING_TIMEOUT_MS = 10_000;

/** The error code of a refused room.join (docs/codes.md). */
const FORBIDDEN = 'forbidden';

/** Event types of the Yjs module (yjs.update, yjs.awareness); the editor has them over /yjs/ already. */
const YJS_EVENT_PREFIX = 'yjs.';

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
}

/**
 * The page's `/events` socket, kept in one room. It reconnects by itself with backoff,
 * moving on to the next node of the list each time a connection ends, and rejoins with
 * `since` = the last offset it saw, so chat lines sent meanwhile are not lost.
 */
export class EventSocket {
  private socket: WebSocket | undefined;
  private index = 0;
  private attempts = 0;
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private welcome: Welcome | undefined;
  private joined = false;
  /** The last room offset seen, and the epoch it belongs to; -1 before the first join. */
  private lastOffset = -1;
  private epoch = '';
  /** Events up to this offset that follow the join ack are history, not news. */
  private joinedAt = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(
    private readonly settings: Settings,
    private readonly listener: EventSocketListener,
    startAt = 0,
  ) {
    this.index = startAt % settings.nodes.length;
  }

  get address(): string {
    return this.settings.nodes[this.index];
  }

  get isJoined(): boolean {
    return this.joined;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'page closed');
  }

  /** Sends an event to the room and resolves with the ack's data; rejects on `error` or disconnect. */
  send(type: string, data: unknown): Promise<unknown> {
    return this.request({ type, room: this.settings.room, data });
  }

  private request(frame: { type: string; room?: string; data: unknown }): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error('not connected'));
    }
    const id = `p${++this.nextId}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  private connect(): void {
    const address = this.address;
    const query = this.settings.token ? `?token=${encodeURIComponent(this.settings.token)}` : '';
    this.listener.status('connecting', address);
    const socket = new WebSocket(`${this.settings.scheme}//${address}/events${query}`);
    this.socket = socket;
    this.welcome = undefined;
    this.joined = false;
    socket.onmessage = (message) => {
      if (typeof message.data !== 'string') return;
      this.onFrame(JSON.parse(message.data) as ServerFrame, address);
    };
    socket.onclose = () => this.onClose(socket);
  }

  private onFrame(frame: ServerFrame, address: string): void {
    switch (frame.type) {
      case 'welcome':
        this.welcome = frame.data as Welcome;
        void this.join(address);
        return;
      case 'ack':
      case 'error': {
        const pending = this.pending.get(String(frame.id));
        if (!pending) return;
        this.pending.delete(String(frame.id));
        if (frame.type === 'ack') pending.resolve(frame.data);
        else pending.reject(new Error(`${frame.code}: ${frame.message}`));
        return;
      }
      case 'room.reset':
        // The room's history is gone (Redis lost it): join afresh for members and state.
        if ((frame.data as { stream?: string } | undefined)?.stream !== 'yjs') {
          this.lastOffset = -1;
          void this.join(address);
        }
        return;
      default:
        this.onEvent(frame);
    }
  }

  private onEvent(frame: ServerFrame): void {
    if (frame.room !== this.settings.room) return;
    // The Yjs module's events reach every member of the room, this socket included; their
    // offsets count the room's `yjs` stream, not its `events` stream that `since` refers to.
    if (frame.type.startsWith(YJS_EVENT_PREFIX)) return;
    if (frame.offset !== undefined) {
      // A frame at or before the last offset was already handled (a replay overlap).
      if (frame.offset <= this.lastOffset) return;
      this.lastOffset = frame.offset;
    }
    this.listener.event(frame, frame.offset !== undefined && frame.offset <= this.joinedAt);
  }

  /**
   * Joins the room. The first join asks for the history from offset 0 so that a new page
   * shows the recent chat; later ones ask from the last offset seen.
   */
  private async join(address: string): Promise<void> {
    const since = Math.max(this.lastOffset, 0);
    const data = { room: this.settings.room, since, epoch: this.epoch || undefined };
    let answer: JoinAnswer;
    try {
      answer = (await this.request({ type: 'room.join', data })) as JoinAnswer;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message.startsWith(`${FORBIDDEN}:`)) {
        // The token does not grant this room: stop instead of retrying every few seconds.
        this.stopped = true;
        this.listener.status('refused', address, message.slice(FORBIDDEN.length + 1).trim());
      }
      this.socket?.close(4000, 'join failed');
      return;
    }
    this.epoch = answer.epoch;
    this.joinedAt = answer.offset;
    // Without a recovery nothing is replayed: the ack's members and state are the room now.
    if (!answer.recovered) this.lastOffset = answer.offset;
    this.joined = true;
    this.attempts = 0;
    this.startPing();
    this.listener.joined(this.welcome!, answer, address);
    this.listener.status('connected', address);
  }

  private startPing(): void {
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.pingTimer = setInterval(() => {
      const timeout = setTimeout(() => socket?.close(4000, 'ping timeout'), PING_TIMEOUT_MS);
      this.request({ type: 'node.info', data: {} }).then(
        () => clearTimeout(timeout),
        () => clearTimeout(timeout),
      );
    }, PING_EVERY_MS);
  }

  private onClose(socket: WebSocket): void {
    if (socket !== this.socket) return;
    clearInterval(this.pingTimer);
    for (const pending of this.pending.values()) pending.reject(new Error('disconnected'));
    this.pending.clear();
    this.joined = false;
    if (this.stopped) return;
    this.listener.status('disconnected', this.address);
    // Any node can serve any client: try the next one rather than waiting for this one.
    this.index = (this.index + 1) % this.settings.nodes.length;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    setTimeout(() => this.connect(), delay);
  }
}
