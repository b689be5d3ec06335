import type { LimitsConfig } from '../config';
/** What to do with one incoming frame. */
export type Admission = 'accept' | 'drop' | 'close';

export interface RateLimitOptions {
  /** Tokens added per second; 0 turns the limit off. */
  readonly perSecond: number;
  /** Bucket capacity: how many frames may arrive at once after a quiet spell. */
  readonly burst: number;
  /** Frames dropped within DROP_WINDOW_MS after which the connection is closed (4429). */
  readonly maxDrops: number;
}

/**
 * The window over which dropped frames are counted. A client that overshoots now and
 * then only loses frames; one that keeps sending past its limit for this long is
 * abusive or broken and is closed.
 */
export const DROP_WINDOW_MS = 10_000;

/**
 * A token bucket per connection: each frame takes a token, tokens come back at
 * `perSecond` up to `burst`. A frame without a token is dropped (the JSON protocol
 * answers `rate_limited`); too many drops in one window close the socket.
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;
  private drops = 0;
  private windowStart = 0;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = options.burst;
    this.refilledAt = now();
  }

  admit(): Admission {
    if (this.options.perSecond === 0) return 'accept';
    const now = this.now();
    this.tokens = Math.min(
      this.options.burst,
      this.tokens + ((now - this.refilledAt) / 1000) * this.options.perSecond,
    );
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'accept';
    }
    if (now - this.windowStart > DROP_WINDOW_MS) {
      this.windowStart = now;
      this.drops = 0;
    }
    this.drops += 1;
    return this.drops > this.options.maxDrops ? 'close' : 'drop';
  }
}

/**
 * The rate limit for protocols that cannot drop a frame (a lost Yjs update would leave
 * the client's document ahead of everyone else's): frames past the limit still go
 * through, but a socket that keeps flooding is closed with `close` once the limiter says so.
 */
export function closeOnFlood(
  socket: { on(event: 'message', listener: () => void): unknown },
  limiter: RateLimiter,
  close: () => void,
): void {
  let closed = false;
  socket.on('message', () => {
    if (!closed && limiter.admit() === 'close') {
      closed = true;
      close();
    }
  });
}

/** The limiter of one client connection under the node's configured limits. */
export function connectionRateLimiter(limits: LimitsConfig): RateLimiter {
  return new RateLimiter({
    perSecond: limits.ratePerSecond,
    burst: limits.rateBurst,
    maxDrops: limits.rateMaxDrops,
  });
}
