import type { SessionLogger } from './failure-log.js';
import type { BreakerState, PoolMetrics } from './pool-metrics.js';
import type { SessionClient } from './wire.js';

/** The pool a factory draws from: its own `Pool` (pool.ts), or a stand-in (benchmarks of the factory's own cost). */
export interface ConnectionPool {
  /**
   * A connection; a wait that times out rejects with `PoolExhaustedError`. `waiterKey`: the identity a wait is for;
   * a pool that has to queue serves identities in turn.
   */
  connect(waiterKey?: string): Promise<SessionClient>;
  /** An idle connection at once, if there is one; optional (without it, every session waits on `connect`). */
  acquireIdle?(): SessionClient | undefined;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'connect' | 'remove' | 'error', listener: (arg: unknown) => void): unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

export interface SessionFactoryOptions {
  /** PostgreSQL connection string (the pool's login; sessions switch to the application roles). */
  readonly connectionString?: string;
  /** Use this pool instead of creating one (tests and benchmarks of the factory itself). */
  readonly pool?: ConnectionPool;
  readonly max?: number;
  readonly acquireTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
  readonly leakDetectionThresholdMs?: number;
  readonly maxSessionLifetimeMs?: number;
  readonly breakerThreshold?: number;
  readonly breakerCooldownMs?: number;
  readonly applicationName?: string;
  /** The role users' sessions (and anonymous ones) run as: no `BYPASSRLS`, so Row-Level Security applies. */
  readonly appRole?: string;
  /** The role privileged sessions (`system`, `service:<name>`) run as: `BYPASSRLS`. */
  readonly systemRole?: string;
  /** false: statements reach pg through its public API only (see wire.ts); true: batched, one round trip. */
  readonly batchStatements?: boolean;
  /**
   * `transaction`: `connectionString` is a transaction-mode pooler (PgBouncer, Supavisor, PgCat), which hands each
   * transaction whichever server connection is free. Nothing then outlives a transaction: no startup parameters
   * (the role and both timeouts go into every session's context, `SET LOCAL`), no named prepared statements
   * (statements are planned every time), anonymous sessions run in a transaction too (their role is no longer a
   * connection default), and a session ended by force is cancelled through the pooler (its process id is the
   * pooler's, not a backend's).
   */
  readonly pooler?: 'none' | 'transaction';
  readonly logger?: SessionLogger;
}

/** The default role names (`provision()` creates the roles; see the README). */
export const APP_ROLE = 'tether_app';
export const SYSTEM_ROLE = 'tether_system';

/** Defaults, written once; the README's option table is this object. */
export const SESSION_FACTORY_DEFAULTS = {
  max: 20,
  acquireTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 60_000,
  leakDetectionThresholdMs: 10_000,
  maxSessionLifetimeMs: 120_000,
  breakerThreshold: 5,
  breakerCooldownMs: 5_000,
  applicationName: 'tether',
  appRole: APP_ROLE,
  systemRole: SYSTEM_ROLE,
  batchStatements: true,
  pooler: 'none',
} as const satisfies Partial<SessionFactoryOptions>;

export interface SessionContext {
  /** A user's UUID; `system` or `service:<name>` for privileged work; absent for anonymous work. */
  readonly userId?: string | null;
  readonly requestId?: string;
  readonly threadId?: string | null;
  /** Overrides the factory's statement timeout for this session. */
  readonly statementTimeoutMs?: number;
  /** Anonymous sessions run in autocommit unless this is true; user and privileged sessions always use a transaction.
   * */
  readonly transaction?: boolean;
}

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly latencyMs: number;
  readonly breakerState: BreakerState;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly pool: PoolMetrics;
}
