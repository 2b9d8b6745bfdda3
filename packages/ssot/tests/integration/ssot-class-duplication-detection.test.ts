/**
 * SSOT detection: the scanner run as a user runs it, on a fixture that reproduces the original Python bug
 * (two SessionMetrics, an error handler reading fields of the other one) and on this repository itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scan } from '../../src/index.js';
import type { Finding } from '../../src/index.js';

const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const FACTORY = 'netra_backend/app/database/request_scoped_session_factory.py';
const SHARED = 'shared/session_management/user_session_manager.py';
const MONITOR = 'netra_backend/app/monitoring/session_monitor.py';

function hasPython(): boolean {
  return spawnSync('python3', ['--version']).status === 0;
}

function requireDist(): void {
  if (!existsSync(cli))
    throw new Error(`${cli} is missing: run \`npx tsc -b packages/ssot\` (npm test does) before these tests`);
}

const byRule = (findings: readonly Finding[], rule: string): Finding[] => findings.filter((f) => f.rule === rule);

describe('SSOT detection on the SessionMetrics bug fixture', () => {
  it('scan for duplicate class names: both SessionMetrics are one finding, with their shape difference', async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const duplicates = byRule(report.findings, 'duplicate-definition');
    expect(duplicates).toHaveLength(1);
    const [d] = duplicates;
    expect(d?.symbol).toBe('SessionMetrics');
    expect(d?.file).toBe(FACTORY);
    expect(d?.related.map((r) => r.file)).toEqual([SHARED]);
    expect(d?.message).toContain(
      'fields only there: total_sessions, active_sessions, last_activity, operations_count, errors',
    );
    expect(d?.message).toMatch(
      /fields only here: session_id, request_id, user_id, state, created_at, last_activity_at/,
    );
    expect(d?.severity).toBe('warning');
  });

  it('session metrics specific ssot violation: each wrong read is reported with its suggestion', async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const reads = byRule(report.findings, 'unknown-attribute').map((f) => ({
      file: f.file,
      line: f.line,
      attribute: f.attribute,
      suggestion: f.suggestion,
    }));
    expect(reads).toEqual([
      { file: FACTORY, line: 61, attribute: 'last_activity', suggestion: 'last_activity_at' },
      { file: FACTORY, line: 62, attribute: 'operations_count', suggestion: undefined },
      { file: FACTORY, line: 63, attribute: 'errors', suggestion: 'error_count' },
      { file: MONITOR, line: 7, attribute: 'operations_count', suggestion: undefined },
    ]);
    const operations = report.findings.find((f) => f.attribute === 'operations_count' && f.file === FACTORY);
    expect(operations?.message).toContain(`belongs to the other SessionMetrics in ${SHARED}`);
    expect(operations?.related.map((r) => r.file)).toContain(SHARED);
  });

  it.skipIf(!hasPython())(
    'session metrics specific ssot violation: Python raises exactly the AttributeErrors ssot predicted',
    async () => {
      const report = await scan({ paths: [fixture], threads: 0 });
      const predicted = byRule(report.findings, 'unknown-attribute').map((f) => ({
        file: f.file,
        line: f.line,
        attribute: f.attribute,
      }));
      const output = execFileSync('python3', ['run_fixture.py'], {
        cwd: fixture,
        encoding: 'utf8',
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      });
      const raised = JSON.parse(output) as { file: string; line: number; attribute: string }[];
      const key = (r: { file: string; line: number; attribute?: string | undefined }): string =>
        `${r.file}:${r.line}:${r.attribute ?? ''}`;
      expect(raised.map(key).sort()).toEqual(predicted.map(key).sort());
    },
  );

  it('critical class pattern violations: a critical name duplicated is an error', async () => {
    const plain = await scan({
      paths: [fixture],
      threads: 0,
      config: { include: [], exclude: [], criticalNames: [], allowDuplicateNames: [], rules: {} },
    });
    const critical = await scan({
      paths: [fixture],
      threads: 0,
      config: { include: [], exclude: [], criticalNames: ['Session*'], allowDuplicateNames: [], rules: {} },
    });
    expect(byRule(plain.findings, 'duplicate-definition')[0]?.severity).toBe('warning');
    const d = byRule(critical.findings, 'duplicate-definition')[0];
    expect(d?.severity).toBe('error');
    expect(d?.message).toMatch(/^critical name: SessionMetrics/);
  });

  it('import paths: the module importing the other SessionMetrics is reported, re-exports are not', async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const imports = byRule(report.findings, 'inconsistent-import');
    expect(imports.map((f) => `${f.file}:${f.line}`)).toEqual([`${MONITOR}:3`]);
    expect(imports[0]?.message).toContain('shared.session_management.user_session_manager.SessionMetrics');
    expect(imports[0]?.message).toContain(
      '2 imports of netra_backend.app.database.request_scoped_session_factory.SessionMetrics',
    );
  });

  it('the CLI prints the JSON contract and exits 1 when findings reach --fail-on', () => {
    requireDist();
    const run = spawnSync(process.execPath, [cli, 'scan', fixture, '--no-cache', '--format', 'json'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as {
      version: number;
      root: string;
      findings: Record<string, unknown>[];
      stats: Record<string, number>;
    };
    expect(report.version).toBe(1);
    // the contract's four counts, extended by the cache's (SPEC: extend, do not change)
    expect(Object.keys(report.stats).sort()).toEqual(['cachedFiles', 'durationMs', 'files', 'lines', 'parseErrors']);
    const read = report.findings.find((f) => f.attribute === 'last_activity');
    expect(read).toMatchObject({
      rule: 'unknown-attribute',
      severity: 'error',
      file: FACTORY,
      line: 61,
      symbol: 'SessionMetrics',
      suggestion: 'last_activity_at',
    });
    expect(typeof read?.fingerprint).toBe('string');
    expect(
      spawnSync(process.execPath, [cli, 'scan', fixture, '--no-cache', '--fail-on', 'error', '--format', 'json'], {
        encoding: 'utf8',
      }).status,
    ).toBe(1);
  });

  it('the CLI exits 2 with a message on usage and configuration errors', () => {
    requireDist();
    const badFormat = spawnSync(process.execPath, [cli, 'scan', fixture, '--format', 'xml'], { encoding: 'utf8' });
    expect(badFormat.status).toBe(2);
    expect(badFormat.stderr).toContain('xml');
    const missingConfig = spawnSync(process.execPath, [cli, 'scan', fixture, '--config', '/nonexistent/ssot.json'], {
      encoding: 'utf8',
    });
    expect(missingConfig.status).toBe(2);
    expect(missingConfig.stderr).toContain('cannot read config file');
    const unknownRule = spawnSync(process.execPath, [cli, 'explain', 'no-such-rule'], { encoding: 'utf8' });
    expect(unknownRule.status).toBe(2);
    const explain = spawnSync(process.execPath, [cli, 'explain', 'unknown-attribute'], { encoding: 'utf8' });
    expect(explain.status).toBe(0);
    expect(explain.stdout).toContain('## What it does');
  });
});

describe('SSOT detection on this repository', () => {
  it("ssot on this repository's own source: zero findings", async () => {
    requireDist();
    const report = await scan({ root: repositoryRoot, paths: [repositoryRoot] });
    const summary = report.findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.message}`);
    expect(summary).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.stats.files).toBeGreaterThan(10);
  });
});
