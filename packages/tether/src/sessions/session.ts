import pg from 'pg';
import { acceptsBatch, BEGIN_STATEMENT, type PreludeStatement, sendBatch, sendStatement, type StatementCallback, type StatementConfig } from './wire.js';
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

/** Hands a statement to the client: a pg client gets a query object (see `sendStatement`), a stand-in the config. */
export function dispatch<R extends pg.QueryResultRow>(client: SessionClient, config: StatementConfig, callback: StatementCallback<R>): void {
  if (client instanceof pg.Client) sendStatement(client, config, callback);
  else client.query<R>(config, callback);
}

/**
 * Statements PostgreSQL refuses outside an explicit transaction block (`LOCK TABLE`, `SAVEPOINT`, `DECLARE`, `SET
 * LOCAL` warns): they never run as a one-batch implicit transaction, but after BEGIN, as in a longer session.
 */
const TRANSACTION_BLOCK_ONLY = /^\s*(?:lock|savepoint|declare|set\s+local|set\s+transaction)\b/i;

function needsTransactionBlock(text: string): boolean {
  return TRANSACTION_BLOCK_ONLY.test(text);
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
  /** Set when the transaction ends with the statement just sent (a one-statement transaction): nothing more runs in it. */
  transactionEnded = false;
  /** Set when the watchdog ended the session (max lifetime) or the factory closed it. */
  endedBy: Error | null = null;
  finished = false;
  /** The text of the statement sent last (running, if the session is active): leak reports name it. */
  statement: string | null = null;
  /** Set while the factory runs a callback's synchronous start: a first statement then waits (see `holdFirstStatement`). */
  private holding = false;
  /** The first statement, held back until the callback's synchronous start has returned. */
  private held: { text: string; values: unknown[] | undefined; callback: StatementCallback<never>; promise: Promise<unknown> | null } | null = null;

  /** @internal created by SessionFactory */
  constructor(
    readonly metrics: SessionMetrics,
    readonly client: SessionClient,
    private readonly host: SessionHost,
    /** Where an explicit handle was opened, for leak reports; null for `withSession` and `factory.query` sessions (their report finds the caller when a leak is found) and with leak detection off. */
    readonly openedAt: { readonly stack?: string } | null,
  ) {}

  get id(): string {
    return this.metrics.sessionId;
  }

  /** Runs one statement in this session's transaction, with the session's user, role and timeouts. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.finished || this.endedBy) return Promise.reject(this.endedBy ?? new SessionClosedError(`session ${this.id} is closed`));
    // a one-statement transaction ends with its statement: a later one would run outside it, without the context
    if (this.transactionEnded) return Promise.reject(new SessionClosedError(`session ${this.id} has ended its transaction`));
    const promise = this.measured<R>(text, (answered) => {
      this.sendHeldNow(); // a second statement: the first goes out first, as it would have
      if (this.begun) this.send(text, values, answered);
      else if (this.holding) this.held = { text, values, callback: answered as StatementCallback<never>, promise: null };
      else this.start(text, values, answered);
    });
    if (this.held !== null && this.held.promise === null) this.held.promise = promise;
    return promise;
  }

  /**
   * One statement's promise, settled from pg's callback (every promise costs an `AsyncLocalStorage` hook call on
   * Node 20): `send` hands the statement on with `answered`, which measures it and types its error.
   */
  private measured<R extends pg.QueryResultRow>(text: string, send: (answered: StatementCallback<R>) => void): Promise<pg.QueryResult<R>> {
    const metrics = this.metrics;
    metrics.state = 'active';
    this.statement = text;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      send((error, result) => {
        metrics.queryCount++;
        if (metrics.state === 'active') metrics.state = 'idle';
        metrics.lastActivityAt = Date.now();
        const typed = this.host.onQuery(this, performance.now() - started, error ?? null);
        if (error) reject(typed);
        else resolve(result);
      });
    });
  }

  /**
   * @internal The factory calls this before a `withSession` callback starts and `releaseFirstStatement` with what
   * it returned: a callback that only returns its first statement's promise (`(s) => s.query(…)`) has no other
   * statement, so that statement is sent as the whole transaction, in one round trip (the context and the
   * statement in PostgreSQL's implicit transaction, as `queryAndCommit`), instead of BEGIN … and a COMMIT after.
   */
  holdFirstStatement(): void {
    this.holding = true;
  }

  /** @internal see `holdFirstStatement`; sends the held statement, if any. */
  releaseFirstStatement(returned: unknown): void {
    this.holding = false;
    if (this.held !== null) this.sendHeld(returned === this.held.promise);
  }

  /** A held statement goes out at once, in order, before anything else the session does (commit, rollback, …). */
  private sendHeldNow(): void {
    if (this.held !== null) this.sendHeld(false);
  }

  private sendHeld(wholeTransaction: boolean): void {
    const { text, values, callback } = this.held as NonNullable<typeof this.held>;
    this.held = null;
    if (wholeTransaction) this.startAndCommit(text, values, callback);
    else this.start(text, values, callback);
  }

  /** The held first statement as the whole transaction (see `sendAsTransaction`). */
  private startAndCommit<R extends pg.QueryResultRow>(text: string, values: unknown[] | undefined, callback: StatementCallback<R>): void {
    const context = this.host.contextStatement(this);
    if (context === null) return this.start(text, values, callback); // anonymous: autocommit already
    this.sendAsTransaction(context, text, values, callback);
  }

  /**
   * One statement as the whole transaction, in one round trip: the context and the statement as one batch in
   * PostgreSQL's implicit transaction (no BEGIN, no COMMIT); or, for a statement that needs a transaction block
   * or a named one not yet prepared on this connection, BEGIN, context, statement and COMMIT in one write.
   */
  private sendAsTransaction<R extends pg.QueryResultRow>(context: PreludeStatement, text: string, values: unknown[] | undefined, callback: StatementCallback<R>): void {
    const name = values === undefined ? undefined : this.host.statementName(text);
    this.begun = true;
    this.transactionEnded = true; // with this statement: committed or rolled back at the batch's Sync, or by the pipelined COMMIT
    this.metrics.transactionCount++;
    if (!needsTransactionBlock(text) && acceptsBatch(this.client, name, text)) this.sendBatch(this.client, [context], { text, values, name }, callback);
    else this.sendPipelined(context, text, values, true, callback);
  }

  /**
   * The first statement: it leaves with BEGIN and the context in one batch (one Sync, one answer), or, the
   * first time a named statement meets a connection, pipelined behind them in one write.
   */
  private start<R extends pg.QueryResultRow>(text: string, values: unknown[] | undefined, callback: StatementCallback<R>): void {
    const context = this.host.contextStatement(this);
    this.begun = true;
    if (context === null) return this.send(text, values, callback); // anonymous: autocommit
    this.metrics.transactionCount++;
    const name = values === undefined ? undefined : this.host.statementName(text);
    if (acceptsBatch(this.client, name, text)) return this.sendBatch(this.client, [BEGIN_STATEMENT, context], { text, values, name }, callback);
    this.sendPipelined(context, text, values, false, callback);
  }

  /**
   * BEGIN, the context and the statement (and COMMIT, with `commit`) pipelined in one write: the way for a named
   * statement not yet prepared on this connection (see `acceptsBatch`). Answered once all of them are, with the
   * first failure in this order: BEGIN or the context, the statement, COMMIT (which a failed statement turns
   * into a ROLLBACK): the connection goes back clean, or is evicted.
   */
  private sendPipelined<R extends pg.QueryResultRow>(context: PreludeStatement, text: string, values: unknown[] | undefined, commit: boolean, callback: StatementCallback<R>): void {
    let left = commit ? 4 : 3;
    let preludeFailure: Error | undefined;
    let statement: { error: Error | undefined; result: pg.QueryResult<R> } | undefined;
    let commitFailure: Error | undefined;
    const settle = (): void => {
      if (--left > 0) return;
      const { error, result } = statement as NonNullable<typeof statement>;
      callback(preludeFailure ?? error ?? commitFailure, result);
    };
    const prelude: StatementCallback = (error) => {
      preludeFailure ??= error;
      settle();
    };
    corked(this.client, () => {
      this.dispatchCounted({ text: 'BEGIN' }, prelude);
      this.dispatchCounted({ name: context.name, text: context.text, values: [...context.values] }, prelude);
      this.send<R>(text, values, (error, result) => {
        statement = { error, result };
        settle();
      });
      if (!commit) return;
      this.dispatchCounted({ text: 'COMMIT' }, (error, ended) => {
        commitFailure = error ?? (ended.command === 'ROLLBACK' ? new TransactionAbortedError('the transaction was rolled back at commit') : undefined);
        settle();
      });
    });
  }

  /**
   * One statement as the whole transaction of a fresh session (what `SessionFactory.query` runs), in one round
   * trip: the context and the statement as one batch in PostgreSQL's implicit transaction; or, the first time a
   * named statement meets a connection, BEGIN, context, statement and COMMIT pipelined in one write (a failing
   * statement turns that COMMIT into a ROLLBACK).
   */
  queryAndCommit<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.sendHeldNow();
    if (this.finished || this.endedBy || this.begun) return Promise.reject(this.endedBy ?? new SessionClosedError(`session ${this.id} is not fresh`));
    const context = this.host.contextStatement(this);
    if (context === null) return this.query<R>(text, values); // anonymous: autocommit, one statement
    return this.measured<R>(text, (answered) => this.sendAsTransaction(context, text, values, answered));
  }

  /** Commits the transaction (if one began) and releases the connection. */
  commit(): Promise<void> {
    this.sendHeldNow();
    return this.host.finish(this, 'commit', null);
  }

  /** Rolls back the transaction (if one began) and releases the connection. */
  rollback(reason: unknown = null): Promise<void> {
    this.sendHeldNow();
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
   * Parameterized statements go out as named prepared statements: planned once per connection. Row-Level
   * Security makes planning the larger part of a small statement's cost (see bench/README.md).
   */
  private send<R extends pg.QueryResultRow>(text: string, values: unknown[] | undefined, callback: StatementCallback<R>): void {
    const name = values === undefined ? undefined : this.host.statementName(text);
    this.dispatchCounted<R>(name === undefined ? { text, values } : { name, text, values }, callback);
  }

  /** Sends one statement, counted as in flight until the server answers it. */
  private dispatchCounted<R extends pg.QueryResultRow>(config: StatementConfig, callback: StatementCallback<R>): void {
    this.inFlight++;
    dispatch<R>(this.client, config, (error, result) => {
      this.inFlight--;
      callback(error, result);
    });
  }

  /** Sends a batch (see statement-batch.ts), counted as one statement in flight until the server answers it. */
  private sendBatch<R extends pg.QueryResultRow>(client: pg.ClientBase, prelude: readonly PreludeStatement[], config: StatementConfig, callback: StatementCallback<R>): void {
    this.inFlight++;
    sendBatch<R>(client, prelude, config, (error, result) => {
      this.inFlight--;
      callback(error, result);
    });
  }
}
