import path from 'node:path';
import { createVitest, type TestModule, type Vitest } from 'vitest/node';
import { loadCategories, type Category } from './categories.js';
import type { RunnerOptions } from './options.js';
import { UsageError } from './options.js';
import { compilePattern } from './pattern.js';
import {
  count,
  emptyCounts,
  writeReport,
  type CategorySummary,
  type RunReport,
  type TestRecord,
  type TestStatus,
} from './report.js';
import { countTests, isSelected, selectFiles, type SelectedFile, type Selection } from './selection.js';
import { startServices, TEST_DATABASE_URL_ENV, TEST_POOLER_URL_ENV, type Services } from './services.js';
import { findPgBouncer, PGBOUNCER_MISSING } from '@tether/harness';

export interface RunnerIO {
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
}

/** Raised by a signal handler: the run stops where it is, then cleans up (Vitest's workers, PostgreSQL). */
export class Interrupt {
  signal: NodeJS.Signals | undefined;
  /** Settles when a signal arrives; a category's run races against it. */
  readonly raised: Promise<void>;
  /** Called with the Vitest instance once it exists, so a signal can cancel its run. */
  onVitest: ((vitest: Vitest) => void) | undefined;
  /** Called with the services once started, so a second signal can stop them at once. */
  onServices: ((services: Services) => void) | undefined;
  #resolve: () => void = () => undefined;

