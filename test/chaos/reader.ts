import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { Random } from './random';

export type ReaderKind = 'stay' | 'rejoin' | 'slow';

/** One room event as a reader's socket received it. */
export interface Received {
  readonly offset: number;
  readonly text: string;
  /** When it arrived (ms since the epoch), to match a problem with the fault log. */
  readonly at: number;
}

interface Frame {
  type?: string;
  id?: string;
  room?: string;
  offset?: number;
  code?: string;
  data?: { text?: string; offset?: number; epoch?: string; recovered?: boolean };
}

/**
 * A JSON reader on a raw `ws` socket, so the checker sees every frame exactly as the node
 * sent it (the client library would drop a repeat before the app saw it). It joins one
 * room and, after every lost connection, joins again on the next node with `since` set
 * to the last offset it received. `stay` readers only leave when their node goes; `rejoin`
 * readers also leave on purpose for a while; the `slow` one stops reading its socket for
 * seconds at a time, so that the node's send buffer fills.
 */
export class Reader {
  readonly received: Received[] = [];
  /** The offset of the first join's answer: events after it are this reader's to receive. */
  baseline: number | undefined;
  /** Ranges (from, to] the node said it could not replay (`recovered: false` or a reset). */
  readonly unrecovered: Array<readonly [number, number]> = [];
  /** Why each of `unrecovered` happened, for the run's log. */
  readonly refusals: string[] = [];
  /** Frames that arrived on a socket after this reader left it (not counted as received). */
  afterLeaving = 0;
  /** How many times it joined again with `since`. */
  resumes = 0;
  private last: number | undefined;
  private epoch: string | undefined;
  private socket: WebSocket | undefined;
  private index: number;
  private running = true;
  private away = false;
  private timer: NodeJS.Timeout | undefined;
  private joinCount = 0;
  private sentSince: number | undefined;
  private sentEpoch: string | undefined;

  constructor(
    readonly name: string,
    readonly kind: ReaderKind,
    readonly room: string,
    private readonly urls: readonly string[],
    first: number,
    private readonly random: Random,
  ) {
    this.index = first;
    this.open();
    if (kind !== 'stay') this.schedule();
  }

  get lastOffset(): number | undefined {
    return this.last;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && !this.away;
  }

  close(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.socket?.terminate();
  }

  /** Stops the on-purpose absences (the end of the run), coming back if away. */
  settle(): void {
    clearTimeout(this.timer);
    if (this.kind === 'slow') this.rawSocket()?.resume();
    if (this.away) {
      this.away = false;
      this.open();
    }
  }

  private open(): void {
    if (!this.running) return;
    const socket = new WebSocket(`${this.urls[this.index % this.urls.length]}`);
    this.socket = socket;
    socket.on('message', (raw) => {
      // A socket this reader has left (closing, or replaced) is not its connection any more:
      // what still arrives on it, the node sent before it read the close.
      if (this.socket !== socket || this.away) {
        this.afterLeaving++;
        return;
      }
      this.onFrame(JSON.parse(raw.toString()) as Frame);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket || !this.running || this.away) return;
      this.index++;
      setTimeout(() => this.open(), this.random.int(50, 300));
    });
  }

  private join(): void {
    const since = this.last;
    this.sentSince = since;
    this.sentEpoch = this.epoch;
    const id = `j${++this.joinCount}`;
    const data = since === undefined ? { room: this.room } : { room: this.room, since, epoch: this.epoch };
    this.socket?.send(JSON.stringify({ type: 'room.join', id, data }));
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'welcome':
        this.join();
        return;
      case 'ack':
        if (frame.id?.startsWith('j')) this.joined(frame.data ?? {});
        return;
      case 'error':
        // A join the node could not take now (`unavailable`): ask again shortly.
        if (frame.id?.startsWith('j')) setTimeout(() => this.join(), 200);
        return;
      case 'room.reset':
        this.refusals.push(`room.reset at ${this.last} to ${JSON.stringify(frame.data)}`);
        this.unrecovered.push([this.last ?? 0, frame.data?.offset ?? 0]);
        this.last = frame.data?.offset;
        this.epoch = frame.data?.epoch;
        return;
      case 'chat.message':
        if (frame.room !== this.room || frame.offset === undefined) return;
        this.received.push({ offset: frame.offset, text: frame.data?.text ?? '', at: Date.now() });
        this.last = Math.max(this.last ?? 0, frame.offset);
        return;
    }
  }

  private joined(answer: NonNullable<Frame['data']>): void {
    const offset = answer.offset ?? 0;
    this.epoch = answer.epoch;
    if (this.baseline === undefined) {
      this.baseline = offset;
      this.last = Math.max(this.last ?? 0, offset);
      return;
    }
    this.resumes++;
    if (answer.recovered === false) {
      const sent = `since ${this.sentSince} epoch ${this.sentEpoch}`;
      this.refusals.push(`${sent} on ${this.urls[this.index % this.urls.length]}: ${JSON.stringify(answer)}`);
      this.unrecovered.push([this.last ?? 0, offset]);
      this.last = Math.max(this.last ?? 0, offset);
    }
  }

  /** The next on-purpose absence (`rejoin`) or stop in reading (`slow`). */
  private schedule(): void {
    this.timer = setTimeout(
      () => {
        if (!this.running) return;
        const forMs = this.random.int(1000, 4000);
        if (this.kind === 'rejoin') {
          this.away = true;
          this.socket?.close();
          this.timer = setTimeout(() => {
            this.away = false;
            this.open();
            this.schedule();
          }, forMs);
        } else {
          const raw = this.rawSocket();
          raw?.pause();
          this.timer = setTimeout(() => {
            raw?.resume();
            this.schedule();
          }, forMs);
        }
      },
      this.random.int(2000, 8000),
    );
  }

  /** The TCP socket under the WebSocket: pausing it is how a consumer falls behind. */
  private rawSocket(): Socket | undefined {
    return (this.socket as unknown as { _socket?: Socket } | undefined)?._socket;
  }
}
