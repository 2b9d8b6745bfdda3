import pg from 'pg';

/** The parts of pg's connection (pg-protocol's serializer) this module writes to. */
interface WireConnection {
  parse(config: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: unknown[] }): void;
  execute(config: { portal: string; rows: number }): void;
  parsedStatements: Record<string, string>;
}

/** pg's own hooks of `Query`, overridden below (pg calls them; its type declarations do not list them). */
interface QueryHooks {
  prepare(connection: WireConnection): void;
  requiresPreparation(): boolean;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
}

type Callback = (error: Error | undefined, result: pg.QueryResult) => void;
const PgQuery = pg.Query as unknown as new (config: pg.QueryConfig, callback: Callback) => QueryHooks & { readonly name?: string };

/**
 * A one-statement session as one extended-protocol batch with a single Sync: the context statement (role, user,
 * request id through `set_config(…, true)`) and the caller's statement run in PostgreSQL's implicit transaction,
 * which commits at the Sync. No BEGIN, no COMMIT: two statements for the server instead of four, and one round
 * trip. If either statement fails, the server skips to the Sync and the whole batch is rolled back.
 *
 * Built on pg's `Query` (its row parsing and result shape), writing the context statement ahead of it.
 */
class ContextBatch extends PgQuery {
  private contextDone = false;

  constructor(
    private readonly context: { readonly text: string; readonly values: unknown[] },
    config: pg.QueryConfig,
    callback: Callback,
  ) {
    super(config, callback);
  }

  override requiresPreparation(): boolean {
    return true; // always the extended protocol: the context must share the statement's Sync
  }

  override prepare(connection: WireConnection): void {
    connection.parse({ text: this.context.text, name: '', types: [] });
    connection.bind({ portal: '', statement: '', values: this.context.values });
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
  }

  override handleDataRow(message: unknown): void {
    if (this.contextDone) super.handleDataRow(message); // the context statement's row is not the caller's
  }

  override handleCommandComplete(message: unknown, connection: WireConnection): void {
    if (this.contextDone) return super.handleCommandComplete(message, connection);
    this.contextDone = true;
  }

}

/**
 * Whether a context batch can carry this statement on `client`: a real pg client, and a statement that is either
 * unnamed or already prepared on this connection. (pg records a statement name as prepared at the first
 * ParseComplete of its query, which in a batch is the context's: so a named statement is prepared the first
 * time through the ordinary pipeline, and batched from then on.)
 */
export function acceptsContextBatch(client: object, name: string | undefined, text: string): client is pg.ClientBase {
  if (!(client instanceof pg.Client)) return false;
  if (name === undefined) return true;
  const parsed = (client as unknown as { connection?: { parsedStatements?: Record<string, string> } }).connection?.parsedStatements;
  return parsed?.[name] === text;
}

/** Sends the context and the statement as one batch; resolves with the statement's result. */
export function sendContextBatch<R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  context: { readonly text: string; readonly values: unknown[] },
  statement: { readonly text: string; readonly values?: unknown[] | undefined; readonly name?: string | undefined },
): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const config: pg.QueryConfig = { text: statement.text, ...(statement.values ? { values: statement.values } : {}), ...(statement.name ? { name: statement.name } : {}) };
    const batch = new ContextBatch(context, config, (error, result) => (error ? reject(error) : resolve(result as pg.QueryResult<R>)));
    void client.query(batch as unknown as pg.Submittable);
  });
}
