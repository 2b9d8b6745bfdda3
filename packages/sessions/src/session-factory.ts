import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Breaker } from './breaker.js';
import { classifyDatabaseError, PoolExhaustedError, SessionClosedError, TetherError } from './errors.js';
import { FactoryStatistics } from './factory-statistics.js';
import { logFailure, silentLogger, type SessionLogger } from './failure-log.js';
import {
  contextStatement,
  identityOf,
  roleName,
  type Identity,
  type SessionRoles,
  type TransactionDefaults,
} from './identity.js';
import { callerStack, LEAK_PROBE, LeakTask } from './leak-task.js';
import { OpenSessions } from './open-sessions.js';
import type { BreakerState, PoolMetrics } from './pool-metrics.js';
import { sessionPool } from './pool.js';
import { PreparedStatementRegistry } from './prepared-statements.js';
import { Session, type SessionHost } from './session.js';
import {
  SESSION_FACTORY_DEFAULTS,
  type ConnectionPool,
  type HealthReport,
  type SessionContext,
  type SessionFactoryOptions,
} from './factory-options.js';
import { SessionEventHub, type SessionEventListener } from './session-events.js';
import { createSessionMetrics, type SessionMetrics } from './session-metrics.js';
import { SessionRelease, SETTLED_NOW } from './session-release.js';
import {
  batchingWire,
  BEGIN_STATEMENT,
  publicWire,
  UNNAMED_BEGIN_STATEMENT,
  type PreludeStatement,
  type SessionClient,
  type Wire,
} from './wire.js';

export type { SessionLogger } from './failure-log.js';
export * from './factory-options.js';

const storage = new AsyncLocalStorage<Session>();

/** The session whose callback is running, if any (through `AsyncLocalStorage`). */
export function currentSession(): Session | undefined {
  return storage.getStore();
}

/**
 * Hands out request-scoped PostgreSQL sessions: each runs as the unprivileged application role with the
 * user's id set for Row-Level Security, is measured in its `SessionMetrics`, and gives its connection back
 * clean or not at all. Its parts: identity and context (identity.ts), prepared-statement names
 * (prepared-statements.ts), the leak task (leak-task.ts), statistics (factory-statistics.ts), the open sessions
 * (open-sessions.ts), how a session gives its connection back (session-release.ts), the pool (pool.ts) and the
 * wire (wire.ts); the factory opens and runs sessions, and closes itself.
 */
export class SessionFactory implements SessionHost {
  readonly options: Required<Omit<SessionFactoryOptions, 'pool' | 'connectionString' | 'logger'>>;
  /** @internal how sessions' statements reach pg */
  readonly wire: Wire;
  /** @internal `BEGIN` as a batch's first statement (unnamed behind a transaction-mode pooler) */
  readonly beginStatement: PreludeStatement;
  /** Behind a transaction-mode pooler: the timeouts each transaction sets for itself; undefined otherwise. */
  private readonly transactionDefaults: TransactionDefaults | undefined;
  private readonly pool: ConnectionPool;
  private readonly logger: SessionLogger;
  private readonly roles: SessionRoles;
  private readonly breaker: Breaker;
  private readonly events = new SessionEventHub();
  private readonly statistics = new FactoryStatistics(this.events);
  private readonly sessions = new OpenSessions(this.statistics);
  private readonly statements: PreparedStatementRegistry;
  private readonly leaks: LeakTask;
  private readonly release: SessionRelease;
  private closing = false;

