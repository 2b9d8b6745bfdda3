import type { TestProject } from 'vitest/node';
import './index.js';
import { startPgBouncer } from '@tether/harness';

/**
 * The pooler category's second globalSetup (after global-setup.ts): the run's PgBouncer in transaction mode in
 * front of the run's PostgreSQL (TETHER_TEST_POOLER_URL, from the unified runner), or one started here when Vitest
 * runs the category by itself. Its tests reach every scratch database through it (`throughPooler`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TETHER_TEST_POOLER_URL;
  if (given) {
    project.provide('poolerDatabaseUrl', given);
    return async () => {};
  }
  const upstreamUrl = project.getProvidedContext().adminDatabaseUrl;
  const pooler = await startPgBouncer({ upstreamUrl });
  project.provide('poolerDatabaseUrl', pooler.through(upstreamUrl));
  return () => pooler.stop();
}
