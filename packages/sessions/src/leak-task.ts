import type { TetherError } from './errors.js';
import { SessionTimeoutError } from './errors.js';
import type { FactoryStatistics } from './factory-statistics.js';
import type { SessionLogger } from './failure-log.js';
import type { Session } from './session.js';
import type { SessionEventHub } from './session-events.js';

/** What an interrupted wait (see `LeakTask.interruptible`) resolves with. */
export const LEAK_PROBE = Symbol('leak probe');

/** What the leak task keeps for each open session (the factory's per-session record carries it). */
export interface LeakWatch {
  leakReported: boolean;
  /** Interrupts the caller's wait so that it reports the leak (see `interruptible`); set while the caller awaits. */
  leakProbe: ((probe: typeof LEAK_PROBE) => void) | null;
}

export interface LeakTaskOptions {
  /** A session held longer than this is reported once as a possible leak (0: never). */
  readonly leakDetectionThresholdMs: number;
  /** A session older than this is terminated (0: never). */
  readonly maxSessionLifetimeMs: number;
}

export interface LeakTaskHost {
  /** The open sessions, with what the task keeps for each. */
  readonly open: ReadonlyMap<Session, LeakWatch>;
  readonly logger: SessionLogger;
  readonly events: SessionEventHub;
  readonly statistics: FactoryStatistics;
  /** Ends a session that outlived `maxSessionLifetimeMs`. */
  terminate(session: Session, reason: TetherError): Promise<void>;
}

const OPENING_STACK_FRAMES = 8;

/**
 * Leak detection and the lifetime limit, in the manner of HikariCP's `ProxyLeakTask`: one timer for the factory,
 * nothing on the hot path. A leak is reported with the stack of the code that holds the session: for a callback
 * session the caller's own wait is interrupted (`interruptible`) so that the report is made where V8's async stack
 * trace still names the caller; for an explicit handle, the stack captured when it was opened (`callerStack`).
 */
export class LeakTask {
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: LeakTaskOptions,
    private readonly host: LeakTaskHost,
  ) {
    const watched = [options.leakDetectionThresholdMs, options.maxSessionLifetimeMs].filter((ms) => ms > 0);
    if (watched.length) {
      const every = Math.min(1_000, Math.max(10, Math.min(...watched) / 4));
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  get detectsLeaks(): boolean {
    return this.options.leakDetectionThresholdMs > 0;
  }

  /** Settles as `pending` does, or with `LEAK_PROBE` if the task finds the session leaked first. */
  interruptible<T>(session: Session, pending: Promise<T>): Promise<T | typeof LEAK_PROBE> {
    const watch = this.host.open.get(session);
    return new Promise((resolve, reject) => {
      if (watch) watch.leakProbe = resolve; // the sweep calls it with LEAK_PROBE
      Promise.resolve(pending).then(resolve, reject);
    });
  }

  /** Logs a session held past the leak threshold (once) with the stack of the code that opened it. */
  report(session: Session, opener: { readonly stack?: string } | null): void {
    const watch = this.host.open.get(session);
    if (!watch || watch.leakReported) return;
    watch.leakReported = true;
    this.host.statistics.counters.leaksDetected++;
    const m = session.metrics;
    const now = Date.now();
    const heldMs = now - m.createdAt;
    const openedAt = opener?.stack ?? null;
    const statement = session.statement === null ? null : session.statement.slice(0, 500);
    this.host.logger.warn(
      { sessionId: m.sessionId, requestId: m.requestId, userId: m.userId, heldMs, openedAt, statement },
      'possible session leak',
    );
    this.host.events.emit({
      type: 'leak',
      at: now,
      sessionId: m.sessionId,
      requestId: m.requestId,
      userId: m.userId,
      heldMs,
      openedAt,
      statement,
    });
  }

  /** A session that was reported leaked came back: say so (it was slow, not lost). */
  returned(session: Session, watch: LeakWatch): void {
    if (!watch.leakReported) return;
    const m = session.metrics;
    this.host.logger.info(
      { sessionId: m.sessionId, requestId: m.requestId, heldMs: m.totalTimeMs },
      'previously reported leaked session returned (unleaked)',
    );
    this.host.events.emit({
      type: 'unleak',
      at: m.closedAt ?? Date.now(),
      sessionId: m.sessionId,
      requestId: m.requestId,
      heldMs: m.totalTimeMs,
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sweep(): void {
    const now = Date.now();
    const { leakDetectionThresholdMs: leakMs, maxSessionLifetimeMs: lifetimeMs } = this.options;
    for (const [session, watch] of this.host.open) {
      const age = now - session.metrics.createdAt;
      if (leakMs > 0 && age > leakMs && !watch.leakReported) {
        const probe = watch.leakProbe;
        watch.leakProbe = null;
        // a session in a caller's wait is reported by that wait (with the caller's stack); any other one from here
        if (probe && session.metrics.state !== 'closing') probe(LEAK_PROBE);
        else this.report(session, session.openedAt);
      }
      if (lifetimeMs > 0 && age > lifetimeMs && session.terminatedBy === null) {
        void this.host.terminate(
          session,
          new SessionTimeoutError(`session exceeded maxSessionLifetimeMs (${lifetimeMs} ms) and was terminated`),
        );
      }
    }
  }
}

/** The stack of the code that called `entry`, for leak reports: frames are captured now, formatted only if ever
 * reported. */
export function callerStack(entry: (...args: never[]) => unknown): { stack?: string } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = OPENING_STACK_FRAMES; // the caller's frames matter; deeper ones cost without telling more
  const site: { stack?: string } = {};
  // start the trace at the code that asked for the session, not inside the factory
  Error.captureStackTrace(site, entry);
  Error.stackTraceLimit = limit;
  return site;
}
