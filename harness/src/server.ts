import { pino } from 'pino';
import { loadConfig, type ConfigInput } from 'tether/config';
import { provisionDatabase } from 'tether/database';
import { TetherServer } from 'tether/server';

/** The signing secret test servers share (so that two instances accept each other's tokens). */
export const TEST_SECRET = 'tether-test-secret-0123456789abcdefghijklmnop';

/**
 * Rate limits no test or benchmark reaches unless it sets its own (the per-identity session and socket limits stay as
 * configured).
 */
export const UNLIMITED_RATES = {
  userRequestsPerSecond: 1_000_000,
  userRequestBurst: 1_000_000,
  ipRequestsPerSecond: 1_000_000,
  ipRequestBurst: 1_000_000,
  credentialAttemptsPerIpPerMinute: 1_000_000,
  credentialAttemptBurst: 1_000_000,
} as const;

export interface TestServerOptions {
  /** A migrated database (a scratch database, or a private embedded server's URL). */
  readonly databaseUrl: string;
  /**
   * `databaseUrl` through a transaction-mode pooler (PgBouncer): the server's sessions go through it
   * (`pooler: 'transaction'`), and `databaseUrl` stays its direct connection (migrations, LISTEN).
   */
  readonly pooledDatabaseUrl?: string;
  /** Settings on top of the test defaults (port 0, fast password hashing, quiet logs). */
  readonly config?: ConfigInput;
}

/** One log record the server wrote (pino's JSON). */
export type ServerLogRecord = Record<string, unknown> & { level: number; msg?: string };

export interface TestServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly server: TetherServer;
  /** Every log record at `warn` or above. */
  readonly logs: ServerLogRecord[];
  close(): Promise<void>;
}

/**
 * Starts the real server in this process on a free port, against `databaseUrl` (migrations are applied as at
 * start-up). Real HTTP and WebSocket clients talk to it through `url` and `wsUrl`. With `pooledDatabaseUrl`, its
 * sessions go through that pooler.
 */
export async function startServer(options: TestServerOptions): Promise<TestServer> {
  const given = options.config ?? {};
  const pooled = options.pooledDatabaseUrl;
  const config = loadConfig(
    {},
    {
      ...given,
      ...(pooled === undefined ? {} : { pooler: 'transaction', directDatabaseUrl: options.databaseUrl }),
      port: 0,
      host: '127.0.0.1',
      databaseUrl: pooled ?? options.databaseUrl,
      secret: given.secret ?? TEST_SECRET,
      logLevel: given.logLevel ?? 'warn',
      auth: { passwordHashCost: 10, loginAttemptsPerMinute: 1_000, ...given.auth },
      // tests drive one server hard from one address and a few users: rate limits only where a test sets them
      limits: { ...UNLIMITED_RATES, ...given.limits },
    },
  );
  // checks the version, migrates
  await provisionDatabase({ databaseUrl: options.databaseUrl, dataDir: config.dataDir });
  const logs: ServerLogRecord[] = [];
  const logger = pino(
    { level: config.logLevel },
    { write: (line: string) => void logs.push(JSON.parse(line) as ServerLogRecord) },
  );
  const server = new TetherServer({
    config,
    databaseUrl: config.databaseUrl ?? options.databaseUrl,
    logger,
    version: 'test',
  });
  const url = await server.listen();
  return { url, wsUrl: `${url.replace(/^http/, 'ws')}/ws`, server, logs, close: () => server.close() };
}
