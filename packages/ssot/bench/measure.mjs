// One measured run in a fresh process: prints {seconds, cpu_seconds, peak_mb, files, lines, findings, digest, …} as
// JSON. peak_mb is the process's maximum resident set size and cpu_seconds its user+system CPU time, worker threads
// included: on a shared machine CPU time moves much less with the load than wall time does.
//   node measure.mjs [--mode scan|floor] [--cache DIR] PATH…
// scan: a whole scan (with the summary cache in DIR when given); floor: the same files read and parsed by the same
// parsers on the same threads, nothing extracted (the floor under a cold scan). `digest` hashes the findings and
// parse errors, so runs can be compared.
import { createHash } from 'node:crypto';
import { scan } from '../dist/index.js';
import { startWorkersWhenWorthIt } from '../dist/scan.js';
import { discoverFiles } from '../dist/files/discover.js';
import { parseFilesOnly, stopWorkers } from '../dist/parse/pool.js';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const mode = option('--mode') ?? 'scan';
const cache = option('--cache');
const paths = args;
const root = process.env.SSOT_BENCH_ROOT ?? paths[0];
const config = { include: [], exclude: [], criticalNames: [], allowDuplicateNames: [], rules: {} };

const started = performance.now();
const cpuStarted = process.cpuUsage();
let result;
if (mode === 'floor') {
  // workers started during discovery, as a scan does
  const workers = [];
  const files = discoverFiles({ root, paths, include: [], exclude: [], onFile: startWorkersWhenWorthIt(workers) });
  await parseFilesOnly(files, { started: workers });
  await stopWorkers(workers);
  result = { files: files.length };
} else {
  const report = await scan({ paths, root, config, ...(cache ? { cache } : {}) });
  const byRule = {};
  for (const f of report.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  const digest = createHash('sha1')
    .update(JSON.stringify([report.findings, report.errors]))
    .digest('hex');
  result = {
    files: report.stats.files,
    lines: report.stats.lines,
    findings: byRule,
    parseErrors: report.stats.parseErrors,
    cachedFiles: report.stats.cachedFiles,
    digest,
  };
}
const now = performance.now();
const seconds = (now - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
process.stdout.write(
  `${JSON.stringify({
    mode,
    seconds: Number(seconds.toFixed(2)),
    // from the process's start: node's own start and loading the scanner's modules included
    process_seconds: Number((now / 1000).toFixed(2)),
    cpu_seconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...result,
  })}\n`,
);
