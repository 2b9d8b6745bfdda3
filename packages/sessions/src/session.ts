import type pg from 'pg';
import { SessionClosedError, TransactionAbortedError } from './errors.js';
import type { SessionMetrics } from './session-metrics.js';
import {
  type PreludeStatement,
  type SessionClient,
  type StatementCallback,
  type StatementConfig,
  type Wire,
} from './wire.js';

/**
 * Statements PostgreSQL refuses outside an explicit transaction block (`LOCK TABLE`, `SAVEPOINT`, `DECLARE`, `SET
 * LOCAL` warns): they never run as a one-batch implicit transaction, but after BEGIN, as in a longer session.
 */
const TRANSACTION_BLOCK_ONLY = /^\s*(?:lock|savepoint|declare|set\s+local|set\s+transaction)\b/i;

function needsTransactionBlock(text: string): boolean {
  return TRANSACTION_BLOCK_ONLY.test(text);
}

/**
 * Where a session is in its life, in order (one field; each step only moves forward):
 * - `fresh`: nothing sent yet;
 * - `open`: the transaction (or autocommit work) has begun; more statements may follow;
 * - `sealed`: the transaction ends with the statement just sent (a one-statement transaction): nothing more runs;
 * - `closing`: COMMIT or ROLLBACK asked for; the connection is not back yet;
 * - `closed`: the connection went back to the pool (or was evicted);
 * - `{ terminatedBy }`: the factory ended it (max lifetime, shutdown) and destroyed its connection.
 */
export type SessionPhase = 'fresh' | 'open' | 'sealed' | 'closing' | 'closed' | { readonly terminatedBy: Error };

/** The parts of the factory a session calls back into; kept narrow so that a session knows no pool. */
export interface SessionHost {
  readonly wire: Wire;
  /** `BEGIN` as a batch's first statement: prepared by name, or unnamed behind a transaction-mode pooler. */
  readonly beginStatement: PreludeStatement;
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
  /** @internal see `SessionPhase`; the factory moves it to `closing`, `closed` and `terminatedBy`. */
  phase: SessionPhase = 'fresh';
  /** Queries sent and not yet answered: a connection released with any is dirty. */
  inFlight = 0;
  /** The text of the statement sent last (running, if the session is active): leak reports name it. */
  statement: string | null = null;
  /** Set while the factory runs a callback's synchronous start: a first statement then waits (see
   * `holdFirstStatement`). */
  private holding = false;
  /** The first statement, held back until the callback's synchronous start has returned. */
  private held: {
    text: string;
    values: unknown[] | undefined;
    callback: StatementCallback<never>;
    promise: Promise<unknown> | null;
  } | null = null;

  /** @internal created by SessionFactory */
  constructor(
    readonly metrics: SessionMetrics,
    readonly client: SessionClient,
    private readonly host: SessionHost,
    /** Where an explicit handle was opened, for leak reports; null for `withSession` and `factory.query` sessions
     * (their report finds the caller when a leak is found) and with leak detection off. */
    readonly openedAt: { readonly stack?: string } | null,
  ) {}

  get id(): string {
    return this.metrics.sessionId;
  }

  /** @internal the error the factory ended this session with (max lifetime, shutdown), or null. */
  get terminatedBy(): Error | null {
    return typeof this.phase === 'object' ? this.phase.terminatedBy : null;
  }

  /** Runs one statement in this session's transaction, with the session's user, role and timeouts. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const phase = this.phase;
    if (phase !== 'fresh' && phase !== 'open') return Promise.reject(this.refusal(phase));
    const promise = this.measured<R>(text, (answered) => {
      this.sendHeldNow(); // a second statement: the first goes out first, as it would have
      if (this.phase === 'open') this.send(text, values, answered);
      else if (this.holding)
        this.held = { text, values, callback: answered as StatementCallback<never>, promise: null };
      else this.start(text, values, answered);
    });
    if (this.held !== null && this.held.promise === null) this.held.promise = promise;
    return promise;
  }

  /** Why a statement cannot run in this phase. */
  private refusal(phase: SessionPhase): Error {
    if (typeof phase === 'object') return phase.terminatedBy;
    // a one-statement transaction ends with its statement: a later one would run outside it, without the context
    if (phase === 'sealed') return new SessionClosedError(`session ${this.id} has ended its transaction`);
    return new SessionClosedError(`session ${this.id} is closed`);
  }