  constructor() {
    this.raised = new Promise((resolve) => (this.#resolve = resolve));
  }

  raise(signal: NodeJS.Signals): void {
    this.signal ??= signal;
    this.#resolve();
  }
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * One run of the unified runner: selects categories and tests, refuses what cannot run, starts the services the
 * selection needs, drives Vitest category by category, and reports. Returns the exit code (0, 1 or 2).
 */
export async function runUnified(options: RunnerOptions, io: RunnerIO, interrupt: Interrupt): Promise<number> {
  const started = Date.now();
  const root = path.dirname(options.config);
  const pattern = options.pattern === undefined ? undefined : compilePattern(options.pattern);
  const signalListeners = snapshotSignalListeners();
  const vitest = await createVitest(
    'test',
    { config: options.config, root, watch: false, bail: options.fastFail ? 1 : 0, passWithNoTests: true },
    {},
    {},
  );
  // Vitest exits the process on SIGINT/SIGTERM within a millisecond; the runner must stop PostgreSQL first.
  releaseSignalListeners(signalListeners);
  interrupt.onVitest?.(vitest);
  let services: Services | undefined;
  try {
    const all = await loadCategories(vitest, options.config);
    const chosen = chooseCategories(all, options.categories);
    let selection = await selectFiles(vitest, root, chosen, pattern);

    if (options.listCategories) {
      const counts = await countTests(vitest, selection);
      const width = Math.max(...chosen.map((category) => category.name.length));
      for (const category of chosen) {
        const entry = counts.get(category.name) ?? { files: 0, tests: 0 };
        const needs = category.services ? `  needs --real-services${category.pooler ? ' and pgbouncer' : ''}` : '';
        io.log(
          `${category.name.padEnd(width)}  ${plural(entry.tests, 'test')} in ${plural(entry.files, 'file')}${needs}`,
        );
      }
      return 0;
    }

    const needingServices = chosen.filter(
      (category) =>
        category.services &&
        (options.categories?.includes(category.name) || selection.files.some((file) => file.category === category)),
    );
    if (needingServices.length > 0 && !options.realServices) {
      const names = needingServices.map((category) => category.name).join(', ');
      const one = needingServices.length === 1;
      const others = chosen.filter((category) => !category.services).map((category) => category.name);
      const leaveOut =
        others.length > 0 ? `, or leave ${one ? 'it' : 'them'} out with --category ${others.join(' --category ')}` : '';
      throw new UsageError(
        `${names} ${one ? 'needs' : 'need'} PostgreSQL (and the server it starts): add --real-services ` +
          `(it uses DATABASE_URL when set, otherwise starts embedded PostgreSQL)${leaveOut}`,
      );
    }
    const report = newReport(options, selection, started);
    const withoutPooler = poolerCategoriesThatCannotRun(selection, io.env);
    if (withoutPooler.length > 0) {
      const named = withoutPooler.filter((category) => options.categories?.includes(category.name));
      for (const category of withoutPooler) {
        const summary = report.summary.categories.find((entry) => entry.name === category.name);
        if (summary) summary.notRun = PGBOUNCER_MISSING;
        io.log(`test:unified: ${category.name} NOT RUN: ${PGBOUNCER_MISSING}`);
      }
      if (named.length > 0) {
        // asked for by name: not running it is a failure, not a note
        io.error(`test:unified: ${named.map((c) => c.name).join(', ')} cannot run: ${PGBOUNCER_MISSING}`);
        report.exitCode = 1;
        report.durationMs = Date.now() - started;
        if (options.jsonOutput) writeReport(options.jsonOutput, report);
        return 1;
      }
      selection = { ...selection, files: selection.files.filter((file) => !withoutPooler.includes(file.category)) };
    }
    if (selection.files.length === 0) {
      // a run that selects nothing is a mistake (a typo in --pattern), not a success
      const pattern = options.pattern === undefined ? '' : ` --pattern ${JSON.stringify(options.pattern)}`;
      io.error(`test:unified: no tests matched${pattern} in ${chosen.map((c) => c.name).join(', ')}`);
      report.exitCode = 1;
      report.durationMs = Date.now() - started;
      if (options.jsonOutput) writeReport(options.jsonOutput, report);
      return 1;
    }

    await vitest.standalone(); // reporters: Vitest's own console output
    if (selection.files.some((file) => file.category.services)) {
      const pooler = selection.files.some((file) => file.category.pooler);
      services = await startServices(io.env, (line) => io.log(`test:unified: ${line}`), { pooler });
      interrupt.onServices?.(services);
      report.database = services.source;
      io.env[TEST_DATABASE_URL_ENV] = services.databaseUrl;
      if (services.poolerUrl !== undefined) io.env[TEST_POOLER_URL_ENV] = services.poolerUrl;
      if (services.source === 'DATABASE_URL') io.log('test:unified: tests use the PostgreSQL at DATABASE_URL');
    }

    await runCategories(vitest, selection, report, options, interrupt);
    report.durationMs = Date.now() - started;
    const failed = report.summary.failed > 0 || report.errors.length > 0;
    report.exitCode = failed || interrupt.signal ? 1 : 0;
    if (options.jsonOutput) writeReport(options.jsonOutput, report);
    printSummary(report, io);
    if (interrupt.signal) return SIGNAL_EXIT[interrupt.signal] ?? 1;
    return report.exitCode;
  } finally {
    await vitest.close();
    await services?.stop();
  }
}

/** Selected categories that run through PgBouncer, on a machine that has none. */
function poolerCategoriesThatCannotRun(selection: Selection, env: NodeJS.ProcessEnv): Category[] {
  const pooled = selection.categories.filter(
    (category) => category.pooler && selection.files.some((file) => file.category === category),
  );
  return pooled.length > 0 && findPgBouncer(env) === undefined ? pooled : [];
}

function chooseCategories(all: readonly Category[], named: readonly string[] | undefined): Category[] {
  if (named === undefined) return [...all];
  const unknown = named.filter((name) => !all.some((category) => category.name === name));
  if (unknown.length > 0) {
    const known = all.map((c) => c.name).join(', ');
    throw new UsageError(
      `unknown ${unknown.length === 1 ? 'category' : 'categories'} ${unknown.join(', ')}; known: ${known}`,
    );
  }
  // run order is the config's, whatever order they were named in
  return all.filter((category) => named.includes(category.name));
}

/** Categories run one after another in config order, so unit failures surface before slow categories start. */
async function runCategories(
  vitest: Vitest,
  selection: Selection,
  report: RunReport,
  options: RunnerOptions,
  interrupt: Interrupt,
): Promise<void> {
  for (const category of selection.categories) {
    const files = selection.files.filter((file) => file.category === category);
    const summary = report.summary.categories.find((entry) => entry.name === category.name);
    if (files.length === 0 || !summary) continue;
    if (interrupt.signal || (options.fastFail && report.stoppedEarly)) break;
    summary.ran = true;
    forgetEarlierResults(vitest, selection);
    const running = vitest.runTestSpecifications(
      files.map((file) => file.spec),
      false,
    );
    // a test that never ends must not hold an interrupted run hostage: closing Vitest stops its workers
    const result = await Promise.race([running, interrupt.raised.then(() => undefined)]);
    if (!result) {
      running.catch(() => undefined);
      report.stoppedEarly = true;
      break;
    }
    // the result may also carry modules Vitest knows from earlier runs or the static parse: keep this run's
    const ran = new Map(files.map((file) => [file.spec.moduleId, file]));
    for (const module of result.testModules) {
      const file = ran.get(module.moduleId);
      if (file && module.project.name === category.name)
        collectModule(module, file, report, summary, selection.pattern);
    }
    for (const error of result.unhandledErrors)
      report.errors.push({ category: category.name, file: null, message: describeError(error) });
    report.summary.errors = report.errors.length;
    const categoryFailed = summary.failed > 0 || report.errors.some((error) => error.category === category.name);
    if (interrupt.signal || (options.fastFail && categoryFailed)) report.stoppedEarly = true;
  }
}

/**
 * Vitest keeps every module it has seen (earlier categories, the static parse) in its state, and its reporter
 * summarises all of them: each category's summary and results must speak of that category's run only.
 */
function forgetEarlierResults(vitest: Vitest, selection: Selection): void {
  for (const spec of selection.known) vitest.state.clearFiles(spec.project, [spec.moduleId]);
  vitest.state.clearErrors();
}

function collectModule(
  module: TestModule,
  selected: SelectedFile,
  report: RunReport,
  summary: CategorySummary,
  pattern: RegExp | undefined,
): void {
  const { file, wholeFile } = selected;
  for (const test of module.children.allTests()) {
    if (!isSelected(test, wholeFile, pattern)) continue; // filtered out by name: not part of this run
    const result = test.result();
    const status: TestStatus =
      result.state === 'passed' || result.state === 'failed'
        ? result.state
        : test.options.mode === 'todo'
          ? 'todo'
          : 'skipped';
    const record: TestRecord = {
      name: test.fullName,
      category: summary.name,
      file,
      status,
      durationMs: Math.round(test.diagnostic()?.duration ?? 0),
      ...(result.state === 'failed' ? { errors: result.errors.map((error) => error.message) } : {}),
    };
    report.tests.push(record);
    count(report.summary, status);
    count(summary, status);
  }
  // a file that failed to load, or a failing beforeAll/afterAll, fails the run even with no failed test
  for (const error of module.errors()) report.errors.push({ category: summary.name, file, message: error.message });
}

function newReport(options: RunnerOptions, selection: Selection, started: number): RunReport {
  const chosen = selection.categories;
  return {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    options: {
      pattern: options.pattern ?? null,
      categories: chosen.map((category) => category.name),
      realServices: options.realServices,
      fastFail: options.fastFail,
    },
    database: null,
    exitCode: 0,
    stoppedEarly: false,
    summary: {
      ...emptyCounts(),
      errors: 0,
      categories: chosen.map((category) => ({
        name: category.name,
        files: selection.files.filter((file) => file.category === category).length,
        ran: false,
        ...emptyCounts(),
      })),
    },
    tests: [],
    errors: [],
  };
}

function printSummary(report: RunReport, io: RunnerIO): void {
  const parts = report.summary.categories
    .filter((category) => category.ran)
    .map((category) => {
      const ran = category.total - category.skipped - category.todo;
      return `${category.name} ${category.passed}/${ran} passed${category.failed ? `, ${category.failed} failed` : ''}`;
    });
  const notRun = report.summary.categories
    .filter((category) => !category.ran && category.files > 0)
    .map((category) => category.name);
  const outside = report.errors.length ? `; ${plural(report.errors.length, 'error')} outside tests` : '';
  io.log(`test:unified: ${parts.join('; ') || 'nothing ran'}${outside}`);
  if (report.stoppedEarly)
    io.log(`test:unified: stopped early${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}`);
  // said again at the end, where a reader of a green run looks
  for (const category of report.summary.categories)
    if (category.notRun) io.log(`test:unified: ${category.name} NOT RUN: ${category.notRun}`);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string')
    return error.message;
  return String(error);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

type SignalListeners = Record<'SIGINT' | 'SIGTERM', ReadonlySet<(...args: unknown[]) => void>>;

function snapshotSignalListeners(): SignalListeners {
  return {
    SIGINT: new Set(process.listeners('SIGINT') as ((...args: unknown[]) => void)[]),
    SIGTERM: new Set(process.listeners('SIGTERM') as ((...args: unknown[]) => void)[]),
  };
}

function releaseSignalListeners(before: SignalListeners): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal))
      if (!before[signal].has(listener as (...args: unknown[]) => void)) process.off(signal, listener);
  }
}
