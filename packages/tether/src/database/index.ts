/** The database layer: where PostgreSQL comes from and what schema it holds. Knows nothing of sessions. */
export { ClusterInUseError, EmbeddedPostgres, freePort, type EmbeddedPostgresOptions } from './embedded.js';
export {
  migrate,
  loadMigrations,
  MigrationError,
  MIGRATIONS_DIR,
  type Migration,
  type MigrationResult,
} from './migrations.js';
export {
  provisionDatabase,
  parseDatabaseUrl,
  MIN_SERVER_VERSION,
  type DatabaseOptions,
  type ProvisionedDatabase,
} from './provision.js';
export { postgresIdentity } from './privileges.js';
