import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, scan } from '../../src/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssot-scan-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const BUG = 'class A:\n    x = 1\n\n\ndef f(a: A) -> int:\n    return a.y\n';

// scans start worker threads and read files: seconds each when the machine is loaded
describe('scanning', { timeout: 30_000 }, () => {
  it('counts and reports a file that does not parse, and goes on', async () => {
    const dir = project({ 'broken.py': 'x = = 2\n', 'bad.ts': 'export const = ;\n', 'ok.py': BUG });
    const report = await scan({ paths: [dir], threads: 0 });
    expect(report.stats.parseErrors).toBe(2);
    expect(report.errors.map((e) => e.file).sort()).toEqual(['bad.ts', 'broken.py']);
    expect(report.findings.map((f) => f.attribute)).toEqual(['y']);
  });

  it('points an unknown-attribute finding at the attribute name', async () => {
    const dir = project({
      'a.py':
        BUG +
        '\n\nclass B:\n    def __init__(self) -> None:\n        self.a = A()\n\n' +
        '    def g(self) -> int:\n        return self.a.zz\n',
      'm.js': 'class M {\n  constructor() {\n    this.count = 0;\n  }\n}\nconst m = new M();\nconsole.log(m.cuont);\n',
    });
    const report = await scan({ paths: [dir], threads: 0 });
    expect(report.findings.map((f) => [f.file, f.line, f.column, f.attribute])).toEqual([
      ['a.py', 6, 14, 'y'],
      ['a.py', 14, 23, 'zz'],
      ['m.js', 7, 15, 'cuont'],
    ]);
  });

  it('reports Python syntax errors that tree-sitter repairs by inserting a missing token', async () => {
    const dir = project({ 'missing.py': 'def f(:\n    pass\n', 'colon.py': 'class A\n    x = 1\n', 'ok.py': BUG });
    const report = await scan({ paths: [dir], threads: 0 });
    expect(report.errors).toEqual([
      { file: 'colon.py', message: expect.stringMatching(/^syntax error at 1:\d+/) },
      { file: 'missing.py', message: "syntax error at 1:7 (missing ')')" },
    ]);
    expect(report.findings.map((f) => f.attribute)).toEqual(['y']);
  });

  it('reads a line continued inside brackets at any indentation, as Python does, and what follows', async () => {
    // CPython's test_compile.py: tree-sitter-python's scanner takes the second line for a dedent out of f's body
    const continued =
      'class A:\n    x = 1\n\n    def g(self):\n        def f():\n            (bar.\n        baz)  # joined\n' +
      '            (bar. \\\n  baz(\n))\n        return self.y\n';
    const dir = project({ 'continued.py': continued, 'unclosed.py': 'def f():\n    (bar.\nbaz\n' });
    const report = await scan({ paths: [dir], threads: 0 });
    expect(report.errors).toEqual([{ file: 'unclosed.py', message: expect.stringMatching(/^syntax error at /) }]);
    expect(report.findings.map((f) => [f.file, f.line, f.column, f.attribute])).toEqual([
      ['continued.py', 11, 21, 'y'],
    ]);
  });

  it("skips .gitignored files, dependencies, virtualenvs and the config's excludes", async () => {
    const dir = project({
      '.gitignore': 'generated/\n',
      'generated/a.py': BUG,
      'node_modules/pkg/a.js': 'export class A {}\n',
      'env/pyvenv.cfg': 'home = /usr\n',
      'env/lib/a.py': BUG,
      'vendor/a.py': BUG,
      'ssot.config.json': '{"exclude": ["vendor/"]}',
      'src/a.py': 'x = 1\n',
    });
    const report = await scan({ paths: [dir], threads: 0 });
    expect(report.stats.files).toBe(1);
    expect(report.findings).toEqual([]);
  });

  it('rejects a config with unknown keys, rules or severities', () => {
    expect(() => parseConfig({ exclude: 'x' }, 'c.json')).toThrow(ConfigError);
    expect(() => parseConfig({ rulez: {} }, 'c.json')).toThrow(/unknown key "rulez"/);
    expect(() => parseConfig({ rules: { 'no-such-rule': 'error' } }, 'c.json')).toThrow(/unknown rule/);
    expect(() => parseConfig({ rules: { 'unknown-attribute': 'fatal' } }, 'c.json')).toThrow(/must be/);
  });

  it('applies rule severities and switches rules off from the config', async () => {
    const dir = project({ 'a.py': BUG });
    const note = await scan({
      paths: [dir],
      threads: 0,
      config: {
        include: [],
        exclude: [],
        criticalNames: [],
        allowDuplicateNames: [],
        rules: { 'unknown-attribute': 'note' },
      },
    });
    expect(note.findings.map((f) => f.severity)).toEqual(['note']);
    const off = await scan({
      paths: [dir],
      threads: 0,
      config: {
        include: [],
        exclude: [],
        criticalNames: [],
        allowDuplicateNames: [],
        rules: { 'unknown-attribute': 'off' },
      },
    });
    expect(off.findings).toEqual([]);
  });

  it('parses on worker threads with the same result as in-process', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`pkg/m${i}.py`] = `${BUG}\n\nclass C${i}:\n    v = ${i}\n`;
    const dir = project(files);
    const inline = await scan({ paths: [dir], threads: 0 });
    const threaded = await scan({ paths: [dir], threads: 2 });
    expect(threaded.findings).toEqual(inline.findings);
    expect(threaded.stats.lines).toBe(inline.stats.lines);
  });
});
