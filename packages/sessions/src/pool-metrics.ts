import type { HistogramSnapshot } from './histogram.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Figures of the connection pool and the sessions on it. Counters count since the factory started; gauges
 * are current. Exported to Prometheus under the names in the README (HikariCP-like).
 */
export interface PoolMetrics {
  /** Configured maximum number of connections. */
  readonly max: number;
  /** Connections checked out by sessions right now (connections still being opened are not counted). */
  readonly active: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Sessions waiting for a connection. */
  readonly pending: number;
  readonly activeSessions: number;
  readonly peakConcurrent: number;
  readonly totalCreated: number;
  readonly totalClosed: number;
  readonly sessionsOpened: number;
  readonly sessionsFailed: number;
  /**
   * Acquisitions that timed out with every connection busy: the pool was exhausted. (Exported to Prometheus as
   * `tether_pool_connection_timeout_total` and, under its former name, `tether_pool_exhaustion_total`.)
   */
  readonly acquireTimeouts: number;
  readonly breakerState: BreakerState;
  readonly breakerTrips: number;
  readonly leaksDetected: number;
  readonly sessionsTerminated: number;
  readonly dirtyEvicted: number;
  /** Errors raised by sessions, by stable code. */
  readonly errorsByCode: Readonly<Record<string, number>>;
  readonly acquireTime: HistogramSnapshot;
  readonly sessionLifetime: HistogramSnapshot;
  readonly queryTime: HistogramSnapshot;
}
