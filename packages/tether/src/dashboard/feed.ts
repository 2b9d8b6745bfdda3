import { quantile } from '@tether/sessions';
import type { PoolMetrics, SessionEvent, SessionEventListener, SessionMetrics } from '@tether/sessions';
import { DatabaseStatusTracker, unreachableCount, type DatabaseStatus } from './database-status.js';
import { NO_TRAFFIC, STATUS_CLASSES, type StatusClass, type TrafficTotals } from './traffic.js';
import type { UserEmails } from './user-emails.js';

/** What the feed reads: a `SessionFactory` (or anything that answers the same calls). */
export interface DashboardSource {
  poolMetrics(): PoolMetrics;
  activeSessions(): SessionMetrics[];
  subscribe(listener: SessionEventListener): () => void;
  /** A side-effect-free `SELECT 1`: tells an idle server whether its database is there. */
  health?(): Promise<{ readonly status: 'ok' | 'unavailable'; readonly error: { readonly code: string } | null }>;
}

export interface DashboardSessionRow {
  readonly sessionId: string;
  readonly requestId: string;
  readonly userId: string | null;
  /** The user's email, once looked up (null until then, and for `system`, services and anonymous work). */
  readonly userEmail: string | null;
  readonly state: SessionMetrics['state'];
  readonly ageMs: number;
  readonly queryCount: number;
  readonly errorCount: number;
  readonly lastErrorCode: string | null;
}

/** A session event as the page gets it: with the user's email where the cache knows it. */
export type DashboardEvent = SessionEvent & { readonly userEmail?: string | null };

/** Whose problem an error code is, as the session layer classified it (`info`: the caller's own, not an alarm). */
export type ErrorLevel = 'info' | 'warn' | 'error';

/** The part of a frame that the history keeps: what the charts draw. */
export interface DashboardSample {
  readonly at: number;
  /** Per second, over the time since the previous sample. */
  readonly rates: {
    readonly sessionsPerSec: number;
    readonly errorsPerSec: Readonly<Record<string, number>>;
    /** The level of every code in `errorsPerSec` (a code not seen in an event counts as `error`). */
    readonly errorLevels: Readonly<Record<string, ErrorLevel>>;
    readonly httpPerSec: Readonly<Record<StatusClass, number>>;
    readonly wsFramesPerSec: number;
  };
  /** Connection acquire time over the last `windowMs`. */
  readonly acquire: { readonly p50Ms: number; readonly p99Ms: number; readonly windowMs: number };
  readonly websocket: { readonly connections: number; readonly subscriptions: number };
  readonly database: DatabaseStatus;
}

export interface DashboardFrame extends DashboardSample {
  readonly type: 'snapshot';
  readonly pool: Pick<
    PoolMetrics,
    | 'max'
    | 'active'
    | 'idle'
    | 'pending'
    | 'activeSessions'
    | 'breakerState'
    | 'breakerTrips'
    | 'peakConcurrent'
    | 'totalCreated'
    | 'acquireTimeouts'
    | 'leaksDetected'
    | 'sessionsTerminated'
    | 'dirtyEvicted'
    | 'sessionsOpened'
    | 'sessionsFailed'
  >;
  readonly sessions: { readonly total: number; readonly rows: readonly DashboardSessionRow[] };
  /** Events since the previous frame; a new subscriber's first frame carries the recent ones. */
  readonly events: readonly DashboardEvent[];
  /** Only in a new subscriber's first frame: the samples of the last `historyMs` before this one, oldest first. */
  readonly history?: readonly DashboardSample[];
}

export interface DashboardFeedOptions {
  /** How often a sample is taken (and a frame sent to watchers). */
  readonly intervalMs?: number;
  /** The window of the acquire-time percentiles. */
  readonly windowMs?: number;
  /** How much history a new watcher receives first. */
  readonly historyMs?: number;
  /** Most session rows per frame (oldest first); the total is always sent. */
  readonly maxRows?: number;
  /** Recent events kept for new subscribers. */
  readonly recentEvents?: number;
  /** HTTP and WebSocket counts of the server. */
  readonly traffic?: () => TrafficTotals | Promise<TrafficTotals>;
  /** Resolves user ids to emails for the rows and events. */
  readonly emails?: UserEmails;
  /** While watched and idle, how often the database is probed with `health()`. */
  readonly probeIntervalMs?: number;
}

type Send = (frame: DashboardFrame) => void;

/** How long an event waits for its user's email to be looked up before it is sent without it. */
const EMAIL_WAIT_MS = 1_000;
interface Previous {
  readonly at: number;
  readonly opened: number;
  readonly unreachable: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly traffic: TrafficTotals;
}

