import pg from 'pg';

/** The parts of pg's connection (pg-protocol's serializer) this module writes to. */
interface WireConnection {
  parse(config: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: readonly unknown[] }): void;
  execute(config: { portal: string; rows: number }): void;
  close(config: { type: 'S' | 'P'; name: string }): void;
  parsedStatements: Record<string, string>;
}

/** pg's own hooks of `Query`, overridden below (pg calls them; its type declarations do not list them). */
interface QueryHooks {
  prepare(connection: WireConnection): void;
  requiresPreparation(): boolean;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
}

/** One statement as pg's `QueryConfig`: named when it is to be prepared once per connection. */
export interface StatementConfig {
  readonly text: string;
  readonly values?: unknown[] | undefined;
  readonly name?: string | undefined;
}

/** How pg answers a statement: the error, or the result. */
export type StatementCallback<R extends pg.QueryResultRow = pg.QueryResultRow> = (error: Error | undefined, result: pg.QueryResult<R>) => void;

// constructed from text and values, never from a config object: pg copies config objects, descriptors and all (≈ 1.5 µs)
const PgQuery = pg.Query as unknown as new (text: string, values: unknown[] | undefined, callback: StatementCallback) => QueryHooks & { name?: string };

/** A query object for `statement`: pg sends it as it is, without copying a config object first. */
function pgQuery(statement: StatementConfig, callback: StatementCallback): QueryHooks & { name?: string } {
  const query = new PgQuery(statement.text, statement.values, callback);
  if (statement.name !== undefined) query.name = statement.name; // read when the query is prepared and sent, after this
  return query;
}

/** Sends one statement on its own (no prelude); `callback` receives its result. */
export function sendStatement<R extends pg.QueryResultRow>(client: pg.ClientBase, statement: StatementConfig, callback: StatementCallback<R>): void {
  void client.query(pgQuery(statement, callback as StatementCallback) as unknown as pg.Submittable);
}

/** A statement sent ahead of the caller's in a batch (`BEGIN`, the session's context): prepared by name, result ignored. */
export interface PreludeStatement {
  readonly name: string;
  readonly text: string;
  readonly values: readonly unknown[];
}

/** `BEGIN` as a prelude statement: a batch that starts with it leaves its transaction open after the Sync. */
export const BEGIN_STATEMENT: PreludeStatement = { name: 'tether:begin', text: 'BEGIN', values: [] };

/**
 * Prelude statements and the caller's statement as one extended-protocol batch with a single Sync: one message
 * cycle for the server and one write and one answer for the client, instead of one of each per statement.
 * - `[context]` + statement: the context (role, user, request id through `set_config(…, true)`) and the
 *   statement run in PostgreSQL's implicit transaction, which commits at the Sync: no BEGIN, no COMMIT.
 * - `[BEGIN, context]` + statement: the first statement of a longer session; its transaction stays open.
 * If any statement fails, the server skips to the Sync: in the implicit transaction everything is rolled back;
 * after BEGIN the transaction is left aborted, and the session rolls it back.
 *
 * Built on pg's `Query` (its row parsing and result shape), writing the prelude ahead of it.
 */
class StatementBatch extends PgQuery {
  private preludeLeft: number;

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
      if (connection.parsedStatements[statement.name] !== statement.text) {
        // not known to be prepared here; an earlier batch that failed may have prepared it all the same, and a
        // second Parse of one name is an error, while Close of a name that does not exist is not
        connection.close({ type: 'S', name: statement.name });
        connection.parse({ text: statement.text, name: statement.name, types: [] });
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
    connection.parsedStatements[statement.name] = statement.text;
    this.preludeLeft--;
  }
}

/**
 * Whether a batch can carry this statement on `client`: a real pg client, and a statement that is either
 * unnamed or already prepared on this connection. (pg records a statement name as prepared at the first
 * ParseComplete of its query, which in a batch may be a prelude statement's: so a named statement is prepared
 * the first time through the ordinary pipeline, and batched from then on.)
 */
export function acceptsBatch(client: object, name: string | undefined, text: string): client is pg.ClientBase {
  if (!(client instanceof pg.Client)) return false;
  if (name === undefined) return true;
  const parsed = (client as unknown as { connection?: { parsedStatements?: Record<string, string> } }).connection?.parsedStatements;
  return parsed?.[name] === text;
}

/** Sends the prelude and the statement as one batch; `callback` receives the statement's result. */
export function sendBatch<R extends pg.QueryResultRow>(client: pg.ClientBase, prelude: readonly PreludeStatement[], statement: StatementConfig, callback: StatementCallback<R>): void {
  void client.query(new StatementBatch(prelude, statement, callback as StatementCallback) as unknown as pg.Submittable);
}
