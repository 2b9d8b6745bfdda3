// `npm run bench:scan`: generates a deterministic synthetic Python corpus of 2,000,000 lines (four parts of
// 500k lines), scans it at 0.5M, 1M and 2M lines, each in a fresh process, then runs pyright with its
// attribute-access check on a 200k-line slice and compares. The last line printed is one JSON object.
// Corpus location: $SSOT_BENCH_DIR or <tmp>/ssot-bench (kept between runs; regenerated when the generator changes).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCorpus } from './corpus.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');
if (!existsSync(dist)) {
  console.error('bench:scan needs the compiled scanner: run `npx tsc -b packages/ssot` (or npm install) first');
  process.exit(2);
}
let t = performance.now();
const { base, parts: generated, slice: sliceStats } = benchCorpus();
const parts = generated.map((p) => p.dir);
const slice = sliceStats.dir;
console.log(
  `corpus: ${generated.reduce((n, g) => n + g.lines, 0)} lines ` +
    `in ${generated.reduce((n, g) => n + g.files, 0)} files (${base}), ` +
    `${((performance.now() - t) / 1000).toFixed(1)} s`,
);

function measure(paths, root) {
  const run = spawnSync(process.execPath, [join(here, 'measure.mjs'), ...paths], {
    encoding: 'utf8',
    env: { ...process.env, SSOT_BENCH_ROOT: root },
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`scan failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

const rows = [];
for (const count of [1, 2, 4]) {
  const r = measure(parts.slice(0, count), join(base, 'corpus'));
  rows.push(r);
  console.log(
    `ssot ${String(r.lines).padStart(9)} lines ${String(r.files).padStart(6)} files: ` +
      `${r.seconds.toFixed(2)} s (CPU ${r.cpu_seconds.toFixed(1)} s), ` +
      `${(r.seconds / (r.lines / 1e6)).toFixed(2)} s per million lines, peak ${r.peak_mb} MB, ` +
      `findings ${JSON.stringify(r.findings)}`,
  );
}

// the floor under the 2M scan, then the cache: a first run that fills it, one file changed, a warm run
const all = parts;
const floor = measure(['--mode', 'floor', ...all], join(base, 'corpus'));
console.log(
  `parse floor (same files, parsers and threads, nothing extracted): ${floor.seconds.toFixed(2)} s ` +
    `(CPU ${floor.cpu_seconds.toFixed(1)} s), peak ${floor.peak_mb} MB`,
);
const cacheDir = join(base, 'cache');
rmSync(cacheDir, { recursive: true, force: true });
const filling = measure(['--cache', cacheDir, ...all], join(base, 'corpus'));
const firstModule = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = firstModule(path);
      if (found) return found;
    } else if (entry.name.endsWith('.py') && entry.name !== '__init__.py') return path;
  }
  return null;
};
const touched = firstModule(parts[0]);
const original = readFileSync(touched);
let warm;
try {
  appendFileSync(touched, '\n# touched by bench:scan\n');
  warm = measure(['--cache', cacheDir, ...all], join(base, 'corpus'));
} finally {
  writeFileSync(touched, original);
}
const cold = rows[rows.length - 1];
const cacheEqual = filling.digest === cold.digest && warm.digest === cold.digest;
console.log(
  `cache: first run ${filling.seconds.toFixed(2)} s (writes it), ` +
    `warm after one file changed ${warm.seconds.toFixed(2)} s (CPU ${warm.cpu_seconds.toFixed(1)} s, ` +
    `${warm.cachedFiles}/${warm.files} files from the cache, peak ${warm.peak_mb} MB); ` +
    `findings ${cacheEqual ? 'identical to' : 'DIFFERENT from'} the cold scan`,
);

// the same comparison on a real tree: CPython's standard library, cold, filling the cache, and warm
const stdlibRun = spawnSync('python3', ['-c', 'import sysconfig;print(sysconfig.get_paths()["stdlib"])'], {
  encoding: 'utf8',
});
let stdlibEqual = null;
if (stdlibRun.status === 0) {
  const stdlib = stdlibRun.stdout.trim();
  const stdlibCache = join(base, 'stdlib-cache');
  rmSync(stdlibCache, { recursive: true, force: true });
  const runs = [
    measure([stdlib], stdlib),
    measure(['--cache', stdlibCache, stdlib], stdlib),
    measure(['--cache', stdlibCache, stdlib], stdlib),
  ];
  stdlibEqual = runs.every((r) => r.digest === runs[0].digest) && runs[2].cachedFiles === runs[2].files;
  console.log(
    `${stdlib}: ${runs[0].lines} lines, cold ${runs[0].seconds.toFixed(2)} s, ` +
      `filling the cache ${runs[1].seconds.toFixed(2)} s, warm ${runs[2].seconds.toFixed(2)} s; ` +
      `findings ${stdlibEqual ? 'identical' : 'DIFFERENT'} ` +
      `(${JSON.stringify(runs[0].findings)}, ${runs[0].parseErrors} parse errors)`,
  );
} else console.log('python3 not found: the standard library comparison is skipped');

// pyright on the 200k-line slice, attribute access checked as errors
writeFileSync(
  join(slice, 'pyrightconfig.json'),
  JSON.stringify({ typeCheckingMode: 'basic', reportAttributeAccessIssue: 'error', pythonVersion: '3.11' }),
);
const pyrightBin = join(here, '..', 'node_modules', 'pyright', 'index.js');
const pyrightPath = existsSync(pyrightBin)
  ? pyrightBin
  : join(here, '..', '..', '..', 'node_modules', 'pyright', 'index.js');
t = performance.now();
const pyright = spawnSync(process.execPath, [pyrightPath, '-p', slice, '--outputjson'], {
  encoding: 'utf8',
  maxBuffer: 1 << 28,
});
const pyrightSeconds = (performance.now() - t) / 1000;
let attributeErrors = null;
try {
  const out = JSON.parse(pyright.stdout);
  attributeErrors = out.generalDiagnostics.filter((d) => d.rule === 'reportAttributeAccessIssue').length;
} catch {
  console.error(`pyright output was not JSON: ${pyright.stderr.slice(0, 500)}`);
}
const sliceScan = measure([slice], slice);
const ratio = pyrightSeconds / sliceScan.seconds;
console.log(
  `slice ${sliceStats.lines} lines (${sliceStats.typos} planted typos): ` +
    `pyright ${pyrightSeconds.toFixed(2)} s (${attributeErrors} attribute-access errors), ` +
    `ssot ${sliceScan.seconds.toFixed(2)} s (${sliceScan.findings['unknown-attribute'] ?? 0} unknown-attribute): ` +
    `pyright/ssot = ${ratio.toFixed(1)}`,
);
const last = rows[rows.length - 1];
console.log(
  JSON.stringify({
    lines: last.lines,
    seconds: last.seconds,
    parse_floor_seconds: floor.seconds,
    cold_over_floor: Number((last.seconds / floor.seconds).toFixed(2)),
    warm_seconds: warm.seconds,
    warm_over_cold: Number((warm.seconds / last.seconds).toFixed(3)),
    cache_filling_seconds: filling.seconds,
    cache_findings_equal: cacheEqual,
    stdlib_cache_findings_equal: stdlibEqual,
    floor_cpu_seconds: floor.cpu_seconds,
    cold_over_floor_cpu: Number((last.cpu_seconds / floor.cpu_seconds).toFixed(2)),
    warm_cpu_seconds: warm.cpu_seconds,
    warm_over_cold_cpu: Number((warm.cpu_seconds / last.cpu_seconds).toFixed(3)),
    warm_peak_mb: warm.peak_mb,
    cpu_seconds: last.cpu_seconds,
    peak_mb: last.peak_mb,
    pyright_ratio: Number(ratio.toFixed(1)),
    files: last.files,
    seconds_per_million: rows.map((r) => Number((r.seconds / (r.lines / 1e6)).toFixed(2))),
    pyright_seconds: Number(pyrightSeconds.toFixed(2)),
    ssot_slice_seconds: sliceScan.seconds,
    planted_typos: generated.reduce((n, g) => n + g.typos, 0),
    unknown_attribute_findings: last.findings['unknown-attribute'] ?? 0,
  }),
);
