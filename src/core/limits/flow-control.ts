import { TokenBucket } from './token-bucket';

/** What flow control needs of a socket: `ws` 8's WebSocket has it. */
export interface PausableSocket {
  readonly isPaused: boolean;
  pause(): void;
  resume(): void;
}

export interface FlowOptions {
  /** Frames per second a socket may send on average; 0 turns the rate part off. */
  readonly perSecond: number;
  /** Frames a socket may send at once after a quiet spell. */
  readonly burst: number;
}

/**
 * Received frames not yet handled after which reading stops. 256 frames is four times
 * the updates a Yjs connection keeps in flight to Redis, so pipelining never waits on
 * this; 1 MiB keeps a paused writer's share of the heap small next to the send buffers
 * (8 MiB each). One frame may be larger than the bound: it is handled, then reading goes on.
 */
export const MAX_BACKLOG_FRAMES = 256;
export const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * A rate-exhausted socket is paused until this share of a second's budget is back, so a
 * writer over its rate reads in slices of ~50 ms rather than one timer per frame.
 */
const RESUME_SLICE = 1 / 20;

/**
 * Flow control for a protocol that cannot drop a frame (a lost Yjs update forks the
 * document): instead of refusing frames, the socket stops being read (`ws.pause()`: the
 * kernel's receive buffer fills, TCP's window closes, the client's writes wait) while
 * its rate budget is spent or while too many of its frames wait to be handled, and is
 * read again once budget and backlog allow. What is already read when it pauses (at most
 * one read of the socket, ~64 KiB, or one frame up to the frame-size limit) is still
 * handled, so a paused writer holds at most the backlog bound plus that on the heap.
 */
export class FlowControl {
  private readonly bucket: TokenBucket | undefined;
  private backlogFrames = 0;
  private backlogBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly socket: PausableSocket,
    options: FlowOptions,
    /** Called each time reading pauses (for metrics). */
    private readonly onPause: () => void = () => {},
    now: () => number = Date.now,
  ) {
    this.bucket = options.perSecond > 0 ? new TokenBucket(options.perSecond, options.burst, now) : undefined;
  }

  /** Whether reading is paused now. */
  get paused(): boolean {
    return this.socket.isPaused;
  }

  /** Frames received and not yet handled. */
  get backlog(): { readonly frames: number; readonly bytes: number } {
    return { frames: this.backlogFrames, bytes: this.backlogBytes };
  }

  /**
   * A frame of `bytes` arrived and waits to be handled; it counts until `handled` is called
   * with the same size. (Its rate token is taken for every protocol, reporting or not: `frameRead`.)
   */
  received(bytes: number): void {
    this.backlogFrames += 1;
    this.backlogBytes += bytes;
    this.update();
  }

  /** The socket read a frame: it takes a rate token (`SocketLimits` calls this for every frame). */
  frameRead(): void {
    if (!this.bucket) return;
    this.bucket.take();
    this.update();
  }

  handled(bytes: number): void {
    this.backlogFrames -= 1;
    this.backlogBytes -= bytes;
    this.update();
  }

  /**
   * Stops pacing and reads on, so that a closing socket hears its peer's close frame
   * (`SocketLimits` calls it when the socket closes).
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.socket.isPaused) this.socket.resume();
  }

  private update(): void {
    if (this.stopped || this.timer) return;
    // Hysteresis: a paused socket reads again only once its backlog is down to half.
    const backlogFull = this.socket.isPaused
      ? this.backlogFrames > MAX_BACKLOG_FRAMES / 2 || this.backlogBytes > MAX_BACKLOG_BYTES / 2
      : this.backlogFrames >= MAX_BACKLOG_FRAMES || this.backlogBytes >= MAX_BACKLOG_BYTES;
    const wait = this.bucket && this.bucket.tokens < 1 ? this.bucket.msUntil(this.slice()) : 0;
    if (!backlogFull && wait === 0) {
      if (this.socket.isPaused) this.socket.resume();
      return;
    }
    if (!this.socket.isPaused) {
      this.socket.pause();
      this.onPause();
    }
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.update();
      }, wait);
    }
  }

  private slice(): number {
    const bucket = this.bucket!;
    return Math.min(bucket.burst, Math.max(1, bucket.perSecond * RESUME_SLICE));
  }
}