/**
 * Samples the session layer and the server's traffic a few times a second from `start()` to `close()`, keeps
 * the last `historyMs` of samples, and sends every watcher the same frame (a new watcher first gets the
 * history). Unwatched, a sample costs two reads of counters; the pass over open sessions runs only when watched.
 */
export class DashboardFeed {
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly maxRows: number;
  private readonly recentLimit: number;
  private readonly historyLimit: number;
  private readonly probeIntervalMs: number;
  private readonly subscribers = new Map<Send, { primed: boolean }>();
  private readonly recent: SessionEvent[] = [];
  private readonly history: DashboardSample[] = [];
  private readonly levels: Record<string, ErrorLevel> = {};
  private readonly database = new DatabaseStatusTracker();
  private pendingEvents: SessionEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<DashboardFrame> | undefined;
  private unsubscribeSource: (() => void) | undefined;
  private previous: Previous | undefined;
  private acquireHistory: Array<{ at: number; buckets: readonly number[] }> = [];
  private probing = false;
  private lastProbeAt = 0;
  private openedAtLastProbe = 0;
  private probeResult: { ok: boolean; code: string | null } | undefined;

  constructor(
    private readonly source: DashboardSource,
    private readonly options: DashboardFeedOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxRows = options.maxRows ?? 500;
    this.recentLimit = options.recentEvents ?? 50;
    this.historyLimit = Math.ceil((options.historyMs ?? 60_000) / this.intervalMs);
    this.probeIntervalMs = options.probeIntervalMs ?? 2_000;
  }