  /**
   * One statement's promise, settled from pg's callback (every promise costs an `AsyncLocalStorage` hook call on
   * Node 20): `send` hands the statement on with `answered`, which measures it and types its error.
   */
  private measured<R extends pg.QueryResultRow>(
    text: string,
    send: (answered: StatementCallback<R>) => void,
  ): Promise<pg.QueryResult<R>> {
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
  private startAndCommit<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] | undefined,
    callback: StatementCallback<R>,
  ): void {
    const context = this.host.contextStatement(this);
    if (context === null) return this.start(text, values, callback); // anonymous: autocommit already
    this.sendAsTransaction(context, text, values, callback);
  }

  /**
   * One statement as the whole transaction, in one round trip: the context and the statement as one batch in
   * PostgreSQL's implicit transaction (no BEGIN, no COMMIT); or, for a statement that needs a transaction block
   * or a named one not yet prepared on this connection, BEGIN, context, statement and COMMIT in one write.
   */
  private sendAsTransaction<R extends pg.QueryResultRow>(
    context: PreludeStatement,
    text: string,
    values: unknown[] | undefined,
    callback: StatementCallback<R>,
  ): void {
    const name = values === undefined ? undefined : this.host.statementName(text);
    // ended with this statement: committed or rolled back at the batch's Sync, or by the pipelined COMMIT
    this.phase = 'sealed';
    this.metrics.transactionCount++;
    if (!needsTransactionBlock(text) && this.host.wire.acceptsBatch(this.client, name, text)) {
      this.sendBatch([context], { text, values, name }, callback);
    } else {
      this.sendPipelined(context, text, values, true, callback);
    }
  }

  /**
   * The first statement: it leaves with BEGIN and the context in one batch (one Sync, one answer), or, the
   * first time a named statement meets a connection, pipelined behind them in one write.
   */
  private start<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] | undefined,
    callback: StatementCallback<R>,
  ): void {
    const context = this.host.contextStatement(this);
    this.phase = 'open';
    if (context === null) return this.send(text, values, callback); // anonymous: autocommit
    this.metrics.transactionCount++;
    const name = values === undefined ? undefined : this.host.statementName(text);
    if (this.host.wire.acceptsBatch(this.client, name, text))
      return this.sendBatch([this.host.beginStatement, context], { text, values, name }, callback);
    this.sendPipelined(context, text, values, false, callback);
  }

  /**
   * BEGIN, the context and the statement (and COMMIT, with `commit`) pipelined in one write: the way for a named
   * statement not yet prepared on this connection (see `Wire.acceptsBatch`). Answered once all of them are, with
   * the first failure in this order: BEGIN or the context, the statement, COMMIT (which a failed statement turns
   * into a ROLLBACK): the connection goes back clean, or is evicted.
   */
  private sendPipelined<R extends pg.QueryResultRow>(
    context: PreludeStatement,
    text: string,
    values: unknown[] | undefined,
    commit: boolean,
    callback: StatementCallback<R>,
  ): void {
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
    this.host.wire.corked(this.client, () => {
      this.sendCounted({ text: 'BEGIN' }, prelude);
      this.sendCounted({ name: context.name, text: context.text, values: [...context.values] }, prelude);
      this.send<R>(text, values, (error, result) => {
        statement = { error, result };
        settle();
      });
      if (!commit) return;
      this.sendCounted({ text: 'COMMIT' }, (error, ended) => {
        commitFailure =
          error ??
          (ended.command === 'ROLLBACK'
            ? new TransactionAbortedError('the transaction was rolled back at commit')
            : undefined);
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
  queryAndCommit<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    this.sendHeldNow();
    if (this.phase !== 'fresh')
      return Promise.reject(this.terminatedBy ?? new SessionClosedError(`session ${this.id} is not fresh`));
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
    const phase = this.phase;
    return phase === 'closing' || phase === 'closed' || typeof phase === 'object' ? Promise.resolve() : this.rollback();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Parameterized statements go out as named prepared statements: planned once per connection. Row-Level
   * Security makes planning the larger part of a small statement's cost (see bench/README.md).
   */
  private send<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] | undefined,
    callback: StatementCallback<R>,
  ): void {
    const name = values === undefined ? undefined : this.host.statementName(text);
    this.sendCounted<R>(name === undefined ? { text, values } : { name, text, values }, callback);
  }

  /** Sends one statement, counted as in flight until the server answers it. */
  private sendCounted<R extends pg.QueryResultRow>(config: StatementConfig, callback: StatementCallback<R>): void {
    this.inFlight++;
    this.host.wire.send<R>(this.client, config, (error, result) => {
      this.inFlight--;
      callback(error, result);
    });
  }

  /** Sends a batch (see wire.ts), counted as one statement in flight until the server answers it. */
  private sendBatch<R extends pg.QueryResultRow>(
    prelude: readonly PreludeStatement[],
    config: StatementConfig,
    callback: StatementCallback<R>,
  ): void {
    this.inFlight++;
    this.host.wire.sendBatch<R>(this.client, prelude, config, (error, result) => {
      this.inFlight--;
      callback(error, result);
    });
  }
}
