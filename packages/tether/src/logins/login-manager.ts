import { isUuid, silentLogger, type SessionFactory, type SessionLogger } from '@tether/sessions';
import { AuthenticationError } from '../auth/errors.js';
import { LoginLimitError } from './errors.js';
import type { Login } from './login.js';
import { COLUMNS, SERVICE_IDENTITY, toLogin, type Row } from './login-rows.js';
import { countLogins, type LoginStats } from './login-stats.js';
import { newRefreshToken, parseRefreshToken } from './refresh-tokens.js';
import { rotateRefreshToken } from './refresh-rotation.js';
import { ValidationCache } from './validation-cache.js';
import { WebSocketLinks, type LocalWebSockets } from './websocket-links.js';

export type { LocalWebSockets } from './websocket-links.js';

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

export type RevocationListener = (sessionId: string, userId: string, reason: string) => void;

/** A new or rotated session with the refresh token that continues it (shown once, stored hashed). */
export interface IssuedLogin {
  readonly login: Login;
  readonly refreshToken: string;
  /** Sessions revoked to make room under the per-user limit. */
  readonly evicted: readonly string[];
}

/**
 * Login sessions, stored in PostgreSQL so that every server instance shares them (SPEC A4): creation under a
 * per-user limit, validation with absolute and idle expiry, refresh-token rotation with reuse detection,
 * revocation of one or all, linked WebSocket ids, a background sweep and `LoginStats`. Its parts: what it remembers
 * between queries (validation-cache.ts), refresh-token rotation (refresh-rotation.ts), the linked WebSocket ids
 * (websocket-links.ts) and the statistics' counts (login-stats.ts).
 *
 * Work on one user's sessions runs in that user's request-scoped session (Row-Level Security applies); only
 * what spans users (refresh by token, the sweep, statistics) runs as a named service identity.
 */
