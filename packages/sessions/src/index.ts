/**
 * The session layer: the only place that checks out a connection for request work. Handlers receive a
 * `Session`; they never see the pool.
 */
export {
  SessionFactory,
  SESSION_FACTORY_DEFAULTS,
  APP_ROLE,
  SYSTEM_ROLE,
  currentSession,
  type SessionFactoryOptions,
  type SessionContext,
  type SessionLogger,
  type ConnectionPool,
  type HealthReport,
} from './session-factory.js';
export { Session, type SessionPhase } from './session.js';
export { silentLogger } from './failure-log.js';
export type { SessionClient } from './wire.js';
export { isUuid, UUID_PATTERN } from './identity.js';
/** Round-robin by key: how the pool serves waiting sessions, reused where other waiters must be served fairly. */
export { FairQueue } from './fair-queue.js';
export { sessionErrorContext, snapshotSessionMetrics } from './session-metrics.js';
export type { SessionMetrics, SessionState, SessionErrorContext, SessionErrorSummary } from './session-metrics.js';
export type { PoolMetrics, BreakerState } from './pool-metrics.js';
export type { SessionEvent, SessionEventListener } from './session-events.js';
export { LATENCY_BUCKETS_MS, quantile, type HistogramSnapshot } from './histogram.js';
export {
  TetherError,
  DatabaseUnavailableError,
  SessionTimeoutError,
  PoolExhaustedError,
  CircuitOpenError,
  IsolationViolationError,
  SessionClosedError,
  TransactionAbortedError,
  classifyDatabaseError,
  type SessionErrorCode,
} from './errors.js';
export { provision, provisioningSql, type ProvisionOptions } from './provision.js';
