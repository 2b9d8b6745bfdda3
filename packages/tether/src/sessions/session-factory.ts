import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import pg from 'pg';
import { TetherError } from '../errors.js';
import {
  classifyDatabaseError,
  DatabaseUnavailableError,
  IsolationViolationError,
  PoolExhaustedError,
  SessionClosedError,
  SessionTimeoutError,
  TransactionAbortedError,
} from './errors.js';
import { LatencyHistogram } from './histogram.js';
import type { BreakerState, PoolMetrics } from './pool-metrics.js';
import { Pool } from './pool.js';
import { dispatch, Session, type SessionClient, type SessionHost } from './session.js';
import type { PreludeStatement } from './wire.js';
import { SessionEventHub, type SessionEventListener } from './session-events.js';
import { createSessionMetrics, sessionErrorContext, snapshotSessionMetrics, type SessionMetrics } from './session-metrics.js';

/** pino-compatible: `logger.warn({ ...context }, 'message')`. */
export interface SessionLogger {
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** The pool a factory draws from: its own `Pool` (pool.ts), or a stand-in (benchmarks of the factory's own cost). */
export interface ConnectionPool {
  connect(): Promise<SessionClient>;
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
  readonly logger?: SessionLogger;
}

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
} as const;

export interface SessionContext {
  /** A user's UUID; `system` or `service:<name>` for privileged work; absent for anonymous work. */
  readonly userId?: string | null;
  readonly requestId?: string;
  readonly threadId?: string | null;
  /** Overrides the factory's statement timeout for this session. */
  readonly statementTimeoutMs?: number;
  /** Anonymous sessions run in autocommit unless this is true; user and privileged sessions always use a transaction. */
  readonly transaction?: boolean;
}

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly latencyMs: number;
  readonly breakerState: BreakerState;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly pool: PoolMetrics;
}

export const APP_ROLE = 'tether_app';
export const SYSTEM_ROLE = 'tether_system';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVICE = /^service:[A-Za-z0-9_.-]{1,64}$/;
const storage = new AsyncLocalStorage<Session>();
const silentLogger: SessionLogger = { info() {}, warn() {}, error() {} };

/** The session whose callback is running, if any (through `AsyncLocalStorage`). */
export function currentSession(): Session | undefined {
  return storage.getStore();
}

type Identity = { kind: 'user' | 'privileged' | 'anonymous'; userId: string | null };

function identityOf(userId: string | null | undefined): Identity {
  if (userId === undefined || userId === null) return { kind: 'anonymous', userId: null };
  if (UUID.test(userId)) return { kind: 'user', userId: userId.toLowerCase() };
  if (userId === 'system' || SERVICE.test(userId)) return { kind: 'privileged', userId };
  throw new IsolationViolationError(`userId must be a UUID, "system" or "service:<name>"; got ${JSON.stringify(userId).slice(0, 80)}`);
}

/** Per-session facts the factory keeps beside the public metrics. */
interface SessionRecord {
  readonly identity: Identity;
  readonly transactional: boolean;
  readonly statementTimeoutMs: number | undefined;
  leakReported: boolean;
  /** Interrupts the caller's wait so that it reports the leak (see `run`); set while `run` awaits the session's work. */
  leakProbe: ((probe: typeof LEAK_PROBE) => void) | null;
  released: boolean;
}

/**
 * Hands out request-scoped PostgreSQL sessions: each runs as the unprivileged application role with the
 * user's id set for Row-Level Security, is measured in its `SessionMetrics`, and gives its connection back
 * clean or not at all.
 */
export class SessionFactory implements SessionHost {
  readonly options: Required<Omit<SessionFactoryOptions, 'pool' | 'connectionString' | 'logger'>>;
  private readonly pool: ConnectionPool;
  private readonly connectionString: string | undefined;
  private readonly logger: SessionLogger;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly active = new Map<Session, SessionRecord>();
  private readonly watchdog: NodeJS.Timeout | undefined;
  private readonly events = new SessionEventHub();
  private readonly statementNames = new Map<string, string>();
  private readonly namedTexts = new Set<string>();
  private closing = false;
  /** The breaker's count of consecutive failures (cockatiel's `ConsecutiveBreaker`; `state` is that count). */
  private readonly consecutiveFailures: ConsecutiveBreaker;
  private drained: (() => void) | null = null;

