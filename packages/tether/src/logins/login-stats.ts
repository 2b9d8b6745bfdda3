import type { SessionFactory } from '@tether/sessions';
import { SERVICE_IDENTITY } from './login-rows.js';

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

/** The counts `LoginStats` reads from PostgreSQL (every instance's rows). */
export type LoginRowCounts = Pick<LoginStats, 'active' | 'revoked' | 'expired' | 'users' | 'linkedWebSockets'>;

/** Counts the rows of `auth_sessions` by state; a row past its idle expiry (`idleTtlSeconds`) is expired. */
export async function countLogins(factory: SessionFactory, idleTtlSeconds: number): Promise<LoginRowCounts> {
  const { rows } = await factory.withSession(SERVICE_IDENTITY, (s) =>
    s.query<{ active: number; revoked: number; expired: number; users: number; websockets: number }>(
      `WITH s AS (
         SELECT user_id, websocket_ids, revoked_at IS NOT NULL AS revoked,
                revoked_at IS NULL
                AND (expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)) AS expired
           FROM auth_sessions)
       SELECT count(*) FILTER (WHERE NOT revoked AND NOT expired)::int AS active,
              count(*) FILTER (WHERE revoked)::int AS revoked,
              count(*) FILTER (WHERE expired)::int AS expired,
              count(DISTINCT user_id) FILTER (WHERE NOT revoked AND NOT expired)::int AS users,
              coalesce(sum(cardinality(websocket_ids)) FILTER (WHERE NOT revoked AND NOT expired), 0)::int
                AS websockets
         FROM s`,
      [idleTtlSeconds],
    ),
  );
  const r = rows[0] ?? { active: 0, revoked: 0, expired: 0, users: 0, websockets: 0 };
  return { active: r.active, revoked: r.revoked, expired: r.expired, users: r.users, linkedWebSockets: r.websockets };
}
