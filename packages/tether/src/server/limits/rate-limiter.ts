/** Buckets kept before full (idle) ones are dropped: memory stays bounded under a spray of keys. */
const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (performance.now() milliseconds). */
  at: number;
}

/**
 * Token buckets by key (a user id, an IP address): `burst` calls at once, then `ratePerSecond` on average. One
 * limiter serves HTTP requests and WebSocket frames alike, so a user's budget is the same whichever way it calls.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes a token for `key`: 0 when the call may go ahead, else whole seconds until a token is back. */
  take(key: string, now = performance.now()): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.dropFull(now);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.ratePerSecond) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }

  /** Buckets that would be full by now hold nothing a new bucket would not: forgetting them changes no answer. */
  private dropFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.ratePerSecond) / 1000 >= this.burst) this.buckets.delete(key);
    }
  }
}
