import { classifyDatabaseError, TransactionAbortedError, type TetherError } from './errors.js';
import type { FactoryStatistics } from './factory-statistics.js';
import { logFailure, type SessionLogger } from './failure-log.js';
import type { LeakTask } from './leak-task.js';
import type { OpenSessions, SessionRecord } from './open-sessions.js';
import { terminateBackend } from './pool.js';
import type { Session } from './session.js';
import { cancelRunningStatement, type SessionClient, type Wire } from './wire.js';

export interface SessionReleaseHost {
  readonly wire: Wire;
  readonly sessions: OpenSessions;
  readonly statistics: FactoryStatistics;
  readonly leaks: LeakTask;
  readonly logger: SessionLogger;
  /** Where `terminateBackend` connects to end a backend; undefined with a pool passed in. */
  readonly connectionString: string | undefined;
  /** Behind a transaction-mode pooler a process id is the pooler's, not a backend's. */
  readonly pooled: boolean;
}

/** What `settle` returns when `finish` resolves. */
const SETTLED = Symbol('settled');
/** The promise `finish` returns when nothing was left to wait for: the factory need not await it. */
export const SETTLED_NOW = Promise.resolve();
const settled = (rejection: unknown): Promise<void> =>
  rejection === SETTLED ? SETTLED_NOW : Promise.reject(rejection);

/**
 * How a session gives its connection back (HikariCP's recycle and close of a pool entry): COMMIT or ROLLBACK, the
 * connection checked and released or evicted, the session's metrics closed and a failure logged once; or, by
 * force (lifetime limit, shutdown), its backend ended and its connection destroyed.
 */
export class SessionRelease {
  constructor(private readonly host: SessionReleaseHost) {}

  /**
   * Ends a session: COMMIT or ROLLBACK, check the connection, release or evict it. (One promise, settled from pg's
   * callback: this runs once per session.)
   */
  finish(session: Session, outcome: 'commit' | 'rollback', reason: unknown): Promise<void> {
    const phase = session.phase;
    const record = this.host.sessions.get(session);
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
      this.host.statistics.counters.dirtyEvicted++;
      this.host.logger.warn(
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
      this.host.wire.send(session.client, { text: outcome === 'commit' ? 'COMMIT' : 'ROLLBACK' }, (error, ended) => {
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

  /**
   * Gives the connection back (or evicts it) and closes the session's metrics; returns what `finish` rejects with,
   * or `SETTLED`.
   */
  private settle(
    session: Session,
    record: SessionRecord,
    began: boolean,
    outcome: 'commit' | 'rollback',
    reason: unknown,
    failure: unknown,
    evict: Error | undefined,
  ): unknown {
    const { statistics, logger } = this.host;
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
      statistics.counters.dirtyEvicted++;
      logger.warn(
        { sessionId: m.sessionId, requestId: m.requestId, transactionStatus: status },
        'dirty connection evicted from the pool',
      );
    }
    session.phase = 'closed';
    client.release(evict);

    if (failure !== null) statistics.recordError(m, failure);
    const failed = failure !== null || (outcome === 'rollback' && reason !== null) || m.errorCount > 0;
    m.state =
      failure !== null
        ? 'error'
        : !began || !record.transactional
          ? 'closed'
          : outcome === 'commit'
            ? 'committed'
            : 'rolled_back';
    this.host.sessions.remove(session);
    this.host.leaks.returned(session, record);
    if (failed) logFailure(logger, m, failure ?? reason ?? m.lastError, 'session failed');
    return failure !== null && outcome === 'commit' ? failure : SETTLED;
  }

  /** Cancels the session's backend, destroys its connection and frees its pool slot. */
  async terminate(session: Session, reason: TetherError): Promise<void> {
    const record = this.host.sessions.get(session);
    const phase = session.phase;
    if (!record || phase === 'closed' || typeof phase === 'object') return;
    session.phase = { terminatedBy: reason };
    this.host.statistics.counters.sessionsTerminated++;
    const m = session.metrics;
    this.host.statistics.recordError(m, reason);
    m.state = 'error';
    logFailure(this.host.logger, m, reason, 'session terminated');
    await this.endBackend(session.client);
    session.client.release(reason);
    this.host.sessions.remove(session);
  }

  /**
   * Stops what the connection is running before it is destroyed. Behind a transaction-mode pooler the process id
   * is the pooler's, not a backend's: the statement is cancelled through the pooler, which closes the server
   * connection of a client that leaves mid-transaction.
   */
  private endBackend(client: SessionClient): Promise<void> {
    if (this.host.pooled) return cancelRunningStatement(client);
    return terminateBackend(this.host.connectionString, client.processID);
  }
}
