import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { extractorModules } from '../../src/cache/extractor-hash.js';
import { SHARDS, shardFile, shardOf } from '../../src/cache/summary-cache.js';
import { DEFAULT_CONFIG, scan } from '../../src/index.js';
import { fileStamp } from '../../src/parse/source.js';
import type { Report } from '../../src/index.js';

const fixtures = [
  fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url)),
  fileURLToPath(new URL('../../src/rules/unknown-attribute/fixtures/', import.meta.url)),
  fileURLToPath(new URL('../../src/rules/duplicate-definition/fixtures/diverging/', import.meta.url)),
];

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of the fixtures (several rules' findings, Python and JavaScript) to scan and change. */
function corpus(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssot-cache-'));
  dirs.push(dir);
  fixtures.forEach((f, i) =>
    cpSync(f, join(dir, `part${i}`), { recursive: true, filter: (src) => !src.includes('.ssot_cache') }),
  );
  return dir;
}

/** The cache's files in `cacheDir` that are there. */
const shardPaths = (cacheDir: string): string[] =>
  Array.from({ length: SHARDS }, (_, i) => join(cacheDir, shardFile(i))).filter((p) => existsSync(p));
/** Every entry line of the cache in `cacheDir`. */
const entryLines = (cacheDir: string): string[] =>
  shardPaths(cacheDir).flatMap((p) => readFileSync(p, 'utf8').split('\n').slice(1, -1));

/** What must not differ between a cached and a cold scan. */
const outcome = (r: Report): unknown => ({
  findings: r.findings,
  errors: r.errors,
  files: r.stats.files,
  lines: r.stats.lines,
});

// each test scans the fixtures a few times: slow under load, well within 30 s
describe('the summary cache', { timeout: 30_000 }, () => {
  it('gives the same findings as a cold scan, from the cache, and after a file changes', async () => {
    const dir = corpus();
    const cold = await scan({ paths: [dir], threads: 0 });
    expect(cold.findings.length).toBeGreaterThan(5);
    const first = await scan({ paths: [dir], threads: 0, cache: true });
    expect(first.stats.cachedFiles).toBe(0);
    expect(entryLines(join(dir, '.ssot_cache'))).toHaveLength(first.stats.files);
    expect(readFileSync(join(dir, '.ssot_cache', '.gitignore'), 'utf8')).toContain('*');
    const warm = await scan({ paths: [dir], threads: 0, cache: true });
    expect(warm.stats.cachedFiles).toBe(warm.stats.files);
    expect(outcome(first)).toEqual(outcome(cold));
    expect(outcome(warm)).toEqual(outcome(cold));

    // fix one read, add a new bad one elsewhere, delete a file: one file re-extracted each, findings as cold
    const use = join(dir, 'part0/netra_backend/app/database/request_scoped_session_factory.py');
    writeFileSync(
      use,
      readFileSync(use, 'utf8').replace('session_metrics.operations_count', 'session_metrics.query_count'),
    );
    writeFileSync(
      join(dir, 'part0/new_module.py'),
      'class Fresh:\n    a = 1\n\n\ndef f(x: Fresh) -> int:\n    return x.b\n',
    );
    rmSync(join(dir, 'part1/javascript/use.js'));
    const changed = await scan({ paths: [dir], threads: 0, cache: true });
    expect(changed.stats.cachedFiles).toBe(changed.stats.files - 2);
    expect(outcome(changed)).toEqual(outcome(await scan({ paths: [dir], threads: 0 })));
    expect(changed.findings.map((f) => f.attribute)).toContain('b');
    const factoryReads = (r: Report): (string | undefined)[] =>
      r.findings.filter((f) => f.file.endsWith('session_factory.py')).map((f) => f.attribute);
    expect(factoryReads(first)).toContain('operations_count');
    expect(factoryReads(changed)).not.toContain('operations_count');
    // the deleted file's entry is gone from the cache
    expect(entryLines(join(dir, '.ssot_cache')).join('\n')).not.toContain('javascript/use.js"');
  });

  it('is the same on worker threads as in this thread', async () => {
    const dir = corpus();
    const cold = await scan({ paths: [dir], threads: 0 });
    await scan({ paths: [dir], threads: 2, cache: true });
    const warm = await scan({ paths: [dir], threads: 0, cache: true });
    expect(warm.stats.cachedFiles).toBe(warm.stats.files);
    expect(outcome(warm)).toEqual(outcome(cold));
  });

  it('ignores and rewrites corrupt, truncated or foreign cache files', async () => {
    const dir = corpus();
    const cold = await scan({ paths: [dir], threads: 0 });
    const cacheDir = join(dir, '.ssot_cache');
    const files = Array.from({ length: SHARDS }, (_, i) => join(cacheDir, shardFile(i)));
    mkdirSync(cacheDir);
    // the single file of earlier versions is removed
    writeFileSync(join(cacheDir, 'summaries.jsonl'), '{"ssotCache":1,"key":"x"}\nabc\t"x.py"\t{}\n');
    for (const garbage of [
      '\u0000\u0001not a cache',
      '{"ssotCache":2,"key":"someone else"}\nabc\t\t"x.py"\t{}\n',
      '{"ssotCache":1,"key":"x"}\nabc\t"x.py"\t{}\n',
      '',
    ]) {
      for (const file of files) writeFileSync(file, garbage);
      const report = await scan({ paths: [dir], threads: 0, cache: true });
      expect(report.stats.cachedFiles).toBe(0);
      expect(outcome(report)).toEqual(outcome(cold));
      for (const file of files)
        expect(readFileSync(file, 'utf8').split('\n')[0]).toMatch(/^\{"ssotCache":2,"key":"[0-9a-f]{40}"\}$/);
    }
    expect(existsSync(join(cacheDir, 'summaries.jsonl'))).toBe(false);
    // cut in the middle of a line, and a summary that is not JSON: those entries are extracted again
    const file = files.reduce((a, b) => (readFileSync(a).length >= readFileSync(b).length ? a : b));
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(4);
    lines[1] = lines[1]!.replace(/\t\{.*$/, '\t{"path": broken');
    writeFileSync(file, lines.join('\n').slice(0, Math.floor(text.length * 0.6)));
    const report = await scan({ paths: [dir], threads: 0, cache: true });
    expect(report.stats.cachedFiles).toBeGreaterThan(0);
    expect(report.stats.cachedFiles).toBeLessThan(report.stats.files);
    expect(outcome(report)).toEqual(outcome(cold));
    expect((await scan({ paths: [dir], threads: 0, cache: true })).stats.cachedFiles).toBe(report.stats.files);
  });

  it('rewrites only the files of the entries that changed', async () => {
    const dir = corpus();
    const cacheDir = join(dir, '.ssot_cache');
    await scan({ paths: [dir], threads: 0, cache: true });
    const before = new Map(shardPaths(cacheDir).map((p) => [p, readFileSync(p, 'utf8')]));
    expect(before.size).toBeGreaterThan(2);
    const use = join(dir, 'part0/netra_backend/app/database/request_scoped_session_factory.py');
    writeFileSync(use, `${readFileSync(use, 'utf8')}\n# changed\n`);
    await scan({ paths: [dir], threads: 0, cache: true });
    const rewritten = [...before].filter(([p, text]) => readFileSync(p, 'utf8') !== text).map(([p]) => p);
    expect(rewritten).toEqual([
      join(cacheDir, shardFile(shardOf('part0/netra_backend/app/database/request_scoped_session_factory.py'))),
    ]);
  });

  it('is not used under another config', async () => {
    const dir = corpus();
    await scan({ paths: [dir], threads: 0, cache: true });
    const other = { ...DEFAULT_CONFIG, criticalNames: ['SessionMetrics'] };
    const report = await scan({ paths: [dir], threads: 0, cache: true, config: other });
    expect(report.stats.cachedFiles).toBe(0);
    expect(outcome(report)).toEqual(outcome(await scan({ paths: [dir], threads: 0, config: other })));
  });

  it('keeps the entries of files outside a narrower scan', async () => {
    const dir = corpus();
    await scan({ paths: [dir], threads: 0, cache: true });
    await scan({ paths: [join(dir, 'part1')], root: dir, threads: 0, cache: true });
    const full = await scan({ paths: [dir], threads: 0, cache: true });
    expect(full.stats.cachedFiles).toBe(full.stats.files);
  });

  it('lets concurrent scans share one cache directory', async () => {
    const dir = corpus();
    const cold = await scan({ paths: [dir], threads: 0 });
    const cacheDir = join(dir, 'shared-cache');
    const reports = await Promise.all([1, 2, 3, 4].map(() => scan({ paths: [dir], threads: 0, cache: cacheDir })));
    for (const r of reports) expect(outcome(r)).toEqual(outcome(cold));
    const warm = await scan({ paths: [dir], threads: 0, cache: cacheDir });
    expect(warm.stats.cachedFiles).toBe(warm.stats.files);
  });

  it('scans on when the cache directory cannot be written', async () => {
    const dir = corpus();
    const cold = await scan({ paths: [dir], threads: 0 });
    writeFileSync(join(dir, 'not-a-directory'), '');
    const report = await scan({ paths: [dir], threads: 0, cache: join(dir, 'not-a-directory', 'cache') });
    expect(outcome(report)).toEqual(outcome(cold));
  });

  it('scans on when creating the cache directory fails with ENOENT under an existing parent (/proc)', () => {
    // the CLI in a child process with a time limit: Node's recursive mkdirSync spins for ever on such a path
    const dir = corpus();
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [cli, 'scan', dir, '--format', 'json', '--cache-dir', '/proc/ssot-no-such-dir/cache'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.signal).toBeNull();
    expect(run.status).toBe(1); // the corpus has findings
    expect((JSON.parse(run.stdout) as Report).stats.cachedFiles).toBe(0);
  });

  it('trusts a stamp only when the file has not changed in the last seconds', () => {
    const now = 1_800_000_000_000;
    const stats = (age: { m: number; c: number }, size = 10, ino = 7): Stats =>
      ({ size, ino, mtimeMs: now - age.m, ctimeMs: now - age.c }) as Stats;
    const old = fileStamp(stats({ m: 60_000, c: 60_000 }), now);
    expect(old).not.toBe('');
    expect(fileStamp(stats({ m: 60_000, c: 1_000 }), now)).toBe(''); // mtime set back by a tool, just changed
    expect(fileStamp(stats({ m: 1_000, c: 60_000 }), now)).toBe('');
    expect(fileStamp(stats({ m: 60_000, c: 60_000 }, 11), now)).not.toBe(old);
    expect(fileStamp(stats({ m: 60_000, c: 60_000 }, 10, 8), now)).not.toBe(old);
    expect(fileStamp(stats({ m: 60_001, c: 60_000 }), now)).not.toBe(old);
  });

  it('reads a file again when its stamp moved: a touch keeps its summary, an edit with old mtime not', async () => {
    const dir = corpus();
    const stamps = (): string[] => entryLines(join(dir, '.ssot_cache')).map((line) => line.split('\t')[1]!);
    await new Promise((resolve) => setTimeout(resolve, 3_200)); // the copies settle: their stamps are trusted
    await scan({ paths: [dir], threads: 0, cache: true });
    expect(stamps().every((s) => s !== '')).toBe(true);
    const warm = await scan({ paths: [dir], threads: 0, cache: true });
    expect(warm.stats.cachedFiles).toBe(warm.stats.files);

    const use = join(dir, 'part0/netra_backend/app/database/request_scoped_session_factory.py');
    const before = statSync(use);
    utimesSync(use, before.atime, new Date(before.mtimeMs - 60_000));
    const touched = await scan({ paths: [dir], threads: 0, cache: true });
    expect(touched.stats.cachedFiles).toBe(touched.stats.files);

    // same size, mtime put back: only the change time tells, and the file is extracted again
    const text = readFileSync(use, 'utf8');
    const edited = text.replace('session_metrics.operations_count', 'session_metrics.query_countxxxxx');
    expect(edited.length).toBe(text.length);
    const moved = statSync(use);
    writeFileSync(use, edited);
    utimesSync(use, moved.atime, moved.mtime);
    const changed = await scan({ paths: [dir], threads: 0, cache: true });
    expect(changed.stats.cachedFiles).toBe(changed.stats.files - 1);
    expect(outcome(changed)).toEqual(outcome(await scan({ paths: [dir], threads: 0 })));
    expect(changed.findings.map((f) => f.attribute)).toContain('query_countxxxxx');
  });

  it('is keyed by every module of the extraction code', () => {
    const modules = extractorModules().map((m) => m.replace(/\\/g, '/'));
    for (const name of ['parse/worker', 'parse/extract', 'parse/python', 'parse/typescript', 'parse/suppressions']) {
      expect(modules.some((m) => m.includes(`/${name}.`))).toBe(true);
    }
  });
});
