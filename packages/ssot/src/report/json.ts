import type { Report } from '../scan.js';

/** The `--format json` contract: `{version, root, findings, stats}`, extended with `errors` and `baselined`. */
export function formatJson(report: Report): string {
  const findings = report.findings.map((f) => ({
    rule: f.rule,
    severity: f.severity,
    file: f.file,
    line: f.line,
    column: f.column,
    message: f.message,
    symbol: f.symbol,
    ...(f.attribute !== undefined ? { attribute: f.attribute } : {}),
    ...(f.suggestion !== undefined ? { suggestion: f.suggestion } : {}),
    fingerprint: f.fingerprint,
    related: f.related,
  }));
  const { version, root, stats, errors, baselined } = report;
  return `${JSON.stringify({ version, root, findings, stats, errors, baselined }, null, 2)}\n`;
}
