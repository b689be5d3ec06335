/** Summary of a sample of measurements, as every scenario table reports it. */
export interface Summary {
  readonly median: number;
  readonly p99: number;
  readonly n: number;
}

/** The q-quantile (0..1) of sorted values, by the nearest-rank method. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: sorted.length };
}

/**
 * Keeps at most `capacity` values, each kept with equal probability (reservoir sampling), so a
 * throughput run of millions of deliveries still ships a small, unbiased latency sample.
 */
export class Reservoir {
  readonly values: number[] = [];
  seen = 0;

  constructor(private readonly capacity = 50_000) {}

  add(value: number): void {
    this.seen++;
    if (this.values.length < this.capacity) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.capacity) this.values[slot] = value;
    }
  }

  clear(): void {
    this.values.length = 0;
    this.seen = 0;
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
