import { isUuid, silentLogger, type Session, type SessionFactory, type SessionLogger } from '@tether/sessions';
import { AuthenticationError } from '../auth/errors.js';
import { LoginLimitError } from './errors.js';
import { LISTENER_APPLICATION_PREFIX } from './listener-names.js';
import type { Login } from './login.js';
import { COLUMNS, toLogin, type Row } from './login-rows.js';
import type { LoginStats } from './login-stats.js';
import { newRefreshToken, parseRefreshToken, sameHash } from './refresh-tokens.js';

export interface LoginManagerOptions {
  readonly factory: SessionFactory;
  /** A session ends this long after login, whatever happens. */
  readonly absoluteTtlSeconds: number;
  /** A session ends after this long without use. */
  readonly idleTtlSeconds: number;
  readonly maxLoginsPerUser: number;
  /** What a login past the limit does: revoke the user's oldest session, or fail with `LoginLimitError`. */
  readonly limitPolicy: 'evict-oldest' | 'refuse';
  /** How often the background sweep deletes expired and revoked rows. */
  readonly sweepIntervalMs: number;
  /** How long a validation is trusted from memory; revocations on this instance or announced by NOTIFY clear it at
   * once. */
  readonly checkIntervalMs: number;
  /** The server instance this manager runs in: its own WebSockets are never taken for a gone instance's. */
  readonly instanceId?: string;
  readonly logger?: SessionLogger;
}

/** This instance's open WebSocket ids, and the highest number it had issued (ids are `<instance>:<n>`). */
export interface LocalWebSockets {
  readonly open: readonly string[];
  readonly issuedUpTo: number;
}

export type RevocationListener = (sessionId: string, userId: string, reason: string) => void;

/** A new or rotated session with the refresh token that continues it (shown once, stored hashed). */
export interface IssuedLogin {
  readonly login: Login;
  readonly refreshToken: string;
  /** Sessions revoked to make room under the per-user limit. */
  readonly evicted: readonly string[];
}

interface CachedValidation {
  readonly login: Login;
  readonly checkedAt: number;
}

/** Refresh tokens kept for reuse detection, per session. */
const ROTATED_KEPT = 32;

/**
 * Login sessions, stored in PostgreSQL so that every server instance shares them (SPEC A4): creation under a
 * per-user limit, validation with absolute and idle expiry, refresh-token rotation with reuse detection,
 * revocation of one or all, linked WebSocket ids, a background sweep and `LoginStats`.
 *
 * Work on one user's sessions runs in that user's request-scoped session (Row-Level Security applies); only
 * what spans users (refresh by token, the sweep, statistics) runs as a named service identity.
 */
export class LoginManager {
  private readonly factory: SessionFactory;
  private readonly logger: SessionLogger;
  private readonly cache = new Map<string, CachedValidation>();
  private readonly inFlight = new Map<string, Promise<Login>>();
  /** Sessions known to be over (kept until their absolute expiry), with why: the answer without a query. */
  private readonly revoked = new Map<string, { until: number; reason: string }>();
  private readonly listeners = new Set<RevocationListener>();
  private sweeper: NodeJS.Timeout | undefined;
  private localWebSockets: (() => LocalWebSockets) | null = null;
  /** Instances whose listener was missing at the last sweep. */
  private missingInstances = new Set<string>();
  private readonly checkIntervalMs: number;
  private readonly counters = {
    createdTotal: 0,
    refreshedTotal: 0,
    revokedTotal: 0,
    reuseDetectedTotal: 0,
    limitEnforcedTotal: 0,
    sweptTotal: 0,
    validationCacheHits: 0,
    validationQueries: 0,
  };

  constructor(readonly options: LoginManagerOptions) {
    this.factory = options.factory;
    this.logger = options.logger ?? silentLogger;
    // a cached validation must be re-checked (and the idle clock touched) well before the idle expiry
    this.checkIntervalMs = Math.max(10, Math.min(options.checkIntervalMs, (options.idleTtlSeconds * 1000) / 4));
  }

