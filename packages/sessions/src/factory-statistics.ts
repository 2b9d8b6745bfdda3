import { TetherError } from './errors.js';
import { failureLevel } from './failure-log.js';
import { LatencyHistogram } from './histogram.js';
import type { BreakerState, PoolMetrics } from './pool-metrics.js';
import type { SessionEventHub } from './session-events.js';
import type { SessionMetrics } from './session-metrics.js';

/** The pool's gauges at one moment, as the factory reads them. */
export interface PoolGauges {
  readonly max: number;
  readonly active: number;
  readonly idle: number;
  readonly pending: number;
  readonly breakerState: BreakerState;
}

/**
 * The factory's statistics (HikariCP's `PoolStats` and metrics tracker): counters since start, errors by code
 * and three latency histograms. The factory counts; `snapshot` is what `poolMetrics()` returns.
 */
export class FactoryStatistics {
  readonly counters = {
    peakConcurrent: 0,
    totalCreated: 0,
    totalClosed: 0,
    sessionsOpened: 0,
    sessionsFailed: 0,
    /** Acquisitions that timed out with every connection busy (the pool was exhausted). */
    acquireTimeouts: 0,
    breakerTrips: 0,
    leaksDetected: 0,
    sessionsTerminated: 0,
    dirtyEvicted: 0,
  };
  readonly acquireTime = new LatencyHistogram();
  readonly sessionLifetime = new LatencyHistogram();
  readonly queryTime = new LatencyHistogram();
  private readonly errorsByCode: Record<string, number> = {};

  constructor(private readonly events: SessionEventHub) {}

  /** Counts an error of a session by its stable code, keeps it as the session's last error, and reports it. */
  recordError(metrics: SessionMetrics, error: unknown): void {
    const code =
      error instanceof TetherError
        ? error.code
        : (error as { code?: unknown })?.code !== undefined
          ? String((error as { code: unknown }).code)
          : 'error';
    metrics.errorCount++;
    metrics.lastError = { code, message: error instanceof Error ? error.message : String(error) };
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    if (this.events.active) {
      const { message } = metrics.lastError;
      const { sessionId, requestId, userId } = metrics;
      this.events.emit({
        type: 'session_error',
        at: Date.now(),
        code,
        message,
        sessionId,
        requestId,
        userId,
        level: failureLevel(error),
      });
    }
  }

  snapshot(gauges: PoolGauges): PoolMetrics {
    return {
      max: gauges.max,
      active: gauges.active,
      idle: gauges.idle,
      pending: gauges.pending,
      activeSessions: gauges.active,
      ...this.counters,
      breakerState: gauges.breakerState,
      errorsByCode: { ...this.errorsByCode },
      acquireTime: this.acquireTime.snapshot(),
      sessionLifetime: this.sessionLifetime.snapshot(),
      queryTime: this.queryTime.snapshot(),
    };
  }
}
