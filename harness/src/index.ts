/**
 * Real processes and real clients, shared by the tests (through @tether/testing) and the benchmarks: PgBouncer and
 * broker processes, a private PostgreSQL, the server in this process, an HTTP and WebSocket client that registers
 * and logs in through the API, the database-outage scenario, and a pg client without a server. Nothing here knows
 * Vitest, so a benchmark runs it with plain Node.
 */
export {
  findPgBouncer,
  startPgBouncer,
  PGBOUNCER_MISSING,
  type PgBouncer,
  type PgBouncerOptions,
} from './pgbouncer.js';
export { startNats, startRedis, NATS_SERVER, REDIS_SERVER, type BrokerProcess } from './brokers.js';
export { startPrivatePostgres } from './postgres.js';
export {
  startServer,
  TEST_SECRET,
  UNLIMITED_RATES,
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
} from './api-client.js';
export { runOutageScenario, OUTAGE_CODES, type OutageOptions, type OutageReport } from './outage.js';
export { AnsweringClient, poolOf } from './answering-client.js';
