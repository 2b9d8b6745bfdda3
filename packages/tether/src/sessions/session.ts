import pg from 'pg';
import { acceptsBatch, BEGIN_STATEMENT, type PreludeStatement, sendBatch, sendStatement, type StatementCallback, type StatementConfig } from './statement-batch.js';
import { SessionClosedError, TransactionAbortedError } from './errors.js';
import type { SessionMetrics } from './session-metrics.js';

/** What a session needs from a pooled connection: a subset of `pg.PoolClient`, so a stub can stand in. */
export interface SessionClient {
  /** pg's callback form: the session makes one promise per statement instead of pg's promise and its own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: StatementConfig, callback: StatementCallback<R>): void;
  release(destroy?: Error | boolean): void;
  getTransactionStatus(): string | null;
  readonly processID?: number | null;
}

/** Sends one statement and resolves with its result; `settled` runs when the server has answered, either way. */
export function submit<R extends pg.QueryResultRow = pg.QueryResultRow>(client: SessionClient, config: StatementConfig, settled?: () => void): Promise<pg.QueryResult<R>> {
  return answer<R>((callback) => dispatch(client, config, callback), settled);
}

/** The result `send` is answered with, as a promise; `settled` runs first, whatever the answer. */
function answer<R extends pg.QueryResultRow>(send: (callback: StatementCallback<R>) => void, settled?: () => void): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    send((error, result) => {
      settled?.();
      if (error) reject(error);
      else resolve(result);
    });
  });
}

/** Hands a statement to the client: a pg client gets a query object (see `sendStatement`), a stand-in the config. */
function dispatch<R extends pg.QueryResultRow>(client: SessionClient, config: StatementConfig, callback: StatementCallback<R>): void {
  if (client instanceof pg.Client) sendStatement(client, config, callback);
  else client.query<R>(config, callback);
}

type Corkable = { cork(): void; uncork(): void };

/**
 * Runs `send` with pg's socket corked, when it can be reached: corking it around the statements of one round trip makes them one
 * write (one system call) instead of one each. pg has no public API for this; without it, nothing changes
 * but the number of writes.
 */
function corked<T>(client: SessionClient, send: () => T): T {
  const stream = (client as { connection?: { stream?: Partial<Corkable> } }).connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return send();
  stream.cork();
  try {
    return send();
  } finally {
    stream.uncork();
  }
}

/** The parts of the factory a session calls back into; kept narrow so that a session knows no pool. */
export interface SessionHost {
  /** The statement that sets a transactional session's context (role, user, request id), or null for none. */
  contextStatement(session: Session): PreludeStatement | null;
  /** The prepared-statement name for a parameterized statement, or undefined to send it unnamed. */
  statementName(text: string): string | undefined;
  onQuery(session: Session, ms: number, error: unknown): unknown;
  finish(session: Session, outcome: 'commit' | 'rollback', error: unknown): Promise<void>;
}

/**
 * One request's PostgreSQL session. The transaction starts lazily with the first query (sent in the same
 * round trip as the context), and ends with `commit()` or `rollback()`; `close()` and `await using` roll back
 * whatever was not committed.
 */
export class Session implements AsyncDisposable {
  /** Set once the transaction (BEGIN and the context) has been sent. */
  begun = false;
  /** Queries sent and not yet answered: a connection released with any is dirty. */
  inFlight = 0;
  /** Set when the transaction already ended together with its statement (`queryAndCommit`). */
  transactionEnded = false;
  /** Set when the watchdog ended the session (max lifetime) or the factory closed it. */
  endedBy: Error | null = null;
  finished = false;
  /** The text of the statement sent last (running, if the session is active): leak reports name it. */
  statement: string | null = null;

  /** @internal created by SessionFactory */
  constructor(
    readonly metrics: SessionMetrics,
    readonly client: SessionClient,
    private readonly host: SessionHost,
    /** Where the session was opened, for leak reports; null when leak detection is off. */
    readonly openedAt: { readonly stack?: string } | null,
  ) {}

  get id(): string {
    return this.metrics.sessionId;
  }

  /** Runs one statement in this session's transaction, with the session's user, role and timeouts. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.finished || this.endedBy) throw this.endedBy ?? new SessionClosedError(`session ${this.id} is closed`);
    const metrics = this.metrics;
    metrics.state = 'active';
    this.statement = text;
    const started = performance.now();
    try {
      const result = await (this.begun ? this.send<R>(text, values) : this.start<R>(text, values));
      metrics.queryCount++;
      this.host.onQuery(this, performance.now() - started, null);
      return result;
    } catch (error) {
      metrics.queryCount++;
      throw this.host.onQuery(this, performance.now() - started, error);
    } finally {
      if (metrics.state === 'active') metrics.state = 'idle';
      metrics.lastActivityAt = Date.now();
    }
  }

  /**
   * The first statement: it leaves with BEGIN and the context in one batch (one Sync, one answer), or, the
   * first time a named statement meets a connection, pipelined behind them in one write.
   */
  private start<R extends pg.QueryResultRow>(text: string, values: unknown[] | undefined): Promise<pg.QueryResult<R>> {
    const context = this.host.contextStatement(this);
    this.begun = true;
    if (context === null) return this.send<R>(text, values); // anonymous: autocommit
    this.metrics.transactionCount++;
    const name = values === undefined ? undefined : this.host.statementName(text);
    if (acceptsBatch(this.client, name, text)) return this.submitBatch<R>(this.client, [BEGIN_STATEMENT, context], { text, values, name });
    const { begin, pending } = corked(this.client, () => ({ begin: this.sendBegin(context), pending: this.send<R>(text, values) }));
    // when BEGIN or the context fails, that failure is the one to report, once the statement has settled too
    return begin.then(
      () => pending,
      async (error: unknown) => {
        await pending.catch(() => {});
        throw error;
      },
    );
  }

