import { rmSync } from 'node:fs';
import { EmbeddedPostgres } from 'tether/database';
import { startPgBouncer, type PgBouncer } from '@tether/harness';

/** The environment variable the test fixtures' globalSetup reads: a superuser URL they create scratch databases on. */
export const TEST_DATABASE_URL_ENV = 'TETHER_TEST_DATABASE_URL';
/** The same server through PgBouncer in transaction mode, for the categories that run through a pooler. */
export const TEST_POOLER_URL_ENV = 'TETHER_TEST_POOLER_URL';

export interface Services {
  /** Superuser URL handed to the tests. */
  readonly databaseUrl: string;
  /** Where it came from, for the run's banner. */
  readonly source: 'DATABASE_URL' | 'embedded';
  /** `databaseUrl` through PgBouncer, when a selected category runs through the pooler. */
  readonly poolerUrl: string | undefined;
  /** Idempotent: stops what this run started (nothing when DATABASE_URL was given) and removes its data. */
  stop(): Promise<void>;
}

/**
 * The services a run needs: `DATABASE_URL` when set (left untouched), otherwise one embedded PostgreSQL on an
 * ephemeral data directory for the whole run; with `pooler`, PgBouncer in transaction mode in front of it.
 */
export async function startServices(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  options: { readonly pooler: boolean },
): Promise<Services> {
  const database = await startDatabase(env, log);
  let pooler: PgBouncer | undefined;
  if (options.pooler) {
    try {
      pooler = await startPgBouncer({ upstreamUrl: database.databaseUrl });
    } catch (error) {
      await database.stop();
      throw error;
    }
    log(`${pooler.version} (transaction mode) on 127.0.0.1:${pooler.port} in front of it`);
  }
  let stopping: Promise<void> | undefined;
  return {
    ...database,
    poolerUrl: pooler?.through(database.databaseUrl),
    stop: () => (stopping ??= (pooler?.stop() ?? Promise.resolve()).finally(() => database.stop())),
  };
}

async function startDatabase(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Omit<Services, 'poolerUrl'>> {
  const given = env['DATABASE_URL'];
  if (given) {
    return { databaseUrl: given, source: 'DATABASE_URL', stop: () => Promise.resolve() };
  }
  const dataDir = EmbeddedPostgres.temporaryDataDir('tether-test-pg-');
  const started = Date.now();
  let postgres: EmbeddedPostgres;
  try {
    postgres = await EmbeddedPostgres.start({ dataDir, ephemeral: true });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  log(`embedded PostgreSQL ${postgres.version} on 127.0.0.1:${postgres.port} (started in ${Date.now() - started} ms)`);
  let stopping: Promise<void> | undefined;
  return {
    databaseUrl: postgres.url,
    source: 'embedded',
    stop: () => {
      stopping ??= postgres.stop().finally(() => {
        // the launcher may have placed the cluster elsewhere when dataDir was out of the postgres user's reach
        for (const dir of new Set([dataDir, postgres.dataDir])) rmSync(dir, { recursive: true, force: true });
      });
      return stopping;
    },
  };
}
