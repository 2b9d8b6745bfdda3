/** The library API: `scan(options) → Report`. */
import { basename, resolve, dirname, join, relative } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { DEFAULT_GENERATED, loadConfig } from './config.js';
import type { Config } from './config.js';
import { discoverFiles } from './files/discover.js';
import { Model } from './model/model.js';
import type { ModelOptions } from './model/model.js';
import { parseFiles } from './parse/pool.js';
import type { FileSummary } from './parse/summary.js';
import { applyBaseline, readBaseline } from './report/baseline.js';
import { addFingerprints } from './report/fingerprint.js';
import { RULES } from './rules/index.js';
import type { Finding, RawFinding, RuleContext, RuleId } from './rules/types.js';

export interface ScanOptions {
  /** files and directories to scan; default: the root */
  readonly paths?: readonly string[];
  /** what paths in the report are relative to, and where modules are resolved from. Default: the one directory
   *  given, or the common parent of the paths */
  readonly root?: string;
  /** a config, or a config file's path; default: `ssot.config.json` in the root when present */
  readonly config?: Config | string;
  /** a baseline file: findings it holds are not reported */
  readonly baseline?: string;
  /** worker threads (0: parse in this thread) */
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface Report {
  readonly version: 1;
  readonly root: string;
  readonly findings: readonly Finding[];
  readonly stats: { readonly files: number; readonly lines: number; readonly parseErrors: number; readonly durationMs: number };
  /** files that did not parse */
  readonly errors: readonly { readonly file: string; readonly message: string }[];
  /** findings the baseline accepted (not listed) */
  readonly baselined: number;
}

function commonRoot(paths: readonly string[]): string {
  const dirs = paths.map((p) => {
    try {
      return statSync(p).isDirectory() ? p : dirname(p);
    } catch {
      return dirname(p);
    }
  });
  let root = dirs[0]!;
  while (!dirs.every((d) => d === root || !relative(root, d).startsWith('..'))) root = dirname(root);
  return root;
}

export async function scan(options: ScanOptions = {}): Promise<Report> {
  const started = performance.now();
  const paths = (options.paths && options.paths.length > 0 ? options.paths : [options.root ?? '.']).map((p) => resolve(p));
  for (const p of paths) statSync(p); // a missing path fails here, before any work
  const root = resolve(options.root ?? commonRoot(paths));
  const config = typeof options.config === 'object' ? options.config : loadConfig(root, options.config);
  const files = discoverFiles({ root, paths, include: config.include, exclude: [...config.exclude, ...(config.generated ?? DEFAULT_GENERATED)] });
  const summaries = await parseFiles(files, { ...(options.threads !== undefined ? { threads: options.threads } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const findings = analyze(summaries, config, { rootPackage: existsSync(join(root, '__init__.py')) ? basename(root) : null });
  let reported = findings;
  let baselined = 0;
  if (options.baseline) {
    const { fresh, accepted } = applyBaseline(findings, readBaseline(options.baseline));
    reported = fresh;
    baselined = accepted;
  }
  const errors = summaries.filter((s) => s.parseError !== null).map((s) => ({ file: s.path, message: s.parseError ?? '' }));
  return {
    version: 1,
    root,
    findings: reported,
    stats: {
      files: summaries.length,
      lines: summaries.reduce((n, s) => n + s.lines, 0),
      parseErrors: errors.length,
      durationMs: Math.round(performance.now() - started),
    },
    errors,
    baselined,
  };
}

/** Runs the rules over extracted files: the part of a scan after parsing. */
export function analyze(summaries: readonly FileSummary[], config: Config, modelOptions: ModelOptions = {}): Finding[] {
  const model = new Model(summaries, modelOptions);
  const suppressions = new Map<string, Map<number, readonly string[]>>();
  for (const s of summaries) if (s.suppressions.length > 0) suppressions.set(s.path, new Map(s.suppressions));
  const suppressed = (path: string, line: number, rule: RuleId): boolean => {
    const rules = suppressions.get(path)?.get(line);
    return rules !== undefined && (rules.length === 0 || rules.includes(rule));
  };
  const context: RuleContext = {
    model,
    options: {
      criticalNames: config.criticalNames, allowDuplicateNames: config.allowDuplicateNames,
      compareUnconnected: config.compareUnconnected ?? false,
    },
    isSuppressed: (file, line, rule) => suppressed(file.path, line, rule),
  };
  const raw: RawFinding[] = [];
  for (const rule of RULES) {
    const setting = config.rules[rule.id];
    if (setting === 'off') continue;
    for (const f of rule.run(context)) {
      if (suppressed(f.file, f.line, f.rule)) continue;
      raw.push(setting ? { ...f, severity: setting } : f);
    }
  }
  raw.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1)));
  return addFingerprints(raw);
}
