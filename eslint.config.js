// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import boundaries from 'eslint-plugin-boundaries';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/fixtures/**', '.tether/**', 'coverage/**', 'test-results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      // Prettier wraps code at 120 but leaves comments and literals alone: test names, SQL and messages are ours to
      // say briefly or break over lines
      'max-len': ['error', { code: 120 }],
    },
  },
  {
    // plain JavaScript scripts (benchmarks) run on Node
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // the dashboard's page scripts run in the browser, unbundled: ES modules, but for locale.js, which must run
    // (as a classic script) before uPlot loads
    files: ['packages/tether/src/dashboard/assets/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'module' },
  },
  {
    files: ['packages/tether/src/dashboard/assets/locale.js'],
    languageOptions: { sourceType: 'script' },
  },
  {
    // product code reads configuration once, through config/: no stray process.env
    files: ['packages/tether/src/**/*.ts'],
    ignores: ['packages/tether/src/config/**', 'packages/tether/src/cli.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through config/.' },
      ],
    },
  },
  {
    // Which way imports may point, checked rather than drawn (README: "Architecture"). Elements are folders; a
    // dependency is judged by the file it resolves to (TypeScript's resolution: workspace packages included).
    files: ['packages/*/src/**/*.ts', 'packages/*/bench/**/*.ts', 'harness/src/**/*.ts', 'testing/src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': {
        typescript: {
          noWarnOnMultipleProjects: true,
          project: [
            'packages/*/tsconfig.json',
            'packages/tether/bench/tsconfig.json',
            'harness/tsconfig.json',
            'testing/tsconfig.json',
          ],
        },
      },
      'boundaries/include': ['packages/**/*', 'harness/**/*', 'testing/**/*'],
      'boundaries/elements': [
        { type: 'sessions', pattern: 'packages/sessions/**' },
        { type: 'server', pattern: 'packages/tether/src/server/**' },
        { type: 'auth', pattern: 'packages/tether/src/auth/**' },
        { type: 'logins', pattern: 'packages/tether/src/logins/**' },
        { type: 'threads', pattern: 'packages/tether/src/threads/**' },
        { type: 'tether-bench', pattern: 'packages/tether/bench/**' },
        { type: 'tether', pattern: 'packages/tether/**' },
        { type: 'ssot', pattern: 'packages/ssot/**' },
        { type: 'harness', pattern: 'harness/**' },
        { type: 'testing', pattern: 'testing/**' },
      ],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'allow',
          policies: [
            {
              from: { element: { type: 'sessions' } },
              disallow: {
                to: {
                  element: {
                    types: {
                      anyOf: [
                        'server',
                        'auth',
                        'logins',
                        'threads',
                        'tether',
                        'tether-bench',
                        'ssot',
                        'harness',
                        'testing',
                      ],
                    },
                  },
                },
              },
              message: 'the session layer imports nothing of the service, the scanner, harness/ or testing/',
            },
            {
              from: { element: { types: { anyOf: ['threads', 'logins', 'auth'] } } },
              disallow: { to: { element: { types: { anyOf: ['server'] } } } },
              message: 'domains never import the server above them',
            },
            {
              from: { element: { type: 'threads' } },
              disallow: { to: { element: { types: { anyOf: ['logins', 'auth'] } } } },
              message: 'threads knows no logins',
            },
            {
              from: {
                element: { types: { anyOf: ['server', 'auth', 'logins', 'threads', 'tether', 'tether-bench'] } },
              },
              disallow: { to: { element: { types: { anyOf: ['ssot'] } } } },
              message: 'tether and ssot never import each other',
            },
            {
              from: { element: { type: 'ssot' } },
              disallow: {
                to: {
                  element: {
                    types: { anyOf: ['sessions', 'server', 'auth', 'logins', 'threads', 'tether', 'tether-bench'] },
                  },
                },
              },
              message: 'tether and ssot never import each other',
            },
            {
              from: {
                element: { types: { anyOf: ['sessions', 'server', 'auth', 'logins', 'threads', 'tether', 'ssot'] } },
              },
              disallow: { to: { element: { types: { anyOf: ['harness', 'testing'] } } } },
              message: 'product code never imports harness/ or testing/',
            },
            // the benchmarks share the real-process harness with the tests (PgBouncer, brokers, real logins, the
            // outage scenario), never the tests' own fixtures
            {
              from: { element: { type: 'tether-bench' } },
              disallow: { to: { element: { types: { anyOf: ['testing'] } } } },
              message: 'benchmarks never import testing/',
            },
            {
              from: { element: { type: 'harness' } },
              disallow: { to: { element: { types: { anyOf: ['testing', 'tether-bench'] } } } },
              message: 'harness/ imports neither testing/ nor the benchmarks: they import it',
            },
          ],
        },
      ],
    },
  },
);