  /** Starts sampling (the history fills from here on); `subscribe` starts it too. */
  start(): void {
    if (this.timer) return;
    this.unsubscribeSource = this.source.subscribe((event) => {
      if (event.type === 'session_error') this.levels[event.code] = event.level;
      if (this.subscribers.size > 0) this.pendingEvents.push(event);
      this.recent.push(event);
      if (this.recent.length > this.recentLimit) this.recent.shift();
    });
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Starts sending frames to `send`; returns the function that stops them. */
  subscribe(send: Send): () => void {
    this.subscribers.set(send, { primed: false });
    this.start();
    queueMicrotask(() => void this.tick()); // a new watcher sees figures at once, not after one interval
    return () => {
      this.subscribers.delete(send);
    };
  }

  get watchers(): number {
    return this.subscribers.size;
  }

  /** Takes one sample now and sends it to the watchers (also what the timer does); one sample at a time. */
  tick(): Promise<DashboardFrame> {
    this.sampling ??= this.sample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  close(): void {
    this.subscribers.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribeSource?.();
    this.unsubscribeSource = undefined;
  }

  private async sample(): Promise<DashboardFrame> {
    const traffic = (await this.options.traffic?.()) ?? NO_TRAFFIC;
    const at = Date.now();
    const pool = this.source.poolMetrics();
    const watched = this.subscribers.size > 0;
    const previous = this.previous;
    const unreachable = unreachableCount(pool.errorsByCode);
    this.previous = { at, opened: pool.sessionsOpened, unreachable, errors: pool.errorsByCode, traffic };

    const seconds = previous ? Math.max(0.001, (at - previous.at) / 1_000) : 0;
    const perSec = (now: number, before: number | undefined): number =>
      previous ? Math.max(0, now - (before ?? 0)) / seconds : 0;
    const errorsPerSec: Record<string, number> = {};
    const errorLevels: Record<string, ErrorLevel> = {};
    if (previous) {
      for (const [code, n] of Object.entries(pool.errorsByCode)) {
        if (n <= (previous.errors[code] ?? 0)) continue;
        errorsPerSec[code] = perSec(n, previous.errors[code]);
        errorLevels[code] = this.levels[code] ?? 'error';
      }
    }
    const httpPerSec = Object.fromEntries(
      STATUS_CLASSES.map((c) => [c, perSec(traffic.http[c], previous?.traffic.http[c])]),
    ) as Record<StatusClass, number>;

    // percentiles over the window: the difference between now and the oldest kept snapshot of the buckets
    this.acquireHistory.push({ at, buckets: pool.acquireTime.buckets });
    while (this.acquireHistory.length > 1 && at - (this.acquireHistory[0] as { at: number }).at > this.windowMs)
      this.acquireHistory.shift();
    const oldest = (this.acquireHistory[0] as { buckets: readonly number[] }).buckets;
    const window = pool.acquireTime.buckets.map((n, i) => n - (this.acquireHistory.length > 1 ? (oldest[i] ?? 0) : 0));

    const database = this.database.observe({
      at,
      breakerState: pool.breakerState,
      opened: previous ? pool.sessionsOpened - previous.opened : 0,
      unreachable: previous ? unreachable - previous.unreachable : 0,
      ...this.takeProbeResult(),
    });
    if (watched) this.maybeProbe(at, pool.sessionsOpened, database.status);

    const sample: DashboardSample = {
      at,
      rates: {
        sessionsPerSec: perSec(pool.sessionsOpened, previous?.opened),
        errorsPerSec,
        errorLevels,
        httpPerSec,
        wsFramesPerSec: perSec(traffic.websocket.framesReceived, previous?.traffic.websocket.framesReceived),
      },
      acquire: {
        p50Ms: quantile(window, 0.5, pool.acquireTime.maxMs),
        p99Ms: quantile(window, 0.99, pool.acquireTime.maxMs),
        windowMs: this.windowMs,
      },
      websocket: { connections: traffic.websocket.connections, subscriptions: traffic.websocket.subscriptions },
      database,
    };
    const history = [...this.history];
    this.history.push(sample);
    if (this.history.length > this.historyLimit) this.history.shift();

    const frame: DashboardFrame = {
      type: 'snapshot',
      ...sample,
      pool: {
        max: pool.max,
        active: pool.active,
        idle: pool.idle,
        pending: pool.pending,
        activeSessions: pool.activeSessions,
        breakerState: pool.breakerState,
        breakerTrips: pool.breakerTrips,
        peakConcurrent: pool.peakConcurrent,
        totalCreated: pool.totalCreated,
        acquireTimeouts: pool.acquireTimeouts,
        leaksDetected: pool.leaksDetected,
        sessionsTerminated: pool.sessionsTerminated,
        dirtyEvicted: pool.dirtyEvicted,
        sessionsOpened: pool.sessionsOpened,
        sessionsFailed: pool.sessionsFailed,
      },
      sessions: watched ? this.sessionRows(at) : { total: pool.activeSessions, rows: [] },
      events: this.withEmails(this.readyEvents(at)),
    };
    for (const [send, state] of this.subscribers) {
      const personal = state.primed ? frame : { ...frame, events: this.withEmails(this.recent), history };
      state.primed = true;
      try {
        send(personal);
      } catch {
        // a closed socket: its close handler unsubscribes it
      }
    }
    void this.options.emails?.resolve()?.catch(() => {});
    return frame;
  }

  private sessionRows(at: number): DashboardFrame['sessions'] {
    const sessions = this.source.activeSessions();
    const emails = this.options.emails;
    const rows = sessions
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, this.maxRows)
      .map((s) => ({
        sessionId: s.sessionId,
        requestId: s.requestId,
        userId: s.userId,
        userEmail: emails?.emailOf(s.userId) ?? null,
        state: s.state,
        ageMs: at - s.createdAt,
        queryCount: s.queryCount,
        errorCount: s.errorCount,
        lastErrorCode: s.lastError?.code ?? null,
      }));
    return { total: sessions.length, rows };
  }

  /**
   * The pending events to send now: an event whose user's email is being looked up waits for it, up to
   * `EMAIL_WAIT_MS`, so that the page names the user (events are sent once).
   */
  private readyEvents(at: number): SessionEvent[] {
    const emails = this.options.emails;
    if (!emails) {
      const all = this.pendingEvents;
      this.pendingEvents = [];
      return all;
    }
    const ready: SessionEvent[] = [];
    const waiting: SessionEvent[] = [];
    for (const e of this.pendingEvents) {
      const userId = e.type === 'session_error' || e.type === 'leak' ? e.userId : null;
      const waits =
        userId !== null && emails.emailOf(userId) === null && emails.pending(userId) && at - e.at < EMAIL_WAIT_MS;
      (waits ? waiting : ready).push(e);
    }
    this.pendingEvents = waiting;
    return ready;
  }

  private withEmails(events: readonly SessionEvent[]): DashboardEvent[] {
    const emails = this.options.emails;
    if (!emails) return [...events];
    return events.map((e) =>
      e.type === 'session_error' || e.type === 'leak' ? { ...e, userEmail: emails.emailOf(e.userId) } : e,
    );
  }

  /** An idle server learns whether its database is there from a probe, at most one at a time. */
  private maybeProbe(at: number, opened: number, status: 'up' | 'down'): void {
    const health = this.source.health?.bind(this.source);
    if (!health || this.probing || at - this.lastProbeAt < this.probeIntervalMs) return;
    this.lastProbeAt = at;
    const busy = opened > this.openedAtLastProbe;
    this.openedAtLastProbe = opened;
    if (busy && status === 'up') return; // sessions got connections since the last probe: the database is there
    this.probing = true;
    health()
      .then(
        (report) => (this.probeResult = { ok: report.status === 'ok', code: report.error?.code ?? null }),
        () => (this.probeResult = { ok: false, code: 'database_unavailable' }),
      )
      .finally(() => (this.probing = false));
  }

  private takeProbeResult(): { probe?: { ok: boolean; code: string | null } } {
    const probe = this.probeResult;
    this.probeResult = undefined;
    return probe ? { probe } : {};
  }
}
