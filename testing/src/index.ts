import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server this run's tests create scratch databases on. */
    adminDatabaseUrl: string;
    /** The same server through PgBouncer in transaction mode: provided to the `pooler` category only. */
    poolerDatabaseUrl: string | undefined;
  }
}

/**
 * Helpers shared by the tests of both packages: PostgreSQL fixtures, the server fixture, and (re-exported from
 * @tether/harness, which the benchmarks share) real processes and real clients.
 */
export { createScratchDatabase, insertUsers, withDatabase, type ScratchDatabase } from './postgres.js';
export { captureLogger, eventually, type LogLine } from './logs.js';
export { failureOf } from './assertions.js';
export { serverForFile, startTestServer, throughPooler, type FileServer } from './server.js';
export {
  api,
  findPgBouncer,
  grantAdmin,
  login,
  openSocket,
  OUTAGE_CODES,
  PGBOUNCER_MISSING,
  registerAndLogin,
  runOutageScenario,
  startNats,
  startPgBouncer,
  startPrivatePostgres,
  startRedis,
  TEST_SECRET,
  TestSocket,
  NATS_SERVER,
  REDIS_SERVER,
  type ApiResponse,
  type BrokerProcess,
  type Frame,
  type LoggedInUser,
  type OutageOptions,
  type OutageReport,
  type PgBouncer,
  type PgBouncerOptions,
  type ServerLogRecord,
  type TestServer,
  type TestServerOptions,
} from '@tether/harness';
export { rawRequest, nestedJson, type RawRequest, type RawResponse } from './raw-http.js';
export { launchChromium, type ChromiumOptions } from './browser.js';
export {
  exitOf,
  npmStart,
  runCli,
  serveCli,
  TETHER_CLI,
  type CliResult,
  type ProcessExit,
  type ServedCli,
} from './cli.js';
