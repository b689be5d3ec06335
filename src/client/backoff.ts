/** Reconnect delays: exponential from `initialMs` up to `maxMs`, each drawn at random in its upper half. */
export interface BackoffOptions {
  /** The first retry's delay before jitter. Small: a dead node's clients go to another node. */
  readonly initialMs?: number;
  /** The cap, so that a client of a cluster that was down comes back within seconds of it. */
  readonly maxMs?: number;
}

const DEFAULT_INITIAL_MS = 100;
const DEFAULT_MAX_MS = 5000;

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = options.initialMs ?? DEFAULT_INITIAL_MS;
    this.maxMs = options.maxMs ?? DEFAULT_MAX_MS;
  }

  /**
   * The delay before the next try. Jitter spreads the clients of a node that died over
   * the interval instead of sending them all back in the same millisecond.
   */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt++;
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }

  reset(): void {
    this.attempt = 0;
  }
}
