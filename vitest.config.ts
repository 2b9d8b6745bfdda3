import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Tests run against TypeScript sources; tsc checks the same imports against the packages' declarations.
const alias = [
  { find: /^tether$/, replacement: root('./packages/tether/src/index.ts') },
  { find: /^tether\/(.+)$/, replacement: root('./packages/tether/src/$1/index.ts') },
  { find: /^@tether\/testing$/, replacement: root('./testing/src/index.ts') },
];

export const categories = {
  unit: { include: ['packages/*/tests/unit/**/*.test.ts'], services: false },
  integration: { include: ['packages/*/tests/integration/**/*.test.ts'], services: true },
  e2e: { include: ['packages/*/tests/e2e/**/*.test.ts'], services: true },
} as const;

export default defineConfig({
  resolve: { alias },
  test: {
    projects: Object.entries(categories).map(([name, c]) => ({
      resolve: { alias },
      test: {
        name,
        include: [...c.include],
        testTimeout: name === 'unit' ? 5_000 : 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
        globalSetup: c.services ? [root('./testing/src/global-setup.ts')] : [],
      },
    })),
  },
});
