import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Breaker } from './breaker.js';
import {
  classifyDatabaseError,
  PoolExhaustedError,
  SessionClosedError,
  TetherError,
  TransactionAbortedError,
} from './errors.js';
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
import { callerStack, LEAK_PROBE, LeakTask, type LeakWatch } from './leak-task.js';
import type { BreakerState, PoolMetrics } from './pool-metrics.js';
import { sessionPool, terminateBackend } from './pool.js';
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
import { createSessionMetrics, snapshotSessionMetrics, type SessionMetrics } from './session-metrics.js';
import {
  batchingWire,
  BEGIN_STATEMENT,
  cancelRunningStatement,
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

/** Per-session facts the factory keeps beside the public metrics. */
interface SessionRecord extends LeakWatch {
  readonly identity: Identity;
  readonly transactional: boolean;
  readonly statementTimeoutMs: number | undefined;
}

/**
 * Hands out request-scoped PostgreSQL sessions: each runs as the unprivileged application role with the
 * user's id set for Row-Level Security, is measured in its `SessionMetrics`, and gives its connection back
 * clean or not at all. Its parts: identity and context (identity.ts), prepared-statement names
 * (prepared-statements.ts), the leak task (leak-task.ts), statistics (factory-statistics.ts), the pool
 * (pool.ts) and the wire (wire.ts); the factory opens, runs, ends and closes sessions.
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
  private readonly connectionString: string | undefined;
  private readonly logger: SessionLogger;
  private readonly roles: SessionRoles;
  private readonly breaker: Breaker;
  private readonly active = new Map<Session, SessionRecord>();
  private readonly events = new SessionEventHub();
  private readonly statistics = new FactoryStatistics(this.events);
  private readonly statements: PreparedStatementRegistry;
  private readonly leaks: LeakTask;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(options: SessionFactoryOptions) {
    const o = { ...SESSION_FACTORY_DEFAULTS, ...definedOnly(options) };
    this.options = o;
    this.logger = options.logger ?? silentLogger;
    this.connectionString = options.connectionString;
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
      open: this.active,
      logger: this.logger,
      events: this.events,
      statistics: this.statistics,
      terminate: (session, reason) => this.terminate(session, reason),
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
      this.active.set(session, {
        identity,
        // behind a transaction-mode pooler the role is no connection default: anonymous work needs its context too
        transactional:
          identity.kind !== 'anonymous' || context.transaction === true || this.transactionDefaults !== undefined,
        statementTimeoutMs: context.statementTimeoutMs,
        leakReported: false,
        leakProbe: null,
      });
      counters.sessionsOpened++;
      if (this.active.size > counters.peakConcurrent) counters.peakConcurrent = this.active.size;
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
    const record = this.active.get(session);
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

  /**
   * @internal ends a session: COMMIT or ROLLBACK, check the connection, release or evict it. (One promise,
   * settled from pg's callback: this runs once per session.)
   */
  finish(session: Session, outcome: 'commit' | 'rollback', reason: unknown): Promise<void> {
    const phase = session.phase;
    const record = this.active.get(session);
    if (phase === 'closing' || phase === 'closed' || typeof phase === 'object' || !record) {
      // ended already, or terminated: the connection is gone
      const terminatedBy = session.terminatedBy;
      return outcome === 'commit' && terminatedBy ? Promise.reject(terminatedBy) : Promise.resolve();
    }
    session.phase = 'closing';
    session.metrics.state = 'closing';
    const began = phase !== 'fresh';
    if (session.inFlight > 0) {
      // a statement still running (the callback did not await it): do not wait for it; end the backend
      const m = session.metrics;
      this.statistics.counters.dirtyEvicted++;
      this.logger.warn(
        { sessionId: m.sessionId, requestId: m.requestId, inFlight: session.inFlight },
        'dirty connection evicted from the pool',
      );
      void this.endBackend(session.client);
      const dirty = new Error(`connection left dirty (${session.inFlight} statements in flight)`);
      return settled(this.settle(session, record, began, outcome, reason, null, dirty));
    }
    // nothing to end: nothing began, autocommit, or a one-statement transaction that ended with its statement
    if (!began || !record.transactional || phase === 'sealed')
      return settled(this.settle(session, record, began, outcome, reason, null, undefined));
    return new Promise((resolve, reject) => {
      this.wire.send(session.client, { text: outcome === 'commit' ? 'COMMIT' : 'ROLLBACK' }, (error, ended) => {
        let failure: unknown = null;
        if (error) failure = classifyDatabaseError(error);
        // COMMIT of a transaction that an earlier (perhaps swallowed) error aborted answers ROLLBACK
        else if (outcome === 'commit' && ended.command === 'ROLLBACK') {
          failure = new TransactionAbortedError(
            'the transaction was aborted by an earlier failed statement and has been rolled back',
          );
        }
        const rejection = this.settle(session, record, began, outcome, reason, failure, error);
        if (rejection === SETTLED) resolve();
        else reject(rejection);
      });
    });
  }

  /** Gives the connection back (or evicts it) and closes the session's metrics; returns what `finish` rejects with, or
   * `SETTLED`. */
  private settle(
    session: Session,
    record: SessionRecord,
    began: boolean,
    outcome: 'commit' | 'rollback',
    reason: unknown,
    failure: unknown,
    evict: Error | undefined,
  ): unknown {
    const m = session.metrics;
    const client = session.client;
    const terminatedBy = session.terminatedBy;
    if (terminatedBy) {
      // terminated (lifetime limit, shutdown) while COMMIT or ROLLBACK was under way: it owns the connection now
      return outcome === 'commit' ? (terminatedBy ?? failure) : SETTLED;
    }
    const status = client.getTransactionStatus();
    if (!evict && status !== 'I') {
      evict = new Error(`connection left dirty (transaction status ${status})`);
      this.statistics.counters.dirtyEvicted++;
      this.logger.warn(
        { sessionId: m.sessionId, requestId: m.requestId, transactionStatus: status },
        'dirty connection evicted from the pool',
      );
    }
    session.phase = 'closed';
    client.release(evict);

    if (failure !== null) this.statistics.recordError(m, failure);
    const failed = failure !== null || (outcome === 'rollback' && reason !== null) || m.errorCount > 0;
    m.state =
      failure !== null
        ? 'error'
        : !began || !record.transactional
          ? 'closed'
          : outcome === 'commit'
            ? 'committed'
            : 'rolled_back';
    this.closeMetrics(session, record, true);
    if (failed) logFailure(this.logger, m, failure ?? reason ?? m.lastError, 'session failed');
    return failure !== null && outcome === 'commit' ? failure : SETTLED;
  }

  /** Current pool and session figures. */
  poolMetrics(): PoolMetrics {
    return this.statistics.snapshot({
      max: this.options.max,
      // checked out by sessions; connections still being opened are neither active nor idle
      active: this.active.size,
      idle: this.pool.idleCount,
      pending: this.pool.waitingCount,
      breakerState: this.breakerState(),
    });
  }

  /** Copies of the metrics of every open session. */
  activeSessions(): SessionMetrics[] {
    const now = Date.now();
    return [...this.active.keys()].map((s) => snapshotSessionMetrics(s.metrics, now));
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
    if (this.active.size > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(timer);
      await Promise.all(
        [...this.active.keys()].map((s) =>
          this.terminate(s, new SessionClosedError('the session factory shut down before the session finished')),
        ),
      );
    }
    this.leaks.stop();
    await this.pool.end();
  }

  /** Errors, leaks and breaker changes as they happen; returns the unsubscribe function. */
  subscribe(listener: SessionEventListener): () => void {
    return this.events.subscribe(listener);
  }

  private closeMetrics(session: Session, record: SessionRecord, returned: boolean): void {
    const m = session.metrics;
    m.closedAt = Date.now();
    m.totalTimeMs = m.closedAt - m.createdAt;
    this.statistics.sessionLifetime.record(m.totalTimeMs);
    this.active.delete(session);
    if (returned) this.leaks.returned(session, record);
    if (this.active.size === 0 && this.drained) this.drained();
  }

  /** Cancels the session's backend, destroys its connection and frees its pool slot. */
  private async terminate(session: Session, reason: TetherError): Promise<void> {
    const record = this.active.get(session);
    const phase = session.phase;
    if (!record || phase === 'closed' || typeof phase === 'object') return;
    session.phase = { terminatedBy: reason };
    this.statistics.counters.sessionsTerminated++;
    const m = session.metrics;
    this.statistics.recordError(m, reason);
    m.state = 'error';
    logFailure(this.logger, m, reason, 'session terminated');
    await this.endBackend(session.client);
    session.client.release(reason);
    this.closeMetrics(session, record, false);
  }

  /**
   * Stops what the connection is running before it is destroyed. Behind a transaction-mode pooler the process id
   * is the pooler's, not a backend's: the statement is cancelled through the pooler, which closes the server
   * connection of a client that leaves mid-transaction.
   */
  private endBackend(client: SessionClient): Promise<void> {
    if (this.transactionDefaults !== undefined) return cancelRunningStatement(client);
    return terminateBackend(this.connectionString, client.processID);
  }
}

/** What `settle` returns when `finish` resolves. */
const SETTLED = Symbol('settled');
/** The promise `finish` returns when nothing was left to wait for: `run` need not await it. */
const SETTLED_NOW = Promise.resolve();
const settled = (rejection: unknown): Promise<void> =>
  rejection === SETTLED ? SETTLED_NOW : Promise.reject(rejection);

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
