/**
 * A token bucket: tokens come back at `perSecond` up to `burst`. Taking may go below
 * zero (a frame that already arrived cannot be un-sent); the debt is repaid by the refill.
 */
export class TokenBucket {
  private level: number;
  private refilledAt: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.level = burst;
    this.refilledAt = now();
  }

  /** The tokens available now (negative while in debt). */
  get tokens(): number {
    const now = this.now();
    this.level = Math.min(this.burst, this.level + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    return this.level;
  }

  /** Takes one token if there is one; says whether it did. */
  tryTake(): boolean {
    if (this.tokens < 1) return false;
    this.level -= 1;
    return true;
  }

  /** Takes one token, into debt if need be. */
  take(): void {
    this.tokens;
    this.level -= 1;
  }

  /** Milliseconds until `count` tokens are available (0 if they are now). */
  msUntil(count: number): number {
    const missing = count - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.perSecond) * 1000);
  }
}
