import { afterAll, beforeAll, inject } from 'vitest';
import type { ConfigInput } from 'tether/config';
import { startServer, type TestServer, type TestServerOptions } from '@tether/harness';
import { createScratchDatabase, type ScratchDatabase } from './postgres.js';

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
 * Starts the real server (see `startServer`); in the `pooler` category its sessions go through PgBouncer in
 * transaction mode (`pooler: 'transaction'`), and `databaseUrl` is its direct connection (migrations, LISTEN).
 */
export function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const pooled = throughPooler(options.databaseUrl);
  return startServer(pooled === undefined ? options : { ...options, pooledDatabaseUrl: pooled });
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
