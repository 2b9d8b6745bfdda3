import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scan } from '../../src/index.js';

interface Expected {
  rule: string;
  file: string;
  line: number;
  attribute?: string;
  suggestion?: string;
  severity?: string;
  message?: string;
}

const rulesDir = fileURLToPath(new URL('../../src/rules/', import.meta.url));
const cases = readdirSync(rulesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(rulesDir, d.name, 'fixtures')))
  .flatMap((d) =>
    readdirSync(join(rulesDir, d.name, 'fixtures'), { withFileTypes: true })
      .filter((c) => c.isDirectory())
      .map((c) => ({ rule: d.name, name: c.name, dir: join(rulesDir, d.name, 'fixtures', c.name) })),
  );

describe('rule fixtures: each case reports exactly its checked-in expected.json', () => {
  it('has fixtures for every rule', () => {
    expect(new Set(cases.map((c) => c.rule))).toEqual(
      new Set(['duplicate-definition', 'unknown-attribute', 'inconsistent-import']),
    );
  });

  for (const c of cases) {
    it(`${c.rule} / ${c.name}`, async () => {
      const expected = JSON.parse(readFileSync(join(c.dir, 'expected.json'), 'utf8')) as Expected[];
      const report = await scan({ paths: [c.dir], threads: 0 });
      expect(report.errors).toEqual([]);
      const actual = report.findings.map((f) => ({
        rule: f.rule,
        file: f.file,
        line: f.line,
        attribute: f.attribute,
        suggestion: f.suggestion,
      }));
      const wanted = expected.map((e) => ({
        rule: e.rule,
        file: e.file,
        line: e.line,
        attribute: e.attribute,
        suggestion: e.suggestion,
      }));
      const key = (f: { file: string; line: number; rule: string; attribute?: string | undefined }): string =>
        `${f.file}:${f.line}:${f.rule}:${f.attribute ?? ''}`;
      expect(actual.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
        wanted.sort((a, b) => key(a).localeCompare(key(b))),
      );
      for (const e of expected) {
        const f = report.findings.find((x) => x.file === e.file && x.line === e.line && x.rule === e.rule);
        if (e.severity) expect(f?.severity).toBe(e.severity);
        if (e.message) expect(f?.message).toContain(e.message);
      }
    });
  }
});
