/**
 * The one module that reaches below pg's public API (pg is pinned exactly in package.json; the test
 * `tests/integration/sessions/wire-internals.test.ts` fails loudly, naming what moved, when an upgrade changes
 * any of the internals listed in `PG_INTERNALS`). Everything else in the session layer talks to pg through
 * `Wire`, which has two implementations:
 * - `batchingWire` (the default): a session's first statement leaves with BEGIN and its context as one
 *   extended-protocol batch under a single Sync (one write, one answer), built on pg's `Query` hooks; the
 *   statements of one round trip are corked into one write.
 * - `publicWire` (`batchStatements: false`): pg's public API only (`client.query(config, callback)` on a client
 *   opened with `pipeline: true`): each statement its own Sync and its own write. `npm run bench:sessions`
 *   measures both, so the choice can be revisited (bench/README.md has the figures).
 */
import net from 'node:net';
import pg from 'pg';

/** The pg version whose internals this module was checked against (the wire-internals test compares). */
export const PG_VERSION_CHECKED = '8.23.1';

/** What this module uses below pg's public API, by name, for the wire-internals test to check. */
export const PG_INTERNALS = [
  'Query.prototype.requiresPreparation',
  'Query.prototype.prepare',
  'Query.prototype.handleDataRow',
  'Query.prototype.handleCommandComplete',
  'Query.prototype.handleError',
  'client.connection.parsedStatements',
  'client.connection.submittedNamedStatements',
  'client.connection.parse/bind/execute/close',
  'client.connection.stream.cork/uncork',
  'client.secretKey',
] as const;

/** The parts of pg's connection (pg-protocol's serializer and pg's statement bookkeeping) this module uses. */
interface WireConnection {
  parse(config: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: readonly unknown[] }): void;
  execute(config: { portal: string; rows: number }): void;
  close(config: { type: 'S' | 'P'; name: string }): void;
  /** Names pg knows to be prepared on this connection (ParseComplete seen), with their text. */
  parsedStatements: Record<string, string>;
  /** Names whose Parse has been written but not yet answered: pg's own `Query` skips Parse for these. */
  submittedNamedStatements: Record<string, string>;
  stream?: Partial<Corkable>;
}

type Corkable = { cork(): void; uncork(): void };

/** pg's own hooks of `Query`, overridden below (pg calls them; its type declarations do not list them). */
interface QueryHooks {
  prepare(connection: WireConnection): void;
  requiresPreparation(): boolean;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
  handleError(error: Error, connection: WireConnection): void;
}

/** One statement as pg's `QueryConfig`: named when it is to be prepared once per connection. */
export interface StatementConfig {
  readonly text: string;
  readonly values?: unknown[] | undefined;
  readonly name?: string | undefined;
}

/** How pg answers a statement: the error, or the result. */
export type StatementCallback<R extends pg.QueryResultRow = pg.QueryResultRow> = (
  error: Error | undefined,
  result: pg.QueryResult<R>,
) => void;

/**
 * A statement sent ahead of the caller's in a batch (`BEGIN`, the session's context), result ignored: prepared by
 * name once per connection, or, without a name (behind a transaction-mode pooler), parsed every time.
 */
export interface PreludeStatement {
  readonly name: string | undefined;
  readonly text: string;
  readonly values: readonly unknown[];
}

/** `BEGIN` as a prelude statement: a batch that starts with it leaves its transaction open after the Sync. */
export const BEGIN_STATEMENT: PreludeStatement = { name: 'tether:begin', text: 'BEGIN', values: [] };
/** The same, unnamed: nothing prepared outlives the transaction (behind a transaction-mode pooler). */
export const UNNAMED_BEGIN_STATEMENT: PreludeStatement = { name: undefined, text: 'BEGIN', values: [] };

