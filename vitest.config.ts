import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const root = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests run against TypeScript sources; tsc checks the same imports against the packages' declarations.
const alias = [
  { find: /^@tether\/sessions$/, replacement: root('./packages/sessions/src/index.ts') },
  { find: /^tether$/, replacement: root('./packages/tether/src/index.ts') },
  { find: /^tether\/(.+)$/, replacement: root('./packages/tether/src/$1/index.ts') },
  { find: /^@tether\/harness$/, replacement: root('./harness/src/index.ts') },
  { find: /^@tether\/testing$/, replacement: root('./testing/src/index.ts') },
];

/**
 * The test categories: one Vitest project each, run in this order by `npm run test:unified`
 * (testing/src/unified-runner.ts reads this export). `services: true` means the category needs PostgreSQL:
 * the runner refuses it without `--real-services` and hands its tests TETHER_TEST_DATABASE_URL.
 */
export const categories = {
  // testing/tests: the unified runner's own tests (they spawn it on testing/tests/fixtures; no services)
  unit: { include: ['packages/*/tests/unit/**/*.test.ts', 'testing/tests/*.test.ts'], services: false },
  integration: { include: ['packages/*/tests/integration/**/*.test.ts'], services: true },
  e2e: { include: ['packages/*/tests/e2e/**/*.test.ts'], services: true },
  reliability: { include: ['packages/*/tests/reliability/**/*.test.ts'], services: true },
  browser: { include: ['packages/*/tests/browser/**/*.test.ts'], services: true },
  // the e2e layer again, and the pooler's own tests, with every session through PgBouncer in transaction mode
  // (TETHER_POOLER=transaction); not run, and said so, on a machine without pgbouncer
  pooler: {
    include: [
      'packages/*/tests/e2e/**/*.test.ts',
      'packages/*/tests/pooler/**/*.test.ts',
      'testing/tests/pooler/*.test.ts',
    ],
    // these start `tether serve` on an embedded PostgreSQL of their own: the pooler never reaches them
    exclude: [
      'packages/tether/tests/e2e/cli-beside-running-server.test.ts',
      'packages/tether/tests/e2e/packed-tarball.test.ts',
      'packages/tether/tests/e2e/server-lifecycle.test.ts',
      'packages/tether/tests/e2e/shutdown-signals.test.ts',
    ],
    services: true,
    pooler: true,
  },
} as const;

/** globalSetup of every category with `services: true` (reads TETHER_TEST_DATABASE_URL); the fixtures own it. */
const servicesGlobalSetup = [root('./testing/src/global-setup.ts')];
/** …and, after it, of the categories with `pooler: true` (reads TETHER_TEST_POOLER_URL). */
const poolerGlobalSetup = [root('./testing/src/pooler-global-setup.ts')];

// Fixture trees hold test files of their own (the runner's fake projects, the scanner's rule fixtures).
const exclude = [...configDefaults.exclude, '**/fixtures/**'];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: Object.entries(categories).map(([name, c]) => ({
      resolve: { alias },
      test: {
        name,
        include: [...c.include],
        exclude: [...exclude, ...('exclude' in c ? c.exclude : [])],
        globalSetup: [
          ...(c.services ? servicesGlobalSetup : []),
          ...('pooler' in c && c.pooler ? poolerGlobalSetup : []),
        ],
        testTimeout: name === 'unit' ? 5_000 : 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    })),
  },
});
