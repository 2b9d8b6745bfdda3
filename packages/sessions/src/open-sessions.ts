import type { FactoryStatistics } from './factory-statistics.js';
import type { Identity } from './identity.js';
import type { LeakWatch } from './leak-task.js';
import type { Session } from './session.js';
import { snapshotSessionMetrics, type SessionMetrics } from './session-metrics.js';

/** Per-session facts the factory keeps beside the public metrics. */
export interface SessionRecord extends LeakWatch {
  readonly identity: Identity;
  readonly transactional: boolean;
  readonly statementTimeoutMs: number | undefined;
}

/**
 * The sessions checked out of the pool and not yet given back, each with its record (HikariCP's in-use entries):
 * counted as they come and go, so that the peak, the lifetimes and a shutdown's wait have one source.
 */
export class OpenSessions {
  /** Read by the leak task's sweep. */
  readonly records = new Map<Session, SessionRecord>();
  /** Set while `close` waits for the last session to end. */
  private emptied: (() => void) | null = null;

  constructor(private readonly statistics: FactoryStatistics) {}

  get size(): number {
    return this.records.size;
  }

  get(session: Session): SessionRecord | undefined {
    return this.records.get(session);
  }

  add(session: Session, record: SessionRecord): void {
    const records = this.records;
    records.set(session, record);
    const counters = this.statistics.counters;
    counters.sessionsOpened++;
    if (records.size > counters.peakConcurrent) counters.peakConcurrent = records.size;
  }

  /** Closes the session's metrics (its lifetime ends now) and forgets it. */
  remove(session: Session): void {
    const m = session.metrics;
    m.closedAt = Date.now();
    m.totalTimeMs = m.closedAt - m.createdAt;
    this.statistics.sessionLifetime.record(m.totalTimeMs);
    this.records.delete(session);
    if (this.records.size === 0 && this.emptied) this.emptied();
  }

  /** Copies of the metrics of every open session. */
  snapshots(): SessionMetrics[] {
    const now = Date.now();
    return [...this.records.keys()].map((s) => snapshotSessionMetrics(s.metrics, now));
  }

  list(): Session[] {
    return [...this.records.keys()];
  }

  /** Resolves when no session is open, or after `deadlineMs`, whichever comes first. */
  async whenEmpty(deadlineMs: number): Promise<void> {
    if (this.records.size === 0) return;
    const emptied = new Promise<void>((resolve) => (this.emptied = resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([emptied, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
  }
}
