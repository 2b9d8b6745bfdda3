import { quantile, type PoolMetrics, type SessionEvent, type SessionEventListener, type SessionMetrics } from '@tether/sessions';

/** What the feed reads: a `SessionFactory` (or anything that answers the same three calls). */
export interface DashboardSource {
  poolMetrics(): PoolMetrics;
  activeSessions(): SessionMetrics[];
  subscribe(listener: SessionEventListener): () => void;
}

export interface DashboardSessionRow {
  readonly sessionId: string;
  readonly requestId: string;
  readonly userId: string | null;
  readonly state: SessionMetrics['state'];
  readonly ageMs: number;
  readonly queryCount: number;
  readonly errorCount: number;
  readonly lastErrorCode: string | null;
}

export interface DashboardFrame {
  readonly type: 'snapshot';
  readonly at: number;
  readonly pool: Pick<PoolMetrics, 'max' | 'active' | 'idle' | 'pending' | 'activeSessions' | 'breakerState' | 'breakerTrips' | 'peakConcurrent' | 'totalCreated' | 'acquireTimeouts' | 'leaksDetected' | 'sessionsTerminated' | 'dirtyEvicted' | 'sessionsOpened' | 'sessionsFailed'>;
  /** Per second, over the time since the previous frame. */
  readonly rates: { readonly sessionsPerSec: number; readonly errorsPerSec: Readonly<Record<string, number>> };
  /** Connection acquire time over the last `windowMs`. */
  readonly acquire: { readonly p50Ms: number; readonly p99Ms: number; readonly windowMs: number };
  readonly sessions: { readonly total: number; readonly rows: readonly DashboardSessionRow[] };
  /** Events since the previous frame; a new subscriber's first frame carries the recent ones. */
  readonly events: readonly SessionEvent[];
}

export interface DashboardFeedOptions {
  /** How often a frame is sampled and sent. */
  readonly intervalMs?: number;
  /** The window of the acquire-time percentiles. */
  readonly windowMs?: number;
  /** Most session rows per frame (oldest first); the total is always sent. */
  readonly maxRows?: number;
  /** Recent events kept for new subscribers. */
  readonly recentEvents?: number;
}

type Send = (frame: DashboardFrame) => void;

/**
 * Samples the session layer a few times a second and sends every subscriber the same frame. Runs only while
 * someone is watching; the cost per frame is one pass over the open sessions.
 */
export class DashboardFeed {
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly maxRows: number;
  private readonly recentLimit: number;
  private readonly subscribers = new Map<Send, { primed: boolean }>();
  private readonly recent: SessionEvent[] = [];
  private pendingEvents: SessionEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private unsubscribeSource: (() => void) | undefined;
  private previous: { at: number; opened: number; errors: Record<string, number> } | undefined;
  private acquireHistory: Array<{ at: number; buckets: readonly number[] }> = [];

  constructor(
    private readonly source: DashboardSource,
    options: DashboardFeedOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxRows = options.maxRows ?? 500;
    this.recentLimit = options.recentEvents ?? 50;
  }

  /** Starts sending frames to `send`; returns the function that stops them. */
  subscribe(send: Send): () => void {
    this.subscribers.set(send, { primed: false });
    if (!this.timer) this.start();
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  get watchers(): number {
    return this.subscribers.size;
  }

  /** Builds and sends one frame now (also what the timer does). */
  tick(): DashboardFrame {
    const frame = this.sample();
    for (const [send, state] of this.subscribers) {
      const personal = state.primed ? frame : { ...frame, events: [...this.recent] };
      state.primed = true;
      try {
        send(personal);
      } catch {
        // a closed socket: its close handler unsubscribes it
      }
    }
    return frame;
  }

  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  private start(): void {
    this.unsubscribeSource = this.source.subscribe((event) => {
      this.pendingEvents.push(event);
      this.recent.push(event);
      if (this.recent.length > this.recentLimit) this.recent.shift();
    });
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    queueMicrotask(() => this.tick()); // a new watcher sees figures at once, not after one interval
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribeSource?.();
    this.unsubscribeSource = undefined;
    this.previous = undefined;
    this.acquireHistory = [];
  }

  private sample(): DashboardFrame {
    const at = Date.now();
    const pool = this.source.poolMetrics();
    const sessions = this.source.activeSessions();

    const seconds = this.previous ? Math.max(0.001, (at - this.previous.at) / 1_000) : 0;
    const sessionsPerSec = this.previous ? (pool.sessionsOpened - this.previous.opened) / seconds : 0;
    const errorsPerSec: Record<string, number> = {};
    if (this.previous) {
      for (const [code, n] of Object.entries(pool.errorsByCode)) {
        const delta = n - (this.previous.errors[code] ?? 0);
        if (delta > 0) errorsPerSec[code] = delta / seconds;
      }
    }
    this.previous = { at, opened: pool.sessionsOpened, errors: { ...pool.errorsByCode } };

    // percentiles over the window: the difference between now and the oldest kept snapshot of the buckets
    this.acquireHistory.push({ at, buckets: pool.acquireTime.buckets });
    while (this.acquireHistory.length > 1 && at - (this.acquireHistory[0] as { at: number }).at > this.windowMs) this.acquireHistory.shift();
    const oldest = (this.acquireHistory[0] as { buckets: readonly number[] }).buckets;
    const window = pool.acquireTime.buckets.map((n, i) => n - (this.acquireHistory.length > 1 ? (oldest[i] ?? 0) : 0));

    const rows = sessions
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, this.maxRows)
      .map((s) => ({
        sessionId: s.sessionId,
        requestId: s.requestId,
        userId: s.userId,
        state: s.state,
        ageMs: at - s.createdAt,
        queryCount: s.queryCount,
        errorCount: s.errorCount,
        lastErrorCode: s.lastError?.code ?? null,
      }));
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return {
      type: 'snapshot',
      at,
      pool: {
        max: pool.max, active: pool.active, idle: pool.idle, pending: pool.pending, activeSessions: pool.activeSessions,
        breakerState: pool.breakerState, breakerTrips: pool.breakerTrips, peakConcurrent: pool.peakConcurrent, totalCreated: pool.totalCreated,
        acquireTimeouts: pool.acquireTimeouts, leaksDetected: pool.leaksDetected, sessionsTerminated: pool.sessionsTerminated,
        dirtyEvicted: pool.dirtyEvicted, sessionsOpened: pool.sessionsOpened, sessionsFailed: pool.sessionsFailed,
      },
      rates: { sessionsPerSec, errorsPerSec },
      acquire: { p50Ms: quantile(window, 0.5, pool.acquireTime.maxMs), p99Ms: quantile(window, 0.99, pool.acquireTime.maxMs), windowMs: this.windowMs },
      sessions: { total: sessions.length, rows },
      events,
    };
  }
}
