// One measured scan in a fresh process: prints {seconds, cpu_seconds, peak_mb, files, lines, findings, parseErrors} as
// JSON. peak_mb is the process's maximum resident set size and cpu_seconds its user+system CPU time, worker threads
// included: on a shared machine CPU time moves much less with the load than wall time does.
import { scan } from '../dist/index.js';

const paths = process.argv.slice(2);
const started = performance.now();
const cpuStarted = process.cpuUsage();
const report = await scan({ paths, root: process.env.SSOT_BENCH_ROOT ?? paths[0], config: { include: [], exclude: [], criticalNames: [], allowDuplicateNames: [], rules: {} } });
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStarted);
const byRule = {};
for (const f of report.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
process.stdout.write(
  `${JSON.stringify({
    seconds: Number(seconds.toFixed(2)),
    cpu_seconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    files: report.stats.files,
    lines: report.stats.lines,
    findings: byRule,
    parseErrors: report.stats.parseErrors,
  })}\n`,
);
