// `node packages/ssot/bench/real.mjs [--json DIR] [--cache-check] [CORPUS…]`: scans real code bases (not ours) that
// are on this machine or installed from Debian's and npm's packages, and prints each one's findings by rule, as counts
// and per 100k lines. Corpora that are not installed are listed as missing and skipped. With --json DIR, every
// corpus's findings are written to DIR/<corpus>.json (for sampling them by hand; see bench/README.md). With
// --cache-check, each corpus is scanned twice more, filling a fresh summary cache and then from it, and the three
// reports' findings and parse errors are compared (exit 1 when they differ).
//
// Python:      apt-get install python3-django python3-djangorestframework python3-graphene python3-sqlalchemy
//              python3-celery python3-pydantic   (they land in /usr/lib/python3/dist-packages)
// TypeScript:  npm pack zod @trpc/server @trpc/client into $SSOT_REAL_TS (default /work/scratch-17/ts), each
//              unpacked into a folder named like its tarball
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');
if (!existsSync(dist)) {
  console.error('bench/real.mjs needs the compiled scanner: run `npx tsc -b packages/ssot` first');
  process.exit(2);
}
const { scan, DEFAULT_CONFIG } = await import(dist);

const stdlib = execFileSync('python3', ['-c', 'import sysconfig;print(sysconfig.get_paths()["stdlib"])'], {
  encoding: 'utf8',
}).trim();
const dist3 = '/usr/lib/python3/dist-packages';
const tsDir = process.env.SSOT_REAL_TS ?? '/work/scratch-17/ts';
const unpacked = (prefix) => {
  if (!existsSync(tsDir)) return join(tsDir, `${prefix}-missing`);
  const found = readdirSync(tsDir)
    .filter((d) => d.startsWith(`${prefix}-`) && !d.endsWith('.tgz'))
    .sort();
  return join(tsDir, found.at(-1) ?? `${prefix}-missing`);
};

/** name → the paths scanned (the first is the scan root unless `root` says otherwise) */
const CORPORA = [
  { name: 'cpython-stdlib', paths: [stdlib] },
  { name: 'django', paths: [join(dist3, 'django')] },
  { name: 'rest_framework', paths: [join(dist3, 'rest_framework')] },
  { name: 'graphene', paths: [join(dist3, 'graphene')] },
  { name: 'sqlalchemy', paths: [join(dist3, 'sqlalchemy')] },
  { name: 'celery', paths: [join(dist3, 'celery')] },
  { name: 'pydantic', paths: [join(dist3, 'pydantic')] },
  { name: 'pip', paths: [join(dist3, 'pip')] },
  { name: 'zod', paths: [join(unpacked('zod'), 'src')] },
  { name: 'trpc', paths: [join(unpacked('trpc-server'), 'src'), join(unpacked('trpc-client'), 'src')], root: tsDir },
];

const args = process.argv.slice(2);
let jsonDir = null;
let cacheCheck = false;
const wanted = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--json') jsonDir = args[++i];
  else if (args[i] === '--cache-check') cacheCheck = true;
  else wanted.push(args[i]);
}
const digest = (report) =>
  createHash('sha1')
    .update(JSON.stringify([report.findings, report.errors]))
    .digest('hex');
let cacheDiffers = false;
if (jsonDir) mkdirSync(jsonDir, { recursive: true });
const RULES = ['duplicate-definition', 'inconsistent-import', 'unknown-attribute'];
const header =
  `${'corpus'.padEnd(16)} ${'lines'.padStart(9)} ${'files'.padStart(6)} ${'err'.padStart(4)} ${'s'.padStart(6)}  ` +
  RULES.map((r) => `${r} (per 100k)`.padStart(34)).join('');
console.log(header);
const totals = {};
for (const corpus of CORPORA) {
  if (wanted.length > 0 && !wanted.includes(corpus.name)) continue;
  if (!corpus.paths.every((p) => existsSync(p))) {
    console.log(`${corpus.name.padEnd(16)} missing (${corpus.paths.filter((p) => !existsSync(p)).join(', ')})`);
    continue;
  }
  const started = performance.now();
  const options = { paths: corpus.paths, root: corpus.root ?? corpus.paths[0], config: DEFAULT_CONFIG };
  const report = await scan(options);
  const seconds = (performance.now() - started) / 1000;
  const byRule = Object.fromEntries(RULES.map((r) => [r, 0]));
  for (const f of report.findings) byRule[f.rule] += 1;
  const lines = report.stats.lines;
  totals[corpus.name] = { lines, files: report.stats.files, parseErrors: report.stats.parseErrors, ...byRule };
  console.log(
    `${corpus.name.padEnd(16)} ${String(lines).padStart(9)} ${String(report.stats.files).padStart(6)} ` +
      `${String(report.stats.parseErrors).padStart(4)} ${seconds.toFixed(1).padStart(6)}  ` +
      RULES.map((r) => `${byRule[r]} (${((byRule[r] * 100_000) / Math.max(lines, 1)).toFixed(1)})`.padStart(34)).join(
        '',
      ),
  );
  if (jsonDir) writeFileSync(join(jsonDir, `${corpus.name}.json`), JSON.stringify(report, null, 1));
  if (cacheCheck) {
    const cache = mkdtempSync(join(tmpdir(), 'ssot-real-cache-'));
    try {
      const filling = await scan({ ...options, cache });
      const warm = await scan({ ...options, cache });
      const same = digest(filling) === digest(report) && digest(warm) === digest(report);
      const all = warm.stats.cachedFiles === warm.stats.files;
      cacheDiffers ||= !same || !all;
      totals[corpus.name].cacheFindingsEqual = same;
      console.log(
        `${''.padEnd(16)} cache: findings ${same ? 'identical' : 'DIFFERENT'} without it, filling it and from it ` +
          `(${warm.stats.cachedFiles}/${warm.stats.files} files from it)`,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
}
console.log(JSON.stringify(totals));
if (cacheDiffers) process.exitCode = 1;
