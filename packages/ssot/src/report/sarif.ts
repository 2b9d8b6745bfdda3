/** SARIF 2.1.0 for code-scanning tools: rule metadata with help text, and partialFingerprints per result. */
import { pathToFileURL } from 'node:url';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { RULES } from '../rules/index.js';
import type { Severity } from '../rules/types.js';
import type { Report } from '../scan.js';
import { VERSION } from '../version.js';

const LEVEL: Record<Severity, Result.level> = { error: 'error', warning: 'warning', note: 'note' };
const DEFAULT_LEVEL: Record<string, Result.level> = {
  'duplicate-definition': 'warning',
  'unknown-attribute': 'error',
  'inconsistent-import': 'warning',
};

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/**
 * GitHub code scanning rejects a run with more than 25,000 results (and stores the 5,000 most severe of those it
 * accepts); related locations count against 1,000 locations per result. A larger report keeps its most severe
 * findings, in report order, and says in a notification how many it left out.
 */
export const MAX_SARIF_RESULTS = 25_000;
const MAX_RELATED_LOCATIONS = 1_000 - 1;
const RANK: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

export function toSarif(report: Report, maxResults = MAX_SARIF_RESULTS): Log {
  const rules: ReportingDescriptor[] = RULES.map((r) => ({
    id: r.id,
    name: r.id.replace(/(^|-)(\w)/g, (_, __: string, c: string) => c.toUpperCase()),
    shortDescription: { text: r.summary },
    fullDescription: {
      text:
        r.doc
          .split('\n## ')[1]
          ?.replace(/^What it does\n/, '')
          .trim() ?? r.summary,
    },
    help: { text: r.doc, markdown: r.doc },
    helpUri: `https://www.npmjs.com/package/ssot#${r.id}`,
    defaultConfiguration: { level: DEFAULT_LEVEL[r.id] ?? 'warning' },
  }));
  const kept =
    report.findings.length <= maxResults
      ? report.findings
      : report.findings
          .map((f, i) => [f, i] as const)
          .sort(([a, i], [b, j]) => RANK[a.severity] - RANK[b.severity] || i - j)
          .slice(0, maxResults)
          .sort(([, i], [, j]) => i - j)
          .map(([f]) => f);
  const omitted = report.findings.length - kept.length;
  const results: Result[] = kept.map((f) => ({
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
          relatedLocations: f.related.slice(0, MAX_RELATED_LOCATIONS).map((r, i) => ({
            id: i,
            message: { text: r.message },
            physicalLocation: {
              artifactLocation: { uri: encodePath(r.file), uriBaseId: '%SRCROOT%' },
              region: { startLine: r.line },
            },
          })),
        }
      : {}),
    partialFingerprints: { 'ssot/v1': f.fingerprint },
    properties: {
      symbol: f.symbol,
      ...(f.attribute ? { attribute: f.attribute } : {}),
      ...(f.suggestion ? { suggestion: f.suggestion } : {}),
    },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: { name: 'ssot', version: VERSION, informationUri: 'https://www.npmjs.com/package/ssot', rules },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: `${pathToFileURL(report.root).href}/` } },
        results,
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: [
              ...(omitted > 0
                ? [
                    {
                      level: 'warning' as const,
                      message: {
                        text:
                          `${omitted} of ${report.findings.length} findings left out: code scanning accepts at ` +
                          `most ${maxResults} results per run (the most severe are kept; --format json lists all)`,
                      },
                    },
                  ]
                : []),
              ...report.errors.map((e) => ({
                level: 'warning' as const,
                message: { text: `could not parse: ${e.message}` },
                locations: [
                  { physicalLocation: { artifactLocation: { uri: encodePath(e.file), uriBaseId: '%SRCROOT%' } } },
                ],
              })),
            ],
          },
        ],
      },
    ],
  };
}

export function formatSarif(report: Report): string {
  return `${JSON.stringify(toSarif(report), null, 2)}\n`;
}
