/**
 * Aggregates of login sessions (not request sessions: those are `SessionMetrics`). Counts of rows are read from
 * PostgreSQL, so they cover every instance; the `…Total` counters count what this instance did since it started.
 */
export interface LoginStats {
  /** Not revoked, not past the absolute or idle expiry. */
  readonly active: number;
  /** Revoked and not yet swept. */
  readonly revoked: number;
  /** Past the absolute or idle expiry and not yet swept. */
  readonly expired: number;
  /** Distinct users with at least one active session. */
  readonly users: number;
  /** WebSocket connections linked to active sessions, on every instance. */
  readonly linkedWebSockets: number;
  readonly createdTotal: number;
  readonly refreshedTotal: number;
  readonly revokedTotal: number;
  /** Rotated refresh tokens presented again (each revoked its session). */
  readonly reuseDetectedTotal: number;
  /** Logins refused or older sessions evicted because of the per-user limit. */
  readonly limitEnforcedTotal: number;
  /** Rows deleted by the sweep. */
  readonly sweptTotal: number;
  /** Validations answered from memory / from the database. */
  readonly validationCacheHits: number;
  readonly validationQueries: number;
}
