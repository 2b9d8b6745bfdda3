/** The GitHub Action's entry point run as the runner runs it: inputs as INPUT_* variables, GITHUB_OUTPUT, a workspace.
 * */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url));

interface ActionManifest {
  runs: { using: string; main: string };
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, unknown>;
}
const manifest = yaml.load(readFileSync(join(repositoryRoot, 'action.yml'), 'utf8')) as ActionManifest;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runAction(inputs: Record<string, string>): {
  status: number | null;
  stdout: string;
  outputs: Record<string, string>;
  workspace: string;
} {
  const workspace = mkdtempSync(join(tmpdir(), 'ssot-action-'));
  dirs.push(workspace);
  cpSync(fixture, join(workspace, 'src'), { recursive: true });
  const outputFile = join(workspace, '..', `${workspace.split('/').pop()}.out`);
  writeFileSync(outputFile, '');
  dirs.push(outputFile);
  const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_WORKSPACE: workspace, GITHUB_OUTPUT: outputFile };
  // the runner passes every declared input, with its default when the workflow gives none
  for (const [name, spec] of Object.entries(manifest.inputs))
    env[`INPUT_${name.toUpperCase()}`] = inputs[name] ?? spec.default ?? '';
  const run = spawnSync(process.execPath, [join(repositoryRoot, manifest.runs.main)], {
    cwd: workspace,
    env,
    encoding: 'utf8',
  });
  const outputs = Object.fromEntries(
    readFileSync(outputFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  return { status: run.status, stdout: run.stdout + run.stderr, outputs, workspace };
}

describe('the GitHub Action', { timeout: 60_000 }, () => {
  it('runs on node24 from an entry point in the repository, with the inputs it reads declared', () => {
    expect(manifest.runs.using).toBe('node24');
    expect(existsSync(join(repositoryRoot, manifest.runs.main))).toBe(true);
    const source = readFileSync(join(repositoryRoot, manifest.runs.main), 'utf8');
    const read = [...source.matchAll(/input\('([a-z-]+)'/g)].map((m) => m[1]);
    expect(new Set(read)).toEqual(new Set(Object.keys(manifest.inputs)));
    expect(Object.keys(manifest.outputs).sort()).toEqual(['findings', 'sarif-file']);
  });

  it('writes SARIF, prints the report, sets its outputs and fails the step on findings', () => {
    const run = runAction({ paths: 'src' });
    expect(run.status).toBe(1);
    const sarifFile = join(run.workspace, 'ssot.sarif');
    expect(run.outputs).toEqual({ 'sarif-file': sarifFile, findings: expect.stringMatching(/^[1-9]\d*$/) });
    const log = JSON.parse(readFileSync(sarifFile, 'utf8')) as { version: string; runs: { results: unknown[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results).toHaveLength(Number(run.outputs.findings));
    expect(run.stdout).toContain('unknown-attribute');
    expect(run.stdout).toMatch(/^::error title=ssot::\d+ finding\(s\) at or above warning/m);
  });

  it('passes with fail-on never, and reports a bad input as an annotation (exit 2)', () => {
    const never = runAction({ paths: 'src', 'fail-on': 'never', 'sarif-file': 'out/results.sarif' });
    expect(never.status).toBe(0);
    expect(existsSync(join(never.workspace, 'out/results.sarif'))).toBe(true);
    const bad = runAction({ paths: 'src', config: 'missing.json' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toMatch(/^::error title=ssot::cannot read config file .*missing\.json/m);
  });
});
