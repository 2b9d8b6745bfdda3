/** Readable output: findings grouped by rule, each with a code frame; colour only when asked (a terminal). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../rules/index.js';
import type { Finding, Severity } from '../rules/types.js';
import type { Report } from '../scan.js';

interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  severity(s: Severity, text: string): string;
  accent(s: string): string;
}

const plain: Paint = { bold: (s) => s, dim: (s) => s, severity: (_, t) => t, accent: (s) => s };
const sgr = (code: string, s: string): string => `\u001b[${code}m${s}\u001b[0m`;
const colour: Paint = {
  bold: (s) => sgr('1', s),
  dim: (s) => sgr('2', s),
  severity: (s, t) => sgr(s === 'error' ? '31;1' : s === 'warning' ? '33;1' : '36', t),
  accent: (s) => sgr('36', s),
};

function codeFrame(lines: readonly string[], line: number, column: number, paint: Paint): string {
  const out: string[] = [];
  const width = String(line + 1).length;
  for (let n = Math.max(1, line - 1); n <= Math.min(lines.length, line + 1); n++) {
    const text = (lines[n - 1] ?? '').replace(/\t/g, '    ');
    const gutter = `${n === line ? '>' : ' '} ${String(n).padStart(width)} | `;
    out.push(n === line ? `${paint.bold(gutter)}${text}` : paint.dim(`${gutter}${text}`));
    if (n === line)
      out.push(
        `${' '.repeat(gutter.length - 2)}${paint.dim('|')} ` +
          `${' '.repeat(Math.max(0, column - 1))}${paint.severity('error', '^')}`,
      );
  }
  return out.join('\n');
}

export function formatText(report: Report, options: { colour?: boolean } = {}): string {
  const paint = options.colour ? colour : plain;
  const cache = new Map<string, string[]>();
  const linesOf = (file: string): string[] => {
    let lines = cache.get(file);
    if (!lines) {
      try {
        lines = readFileSync(join(report.root, file), 'utf8').split('\n');
      } catch {
        lines = [];
      }
      cache.set(file, lines);
    }
    return lines;
  };
  const out: string[] = [];
  for (const rule of RULES) {
    const findings = report.findings.filter((f) => f.rule === rule.id);
    if (findings.length === 0) continue;
    out.push(paint.bold(`${rule.id} (${findings.length}): ${rule.summary}`), '');
    for (const f of findings) out.push(formatFinding(f, linesOf(f.file), paint), '');
  }
  for (const e of report.errors) out.push(`${paint.severity('warning', 'parse error')} ${e.file}: ${e.message}`);
  const counts = { error: 0, warning: 0, note: 0 };
  for (const f of report.findings) counts[f.severity]++;
  const s = report.stats;
  out.push(
    (report.findings.length === 0
      ? 'No findings'
      : `${report.findings.length} finding${report.findings.length === 1 ? '' : 's'} ` +
        `(${counts.error} errors, ${counts.warning} warnings, ${counts.note} notes)`) +
      ` in ${s.files} files, ${s.lines} lines, ${(s.durationMs / 1000).toFixed(2)} s` +
      (s.cachedFiles ? ` (${s.cachedFiles} from the cache)` : '') +
      (s.parseErrors ? `; ${s.parseErrors} files did not parse` : '') +
      (report.baselined ? `; ${report.baselined} accepted by the baseline` : ''),
  );
  return `${out.join('\n')}\n`;
}

function formatFinding(f: Finding, lines: readonly string[], paint: Paint): string {
  const where = paint.accent(`${f.file}:${f.line}:${f.column}`);
  const head = `${where} ${paint.severity(f.severity, f.severity)} ${f.message} ${paint.dim(`[${f.rule}]`)}`;
  const parts = [head, codeFrame(lines, f.line, f.column, paint)];
  if (f.suggestion) parts.push(`  ${paint.bold('help:')} did you mean '${f.suggestion}'?`);
  for (const r of f.related) parts.push(paint.dim(`  = ${r.file}:${r.line}: ${r.message}`));
  return parts.join('\n');
}
