import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { scan } from '../../src/index.js';
import { SinceError } from '../../src/files/changed-since.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    encoding: 'utf8',
  });

function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** A repository whose first commit already has two bad reads. */
function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssot-since-'));
  dirs.push(dir);
  git(dir, 'init', '-q', '-b', 'main');
  write(dir, {
    'models.py': 'class Metrics:\n    count = 0\n    errors = 0\n',
    'old.py': 'from models import Metrics\n\n\ndef f(m: Metrics) -> int:\n    return m.cuont\n',
  });
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'old code');
  return dir;
}

const reads = (findings: readonly { file: string; attribute?: string }[]): string[] =>
  findings.map((f) => `${f.file}:${f.attribute}`).sort();

// the CLI runs start Node processes: seconds each on a loaded machine
describe('--since REF', { timeout: 60_000 }, () => {
  it('reports only findings in files changed since the ref: committed, staged, unstaged and untracked', async () => {
    const dir = repository();
    write(dir, { 'committed.py': 'from models import Metrics\n\n\ndef g(m: Metrics) -> int:\n    return m.eror\n' });
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'new code');
    write(dir, { 'untracked.py': 'from models import Metrics\n\n\ndef h(m: Metrics) -> int:\n    return m.total\n' });
    const everything = await scan({ paths: [dir], threads: 0 });
    expect(reads(everything.findings)).toEqual(['committed.py:eror', 'old.py:cuont', 'untracked.py:total']);
    const since = await scan({ paths: [dir], threads: 0, since: 'HEAD~1' });
    expect(reads(since.findings)).toEqual(['committed.py:eror', 'untracked.py:total']);
    // the analysis still reads every file: the class in the unchanged models.py is known
    expect(since.stats.files).toBe(everything.stats.files);
    expect(reads((await scan({ paths: [dir], threads: 0, since: 'HEAD' })).findings)).toEqual(['untracked.py:total']);
  });

  it('leaves out findings in unchanged files, even when what they read changed (a full scan finds those)', async () => {
    const dir = repository();
    write(dir, { 'reader.py': 'from models import Metrics\n\n\ndef r(m: Metrics) -> int:\n    return m.errors\n' });
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'reader');
    write(dir, { 'models.py': 'class Metrics:\n    count = 0\n' });
    const report = await scan({ paths: [dir], threads: 0, since: 'HEAD' });
    expect(reads(report.findings)).toEqual([]);
    expect(reads((await scan({ paths: [dir], threads: 0 })).findings)).toEqual(['old.py:cuont', 'reader.py:errors']);
  });

  it("takes the branch point of a ref that moved on: --since main is the branch's own changes", async () => {
    const dir = repository();
    git(dir, 'checkout', '-q', '-b', 'feature');
    write(dir, { 'feature.py': 'from models import Metrics\n\n\ndef g(m: Metrics) -> int:\n    return m.feat\n' });
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'feature');
    git(dir, 'checkout', '-q', 'main');
    write(dir, { 'later.py': 'from models import Metrics\n\n\ndef g(m: Metrics) -> int:\n    return m.later\n' });
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'main moves on');
    git(dir, 'checkout', '-q', 'feature');
    expect(reads((await scan({ paths: [dir], threads: 0, since: 'main' })).findings)).toEqual(['feature.py:feat']);
  });

  it('is a usage error (exit 2) for an unknown ref or outside a git repository', async () => {
    const dir = repository();
    await expect(scan({ paths: [dir], threads: 0, since: 'no-such-ref' })).rejects.toThrow(SinceError);
    await expect(scan({ paths: [dir], threads: 0, since: '--output=x' })).rejects.toThrow(SinceError);
    const run = spawnSync(process.execPath, [cli, 'scan', dir, '--since', 'no-such-ref', '--no-cache'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^ssot: --since: git diff .* failed: /);
    const plain = mkdtempSync(join(tmpdir(), 'ssot-since-plain-'));
    dirs.push(plain);
    write(plain, { 'a.py': 'x = 1\n' });
    const outside = spawnSync(process.execPath, [cli, 'scan', plain, '--since', 'HEAD', '--no-cache'], {
      encoding: 'utf8',
    });
    expect(outside.status).toBe(2);
    expect(outside.stderr).toContain('not a git repository');
  });

  it('keeps the exit status: 1 when a changed file has a finding, 0 when only old files do', () => {
    const dir = repository();
    expect(spawnSync(process.execPath, [cli, 'scan', dir, '--no-cache'], { encoding: 'utf8' }).status).toBe(1);
    expect(
      spawnSync(process.execPath, [cli, 'scan', dir, '--since', 'HEAD', '--no-cache'], { encoding: 'utf8' }).status,
    ).toBe(0);
  });
});