  private readonly counters = {
    peakConcurrent: 0, totalCreated: 0, totalClosed: 0, sessionsOpened: 0, sessionsFailed: 0, exhaustionEvents: 0,
    acquireTimeouts: 0, breakerTrips: 0, leaksDetected: 0, sessionsTerminated: 0, dirtyEvicted: 0,
  };
  private readonly errorsByCode: Record<string, number> = {};
  private readonly acquireTime = new LatencyHistogram();
  private readonly sessionLifetime = new LatencyHistogram();
  private readonly queryTime = new LatencyHistogram();

  constructor(options: SessionFactoryOptions) {
    const o = { ...SESSION_FACTORY_DEFAULTS, ...definedOnly(options) };
    this.options = o;
    this.logger = options.logger ?? silentLogger;
    this.connectionString = options.connectionString;
    if (options.pool) {
      this.pool = options.pool;
    } else {
      if (!options.connectionString) throw new TypeError('SessionFactory needs a connectionString or a pool');
      this.pool = new Pool({
        max: o.max,
        acquireTimeoutMs: o.acquireTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
        client: {
          connectionString: options.connectionString,
          connectionTimeoutMillis: o.acquireTimeoutMs,
          application_name: o.applicationName,
          // connection defaults: anonymous work runs unprivileged and bounded without a round trip of its own
          options: `-c role=${APP_ROLE}`,
          statement_timeout: o.statementTimeoutMs || undefined,
          idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs || undefined,
          pipeline: true,
        } as pg.ClientConfig,
      });
    }
    this.pool.on('connect', (client) => {
      this.counters.totalCreated++;
      // a server that goes away mid-session makes a checked-out client emit 'error' (FATAL 57P01, reset): logged
      // here (the failing query reports it typed); it also keeps a pool passed in without listeners from crashing
      (client as { on?: (event: 'error', listener: (error: Error) => void) => void }).on?.('error', (error) =>
        this.logger.warn({ error: error.message }, 'database connection failed'),
      );
    });
    this.pool.on('remove', () => this.counters.totalClosed++);
    // an idle connection whose server went away: the pool removes it and says so here (an EventEmitter's
    // 'error' without a listener would crash the process)
    this.pool.on('error', (error) => this.logger.warn({ error: (error as Error).message }, 'idle database connection failed and was removed'));

    this.consecutiveFailures = new ConsecutiveBreaker(o.breakerThreshold);
    this.breaker = circuitBreaker(
      handleWhen((error) => classifyDatabaseError(error, { poolSaturated: this.saturated() }) instanceof DatabaseUnavailableError),
      { halfOpenAfter: o.breakerCooldownMs, breaker: this.consecutiveFailures },
    );
    this.breaker.onBreak(() => {
      this.counters.breakerTrips++;
      this.events.emit({ type: 'breaker', at: Date.now(), state: 'open' });
      this.logger.error({ breakerTrips: this.counters.breakerTrips, cooldownMs: o.breakerCooldownMs }, 'database circuit breaker opened');
    });
    this.breaker.onReset(() => {
      this.events.emit({ type: 'breaker', at: Date.now(), state: 'closed' });
      this.logger.info({}, 'database circuit breaker closed');
    });
    this.breaker.onHalfOpen(() => this.events.emit({ type: 'breaker', at: Date.now(), state: 'half_open' }));

    const watched = [o.leakDetectionThresholdMs, o.maxSessionLifetimeMs].filter((ms) => ms > 0);
    if (watched.length) {
      const every = Math.min(1_000, Math.max(10, Math.min(...watched) / 4));
      this.watchdog = setInterval(() => this.watch(), every);
      this.watchdog.unref();
    }
  }

