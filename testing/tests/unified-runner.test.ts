import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunReport } from '../src/runner/report.js';
import { accepting, fixture, runner, runnerScript } from './runner-process.js';

// The runner's own tests: they spawn the compiled runner (as `npm run test:unified` does) on the fake projects
// under fixtures/, each a miniature of the repository's categories.
const SELECTION = fixture('selection');
const FAILING = fixture('failing');
const SERVICES = fixture('services');
const POOLER = fixture('pooler');
/** Makes the runner see a machine without PgBouncer, whatever this one has. */
const NO_PGBOUNCER = { TETHER_TEST_PGBOUNCER: '/nonexistent/pgbouncer' };
/** Lets the fixtures' services categories run without starting PostgreSQL: their tests only look at the URL. */
const FAKE_DATABASE = { DATABASE_URL: 'postgres://runner-fixture.invalid:5432/postgres' };
const TIMEOUT = 30_000;

let scratch: string;

beforeAll(() => {
  if (!existsSync(runnerScript)) throw new Error(`${runnerScript} is missing: build with \`npx tsc -b\` first`);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'unified-runner-test-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function reportFile(name: string): string {
  return path.join(scratch, `${name}.json`);
}

function readReport(file: string): RunReport {
  return JSON.parse(readFileSync(file, 'utf8')) as RunReport;
}

const SESSION_METRICS_TESTS = [
  'unit | unit/pool-sizing.test.ts | SessionMetrics > counts errors per session',
  'unit | unit/session_metrics_ssot_validation.test.ts | field access is consistent',
  'unit | unit/session_metrics_ssot_validation.test.ts | interfaces are compatible',
  'integration | integration/session-metrics-error-paths.test.ts | ' +
    'database connection error is logged with session metrics',
  'integration | integration/session-metrics-error-paths.test.ts | statement timeout surfaces as a typed error',
  'e2e | e2e/session_metrics_auth.test.ts | websocket auth records session metrics',
];

function ranTests(report: RunReport): string[] {
  return report.tests.map((t) => `${t.category} | ${t.file} | ${t.name}`).sort();
}

describe.concurrent('unified runner', () => {
  test(
    "the seed's first --pattern selects exactly the matching tests of all three categories",
    { timeout: TIMEOUT },
    async () => {
      const json = reportFile('session-metrics');
      const run = await runner(
        [
          '--config',
          SELECTION,
          '--pattern',
          '*session_metrics*',
          '--categories',
          'unit',
          'integration',
          'e2e',
          '--real-services',
          '--json-output',
          json,
        ],
        FAKE_DATABASE,
      );
      expect(run.code, run.stderr).toBe(0);
      const report = readReport(json);
      expect(ranTests(report)).toEqual([...SESSION_METRICS_TESTS].sort());
      expect(report.tests.every((t) => t.status === 'passed')).toBe(true);
    },
  );

  test(
    '--pattern ignores case and treats _, - and spaces alike, in file paths and test names',
    { timeout: TIMEOUT },
    async () => {
      for (const pattern of ['session-metrics', 'SESSION METRICS', '*Session_Metrics*']) {
        const run = await runner(['--config', SELECTION, '--pattern', pattern, '--list-categories']);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^unit\s+3 tests in 2 files/m);
        expect(run.stdout).toMatch(/^integration\s+2 tests in 1 file\b/m);
        expect(run.stdout).toMatch(/^e2e\s+1 test in 1 file\b/m);
      }
    },
  );

  test(
    "the seed's second --pattern, with --category unit --fast-fail, runs that one file's tests",
    { timeout: TIMEOUT },
    async () => {
      const json = reportFile('ssot-validation');
      const run = await runner([
        '--config',
        SELECTION,
        '--pattern',
        '*ssot_validation*',
        '--category',
        'unit',
        '--fast-fail',
        '--json-output',
        json,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(ranTests(readReport(json))).toEqual(
        SESSION_METRICS_TESTS.filter((t) => t.includes('ssot_validation')).sort(),
      );
    },
  );

  test(
    '--fast-fail stops at the first failure: later tests and categories do not run',
    { timeout: TIMEOUT },
    async () => {
      const json = reportFile('fast-fail');
      const run = await runner(['--config', FAILING, '--fast-fail', '--json-output', json]);
      expect(run.code).toBe(1);
      const report = readReport(json);
      expect(report.stoppedEarly).toBe(true);
      expect(report.tests.find((t) => t.name === 'fails deliberately')?.status).toBe('failed');
      expect(report.tests.find((t) => t.name === 'would pass after the failure')?.status).toBe('skipped');
      expect(report.tests.some((t) => t.category === 'integration')).toBe(false);
      expect(report.summary.categories.find((c) => c.name === 'integration')).toMatchObject({ ran: false, total: 0 });
      expect(run.stdout).toMatch(/not run: integration/);
    },
  );

  test('without --fast-fail a failure is reported and the run goes on', { timeout: TIMEOUT }, async () => {
    const json = reportFile('no-fast-fail');
    const run = await runner(['--config', FAILING, '--json-output', json]);
    expect(run.code).toBe(1);
    const report = readReport(json);
    expect(report.stoppedEarly).toBe(false);
    expect(report.exitCode).toBe(1);
    expect(report.summary).toMatchObject({ total: 3, passed: 2, failed: 1 });
    expect(report.tests.find((t) => t.category === 'integration')?.status).toBe('passed');
  });

  test('--json-output writes the documented shape', { timeout: TIMEOUT }, async () => {
    const json = reportFile('shape');
    const run = await runner(['--config', FAILING, '--json-output', json]);
    expect(run.code).toBe(1);
    const report = readReport(json);
    expect(Object.keys(report).sort()).toEqual([
      'database',
      'durationMs',
      'errors',
      'exitCode',
      'options',
      'startedAt',
      'stoppedEarly',
      'summary',
      'tests',
      'version',
    ]);
    expect(report).toMatchObject({
      version: 1,
      options: { pattern: null, categories: ['unit', 'integration'], realServices: false, fastFail: false },
      database: null,
      errors: [],
    });
    expect(Number.isNaN(Date.parse(report.startedAt))).toBe(false);
    expect(report.durationMs).toBeGreaterThan(0);
    for (const t of report.tests) {
      expect(t).toEqual({
        name: expect.any(String),
        category: expect.stringMatching(/^(unit|integration)$/),
        file: expect.stringMatching(/^(unit|integration)\/[\w.-]+\.test\.ts$/),
        status: expect.stringMatching(/^(passed|failed|skipped|todo)$/),
        durationMs: expect.any(Number),
        ...(t.status === 'failed' ? { errors: [expect.stringContaining("expected 'actual' to be 'expected'")] } : {}),
      });
    }
    const { summary } = report;
    expect(summary.total).toBe(report.tests.length);
    expect(summary.passed + summary.failed + summary.skipped + summary.todo).toBe(summary.total);
    expect(summary.categories.map((c) => c.name)).toEqual(['unit', 'integration']);
    expect(summary.categories[0]).toEqual({
      name: 'unit',
      files: 1,
      ran: true,
      total: 2,
      passed: 1,
      failed: 1,
      skipped: 0,
      todo: 0,
    });
  });

  test(
    'a category needing services is refused with exit 2 without --real-services, and nothing runs',
    { timeout: TIMEOUT },
    async () => {
      for (const args of [['--category', 'integration'], ['--pattern', '*session_metrics*'], []]) {
        const run = await runner(['--config', SELECTION, ...args], FAKE_DATABASE);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stderr).toMatch(/needs? PostgreSQL.*add --real-services/);
        expect(run.stdout).not.toMatch(/Test Files/);
      }
    },
  );

  test('usage errors exit 2: unknown category, unknown option, stray argument', { timeout: TIMEOUT }, async () => {
    const unknown = await runner(['--config', SELECTION, '--category', 'smoke']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown category smoke; known: unit, integration, e2e/);
    expect((await runner(['--config', SELECTION, '--fastfail'])).code).toBe(2);
    expect((await runner(['--config', SELECTION, 'unit'])).code).toBe(2);
    expect((await runner(['--config', SELECTION, '--pattern'])).code).toBe(2);
  });

  test(
    '--list-categories prints every category with its test count and needs no services',
    { timeout: TIMEOUT },
    async () => {
      const run = await runner(['--config', SELECTION, '--list-categories']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual([
        'unit         4 tests in 2 files',
        'integration  3 tests in 2 files  needs --real-services',
        'e2e          2 tests in 2 files  needs --real-services',
      ]);
    },
  );

  test(
    '--real-services without DATABASE_URL starts embedded PostgreSQL for the run and stops it after',
    { timeout: TIMEOUT },
    async () => {
      const record = path.join(scratch, 'embedded-url');
      const json = reportFile('embedded');
      const run = await runner(['--config', SERVICES, '--real-services', '--json-output', json], {
        RUNNER_FIXTURE_RECORD: record,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/embedded PostgreSQL/);
      expect(readReport(json).database).toBe('embedded');
      const url = readFileSync(record, 'utf8');
      expect(url).toMatch(/^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
      expect(await accepting(url)).toBe(false);
    },
  );

  test('SIGINT during a run stops the tests and embedded PostgreSQL, and exits 130', { timeout: TIMEOUT }, async () => {
    const record = path.join(scratch, 'interrupted-url');
    const run = await runner(
      ['--config', SERVICES, '--real-services'],
      { RUNNER_FIXTURE_RECORD: record, RUNNER_FIXTURE_WAIT_MS: '60000' },
      (child) => {
        const poll = setInterval(() => {
          if (!existsSync(record)) return;
          clearInterval(poll);
          child.kill('SIGINT');
        }, 50);
        child.once('close', () => clearInterval(poll));
      },
    );
    expect(run.code, run.stdout + run.stderr).toBe(130);
    expect(await accepting(readFileSync(record, 'utf8'))).toBe(false);
  });
  test(
    'without pgbouncer, a pooler category is not run, the run says so plainly, and the rest passes',
    { timeout: TIMEOUT },
    async () => {
      const json = reportFile('no-pgbouncer');
      const run = await runner(['--config', POOLER, '--real-services', '--json-output', json], {
        ...FAKE_DATABASE,
        ...NO_PGBOUNCER,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const notice = /^test:unified: pooler NOT RUN: pgbouncer is not installed/m;
      expect(run.stdout).toMatch(notice);
      // said again after the summary, where a reader of a green run looks
      expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(notice);
      const report = readReport(json);
      expect(report.tests.map((t) => t.category)).toEqual(['unit']);
      expect(report.summary.categories.find((c) => c.name === 'pooler')).toMatchObject({
        ran: false,
        total: 0,
        notRun: expect.stringMatching(/pgbouncer is not installed/),
      });
    },
  );

  test('without pgbouncer, a pooler category asked for by name fails the run', { timeout: TIMEOUT }, async () => {
    const run = await runner(['--config', POOLER, '--category', 'pooler', '--real-services'], {
      ...FAKE_DATABASE,
      ...NO_PGBOUNCER,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pooler cannot run: pgbouncer is not installed/);
  });

  test('--list-categories says which category needs pgbouncer', { timeout: TIMEOUT }, async () => {
    const run = await runner(['--config', POOLER, '--list-categories'], NO_PGBOUNCER);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^pooler\s+1 test in 1 file\s+needs --real-services and pgbouncer$/m);
  });
});
