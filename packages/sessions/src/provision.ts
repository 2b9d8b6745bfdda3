import pg from 'pg';
import { APP_ROLE, SYSTEM_ROLE } from './factory-options.js';
import { roleName } from './identity.js';

export interface ProvisionOptions {
  /** The role users' sessions run as (`SessionFactoryOptions.appRole`). */
  readonly appRole?: string;
  /** The role privileged sessions run as (`SessionFactoryOptions.systemRole`). */
  readonly systemRole?: string;
  /** The schema whose tables and sequences the roles may use. */
  readonly schema?: string;
}

/**
 * What a database needs before a `SessionFactory` can use it, as SQL (idempotent; run it as a superuser or a
 * login with `CREATEROLE`, connected to the application's database):
 * - the two roles, without login: the app role without `BYPASSRLS` (Row-Level Security applies to it), the
 *   system role with it;
 * - membership of both for the connecting login (`SET LOCAL ROLE` needs it);
 * - use of the schema, and SELECT, INSERT, UPDATE, DELETE on its tables and use of its sequences, now and for
 *   tables created later by the same login (default privileges).
 * Row-Level Security policies themselves are the application's: they read `current_setting('app.user_id', true)`.
 */
export function provisioningSql(options: ProvisionOptions = {}): string {
  const app = pg.escapeIdentifier(roleName(options.appRole ?? APP_ROLE));
  const system = pg.escapeIdentifier(roleName(options.systemRole ?? SYSTEM_ROLE));
  const schema = pg.escapeIdentifier(options.schema ?? 'public');
  const createRole = (name: string, quoted: string, bypass: string): string =>
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${pg.escapeLiteral(name)}) THEN
    CREATE ROLE ${quoted} NOLOGIN ${bypass};
  END IF;
END $$;`;
  return [
    createRole(options.appRole ?? APP_ROLE, app, 'NOBYPASSRLS'),
    createRole(options.systemRole ?? SYSTEM_ROLE, system, 'BYPASSRLS'),
    `GRANT ${app}, ${system} TO CURRENT_USER;`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${app}, ${system};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${app}, ${system};`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${app}, ${system};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}, ${system};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${app}, ${system};`,
  ].join('\n');
}

/** Runs `provisioningSql(options)` on the database at `connectionString`. */
export async function provision(connectionString: string, options: ProvisionOptions = {}): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(provisioningSql(options));
  } finally {
    await client.end();
  }
}