  /**
   * Runs `work` in a new session: commits when it resolves, rolls back when it throws, and always gives the
   * connection back (or evicts it). Errors from the database arrive typed (`TetherError`), with the driver
   * error as `cause`.
   */
  withSession<T>(context: SessionContext, work: (session: Session) => Promise<T>): Promise<T> {
    const perform = (session: Session): Promise<T> => {
      // a callback that returns its first statement's promise gets a one-round-trip transaction (see holdFirstStatement)
      session.holdFirstStatement();
      let pending: Promise<T> | undefined;
      try {
        return (pending = storage.run(session, work, session));
      } finally {
        session.releaseFirstStatement(pending);
      }
    };
    return this.run(context, perform, true);
  }

  /**
   * A session of one statement, in one round trip: the context and the statement in one batch, PostgreSQL's
   * implicit transaction (see `Session.queryAndCommit`). Same isolation, errors and metrics as `withSession`.
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(context: SessionContext, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.run(context, (session) => session.queryAndCommit<R>(text, values), false);
  }

  /**
   * Opens a session, runs `perform` in it, commits or rolls back. No opening stack is captured (that costs
   * microseconds per session): the caller is suspended at its `await` for as long as the session lasts, so if
   * the watchdog finds the session leaked, the wait below is interrupted and the report is made from here,
   * where V8's async stack trace still names the caller and the line it awaits on.
   */
  private async run<T>(context: SessionContext, perform: (session: Session) => Promise<T>, callsBack: boolean): Promise<T> {
    const opened = this.open(context, null);
    // an idle connection needs no wait, but a caller's callback never runs inside its withSession call
    const session = opened instanceof Session && !callsBack ? opened : await opened;
    let result: T;
    try {
      const pending = perform(session);
      const answer = this.options.leakDetectionThresholdMs > 0 ? await this.leakInterruptible(session, pending) : await pending;
      if (answer === LEAK_PROBE) {
        this.reportLeak(session, callerStack(this.run));
        result = await pending;
      } else {
        result = answer;
      }
    } catch (error) {
      await session.rollback(error);
      throw error;
    }
    const committing = session.commit();
    if (committing !== SETTLED_NOW) await committing; // nothing left to send (autocommit, one-batch transaction)
    return result;
  }

  /** Settles as `pending` does, or with `LEAK_PROBE` if the watchdog finds the session leaked first. */
  private leakInterruptible<T>(session: Session, pending: Promise<T>): Promise<T | typeof LEAK_PROBE> {
    const record = this.active.get(session);
    return new Promise((resolve, reject) => {
      if (record) record.leakProbe = resolve; // the watchdog calls it with LEAK_PROBE
      Promise.resolve(pending).then(resolve, reject);
    });
  }

  /** An explicit session handle for code that cannot use a callback: `await using s = await factory.openSession(…)`. */
  openSession(context: SessionContext = {}): Promise<Session> {
    // the caller moves on with the handle, so its stack is captured now (before the first await, so it still names it)
    return Promise.resolve(this.open(context, this.options.leakDetectionThresholdMs > 0 ? callerStack(this.openSession) : null));
  }

