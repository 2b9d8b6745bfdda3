import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server this run's tests create scratch databases on. */
    adminDatabaseUrl: string;
    /** The same server through PgBouncer in transaction mode: provided to the `pooler` category only. */
    poolerDatabaseUrl: string | undefined;
  }
}

/** Helpers shared by the tests of both packages: PostgreSQL fixtures, server fixture, real login. */
export {
  createScratchDatabase,
  insertUsers,
  startPrivatePostgres,
  withDatabase,
  type ScratchDatabase,
} from './postgres.js';
export { captureLogger, eventually, type LogLine } from './logs.js';
export { failureOf } from './assertions.js';
export {
  findPgBouncer,
  startPgBouncer,
  PGBOUNCER_MISSING,
  type PgBouncer,
  type PgBouncerOptions,
} from './pgbouncer.js';
export {
  serverForFile,
  startTestServer,
  throughPooler,
  TEST_SECRET,
  type FileServer,
  type TestServer,
  type TestServerOptions,
  type ServerLogRecord,
} from './server.js';
export {
  api,
  grantAdmin,
  registerAndLogin,
  login,
  openSocket,
  TestSocket,
  type ApiResponse,
  type LoggedInUser,
  type Frame,
} from './login.js';
export { runOutageScenario, OUTAGE_CODES, type OutageOptions, type OutageReport } from './outage.js';
export { rawRequest, nestedJson, type RawRequest, type RawResponse } from './raw-http.js';
export { launchChromium, type ChromiumOptions } from './browser.js';
export { startNats, startRedis, NATS_SERVER, REDIS_SERVER, type BrokerProcess } from './brokers.js';
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
