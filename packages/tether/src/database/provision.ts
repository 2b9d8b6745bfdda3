import pg from 'pg';
import { ConfigurationError } from '../errors.js';
import { ClusterInUseError, EmbeddedPostgres } from './embedded.js';
import { migrate, type MigrationResult } from './migrations.js';

export interface DatabaseOptions {
  /** An external PostgreSQL (15 or newer); when absent, the embedded server runs in `dataDir`. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  readonly port?: number | undefined;
  readonly ephemeral?: boolean;
  readonly onLog?: (line: string) => void;
  /**
   * When a live server already runs the embedded cluster of `dataDir`: true uses that server's database (CLI
   * commands such as `migrate` and `admin grant`); false (the default) refuses with `ClusterInUseError`.
   */
  readonly shareRunning?: boolean;
}

/** A ready database: reachable at `url`, migrated, and stoppable when embedded. */
export interface ProvisionedDatabase {
  readonly url: string;
  readonly embedded: EmbeddedPostgres | undefined;
  /** The pid of the live server whose embedded database this is, when `shareRunning` found one. */
  readonly sharedWith: number | undefined;
  readonly serverVersion: string;
  readonly migrations: MigrationResult;
  /** Stops the embedded server, if any; an external server is left alone. */
  close(): Promise<void>;
}

export const MIN_SERVER_VERSION = 150000;

/** Checks a connection string's form before any connection attempt, so a typo reads as a typo. */
export function parseDatabaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(
      `DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigurationError(`DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  if (!url.hostname) throw new ConfigurationError('DATABASE_URL names no host');
  return url;
}

/** Starts (or connects to) the database, checks its version and applies migrations. */
export async function provisionDatabase(options: DatabaseOptions): Promise<ProvisionedDatabase> {
  let embedded: EmbeddedPostgres | undefined;
  let sharedWith: number | undefined;
  let url = '';
  if (options.databaseUrl) {
    url = parseDatabaseUrl(options.databaseUrl).toString();
  } else {
    try {
      embedded = await EmbeddedPostgres.start({
        dataDir: options.dataDir,
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.ephemeral !== undefined ? { ephemeral: options.ephemeral } : {}),
        ...(options.onLog ? { onLog: options.onLog } : {}),
      });
    } catch (error) {
      if (!(error instanceof ClusterInUseError && options.shareRunning)) throw error;
      sharedWith = error.ownerPid;
      url = error.url;
    }
    if (embedded) url = embedded.url;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version_num: string; server_version: string }>(
      `SELECT current_setting('server_version_num') AS server_version_num,
              current_setting('server_version') AS server_version`,
    );
    const row = rows[0];
    if (!row || Number(row.server_version_num) < MIN_SERVER_VERSION) {
      throw new ConfigurationError(`PostgreSQL ${row?.server_version ?? '?'} is too old: Tether needs 15 or newer`);
    }
    const migrations = await migrate(client);
    return {
      url,
      embedded,
      sharedWith,
      serverVersion: row.server_version,
      migrations,
      close: async () => {
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