  /**
   * Checks a connection out and makes it a session: at once when an idle connection is there and the breaker has
   * nothing to decide, else a promise chain (not an async function: this is the hot path).
   */
  private open(context: SessionContext, openedAt: Session['openedAt']): Session | Promise<Session> {
    let identity: Identity;
    try {
      if (this.closing) throw new SessionClosedError('the session factory is shutting down');
      identity = identityOf(context.userId);
    } catch (error) {
      return Promise.reject(error);
    }
    const now = Date.now();
    const sessionId = randomUUID();
    const metrics = createSessionMetrics(sessionId, context.requestId ?? sessionId, identity.userId, context.threadId ?? null, now);
    const started = performance.now();
    const adopt = (client: SessionClient): Session => {
      this.acquireTime.record(performance.now() - started);
      const session = new Session(metrics, client, this, openedAt);
      this.active.set(session, {
        identity,
        transactional: identity.kind !== 'anonymous' || context.transaction === true,
        statementTimeoutMs: context.statementTimeoutMs,
        leakReported: false,
        leakProbe: null,
        released: false,
      });
      this.counters.sessionsOpened++;
      if (this.active.size > this.counters.peakConcurrent) this.counters.peakConcurrent = this.active.size;
      if (identity.kind === 'privileged') {
        this.logger.info({ sessionId, requestId: metrics.requestId, identity: identity.userId, role: SYSTEM_ROLE }, 'privileged session opened');
      }
      return session;
    };
    const fail = (error: unknown): never => {
      const typed = classifyDatabaseError(error, { poolSaturated: this.saturated() });
      if (typed instanceof PoolExhaustedError) {
        this.counters.acquireTimeouts++;
        this.counters.exhaustionEvents++;
      }
      this.counters.sessionsFailed++;
      this.recordError(metrics, typed);
      metrics.state = 'error';
      metrics.closedAt = Date.now();
      metrics.totalTimeMs = metrics.closedAt - now;
      this.logFailure(metrics, typed, 'session could not acquire a connection');
      throw typed;
    };
    // While the breaker is closed and has counted no failure since its last success, a success changes nothing
    // in it, so the hot path leaves cockatiel out; a failure, and the first success after one, go through it.
    if (this.consecutiveFailures.state === 0 && this.breaker.state === CircuitState.Closed) {
      const idle = this.pool.acquireIdle?.();
      if (idle !== undefined) return adopt(idle);
      return this.pool.connect().then(adopt, (error: unknown) => this.breaker.execute(() => Promise.reject(error)).then(adopt, fail));
    }
    return this.breaker.execute(() => this.pool.connect()).then(adopt, fail);
  }

  /** @internal the statement that sets a session's context inside its transaction; prepared, with bind values. */
  contextStatement(session: Session): PreludeStatement | null {
    const record = this.active.get(session);
    if (!record || !record.transactional) return null;
    const identity = record.identity;
    const values: unknown[] = [
      identity.kind === 'privileged' ? SYSTEM_ROLE : APP_ROLE,
      identity.kind === 'user' ? identity.userId : '',
      `${this.options.applicationName}:${session.metrics.requestId}`.slice(0, 63),
    ];
    if (record.statementTimeoutMs === undefined) return { name: 'tether:context', text: CONTEXT_SQL, values };
    values.push(String(Math.max(0, Math.floor(record.statementTimeoutMs))));
    return { name: 'tether:context_timeout', text: CONTEXT_WITH_TIMEOUT_SQL, values };
  }

  /** @internal a stable name per statement text, for at most `MAX_PREPARED` texts (each costs server memory per connection). */
  statementName(text: string): string | undefined {
    let name = this.statementNames.get(text);
    if (name !== undefined || this.statementNames.size >= MAX_PREPARED) return name;
    name = `tether_${fnv1a(text)}`;
    if (this.namedTexts.has(name)) return undefined; // a hash collision: the second text goes unnamed
    this.statementNames.set(text, name);
    this.namedTexts.add(name);
    return name;
  }

  /** @internal measures a statement and types its error. */
  onQuery(session: Session, ms: number, error: unknown): unknown {
    this.queryTime.record(ms);
    if (error === null) return null;
    if (session.endedBy) return session.endedBy; // the connection failed because we ended it
    const typed = classifyDatabaseError(error);
    this.recordError(session.metrics, typed);
    return typed;
  }

