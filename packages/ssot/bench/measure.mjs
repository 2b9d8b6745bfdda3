// One measured scan in a fresh process: prints {seconds, peak_mb, files, lines, findings, parseErrors} as JSON.
// peak_mb is the process's maximum resident set size, worker threads included.
import { scan } from '../dist/index.js';

const paths = process.argv.slice(2);
const started = performance.now();
const report = await scan({ paths, root: process.env.SSOT_BENCH_ROOT ?? paths[0], config: { include: [], exclude: [], criticalNames: [], allowDuplicateNames: [], rules: {} } });
const seconds = (performance.now() - started) / 1000;
const byRule = {};
for (const f of report.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
process.stdout.write(
  `${JSON.stringify({
    seconds: Number(seconds.toFixed(2)),
    peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    files: report.stats.files,
    lines: report.stats.lines,
    findings: byRule,
    parseErrors: report.stats.parseErrors,
  })}\n`,
);
