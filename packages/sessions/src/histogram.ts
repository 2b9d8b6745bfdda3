/** Upper bounds, in milliseconds, of the latency buckets (Prometheus `le`, converted to seconds on export). */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
];

export interface HistogramSnapshot {
  /** Cumulative-free counts per bucket of `LATENCY_BUCKETS_MS`, plus one overflow bucket at the end. */
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sumMs: number;
  readonly maxMs: number;
  /** Estimates from the buckets (linear within a bucket), as Prometheus' histogram_quantile does. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A fixed-bucket latency histogram: recording is a few comparisons and an increment, with no allocation. */
export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private max = 0;

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  snapshot(): HistogramSnapshot {
    const buckets = this.counts.slice();
    return {
      buckets,
      count: this.count,
      sumMs: this.sum,
      maxMs: this.max,
      p50Ms: quantile(buckets, 0.5, this.max),
      p99Ms: quantile(buckets, 0.99, this.max),
    };
  }
}

/** The q-quantile of per-bucket counts (for example, the difference of two snapshots: "the last minute"). */
export function quantile(buckets: readonly number[], q: number, maxMs = LATENCY_BUCKETS_MS.at(-1) ?? 0): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] as number;
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] as number);
      const upper = i < LATENCY_BUCKETS_MS.length ? (LATENCY_BUCKETS_MS[i] as number) : Math.max(maxMs, lower);
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return maxMs;
}
