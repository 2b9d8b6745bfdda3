/** SARIF 2.1.0 for code-scanning tools: rule metadata with help text, and partialFingerprints per result. */
import { pathToFileURL } from 'node:url';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { RULES } from '../rules/index.js';
import type { Severity } from '../rules/types.js';
import type { Report } from '../scan.js';
import { VERSION } from '../version.js';

const LEVEL: Record<Severity, Result.level> = { error: 'error', warning: 'warning', note: 'note' };
const DEFAULT_LEVEL: Record<string, Result.level> = { 'duplicate-definition': 'warning', 'unknown-attribute': 'error', 'inconsistent-import': 'warning' };

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

export function toSarif(report: Report): Log {
  const rules: ReportingDescriptor[] = RULES.map((r) => ({
    id: r.id,
    name: r.id.replace(/(^|-)(\w)/g, (_, __: string, c: string) => c.toUpperCase()),
    shortDescription: { text: r.summary },
    fullDescription: { text: r.doc.split('\n## ')[1]?.replace(/^What it does\n/, '').trim() ?? r.summary },
    help: { text: r.doc, markdown: r.doc },
    helpUri: `https://www.npmjs.com/package/ssot#${r.id}`,
    defaultConfiguration: { level: DEFAULT_LEVEL[r.id] ?? 'warning' },
  }));
  const results: Result[] = report.findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: RULES.findIndex((r) => r.id === f.rule),
    level: LEVEL[f.severity],
    message: { text: f.suggestion ? `${f.message}` : f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: encodePath(f.file), uriBaseId: '%SRCROOT%' },
          region: { startLine: f.line, startColumn: f.column },
        },
      },
    ],
    ...(f.related.length > 0
      ? {
          relatedLocations: f.related.map((r, i) => ({
            id: i,
            message: { text: r.message },
            physicalLocation: { artifactLocation: { uri: encodePath(r.file), uriBaseId: '%SRCROOT%' }, region: { startLine: r.line } },
          })),
        }
      : {}),
    partialFingerprints: { 'ssot/v1': f.fingerprint },
    properties: { symbol: f.symbol, ...(f.attribute ? { attribute: f.attribute } : {}), ...(f.suggestion ? { suggestion: f.suggestion } : {}) },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'ssot', version: VERSION, informationUri: 'https://www.npmjs.com/package/ssot', rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: `${pathToFileURL(report.root).href}/` } },
        results,
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: report.errors.map((e) => ({
              level: 'warning' as const,
              message: { text: `could not parse: ${e.message}` },
              locations: [{ physicalLocation: { artifactLocation: { uri: encodePath(e.file), uriBaseId: '%SRCROOT%' } } }],
            })),
          },
        ],
      },
    ],
  };
}

export function formatSarif(report: Report): string {
  return `${JSON.stringify(toSarif(report), null, 2)}\n`;
}