  /**
   * @internal ends a session: COMMIT or ROLLBACK, check the connection, release or evict it. (One promise,
   * settled from pg's callback: this runs once per session.)
   */
  finish(session: Session, outcome: 'commit' | 'rollback', reason: unknown): Promise<void> {
    const record = this.active.get(session);
    if (session.finished || !record || record.released) {
      // ended already, or by the watchdog: the connection is gone
      session.finished = true;
      return outcome === 'commit' && session.endedBy ? Promise.reject(session.endedBy) : Promise.resolve();
    }
    session.finished = true;
    session.metrics.state = 'closing';
    if (session.inFlight > 0) {
      // a statement still running (the callback did not await it): do not wait for it; end the backend
      const m = session.metrics;
      this.counters.dirtyEvicted++;
      this.logger.warn({ sessionId: m.sessionId, requestId: m.requestId, inFlight: session.inFlight }, 'dirty connection evicted from the pool');
      void this.endBackend(session.client.processID);
      return settled(this.settle(session, record, outcome, reason, null, new Error(`connection left dirty (${session.inFlight} statements in flight)`)));
    }
    if (!session.begun || !record.transactional || session.transactionEnded) return settled(this.settle(session, record, outcome, reason, null, undefined));
    return new Promise((resolve, reject) => {
      dispatch(session.client, { text: outcome === 'commit' ? 'COMMIT' : 'ROLLBACK' }, (error, ended) => {
        let failure: unknown = null;
        if (error) failure = classifyDatabaseError(error);
        // COMMIT of a transaction that an earlier (perhaps swallowed) error aborted answers ROLLBACK
        else if (outcome === 'commit' && ended.command === 'ROLLBACK') {
          failure = new TransactionAbortedError('the transaction was aborted by an earlier failed statement and has been rolled back');
        }
        const rejection = this.settle(session, record, outcome, reason, failure, error);
        if (rejection === SETTLED) resolve();
        else reject(rejection);
      });
    });
  }

  /** Gives the connection back (or evicts it) and closes the session's metrics; returns what `finish` rejects with, or `SETTLED`. */
  private settle(session: Session, record: SessionRecord, outcome: 'commit' | 'rollback', reason: unknown, failure: unknown, evict: Error | undefined): unknown {
    const m = session.metrics;
    const client = session.client;
    if (record.released) {
      // terminated (lifetime limit, shutdown) while COMMIT or ROLLBACK was under way: it owns the connection now
      return outcome === 'commit' ? (session.endedBy ?? failure) : SETTLED;
    }
    const status = client.getTransactionStatus();
    if (!evict && status !== 'I') {
      evict = new Error(`connection left dirty (transaction status ${status})`);
      this.counters.dirtyEvicted++;
      this.logger.warn({ sessionId: m.sessionId, requestId: m.requestId, transactionStatus: status }, 'dirty connection evicted from the pool');
    }
    record.released = true;
    client.release(evict);

    if (failure !== null) this.recordError(m, failure);
    const failed = failure !== null || (outcome === 'rollback' && reason !== null) || m.errorCount > 0;
    m.state = failure !== null ? 'error' : !session.begun || !record.transactional ? 'closed' : outcome === 'commit' ? 'committed' : 'rolled_back';
    this.closeMetrics(session, record, true);
    if (failed) this.logFailure(m, failure ?? reason ?? m.lastError, 'session failed');
    return failure !== null && outcome === 'commit' ? failure : SETTLED;
  }

  /** Current pool and session figures. */
  poolMetrics(): PoolMetrics {
    return {
      max: this.options.max,
      // checked out by sessions; connections still being opened are neither active nor idle
      active: this.active.size,
      idle: this.pool.idleCount,
      pending: this.pool.waitingCount,
      activeSessions: this.active.size,
      ...this.counters,
      breakerState: this.breakerState(),
      errorsByCode: { ...this.errorsByCode },
      acquireTime: this.acquireTime.snapshot(),
      sessionLifetime: this.sessionLifetime.snapshot(),
      queryTime: this.queryTime.snapshot(),
    };
  }

  /** Copies of the metrics of every open session. */
  activeSessions(): SessionMetrics[] {
    const now = Date.now();
    return [...this.active.keys()].map((s) => snapshotSessionMetrics(s.metrics, now));
  }

  breakerState(): BreakerState {
    const state = this.breaker.state;
    return state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half_open' : 'open';
  }

