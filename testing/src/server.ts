import { pino } from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';
import { loadConfig, type ConfigInput } from 'tether/config';
import { provisionDatabase } from 'tether/database';
import { TetherServer } from 'tether/server';

/** The signing secret test servers share (so that two instances accept each other's tokens). */
export const TEST_SECRET = 'tether-test-secret-0123456789abcdefghijklmnop';

/** Rate limits no test reaches unless it sets its own (the per-identity session and socket limits stay as configured).
 * */
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
 * In the `pooler` category, `url` through the run's PgBouncer when it names a database on the run's PostgreSQL;
 * otherwise undefined (another category, or a private server a test stops and starts: no pooler in front of it).
 */
export function throughPooler(url: string): string | undefined {
  const pooler = inject('poolerDatabaseUrl');
  if (pooler === undefined) return undefined;
  const target = new URL(url);
  const admin = new URL(inject('adminDatabaseUrl'));
  if (target.hostname !== admin.hostname || target.port !== admin.port) return undefined;
  const through = new URL(pooler);
  target.hostname = through.hostname;
  target.port = through.port;
  return target.toString();
}

/**
 * Starts the real server in this process on a free port, against `databaseUrl` (migrations are applied as at
 * start-up). Real HTTP and WebSocket clients talk to it through `url` and `wsUrl`. In the `pooler` category its
 * sessions go through PgBouncer in transaction mode (`pooler: 'transaction'`), and `databaseUrl` is its direct
 * connection (migrations, LISTEN).
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const given = options.config ?? {};
  const pooled = throughPooler(options.databaseUrl);
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

/** The scratch database and the server of one test file (see `serverForFile`). */
export interface FileServer {
  readonly db: ScratchDatabase;
  readonly server: TestServer;
}

/**
 * A scratch database and a test server on it, started before the file's tests and stopped after them (vitest's
 * `beforeAll`/`afterAll`, registered by this call). Read `db` and `server` inside tests and hooks only.
 */
export function serverForFile(config?: ConfigInput): FileServer {
  let db: ScratchDatabase | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    db = await createScratchDatabase(inject('adminDatabaseUrl'));
    server = await startTestServer({ databaseUrl: db.url, ...(config ? { config } : {}) });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error('serverForFile: read db and server inside tests and hooks, after beforeAll');
    return value;
  };
  return {
    get db() {
      return started(db);
    },
    get server() {
      return started(server);
    },
  };
}
