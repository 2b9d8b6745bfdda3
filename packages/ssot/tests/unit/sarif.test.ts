import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type AjvDraft04 from 'ajv-draft-04';
import type AjvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { formatSarif, scan, toSarif } from '../../src/index.js';
import { MAX_SARIF_RESULTS } from '../../src/report/sarif.js';

// CommonJS packages whose default export NodeNext types as a namespace: take module.exports as it is
const require = createRequire(import.meta.url);
const Ajv = require('ajv-draft-04') as typeof AjvDraft04.default;
const addFormats = require('ajv-formats') as typeof AjvFormats.default;

const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url));
// the official SARIF 2.1.0 schema (sarif-2.1.0-rtm.5), as published with the OASIS standard
const schema = JSON.parse(
  readFileSync(new URL('../schemas/sarif-2.1.0-rtm.5.json', import.meta.url), 'utf8'),
) as object;

// a scan and a schema compile each: seconds on a loaded machine
describe('SARIF output', { timeout: 30_000 }, () => {
  it('validates against the official SARIF 2.1.0 schema', async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const log = JSON.parse(formatSarif(report)) as unknown;
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const valid = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('carries rule metadata, help text and partialFingerprints', async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const log = JSON.parse(formatSarif(report)) as {
      runs: {
        tool: { driver: { rules: { id: string; help: { text: string } }[] } };
        results: { ruleId: string; partialFingerprints: Record<string, string> }[];
      }[];
    };
    const run = log.runs[0]!;
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([
      'duplicate-definition',
      'unknown-attribute',
      'inconsistent-import',
    ]);
    expect(run.tool.driver.rules[1]!.help.text).toContain('## Why is this bad?');
    expect(run.results).toHaveLength(report.findings.length);
    for (const [i, r] of run.results.entries())
      expect(r.partialFingerprints['ssot/v1']).toBe(report.findings[i]!.fingerprint);
  });

  it("stays within code scanning's 25,000 results a run: the most severe kept, how many left out said", async () => {
    const report = await scan({ paths: [fixture], threads: 0 });
    const severities = report.findings.map((f) => f.severity);
    expect(severities).toContain('error');
    expect(severities).toContain('warning');
    const many = {
      ...report,
      findings: Array.from({ length: 26_000 }, (_, i) => ({
        ...report.findings[i % report.findings.length]!,
        line: i + 1,
      })),
    };
    const log = toSarif(many);
    const run = log.runs[0]!;
    expect(run.results).toHaveLength(MAX_SARIF_RESULTS);
    const errors = many.findings.filter((f) => f.severity === 'error').length;
    expect(run.results!.filter((r) => r.level === 'error')).toHaveLength(Math.min(errors, MAX_SARIF_RESULTS));
    expect(run.invocations![0]!.toolExecutionNotifications![0]!.message.text).toBe(
      '1000 of 26000 findings left out: code scanning accepts at most 25000 results per run ' +
        '(the most severe are kept; --format json lists all)',
    );
    // report order is kept among those included
    const lines = run.results!.map((r) => r.locations![0]!.physicalLocation!.region!.startLine!);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});
