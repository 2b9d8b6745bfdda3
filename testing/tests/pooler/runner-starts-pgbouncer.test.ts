import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { RunReport } from '../../src/runner/report.js';
import { accepting, fixture, runner } from '../runner-process.js';

// In the pooler category (it needs the pgbouncer binary): the runner's side of a pooler run, on a fixture project.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'unified-runner-pooler-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test(
  'a pooler category runs through PgBouncer started for the run, which is stopped after it',
  { timeout: 60_000 },
  async () => {
    const record = path.join(scratch, 'pooler-url');
    const json = path.join(scratch, 'pooler.json');
    const run = await runner(['--config', fixture('pooler'), '--real-services', '--json-output', json], {
      RUNNER_FIXTURE_RECORD: record,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/PgBouncer 1\.\d+\.\d+ \(transaction mode\) on 127\.0\.0\.1:\d+/);
    expect(run.stdout).not.toMatch(/NOT RUN/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as RunReport;
    expect(report.summary.categories.find((c) => c.name === 'pooler')).toMatchObject({ ran: true, passed: 1 });
    const url = readFileSync(record, 'utf8');
    expect(url).toMatch(/^postgres:\/\/postgres:.+@127\.0\.0\.1:\d+\/postgres$/);
    expect(await accepting(url)).toBe(false);
  },
);
