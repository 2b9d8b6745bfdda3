#!/usr/bin/env node
import { Command, Option } from 'commander';
import pg from 'pg';
import { loadConfig, type ConfigInput, type TetherConfig } from './config/index.js';
import { provisionDatabase, type ProvisionedDatabase } from './database/index.js';
import { TetherError } from './errors.js';
import { handleShutdownSignals } from './shutdown-signals.js';
import { startService } from './service.js';

const VERSION = '0.1.0';

interface CommonFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
  poolMax?: string;
  acquireTimeoutMs?: string;
  statementTimeoutMs?: string;
}

function configFrom(flags: CommonFlags): TetherConfig {
  const overrides: ConfigInput = {};
  if (flags.port !== undefined) overrides.port = flags.port as unknown as number; // zod coerces and checks
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
  if (flags.databaseUrl !== undefined) overrides.databaseUrl = flags.databaseUrl;
  if (flags.logLevel !== undefined) overrides.logLevel = flags.logLevel as TetherConfig['logLevel'];
  const pool: Record<string, unknown> = {};
  if (flags.poolMax !== undefined) pool.max = flags.poolMax;
  if (flags.acquireTimeoutMs !== undefined) pool.acquireTimeoutMs = flags.acquireTimeoutMs;
  if (flags.statementTimeoutMs !== undefined) pool.statementTimeoutMs = flags.statementTimeoutMs;
  if (Object.keys(pool).length) overrides.pool = pool as ConfigInput['pool'];
  return loadConfig(process.env, overrides);
}

function withCommonFlags(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'embedded PostgreSQL and generated secrets (env TETHER_DATA_DIR)'))
    .addOption(new Option('--database-url <url>', 'use this PostgreSQL instead of the embedded one (env DATABASE_URL)'))
    .addOption(new Option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent'));
}

/** For one-shot commands: beside a running server they use its database and leave it running. */
async function openDatabase(config: TetherConfig): Promise<ProvisionedDatabase> {
  // migrations and admin work hold a session (an advisory lock): never through a transaction-mode pooler
  const databaseUrl = config.directDatabaseUrl ?? config.databaseUrl;
  const db = await provisionDatabase({ databaseUrl, dataDir: config.dataDir, shareRunning: true });
  if (db.sharedWith !== undefined)
    console.error(`tether: using the database of the running tether (pid ${db.sharedWith})`);
  return db;
}

const program = new Command('tether')
  .version(VERSION)
  .description('Request-scoped, measured PostgreSQL sessions behind an HTTP and WebSocket API')
  .showHelpAfterError()
  .exitOverride();

withCommonFlags(
  program
    .command('serve', { isDefault: true })
    .description('run the server (embedded PostgreSQL unless DATABASE_URL is set)')
    .option('-p, --port <port>', 'listen port, 0 for a free one (env PORT)')
    .option('--host <host>', 'listen address (env TETHER_HOST)')
    .option('--pool-max <n>', 'most database connections (env TETHER_POOL_MAX)')
    .option(
      '--acquire-timeout-ms <ms>',
      'longest wait for a connection before 503 pool_exhausted (env TETHER_ACQUIRE_TIMEOUT_MS)',
    )
    .option(
      '--statement-timeout-ms <ms>',
      'longest statement before 503 session_timeout (env TETHER_STATEMENT_TIMEOUT_MS)',
    ),
).action(async (flags: CommonFlags) => {
  const config = configFrom(flags);
  const starting = startService(config, VERSION, {
    onDatabaseLost: () => {
      // nothing here can serve again: exit non-zero so a process manager restarts the whole server
      void starting.then((service) => service.close()).finally(() => process.exit(1));
    },
  });
  handleShutdownSignals(starting);
  await starting;
});

withCommonFlags(program.command('migrate').description('apply pending database migrations and exit')).action(
  async (flags: CommonFlags) => {
    const db = await openDatabase(configFrom(flags));
    console.log(
      db.migrations.applied.length
        ? `applied ${db.migrations.applied.join(', ')}`
        : `schema is up to date (version ${db.migrations.current})`,
    );
    await db.close();
  },
);

const admin = program.command('admin').description('administrative tasks');
withCommonFlags(
  admin
    .command('grant')
    .argument('<email>', 'the user to make an admin')
    .description('give a registered user the admin role'),
).action(async (email: string, flags: CommonFlags) => {
  const db = await openDatabase(configFrom(flags));
  const client = new pg.Client({ connectionString: db.url });
  try {
    await client.connect();
    // users are protected by RLS: the privileged role reads across users
    await client.query('BEGIN; SET LOCAL ROLE tether_system');
    const { rowCount } = await client.query("UPDATE users SET role = 'admin' WHERE lower(email) = lower($1)", [email]);
    await client.query('COMMIT');
    if (!rowCount) throw new UsageError(`no user with email ${email}`);
    console.log(`${email} is now an admin`);
  } finally {
    await client.end().catch(() => {});
    await db.close();
  }
});

class UsageError extends Error {}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const e = error as Error & { code?: string; exitCode?: number };
  if (e.code?.startsWith('commander.')) {
    process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2);
  }
  // configuration and usage problems: one line, exit 2; anything else: exit 1
  const usage = (error instanceof TetherError && error.code === 'configuration_error') || error instanceof UsageError;
  console.error(`tether: ${e.message}`);
  process.exit(usage ? 2 : 1);
}
