import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a selected test ended as. Tests a `--fast-fail` stop cancelled are `skipped`. */
export type TestStatus = 'passed' | 'failed' | 'skipped' | 'todo';

export interface TestRecord {
  /** Full name: describe blocks and the test's own name joined by " > ". */
  readonly name: string;
  readonly category: string;
  /** Path of the test file relative to the root, with `/` separators. */
  readonly file: string;
  readonly status: TestStatus;
  /** Time the test itself took; 0 for tests that did not run. */
  readonly durationMs: number;
  /** Failure messages, for failed tests only. */
  readonly errors?: readonly string[];
}

/** A failure outside any one test: a file that did not load, a failing beforeAll/afterAll, an unhandled error. */
export interface RunError {
  readonly category: string | null;
  readonly file: string | null;
  readonly message: string;
}

export interface Counts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
}

export interface CategorySummary extends Counts {
  readonly name: string;
  /** Test files selected in this category. */
  readonly files: number;
  /** `false` when `--fast-fail` (or an interrupt) stopped the run before this category started. */
  ran: boolean;
  /** Why a selected category was not run at all (a pooler category on a machine without PgBouncer). */
  notRun?: string;
}

/** The `--json-output` document (version 1). Extend it; do not change it. */
export interface RunReport {
  readonly version: 1;
  readonly startedAt: string;
  durationMs: number;
  readonly options: {
    readonly pattern: string | null;
    readonly categories: readonly string[];
    readonly realServices: boolean;
    readonly fastFail: boolean;
  };
  /** Where the tests' PostgreSQL came from; null when no selected category needed it. */
  database: 'embedded' | 'DATABASE_URL' | null;
  /** The exit code the runner ends with: 0 all passed, 1 failures. */
  exitCode: 0 | 1;
  /** True when `--fast-fail` stopped the run at a failure, or a signal interrupted it. */
  stoppedEarly: boolean;
  readonly summary: Counts & { errors: number; categories: CategorySummary[] };
  readonly tests: TestRecord[];
  readonly errors: RunError[];
}

export function emptyCounts(): Counts {
  return { total: 0, passed: 0, failed: 0, skipped: 0, todo: 0 };
}

export function count(into: Counts, status: TestStatus): void {
  into.total += 1;
  into[status] += 1;
}

export function writeReport(file: string, report: RunReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
