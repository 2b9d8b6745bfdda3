import { rmSync } from 'node:fs';
import './index.js';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgres } from 'tether/database';

/**
 * One PostgreSQL server per test run: the runner's (TETHER_TEST_DATABASE_URL), an external one
 * (DATABASE_URL), or an embedded one started here and stopped at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TETHER_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (given) {
    project.provide('adminDatabaseUrl', given);
    return async () => {};
  }
  const dataDir = EmbeddedPostgres.temporaryDataDir('tether-run-');
  const server = await EmbeddedPostgres.start({ dataDir, ephemeral: true });
  project.provide('adminDatabaseUrl', server.url);
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