  /** A side-effect-free `SELECT 1` through the breaker (so it also serves as the half-open probe). */
  async health(): Promise<HealthReport> {
    const started = performance.now();
    let error: HealthReport['error'] = null;
    try {
      await this.breaker.execute(() => this.pool.query('SELECT 1'));
    } catch (e) {
      const typed = classifyDatabaseError(e, { poolSaturated: this.saturated() });
      error = { code: typed instanceof TetherError ? typed.code : 'database_error', message: (typed as Error).message };
    }
    return { status: error ? 'unavailable' : 'ok', latencyMs: performance.now() - started, breakerState: this.breakerState(), error, pool: this.poolMetrics() };
  }

  /**
   * Stops handing out sessions, waits up to `deadlineMs` for open ones to finish, terminates the rest, and
   * closes the pool.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    this.closing = true;
    if (this.active.size > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(timer);
      await Promise.all([...this.active.keys()].map((s) => this.terminate(s, new SessionClosedError('the session factory shut down before the session finished'))));
    }
    if (this.watchdog) clearInterval(this.watchdog);
    await this.pool.end();
  }

  private saturated(): boolean {
    return this.pool.totalCount - this.pool.idleCount >= this.options.max;
  }

  private recordError(metrics: SessionMetrics, error: unknown): void {
    const code = error instanceof TetherError ? error.code : (error as { code?: unknown })?.code !== undefined ? String((error as { code: unknown }).code) : 'error';
    metrics.errorCount++;
    metrics.lastError = { code, message: error instanceof Error ? error.message : String(error) };
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    if (this.events.active) {
      this.events.emit({ type: 'session_error', at: Date.now(), code, message: metrics.lastError.message, sessionId: metrics.sessionId, requestId: metrics.requestId, userId: metrics.userId });
    }
  }

  /** Errors, leaks and breaker changes as they happen; returns the unsubscribe function. */
  subscribe(listener: SessionEventListener): () => void {
    return this.events.subscribe(listener);
  }

  /**
   * One line per failed session, at a level that says whose problem it is: `info` for the caller's own
   * (Row-Level Security refusals, constraint and data errors: an attacker can cause these at will), `warn` for
   * database trouble that clears by itself, `error` for everything else.
   */
  private logFailure(metrics: SessionMetrics, error: unknown, message: string): void {
    try {
      const level = failureLevel(error);
      this.logger[level]({ session: sessionErrorContext(metrics, error) }, message);
    } catch {
      // logging must never replace the error being reported
    }
  }

  private closeMetrics(session: Session, record: SessionRecord, returned: boolean): void {
    const m = session.metrics;
    m.closedAt = Date.now();
    m.totalTimeMs = m.closedAt - m.createdAt;
    this.sessionLifetime.record(m.totalTimeMs);
    this.active.delete(session);
    if (record.leakReported && returned) {
      this.logger.info({ sessionId: m.sessionId, requestId: m.requestId, heldMs: m.totalTimeMs }, 'previously reported leaked session returned (unleaked)');
      this.events.emit({ type: 'unleak', at: m.closedAt ?? Date.now(), sessionId: m.sessionId, requestId: m.requestId, heldMs: m.totalTimeMs });
    }
    if (this.active.size === 0 && this.drained) this.drained();
  }

  /** Leak detection and the lifetime limit: one timer for the factory, nothing on the hot path. */
  private watch(): void {
    const now = Date.now();
    const { leakDetectionThresholdMs: leakMs, maxSessionLifetimeMs: lifetimeMs } = this.options;
    for (const [session, record] of this.active) {
      const age = now - session.metrics.createdAt;
      if (leakMs > 0 && age > leakMs && !record.leakReported) {
        const probe = record.leakProbe;
        record.leakProbe = null;
        // a session in `run` is reported by its caller's wait (with the caller's stack); any other one from here
        if (probe && session.metrics.state !== 'closing') probe(LEAK_PROBE);
        else this.reportLeak(session, session.openedAt);
      }
      if (lifetimeMs > 0 && age > lifetimeMs && !session.endedBy) {
        void this.terminate(session, new SessionTimeoutError(`session exceeded maxSessionLifetimeMs (${lifetimeMs} ms) and was terminated`));
      }
    }
  }