  constructor(options: SessionFactoryOptions) {
    const o = { ...SESSION_FACTORY_DEFAULTS, ...definedOnly(options) };
    this.options = o;
    this.logger = options.logger ?? silentLogger;
    this.wire = o.batchStatements ? batchingWire : publicWire;
    const pooled = o.pooler === 'transaction';
    this.beginStatement = pooled ? UNNAMED_BEGIN_STATEMENT : BEGIN_STATEMENT;
    this.transactionDefaults = pooled
      ? { statementTimeoutMs: o.statementTimeoutMs, idleInTransactionTimeoutMs: o.idleInTransactionTimeoutMs }
      : undefined;
    // a named statement would outlive its transaction on a server connection the pooler shares
    this.statements = new PreparedStatementRegistry(pooled ? 0 : undefined);
    this.roles = { app: roleName(o.appRole), system: roleName(o.systemRole) };
    if (options.pool) {
      this.pool = options.pool;
    } else {
      if (!options.connectionString) throw new TypeError('SessionFactory needs a connectionString or a pool');
      this.pool = sessionPool(options.connectionString, o);
    }
    const counters = this.statistics.counters;
    this.pool.on('connect', (client) => {
      counters.totalCreated++;
      // a server that goes away mid-session makes a checked-out client emit 'error' (FATAL 57P01, reset): logged
      // here (the failing query reports it typed); it also keeps a pool passed in without listeners from crashing
      (client as { on?: (event: 'error', listener: (error: Error) => void) => void }).on?.('error', (error) =>
        this.logger.warn({ error: error.message }, 'database connection failed'),
      );
    });
    this.pool.on('remove', () => counters.totalClosed++);
    // an idle connection whose server went away: the pool removes it and says so here (an EventEmitter's
    // 'error' without a listener would crash the process)
    this.pool.on('error', (error) =>
      this.logger.warn({ error: (error as Error).message }, 'idle database connection failed and was removed'),
    );

    this.breaker = new Breaker(o, { events: this.events, statistics: this.statistics, logger: this.logger });

    this.leaks = new LeakTask(o, {
      open: this.sessions.records,
      logger: this.logger,
      events: this.events,
      statistics: this.statistics,
      terminate: (session, reason) => this.release.terminate(session, reason),
    });
    this.release = new SessionRelease({
      wire: this.wire,
      sessions: this.sessions,
      statistics: this.statistics,
      leaks: this.leaks,
      logger: this.logger,
      connectionString: options.connectionString,
      pooled,
    });
  }