  /** Starts the background sweep. */
  start(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.logger.warn(
          { error: (error as Error).message, code: (error as { code?: string }).code },
          'login session sweep failed; will retry',
        ),
      );
    }, this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Called for every revocation: on this instance, and (through `noteRevoked`) on any other. */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates a login session for a user whose credentials were checked, enforcing the per-user limit under a lock
   * of the user's row (concurrent logins cannot both squeeze in).
   */
  async create(userId: string, details: { userAgent?: string | null; requestId?: string } = {}): Promise<IssuedLogin> {
    const sessionId = crypto.randomUUID();
    const { token, hash } = newRefreshToken(sessionId);
    const { row, evicted } = await this.factory.withSession(
      { userId, ...(details.requestId ? { requestId: details.requestId } : {}) },
      async (s) => {
        await s.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
        const live = await s.query<{ id: string }>(
          `SELECT id FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           AND last_seen_at > now() - make_interval(secs => $2) ORDER BY created_at, id`,
          [userId, this.options.idleTtlSeconds],
        );
        const over = live.rows.length - this.options.maxLoginsPerUser + 1;
        let evicted: string[] = [];
        if (over > 0) {
          this.counters.limitEnforcedTotal++;
          if (this.options.limitPolicy === 'refuse') {
            throw new LoginLimitError(
              `this user already has ${live.rows.length} active sessions (the limit is ${this.options.maxLoginsPerUser})`,
            );
          }
          evicted = live.rows.slice(0, over).map((r) => r.id);
          await s.query(
            "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'session_limit' WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL",
            [evicted],
          );
        }
        const inserted = await s.query<Row>(
          `INSERT INTO auth_sessions (id, user_id, refresh_token_hash, expires_at, user_agent)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5) RETURNING ${COLUMNS}`,
          [sessionId, userId, hash, this.options.absoluteTtlSeconds, details.userAgent?.slice(0, 512) ?? null],
        );
        return { row: inserted.rows[0] as Row, evicted };
      },
    );
    this.counters.createdTotal++;
    for (const sid of evicted) this.noteRevoked(sid, userId, 'session_limit');
    const session = toLogin(row);
    this.cache.set(session.id, { login: session, checkedAt: Date.now() });
    return { login: session, refreshToken: token, evicted };
  }

  /**
   * The live session `sessionId` of `userId`, or an `AuthenticationError` (revoked, expired, someone else's,
   * absent). Answered from memory for `checkIntervalMs`; otherwise read and its idle clock touched.
   */
  async validate(userId: string, sessionId: string): Promise<Login> {
    if (!isUuid(sessionId) || !isUuid(userId))
      throw new AuthenticationError('token_invalid', 'the token names no valid session');
    const ended = this.revoked.get(sessionId);
    if (ended)
      throw ended.reason === 'expired'
        ? new AuthenticationError('session_expired', 'this session has expired; log in again')
        : new AuthenticationError('session_revoked', 'this session has been revoked');
    const now = Date.now();
    const cached = this.cache.get(sessionId);
    if (
      cached &&
      cached.login.userId === userId &&
      now - cached.checkedAt < this.checkIntervalMs &&
      now < cached.login.expiresAt
    ) {
      this.counters.validationCacheHits++;
      return cached.login;
    }
    let pending = this.inFlight.get(sessionId);
    if (!pending) {
      pending = this.check(userId, sessionId).finally(() => this.inFlight.delete(sessionId));
      this.inFlight.set(sessionId, pending);
    }
    const session = await pending;
    if (session.userId !== userId) throw new AuthenticationError('token_invalid', 'the token names no valid session');
    return session;
  }

  private async check(userId: string, sessionId: string): Promise<Login> {
    this.counters.validationQueries++;
    const row = await this.factory.withSession({ userId }, async (s) => {
      const { rows } = await s.query<Row>(
        `UPDATE auth_sessions SET last_seen_at = now()
           WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)
         RETURNING ${COLUMNS}`,
        [sessionId, this.options.idleTtlSeconds],
      );
      if (rows[0]) return { live: rows[0] };
      // why not: revoked, expired or absent (RLS hides other users' rows: absent)
      const why = await s.query<{
        revoked_at: Date | null;
        revoked_reason: string | null;
        expires_at: Date;
        idle_expired: boolean;
      }>(
        'SELECT revoked_at, revoked_reason, expires_at, last_seen_at <= now() - make_interval(secs => $2) AS idle_expired FROM auth_sessions WHERE id = $1',
        [sessionId, this.options.idleTtlSeconds],
      );
      return why.rows[0] ?? null;
    });
    if (row && 'live' in row) {
      const session = toLogin(row.live);
      this.cache.set(sessionId, { login: session, checkedAt: Date.now() });
      return session;
    }
    this.cache.delete(sessionId);
    if (!row) throw new AuthenticationError('token_invalid', 'the token names no valid session');
    if (row.revoked_at) {
      this.revoked.set(sessionId, { until: row.expires_at.getTime(), reason: row.revoked_reason ?? 'revoked' });
      throw new AuthenticationError('session_revoked', 'this session has been revoked');
    }
    throw new AuthenticationError('session_expired', 'this session has expired; log in again');
  }

  /**
   * Rotates a refresh token: the presented one stops working and a new one is returned. Presenting a token
   * that was already rotated away is reuse (a copy is in someone else's hands): the session is revoked.
   */
  async refresh(refreshToken: string, details: { requestId?: string } = {}): Promise<IssuedLogin> {
    const parsed = typeof refreshToken === 'string' ? parseRefreshToken(refreshToken) : null;
    if (!parsed) throw new AuthenticationError('refresh_token_invalid', 'the refresh token is not valid');
    const { token, hash } = newRefreshToken(parsed.sessionId);
    const outcome = await this.factory.withSession(
      { userId: 'service:auth', ...(details.requestId ? { requestId: details.requestId } : {}) },
      async (s) => {
        const { rows } = await s.query<Row & { idle_expired: boolean }>(
          `SELECT ${COLUMNS}, last_seen_at <= now() - make_interval(secs => $2) AS idle_expired FROM auth_sessions WHERE id = $1 FOR UPDATE`,
          [parsed.sessionId, this.options.idleTtlSeconds],
        );
        const row = rows[0];
        if (!row) return { kind: 'invalid' as const };
        if (row.rotated_refresh_token_hashes.some((h) => sameHash(h, parsed.hash))) {
          if (!row.revoked_at) {
            await s.query(
              "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse' WHERE id = $1",
              [row.id],
            );
          }
          return { kind: 'reused' as const, row };
        }
        if (!sameHash(row.refresh_token_hash, parsed.hash)) return { kind: 'invalid' as const };
        if (row.revoked_at) return { kind: 'revoked' as const, row };
        if (row.expires_at.getTime() <= Date.now() || row.idle_expired) return { kind: 'expired' as const, row };
        const rotated = [row.refresh_token_hash, ...row.rotated_refresh_token_hashes].slice(0, ROTATED_KEPT);
        const updated = await s.query<Row>(
          `UPDATE auth_sessions SET refresh_token_hash = $2, rotated_refresh_token_hashes = $3, last_seen_at = now(), refreshed_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
          [row.id, hash, rotated],
        );
        return { kind: 'rotated' as const, row: updated.rows[0] as Row };
      },
    );
    switch (outcome.kind) {
      case 'invalid':
        throw new AuthenticationError('refresh_token_invalid', 'the refresh token is not valid');
      case 'reused':
        this.counters.reuseDetectedTotal++;
        this.logger.warn(
          { sessionId: outcome.row.id, userId: outcome.row.user_id },
          'rotated refresh token presented again; session revoked',
        );
        if (!outcome.row.revoked_at) this.noteRevoked(outcome.row.id, outcome.row.user_id, 'refresh_token_reuse');
        throw new AuthenticationError(
          'refresh_token_reused',
          'this refresh token was already used; the session has been revoked',
        );
      case 'revoked':
        throw new AuthenticationError('session_revoked', 'this session has been revoked');
      case 'expired':
        throw new AuthenticationError('session_expired', 'this session has expired; log in again');
      case 'rotated': {
        this.counters.refreshedTotal++;
        const session = toLogin(outcome.row);
        this.cache.set(session.id, { login: session, checkedAt: Date.now() });
        return { login: session, refreshToken: token, evicted: [] };
      }
    }
  }

  /** Ends one session of the user (logout). Returns whether it was live. */
  async revoke(userId: string, sessionId: string, reason = 'logout'): Promise<boolean> {
    const { rowCount } = await this.factory.withSession({ userId }, (s) =>
      s.query('UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL', [
        sessionId,
        reason,
      ]),
    );
    if (rowCount) this.noteRevoked(sessionId, userId, reason);
    return Boolean(rowCount);
  }

  /** Ends every session of the user (logout everywhere). Returns the ids revoked. */
  async revokeAll(userId: string, reason = 'logout_all'): Promise<string[]> {
    const { rows } = await this.factory.withSession({ userId }, (s) =>
      s.query<{ id: string }>(
        'UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $1 WHERE user_id = tether_current_user_id() AND revoked_at IS NULL RETURNING id',
        [reason],
      ),
    );
    for (const { id } of rows) this.noteRevoked(id, userId, reason);
    return rows.map((r) => r.id);
  }

  /**
   * Records a revocation learnt from anywhere (this instance, or another one through NOTIFY): forgets the
   * cached validation and tells the listeners (which close the session's WebSockets). Idempotent.
   */
  noteRevoked(sessionId: string, userId: string, reason: string): void {
    const first = !this.revoked.has(sessionId);
    const cached = this.cache.get(sessionId);
    this.revoked.set(sessionId, {
      until: cached?.login.expiresAt ?? Date.now() + this.options.absoluteTtlSeconds * 1000,
      reason,
    });
    this.cache.delete(sessionId);
    if (!first) return;
    this.counters.revokedTotal++;
    for (const listener of this.listeners) {
      try {
        listener(sessionId, userId, reason);
      } catch (error) {
        this.logger.error({ error: (error as Error).message }, 'revocation listener failed');
      }
    }
  }

  /** Forgets every cached validation (after missed notifications, e.g. a lost LISTEN connection). */
  forgetValidations(): void {
    this.cache.clear();
  }

  /**
   * Adds a WebSocket id to the login session's `websocket_ids`, keeping the newest `keep` ids (the array stays
   * bounded whatever a client does). Callers unlink only after this has settled: an unlink that overtook its link
   * would leave the id behind for good.
   */
  async linkWebSocket(userId: string, sessionId: string, websocketId: string, keep: number): Promise<void> {
    await this.factory.withSession({ userId }, (s) =>
      s.query(
        `UPDATE auth_sessions SET websocket_ids = (array_append(websocket_ids, $2))[greatest(1, cardinality(websocket_ids) + 2 - $3):]
          WHERE id = $1 AND NOT ($2 = ANY (websocket_ids))`,
        [sessionId, websocketId, keep],
      ),
    );
  }

  async unlinkWebSocket(userId: string, sessionId: string, websocketId: string): Promise<void> {
    await this.factory.withSession({ userId }, (s) =>
      s.query('UPDATE auth_sessions SET websocket_ids = array_remove(websocket_ids, $2) WHERE id = $1', [
        sessionId,
        websocketId,
      ]),
    );
  }

  /**
   * Tells the sweep which of this instance's WebSocket ids are open: it removes the others (an unlink lost to a
   * database outage) up to `issuedUpTo`, the highest number issued when the snapshot was taken, so that a socket
   * whose link is being written meanwhile is left alone.
   */
  trackWebSockets(snapshot: () => LocalWebSockets): void {
    this.localWebSockets = snapshot;
  }

  /** The user's sessions, newest first (revoked and expired ones included until swept). */
  async list(userId: string): Promise<Login[]> {
    const { rows } = await this.factory.withSession({ userId }, (s) =>
      s.query<Row>(`SELECT ${COLUMNS} FROM auth_sessions ORDER BY created_at DESC`),
    );
    return rows.map(toLogin);
  }

  /**
   * Of the given sessions, those still live; touches their idle clocks (open WebSockets keep a session in use).
   * One query for all: the periodic check of every open WebSocket.
   */
  async stillLive(sessionIds: readonly string[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const { rows } = await this.factory.withSession({ userId: 'service:user-sessions' }, (s) =>
      s.query<{ id: string }>(
        `UPDATE auth_sessions SET last_seen_at = now()
          WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)
          RETURNING id`,
        [sessionIds, this.options.idleTtlSeconds],
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Deletes expired and revoked rows; returns how many. Deleting a live-looking row announces it (NOTIFY).
   * Also unlinks the WebSocket ids of server instances that are gone (see `unlinkGoneInstances`).
   */
  async sweep(): Promise<number> {
    const { rowCount } = await this.factory.withSession({ userId: 'service:user-sessions' }, (s) =>
      s.query(
        `DELETE FROM auth_sessions WHERE revoked_at IS NOT NULL OR expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)`,
        [this.options.idleTtlSeconds],
      ),
    );
    // in a session of its own: if it fails (a server that hides pg_stat_activity), the deletion above still stands
    await this.factory
      .withSession({ userId: 'service:user-sessions' }, (s) => this.unlinkGoneInstances(s))
      .catch((error: unknown) =>
        this.logger.warn(
          { error: (error as Error).message },
          'could not check for WebSockets of server instances that are gone',
        ),
      );
    await this.factory
      .withSession({ userId: 'service:user-sessions' }, (s) => this.unlinkClosedLocal(s))
      .catch((error: unknown) =>
        this.logger.warn({ error: (error as Error).message }, 'could not unlink closed WebSockets of this instance'),
      );
    const now = Date.now();
    for (const [sid, { until }] of this.revoked) if (until < now) this.revoked.delete(sid);
    for (const [sid, entry] of this.cache) if (entry.login.expiresAt < now) this.cache.delete(sid);
    this.counters.sweptTotal += rowCount ?? 0;
    return rowCount ?? 0;
  }

  /**
   * A WebSocket id is `<instance>:<n>`, and every live server instance holds a listener connection named
   * `listenerApplicationName(instance)`. An instance that crashed never unlinked its sockets: once its listener
   * has been missing from `pg_stat_activity` at two sweeps in a row (one missing could be a reconnect under
   * way), its ids are removed.
   */
  private async unlinkGoneInstances(s: Session): Promise<void> {
    const { rows } = await s.query<{ instance: string; live: boolean }>(
      `SELECT i.instance, EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = $1 || i.instance) AS live
         FROM (SELECT DISTINCT split_part(ws, ':', 1) AS instance FROM auth_sessions, unnest(websocket_ids) AS ws WHERE cardinality(websocket_ids) > 0 AND position(':' IN ws) > 1) i`,
      [LISTENER_APPLICATION_PREFIX],
    );
    const gone = rows.filter((r) => !r.live && r.instance !== this.options.instanceId).map((r) => r.instance);
    const confirmed = gone.filter((instance) => this.missingInstances.has(instance));
    this.missingInstances = new Set(gone);
    if (confirmed.length === 0) return;
    const { rowCount } = await s.query(
      `UPDATE auth_sessions SET websocket_ids = ARRAY(SELECT ws FROM unnest(websocket_ids) AS ws WHERE split_part(ws, ':', 1) <> ALL ($1::text[]))
        WHERE EXISTS (SELECT 1 FROM unnest(websocket_ids) AS ws WHERE split_part(ws, ':', 1) = ANY ($1::text[]))`,
      [confirmed],
    );
    this.logger.info(
      { instances: confirmed, loginSessions: rowCount },
      'unlinked the WebSockets of server instances that are gone',
    );
  }

  /** Removes this instance's ids of sockets that are closed (see `trackWebSockets`). */
  private async unlinkClosedLocal(s: Session): Promise<void> {
    const instance = this.options.instanceId;
    if (!this.localWebSockets || instance === undefined) return;
    const { open, issuedUpTo } = this.localWebSockets();
    const { rowCount } = await s.query(
      `WITH closed AS (
         SELECT a.id, array_agg(ws) AS ids FROM auth_sessions a, unnest(a.websocket_ids) AS ws
          WHERE split_part(ws, ':', 1) = $1 AND ws <> ALL ($2::text[])
            AND CASE WHEN split_part(ws, ':', 2) ~ '^[0-9]{1,15}$' THEN split_part(ws, ':', 2)::bigint <= $3 ELSE false END
          GROUP BY a.id)
       UPDATE auth_sessions a SET websocket_ids = ARRAY(SELECT ws FROM unnest(a.websocket_ids) AS ws WHERE ws <> ALL (closed.ids))
         FROM closed WHERE a.id = closed.id`,
      [instance, open, issuedUpTo],
    );
    if (rowCount) this.logger.info({ loginSessions: rowCount }, 'unlinked WebSockets of this instance that had closed');
  }

  async stats(): Promise<LoginStats> {
    const { rows } = await this.factory.withSession({ userId: 'service:user-sessions' }, (s: Session) =>
      s.query<{ active: number; revoked: number; expired: number; users: number; websockets: number }>(
        `WITH s AS (
           SELECT user_id, websocket_ids, revoked_at IS NOT NULL AS revoked,
                  revoked_at IS NULL AND (expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)) AS expired
             FROM auth_sessions)
         SELECT count(*) FILTER (WHERE NOT revoked AND NOT expired)::int AS active,
                count(*) FILTER (WHERE revoked)::int AS revoked,
                count(*) FILTER (WHERE expired)::int AS expired,
                count(DISTINCT user_id) FILTER (WHERE NOT revoked AND NOT expired)::int AS users,
                coalesce(sum(cardinality(websocket_ids)) FILTER (WHERE NOT revoked AND NOT expired), 0)::int AS websockets
           FROM s`,
        [this.options.idleTtlSeconds],
      ),
    );
    const r = rows[0] ?? { active: 0, revoked: 0, expired: 0, users: 0, websockets: 0 };
    return {
      active: r.active,
      revoked: r.revoked,
      expired: r.expired,
      users: r.users,
      linkedWebSockets: r.websockets,
      ...this.counters,
    };
  }
}