  /** Logs a session held past the leak threshold (once) with the stack of the code that opened it. */
  private reportLeak(session: Session, opener: { readonly stack?: string } | null): void {
    const record = this.active.get(session);
    if (!record || record.leakReported) return;
    record.leakReported = true;
    this.counters.leaksDetected++;
    const m = session.metrics;
    const now = Date.now();
    const heldMs = now - m.createdAt;
    const openedAt = opener?.stack ?? null;
    const statement = session.statement === null ? null : session.statement.slice(0, 500);
    this.logger.warn({ sessionId: m.sessionId, requestId: m.requestId, userId: m.userId, heldMs, openedAt, statement }, 'possible session leak');
    this.events.emit({ type: 'leak', at: now, sessionId: m.sessionId, requestId: m.requestId, userId: m.userId, heldMs, openedAt, statement });
  }

  /** Cancels the session's backend, destroys its connection and frees its pool slot. */
  private async terminate(session: Session, reason: TetherError): Promise<void> {
    const record = this.active.get(session);
    if (!record || record.released) return;
    session.endedBy = reason;
    record.released = true;
    this.counters.sessionsTerminated++;
    const m = session.metrics;
    this.recordError(m, reason);
    m.state = 'error';
    this.logFailure(m, reason, 'session terminated');
    await this.endBackend(session.client.processID);
    session.client.release(reason);
    this.closeMetrics(session, record, false);
  }

  /**
   * Ends a backend from a separate connection: a pipelined pg client waits for its running statements before
   * it disconnects, so destroying the connection alone would leave the statement running on the server.
   */
  private async endBackend(pid: number | null | undefined): Promise<void> {
    if (!pid || !this.connectionString) return;
    const killer = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 2_000 });
    killer.on('error', () => {});
    try {
      await killer.connect();
      await killer.query('SELECT pg_terminate_backend($1)', [pid]);
    } catch {
      // the server ends the backend itself once it notices the closed connection
    } finally {
      await killer.end().catch(() => {});
    }
  }
}

/** What `settle` returns when `finish` resolves. */
const SETTLED = Symbol('settled');
/** The promise `finish` returns when nothing was left to wait for: `run` need not await it. */
const SETTLED_NOW = Promise.resolve();
const settled = (rejection: unknown): Promise<void> => (rejection === SETTLED ? SETTLED_NOW : Promise.reject(rejection));

const OPENING_STACK_FRAMES = 8;
/** What an interrupted wait in `run` resolves with. */
const LEAK_PROBE = Symbol('leak probe');
/** Distinct statement texts prepared by name; past this, statements go unnamed (planned every time). */
const MAX_PREPARED = 1_000;

/** 32-bit FNV-1a of a statement's text, in base 36: a short, stable prepared-statement name. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

/** The stack of the code that called `entry`, for leak reports: frames are captured now, formatted only if ever reported. */
function callerStack(entry: (...args: never[]) => unknown): { stack?: string } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = OPENING_STACK_FRAMES; // the caller's frames matter; deeper ones cost without telling more
  const site: { stack?: string } = {};
  // start the trace at the code that asked for the session, not inside the factory
  Error.captureStackTrace(site, entry);
  Error.stackTraceLimit = limit;
  return site;
}

/** SQLSTATE classes of errors in the caller's input: 22 data exception, 23 integrity constraint violation. */
const CALLER_SQLSTATE = /^(22|23)/;

function failureLevel(error: unknown): 'info' | 'warn' | 'error' {
  if (error instanceof IsolationViolationError) return 'info';
  if (error instanceof TetherError) return error.retryable ? 'warn' : 'error';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CALLER_SQLSTATE.test(code) ? 'info' : 'error';
}

/** Role, user and request id for the transaction only (`SET LOCAL`), in one statement. */
const CONTEXT_SQL = "SELECT set_config('role', $1, true), set_config('app.user_id', $2, true), set_config('application_name', $3, true)";
const CONTEXT_WITH_TIMEOUT_SQL = `${CONTEXT_SQL}, set_config('statement_timeout', $4, true)`;

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
