import { RateLimitedError } from '../../auth/index.js';

interface Lane {
  running: number;
  /** Calls waiting for one of this identity's places, in arrival order: each is handed a place as one ends. */
  readonly waiting: Array<() => void>;
}

/**
 * At most `perIdentity` request-scoped sessions of one identity at once, across HTTP and WebSocket; up to
 * `queuedPerIdentity` more wait their turn, and beyond that a call is refused with 429 `rate_limited`. So one
 * user flooding from many connections holds a few of the pool's connections, never all of them, and the pool's
 * waiters (served round-robin by identity) are never mostly one user's.
 */
export class IdentityGate {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly perIdentity: number,
    private readonly queuedPerIdentity: number,
  ) {}

  async run<T>(identity: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(identity);
    if (lane === undefined) this.lanes.set(identity, (lane = { running: 0, waiting: [] }));
    if (lane.running < this.perIdentity) {
      lane.running++;
    } else if (lane.waiting.length < this.queuedPerIdentity) {
      const waiting = lane.waiting;
      await new Promise<void>((resolve) => waiting.push(resolve)); // the place of a call that ended
    } else {
      throw new RateLimitedError(
        `too many requests at once for this user (${this.perIdentity} run and ${this.queuedPerIdentity} wait); ` +
          'retry shortly',
        1,
      );
    }
    try {
      return await work();
    } finally {
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.running === 0) this.lanes.delete(identity);
    }
  }

  /** Calls of `identity` running now (for tests and metrics). */
  running(identity: string): number {
    return this.lanes.get(identity)?.running ?? 0;
  }
}
