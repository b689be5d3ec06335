import type { LimitsConfig } from '../config';
import { TokenBucket } from './token-bucket';

/** What to do with one incoming frame. */
export type Admission = 'accept' | 'drop' | 'close';

export interface RateLimitOptions {
  /** Tokens added per second; 0 turns the limit off. */
  readonly perSecond: number;
  /** Bucket capacity: how many frames may arrive at once after a quiet spell. */
  readonly burst: number;
  /** Frames dropped within DROP_WINDOW_MS after which the connection is closed (4529). */
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
 * answers `rate_limited`); too many drops in one window close the socket (4529). Protocols
 * that cannot drop a frame are slowed down instead (flow-control.ts).
 */
export class RateLimiter {
  private readonly bucket: TokenBucket;
  private drops = 0;
  private windowStart = 0;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(options.perSecond, options.burst, now);
  }

  admit(): Admission {
    if (this.options.perSecond === 0 || this.bucket.tryTake()) return 'accept';
    const now = this.now();
    if (now - this.windowStart > DROP_WINDOW_MS) {
      this.windowStart = now;
      this.drops = 0;
    }
    this.drops += 1;
    return this.drops > this.options.maxDrops ? 'close' : 'drop';
  }
}

/** The limiter of one client connection under the node's configured limits. */
export function connectionRateLimiter(limits: LimitsConfig): RateLimiter {
  return new RateLimiter({
    perSecond: limits.ratePerSecond,
    burst: limits.rateBurst,
    maxDrops: limits.rateMaxDrops,
  });
}