  /**
   * Runs `work` in a new session: commits when it resolves, rolls back when it throws, and always gives the
   * connection back (or evicts it). Errors from the database arrive typed (`TetherError`), with the driver
   * error as `cause`.
   */
  withSession<T>(context: SessionContext, work: (session: Session) => Promise<T>): Promise<T> {
    const perform = (session: Session): Promise<T> => {
      // a callback that returns its first statement's promise gets a one-round-trip transaction (see
      // holdFirstStatement)
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
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    context: SessionContext,
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.run(context, (session) => session.queryAndCommit<R>(text, values), false);
  }

  /**
   * Opens a session, runs `perform` in it, commits or rolls back. No opening stack is captured (that costs
   * microseconds per session): the caller is suspended at its `await` for as long as the session lasts, so if
   * the leak task finds the session leaked, the wait below is interrupted and the report is made from here,
   * where V8's async stack trace still names the caller and the line it awaits on.
   */
  private async run<T>(
    context: SessionContext,
    perform: (session: Session) => Promise<T>,
    callsBack: boolean,
  ): Promise<T> {
    const opened = this.open(context, null);
    // an idle connection needs no wait, but a caller's callback never runs inside its withSession call
    const session = opened instanceof Session && !callsBack ? opened : await opened;
    let result: T;
    try {
      const pending = perform(session);
      const answer = this.leaks.detectsLeaks ? await this.leaks.interruptible(session, pending) : await pending;
      if (answer === LEAK_PROBE) {
        this.leaks.report(session, callerStack(this.run));
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

  /** An explicit session handle for code that cannot use a callback: `await using s = await factory.openSession(…)`. */
  openSession(context: SessionContext = {}): Promise<Session> {
    // the caller moves on with the handle, so its stack is captured now (before the first await, so it still names it)
    return Promise.resolve(this.open(context, this.leaks.detectsLeaks ? callerStack(this.openSession) : null));
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
    const metrics = createSessionMetrics(
      sessionId,
      context.requestId ?? sessionId,
      identity.userId,
      context.threadId ?? null,
      now,
    );
    const started = performance.now();
    const counters = this.statistics.counters;
    const adopt = (client: SessionClient): Session => {
      this.statistics.acquireTime.record(performance.now() - started);
      const session = new Session(metrics, client, this, openedAt);
      this.sessions.add(session, {
        identity,
        // behind a transaction-mode pooler the role is no connection default: anonymous work needs its context too
        transactional:
          identity.kind !== 'anonymous' || context.transaction === true || this.transactionDefaults !== undefined,
        statementTimeoutMs: context.statementTimeoutMs,
        leakReported: false,
        leakProbe: null,
      });
      if (identity.kind === 'privileged') {
        this.logger.debug?.(
          { sessionId, requestId: metrics.requestId, identity: identity.userId, role: this.roles.system },
          'privileged session opened',
        );
      }
      return session;
    };
    const fail = (error: unknown): never => {
      const typed = classifyDatabaseError(error);
      if (typed instanceof PoolExhaustedError) counters.acquireTimeouts++;
      counters.sessionsFailed++;
      this.statistics.recordError(metrics, typed);
      metrics.state = 'error';
      metrics.closedAt = Date.now();
      metrics.totalTimeMs = metrics.closedAt - now;
      logFailure(this.logger, metrics, typed, 'session could not acquire a connection');
      throw typed;
    };
    const waiterKey = identity.userId ?? ''; // a full pool serves waiting identities in turn
    if (this.breaker.quiet) {
      const idle = this.pool.acquireIdle?.();
      if (idle !== undefined) return adopt(idle);
      return this.pool
        .connect(waiterKey)
        .then(adopt, (error: unknown) => this.breaker.execute(() => Promise.reject(error)).then(adopt, fail));
    }
    return this.breaker.execute(() => this.pool.connect(waiterKey)).then(adopt, fail);
  }

  /** @internal the statement that sets a session's context inside its transaction; prepared, with bind values. */
  contextStatement(session: Session): PreludeStatement | null {
    const record = this.sessions.get(session);
    if (!record || !record.transactional) return null;
    return contextStatement(
      record.identity,
      this.roles,
      this.options.applicationName,
      session.metrics.requestId,
      record.statementTimeoutMs,
      this.transactionDefaults,
    );
  }

  /** @internal see `PreparedStatementRegistry`. */
  statementName(text: string): string | undefined {
    return this.statements.nameOf(text);
  }

  /** @internal measures a statement and types its error. */
  onQuery(session: Session, ms: number, error: unknown): unknown {
    this.statistics.queryTime.record(ms);
    if (error === null) return null;
    const terminatedBy = session.terminatedBy;
    if (terminatedBy) return terminatedBy; // the connection failed because we ended it
    const typed = classifyDatabaseError(error);
    this.statistics.recordError(session.metrics, typed);
    return typed;
  }

  /** @internal see `SessionRelease.finish`. */
  finish(session: Session, outcome: 'commit' | 'rollback', reason: unknown): Promise<void> {
    return this.release.finish(session, outcome, reason);
  }

  /** Current pool and session figures. */
  poolMetrics(): PoolMetrics {
    return this.statistics.snapshot({
      max: this.options.max,
      // checked out by sessions; connections still being opened are neither active nor idle
      active: this.sessions.size,
      idle: this.pool.idleCount,
      pending: this.pool.waitingCount,
      breakerState: this.breakerState(),
    });
  }

  /** Copies of the metrics of every open session. */
  activeSessions(): SessionMetrics[] {
    return this.sessions.snapshots();
  }

  breakerState(): BreakerState {
    return this.breaker.state;
  }

  /** A side-effect-free `SELECT 1` through the breaker (so it also serves as the half-open probe). */
  async health(): Promise<HealthReport> {
    const started = performance.now();
    let error: HealthReport['error'] = null;
    try {
      await this.breaker.execute(() => this.pool.query('SELECT 1'));
    } catch (e) {
      const typed = classifyDatabaseError(e);
      error = { code: typed instanceof TetherError ? typed.code : 'database_error', message: (typed as Error).message };
    }
    return {
      status: error ? 'unavailable' : 'ok',
      latencyMs: performance.now() - started,
      breakerState: this.breakerState(),
      error,
      pool: this.poolMetrics(),
    };
  }

  /**
   * Stops handing out sessions, waits up to `deadlineMs` for open ones to finish, terminates the rest, and
   * closes the pool.
   */
  async close(deadlineMs = 10_000): Promise<void> {
    this.closing = true;
    await this.sessions.whenEmpty(deadlineMs);
    const reason = 'the session factory shut down before the session finished';
    const left = this.sessions.list();
    await Promise.all(left.map((s) => this.release.terminate(s, new SessionClosedError(reason))));
    this.leaks.stop();
    await this.pool.end();
  }

  /** Errors, leaks and breaker changes as they happen; returns the unsubscribe function. */
  subscribe(listener: SessionEventListener): () => void {
    return this.events.subscribe(listener);
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