export class LoginManager {
  private readonly factory: SessionFactory;
  private readonly logger: SessionLogger;
  private readonly cache: ValidationCache;
  /** Validations under way, by login id: concurrent requests of one login share one query. */
  private readonly inFlight = new Map<string, Promise<Login>>();
  private readonly listeners = new Set<RevocationListener>();
  private readonly webSockets: WebSocketLinks;
  private sweeper: NodeJS.Timeout | undefined;
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
    this.cache = new ValidationCache(
      Math.max(10, Math.min(options.checkIntervalMs, (options.idleTtlSeconds * 1000) / 4)),
    );
    this.webSockets = new WebSocketLinks(this.factory, this.logger, options.instanceId);
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
          `SELECT id FROM auth_sessions
            WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
              AND last_seen_at > now() - make_interval(secs => $2)
            ORDER BY created_at, id`,
          [userId, this.options.idleTtlSeconds],
        );
        const over = live.rows.length - this.options.maxLoginsPerUser + 1;
        let evicted: string[] = [];
        if (over > 0) {
          this.counters.limitEnforcedTotal++;
          if (this.options.limitPolicy === 'refuse') {
            const limit = this.options.maxLoginsPerUser;
            throw new LoginLimitError(
              `this user already has ${live.rows.length} active sessions (the limit is ${limit})`,
            );
          }
          evicted = live.rows.slice(0, over).map((r) => r.id);
          await s.query(
            `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'session_limit'
              WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`,
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
    const login = toLogin(row);
    this.cache.remember(login);
    return { login, refreshToken: token, evicted };
  }

  /**
   * The live session `sessionId` of `userId`, or an `AuthenticationError` (revoked, expired, someone else's,
   * absent). Answered from memory for `checkIntervalMs`; otherwise read and its idle clock touched.
   */
  async validate(userId: string, sessionId: string): Promise<Login> {
    if (!isUuid(sessionId) || !isUuid(userId))
      throw new AuthenticationError('token_invalid', 'the token names no valid session');
    const ended = this.cache.endedReason(sessionId);
    if (ended !== undefined)
      throw ended === 'expired'
        ? new AuthenticationError('session_expired', 'this session has expired; log in again')
        : new AuthenticationError('session_revoked', 'this session has been revoked');
    const trusted = this.cache.trusted(sessionId, userId, Date.now());
    if (trusted) {
      this.counters.validationCacheHits++;
      return trusted;
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
           WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
             AND last_seen_at > now() - make_interval(secs => $2)
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
        `SELECT revoked_at, revoked_reason, expires_at,
                last_seen_at <= now() - make_interval(secs => $2) AS idle_expired
           FROM auth_sessions WHERE id = $1`,
        [sessionId, this.options.idleTtlSeconds],
      );
      return why.rows[0] ?? null;
    });
    if (row && 'live' in row) {
      const login = toLogin(row.live);
      this.cache.remember(login);
      return login;
    }
    this.cache.forget(sessionId);
    if (!row) throw new AuthenticationError('token_invalid', 'the token names no valid session');
    if (row.revoked_at) {
      this.cache.markEnded(sessionId, row.revoked_reason ?? 'revoked', row.expires_at.getTime());
      throw new AuthenticationError('session_revoked', 'this session has been revoked');
    }
    throw new AuthenticationError('session_expired', 'this session has expired; log in again');
  }

  /**
   * Rotates a refresh token: the presented one stops working and a new one is returned. Presenting a token
   * that was already rotated away is reuse (a copy is in someone else's hands): the session is revoked (see
   * `rotateRefreshToken`).
   */
  async refresh(refreshToken: string, details: { requestId?: string } = {}): Promise<IssuedLogin> {
    const parsed = typeof refreshToken === 'string' ? parseRefreshToken(refreshToken) : null;
    if (!parsed) throw new AuthenticationError('refresh_token_invalid', 'the refresh token is not valid');
    const { token, hash } = newRefreshToken(parsed.sessionId);
    const outcome = await this.factory.withSession(
      { userId: 'service:auth', ...(details.requestId ? { requestId: details.requestId } : {}) },
      (s) => rotateRefreshToken(s, parsed.sessionId, parsed.hash, hash, this.options.idleTtlSeconds),
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
        const login = toLogin(outcome.row);
        this.cache.remember(login);
        return { login, refreshToken: token, evicted: [] };
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
        `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $1
          WHERE user_id = tether_current_user_id() AND revoked_at IS NULL
          RETURNING id`,
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
    const until = this.cache.cachedExpiry(sessionId) ?? Date.now() + this.options.absoluteTtlSeconds * 1000;
    if (!this.cache.markEnded(sessionId, reason, until)) return;
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
    this.cache.forgetAll();
  }

  /**
   * Adds a WebSocket id to the login session's `websocket_ids`, keeping the newest `keep` ids (the array stays
   * bounded whatever a client does). Callers unlink only after this has settled: an unlink that overtook its link
   * would leave the id behind for good.
   */
  linkWebSocket(userId: string, sessionId: string, websocketId: string, keep: number): Promise<void> {
    return this.webSockets.link(userId, sessionId, websocketId, keep);
  }

  unlinkWebSocket(userId: string, sessionId: string, websocketId: string): Promise<void> {
    return this.webSockets.unlink(userId, sessionId, websocketId);
  }

  /**
   * Tells the sweep which of this instance's WebSocket ids are open: it removes the others (an unlink lost to a
   * database outage) up to `issuedUpTo`, the highest number issued when the snapshot was taken, so that a socket
   * whose link is being written meanwhile is left alone.
   */
  trackWebSockets(snapshot: () => LocalWebSockets): void {
    this.webSockets.track(snapshot);
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
    const { rows } = await this.factory.withSession(SERVICE_IDENTITY, (s) =>
      s.query<{ id: string }>(
        `UPDATE auth_sessions SET last_seen_at = now()
          WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND expires_at > now()
            AND last_seen_at > now() - make_interval(secs => $2)
          RETURNING id`,
        [sessionIds, this.options.idleTtlSeconds],
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Deletes expired and revoked rows; returns how many. Deleting a live-looking row announces it (NOTIFY).
   * Also unlinks the WebSocket ids whose socket is gone (see `WebSocketLinks.sweep`).
   */
  async sweep(): Promise<number> {
    const { rowCount } = await this.factory.withSession(SERVICE_IDENTITY, (s) =>
      s.query(
        `DELETE FROM auth_sessions
          WHERE revoked_at IS NOT NULL OR expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)`,
        [this.options.idleTtlSeconds],
      ),
    );
    // counted as soon as the rows are gone, not after the unrelated work below
    this.counters.sweptTotal += rowCount ?? 0;
    await this.webSockets.sweep();
    this.cache.prune(Date.now());
    return rowCount ?? 0;
  }

  async stats(): Promise<LoginStats> {
    return { ...(await countLogins(this.factory, this.options.idleTtlSeconds)), ...this.counters };
  }
}