  /**
   * One statement as the whole transaction of a fresh session (what `SessionFactory.query` runs), in one round
   * trip: the context and the statement as one batch in PostgreSQL's implicit transaction; or, the first time a
   * named statement meets a connection, BEGIN, context, statement and COMMIT pipelined in one write (a failing
   * statement turns that COMMIT into a ROLLBACK).
   */
  async queryAndCommit<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.finished || this.endedBy || this.begun) throw this.endedBy ?? new SessionClosedError(`session ${this.id} is not fresh`);
    const context = this.host.contextStatement(this);
    if (context === null) return this.query<R>(text, values); // anonymous: autocommit, one statement
    const metrics = this.metrics;
    metrics.state = 'active';
    this.statement = text;
    const started = performance.now();
    const name = values === undefined ? undefined : this.host.statementName(text);
    this.begun = true;
    metrics.transactionCount++;
    metrics.queryCount++;
    if (acceptsBatch(this.client, name, text)) {
      // the context and the statement in one implicit transaction: no BEGIN, no COMMIT
      try {
        const result = await this.submitBatch<R>(this.client, [context], { text, values, name });
        this.host.onQuery(this, performance.now() - started, null);
        return result;
      } catch (error) {
        throw this.host.onQuery(this, performance.now() - started, error);
      } finally {
        this.transactionEnded = true; // committed or rolled back at the batch's Sync
        metrics.state = 'idle';
        metrics.lastActivityAt = Date.now();
      }
    }
    // BEGIN, the context, the statement and COMMIT leave in one write
    const { begin, pending, commit } = corked(this.client, () => ({
      begin: this.sendBegin(context),
      pending: this.send<R>(text, values),
      commit: this.submit({ text: 'COMMIT' }),
    }));
    try {
      await begin;
      const result = await pending;
      const ended = await commit;
      this.transactionEnded = true;
      if (ended.command === 'ROLLBACK') throw new TransactionAbortedError('the transaction was rolled back at commit');
      this.host.onQuery(this, performance.now() - started, null);
      return result;
    } catch (error) {
      // let the rest of the pipeline settle: the connection goes back clean, or is evicted if it broke
      await Promise.allSettled([begin, pending, commit]);
      this.transactionEnded = true;
      throw error instanceof TransactionAbortedError ? error : this.host.onQuery(this, performance.now() - started, error);
    } finally {
      metrics.state = 'idle';
      metrics.lastActivityAt = Date.now();
    }
  }

  /** Commits the transaction (if one began) and releases the connection. */
  commit(): Promise<void> {
    return this.host.finish(this, 'commit', null);
  }

  /** Rolls back the transaction (if one began) and releases the connection. */
  rollback(reason: unknown = null): Promise<void> {
    return this.host.finish(this, 'rollback', reason);
  }

  /** Ends the session without committing: what was not committed is rolled back. Safe to call twice. */
  close(): Promise<void> {
    return this.finished ? Promise.resolve() : this.rollback();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Sends BEGIN and the context without waiting for their answers; settles when both have, with the first
   * failure if there is one.
   */
  private sendBegin(context: PreludeStatement): Promise<void> {
    this.inFlight += 2;
    return new Promise((resolve, reject) => {
      let left = 2;
      let failure: Error | undefined;
      const answered = (error: Error | undefined): void => {
        this.inFlight--;
        failure ??= error;
        if (--left > 0) return;
        if (failure) reject(failure);
        else resolve();
      };
      dispatch(this.client, { text: 'BEGIN' }, answered);
      dispatch(this.client, { name: context.name, text: context.text, values: [...context.values] }, answered);
    });
  }

  /**
   * Parameterized statements go out as named prepared statements: planned once per connection. Row-Level
   * Security makes planning the larger part of a small statement's cost (see bench/README.md).
   */
  private send<R extends pg.QueryResultRow>(text: string, values: unknown[] | undefined): Promise<pg.QueryResult<R>> {
    const name = values === undefined ? undefined : this.host.statementName(text);
    return this.submit<R>(name === undefined ? { text, values } : { name, text, values });
  }

  private readonly settled = (): void => {
    this.inFlight--;
  };

  /** Sends one statement, counted as in flight until the server answers it. */
  private submit<R extends pg.QueryResultRow>(config: StatementConfig): Promise<pg.QueryResult<R>> {
    this.inFlight++;
    return submit<R>(this.client, config, this.settled);
  }

  /** Sends a batch (see statement-batch.ts), counted as one statement in flight until the server answers it. */
  private submitBatch<R extends pg.QueryResultRow>(client: pg.ClientBase, prelude: readonly PreludeStatement[], config: StatementConfig): Promise<pg.QueryResult<R>> {
    this.inFlight++;
    return answer<R>((callback) => sendBatch(client, prelude, config, callback), this.settled);
  }
}