/** What a session needs from a pooled connection: a subset of `pg.PoolClient`, so a stub can stand in. */
export interface SessionClient {
  /** pg's callback form: the session makes one promise per statement instead of pg's promise and its own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: StatementConfig, callback: StatementCallback<R>): void;
  release(destroy?: Error | boolean): void;
  getTransactionStatus(): string | null;
  readonly processID?: number | null;
}

/** How statements reach the server: see the module's comment. */
export interface Wire {
  /** Sends one statement on its own. */
  send<R extends pg.QueryResultRow>(
    client: SessionClient,
    statement: StatementConfig,
    callback: StatementCallback<R>,
  ): void;
  /** Whether `sendBatch` can carry this statement on this client (see `batchingWire`). */
  acceptsBatch(client: SessionClient, name: string | undefined, text: string): boolean;
  /** Sends the prelude and the statement as one batch; `callback` receives the statement's result. */
  sendBatch<R extends pg.QueryResultRow>(
    client: SessionClient,
    prelude: readonly PreludeStatement[],
    statement: StatementConfig,
    callback: StatementCallback<R>,
  ): void;
  /** Runs `send` so that the statements it sends leave in one write, where the wire can arrange that. */
  corked<T>(client: SessionClient, send: () => T): T;
}

/** pg's public API only: `client.query(config, callback)`; no batches, no corking. */
export const publicWire: Wire = {
  send: (client, statement, callback) => client.query(statement, callback),
  acceptsBatch: () => false,
  sendBatch: () => {
    throw new TypeError('publicWire sends no batches (acceptsBatch is always false)');
  },
  corked: (_client, send) => send(),
};

// constructed from text and values, never from a config object: pg copies config objects, descriptors and all (≈ 1.5
// µs)
const PgQuery = pg.Query as unknown as new (
  text: string,
  values: unknown[] | undefined,
  callback: StatementCallback,
) => QueryHooks & { name?: string };

/** A query object for `statement`: pg sends it as it is, without copying a config object first. */
function pgQuery(statement: StatementConfig, callback: StatementCallback): QueryHooks & { name?: string } {
  const query = new PgQuery(statement.text, statement.values, callback);
  if (statement.name !== undefined) query.name = statement.name; // read when the query is prepared and sent, after this
  return query;
}

function connectionOf(client: SessionClient): WireConnection | undefined {
  return (client as unknown as { connection?: WireConnection }).connection;
}

/**
 * Prelude statements and the caller's statement as one extended-protocol batch with a single Sync: one message
 * cycle for the server and one write and one answer for the client, instead of one of each per statement.
 * - `[context]` + statement: the context (role, user, request id through `set_config(…, true)`) and the
 *   statement run in PostgreSQL's implicit transaction, which commits at the Sync: no BEGIN, no COMMIT.
 * - `[BEGIN, context]` + statement: the first statement of a longer session; its transaction stays open.
 * If any statement fails, the server skips to the Sync: in the implicit transaction everything is rolled back;
 * after BEGIN the transaction is left aborted, and the session rolls it back.
 *
 * Built on pg's `Query` (its row parsing and result shape), writing the prelude ahead of it, and keeping pg's
 * bookkeeping of named statements as pg's own `Query` does: a prelude name being parsed is listed in
 * `submittedNamedStatements` until its answer, then in `parsedStatements`.
 */
class StatementBatch extends PgQuery {
  private preludeLeft: number;
  /** Prelude names this batch parses, listed as submitted until answered. */
  private readonly submitted: string[] = [];

  constructor(
    private readonly prelude: readonly PreludeStatement[],
    statement: StatementConfig,
    callback: StatementCallback,
  ) {
    super(statement.text, statement.values, callback);
    if (statement.name !== undefined) this.name = statement.name; // read when the batch is prepared and sent
    this.preludeLeft = prelude.length;
  }

  override requiresPreparation(): boolean {
    return true; // always the extended protocol: the prelude must share the statement's Sync
  }

  override prepare(connection: WireConnection): void {
    for (const statement of this.prelude) {
      if (statement.name === undefined) {
        // the unnamed statement lasts until the next Parse: each unnamed prelude statement is parsed, then run
        connection.parse({ text: statement.text, name: '', types: [] });
        connection.bind({ portal: '', statement: '', values: statement.values });
        connection.execute({ portal: '', rows: 0 });
        continue;
      }
      if (connection.parsedStatements[statement.name] !== statement.text) {
        // not known to be prepared here; an earlier batch that failed may have prepared it all the same, and a
        // second Parse of one name is an error, while Close of a name that does not exist is not
        connection.close({ type: 'S', name: statement.name });
        connection.parse({ text: statement.text, name: statement.name, types: [] });
        connection.submittedNamedStatements[statement.name] = statement.text;
        this.submitted.push(statement.name);
      }
      connection.bind({ portal: '', statement: statement.name, values: statement.values });
      connection.execute({ portal: '', rows: 0 });
    }
    super.prepare(connection);
  }

  override handleDataRow(message: unknown): void {
    if (this.preludeLeft === 0) super.handleDataRow(message); // a prelude statement's row is not the caller's
  }

  override handleCommandComplete(message: unknown, connection: WireConnection): void {
    if (this.preludeLeft === 0) return super.handleCommandComplete(message, connection);
    // it ran, so it is prepared on this connection from now on
    const statement = this.prelude[this.prelude.length - this.preludeLeft] as PreludeStatement;
    if (statement.name !== undefined) {
      connection.parsedStatements[statement.name] = statement.text;
      delete connection.submittedNamedStatements[statement.name];
    }
    this.preludeLeft--;
  }

  override handleError(error: Error, connection: WireConnection): void {
    // the server skipped the rest of the batch: prelude names it did not answer are not prepared (as far as pg
    // knows; the next batch closes and parses them again)
    for (const name of this.submitted) {
      if (connection.parsedStatements[name] === undefined) delete connection.submittedNamedStatements[name];
    }
    super.handleError(error, connection);
  }
}

/**
 * Batches and corked writes on pg's own connection: see the module's comment. A stand-in client (not a
 * `pg.Client`) gets the public `query(config, callback)`.
 */
export const batchingWire: Wire = {
  send(client, statement, callback) {
    if (client instanceof pg.Client)
      void client.query(pgQuery(statement, callback as StatementCallback) as unknown as pg.Submittable);
    else client.query(statement, callback);
  },

  /**
   * A real pg client, and a statement that is either unnamed or already prepared on this connection. (pg records
   * a statement name as prepared at the first ParseComplete of its query, which in a batch may be a prelude
   * statement's: so a named statement is prepared the first time through the ordinary pipeline, and batched
   * from then on.)
   */
  acceptsBatch(client, name, text) {
    if (!(client instanceof pg.Client)) return false;
    if (name === undefined) return true;
    return connectionOf(client)?.parsedStatements[name] === text;
  },

  sendBatch(client, prelude, statement, callback) {
    void (client as unknown as pg.Client).query(
      new StatementBatch(prelude, statement, callback as StatementCallback) as unknown as pg.Submittable,
    );
  },

  /**
   * Corking pg's socket around the statements of one round trip makes them one write (one system call) instead of
   * one each. pg has no public API for this; without a socket to cork, nothing changes but the number of writes.
   */
  corked(client, send) {
    const stream = connectionOf(client)?.stream;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return send();
    stream.cork();
    try {
      return send();
    } finally {
      stream.uncork();
    }
  },
};

/**
 * Which of `PG_INTERNALS` a connected pg client lacks (empty when all are there): the wire-internals test
 * asserts this is empty, so a pg upgrade that moves them fails there, by name, before it fails in a session.
 */
export function missingPgInternals(client: pg.Client): string[] {
  const missing: string[] = [];
  const query = (pg.Query as unknown as { prototype: Partial<QueryHooks> }).prototype;
  for (const hook of [
    'requiresPreparation',
    'prepare',
    'handleDataRow',
    'handleCommandComplete',
    'handleError',
  ] as const) {
    if (typeof query[hook] !== 'function') missing.push(`Query.prototype.${hook}`);
  }
  const connection = (client as unknown as { connection?: Partial<WireConnection> }).connection;
  if (typeof connection?.parsedStatements !== 'object') missing.push('client.connection.parsedStatements');
  if (typeof connection?.submittedNamedStatements !== 'object')
    missing.push('client.connection.submittedNamedStatements');
  const writers = ['parse', 'bind', 'execute', 'close'] as const;
  if (!writers.every((w) => typeof connection?.[w] === 'function'))
    missing.push('client.connection.parse/bind/execute/close');
  if (typeof connection?.stream?.cork !== 'function' || typeof connection.stream.uncork !== 'function')
    missing.push('client.connection.stream.cork/uncork');
  if (typeof (client as Partial<CancelKey>).secretKey !== 'number') missing.push('client.secretKey');
  return missing;
}

/** What a cancel request needs of a connected pg client (pg keeps the secret key below its public API). */
interface CancelKey {
  readonly host: string;
  readonly port: number;
  readonly processID: number | null;
  readonly secretKey: number | null;
}

/**
 * Asks the server, or the pooler in front of it (which forwards it to the server connection the client is
 * using), to cancel the client's running statement: PostgreSQL's CancelRequest, on a connection of its own that
 * the server closes once it has acted on it. Settles then, after 2 s, or on failure; never rejects. (Behind a
 * transaction-mode pooler the client's process id is the pooler's, so `pg_terminate_backend` cannot be used.)
 */
export function cancelRunningStatement(client: SessionClient): Promise<void> {
  const { host, port, processID, secretKey } = client as Partial<CancelKey>;
  if (!host || host.startsWith('/') || !port || !processID || typeof secretKey !== 'number') return Promise.resolve();
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(80877102, 4); // the CancelRequest code
      message.writeInt32BE(processID, 8);
      message.writeInt32BE(secretKey, 12);
      // and wait for the other end to close: PgBouncer drops a cancel whose sender hung up before it forwarded it
      socket.write(message);
    });
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
}
