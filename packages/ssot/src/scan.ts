/** The library API: `scan(options) → Report`. */
import { basename, resolve, dirname, join, relative } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { loadConfig, skippedPatterns } from './config.js';
import type { Config } from './config.js';
import { openCache, summarize } from './cache/summarize.js';
import type { Summarized } from './cache/summarize.js';
import { filesChangedSince } from './files/changed-since.js';
import { discoverFiles } from './files/discover.js';
import { Model } from './model/model.js';
import type { ModelOptions } from './model/model.js';
import { startWorkers, stopWorkers, threadsFor } from './parse/pool.js';
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
  /** the summary cache: true for `.ssot_cache` in the root, a directory, or false (default) for none */
  readonly cache?: boolean | string;
  /** a git revision: report only findings in files changed since it (see filesChangedSince); the analysis still
   *  reads every file */
  readonly since?: string;
}

/** Where `cache: true` keeps the summary cache, in the scan root. */
export const DEFAULT_CACHE_DIR = '.ssot_cache';

export interface Report {
  readonly version: 1;
  readonly root: string;
  readonly findings: readonly Finding[];
  readonly stats: {
    readonly files: number;
    readonly lines: number;
    readonly parseErrors: number;
    readonly durationMs: number;
    /** files whose summary came from the cache */
    readonly cachedFiles: number;
  };
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
  const paths = (options.paths && options.paths.length > 0 ? options.paths : [options.root ?? '.']).map((p) =>
    resolve(p),
  );
  for (const p of paths) statSync(p); // a missing path fails here, before any work
  const root = resolve(options.root ?? commonRoot(paths));
  const config = typeof options.config === 'object' ? options.config : loadConfig(root, options.config);
  const changed = options.since === undefined ? null : filesChangedSince(root, options.since);
  const cacheDir =
    options.cache === true
      ? resolve(root, DEFAULT_CACHE_DIR)
      : typeof options.cache === 'string'
        ? resolve(options.cache)
        : null;
  // without a cache (or before its first run, as in CI) every file is parsed: workers start as soon as there are
  // enough files for them, and load their parsers while the walk goes on (with a cache, only the changed files are
  // parsed, and the cache says which)
  const parsesAll = cacheDir === null || !existsSync(cacheDir);
  const workers: Worker[] = [];
  // the cache's files are read off this thread while it walks the tree
  const cache = cacheDir === null ? undefined : openCache(cacheDir, config);
  const files = discoverFiles({
    root,
    paths,
    include: config.include,
    exclude: skippedPatterns(config),
    ...(parsesAll ? { onFile: startWorkersWhenWorthIt(workers, options.threads) } : {}),
  });
  let summarized: Summarized;
  try {
    summarized = await summarize(files, {
      cacheDir,
      root,
      config,
      paths,
      started: workers,
      ...(cache ? { cache } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    await stopWorkers(workers);
  }
  const { summaries, cached } = summarized;
  let reported = analyze(summaries, config, { rootPackage: rootPackageOf(root) }, changed ?? undefined);
  let baselined = 0;
  if (options.baseline) {
    const { fresh, accepted } = applyBaseline(reported, readBaseline(options.baseline));
    reported = fresh;
    baselined = accepted;
  }
  const errors = summaries
    .filter((s) => s.parseError !== null)
    .map((s) => ({ file: s.path, message: s.parseError ?? '' }));
  return {
    version: 1,
    root,
    findings: reported,
    stats: {
      files: summaries.length,
      lines: summaries.reduce((n, s) => n + s.lines, 0),
      parseErrors: errors.length,
      durationMs: Math.round(performance.now() - started),
      cachedFiles: cached,
    },
    errors,
    baselined,
  };
}

/** A discovery callback that starts the scan's workers once it has found enough files to parse on them. */
export function startWorkersWhenWorthIt(started: Worker[], threads: number | undefined): (count: number) => void {
  let done = false;
  return (count) => {
    if (done || threadsFor(count, threads) === 0) return;
    done = true;
    started.push(...startWorkers(threadsFor(count, threads)));
  };
}

/** The package a scan root is, when it is one (`pkg/__init__.py`): `from pkg.sub import X` then resolves inside it. */
export function rootPackageOf(root: string): string | null {
  return existsSync(join(root, '__init__.py')) ? basename(root) : null;
}

/**
 * Runs the rules over extracted files: the part of a scan after parsing. With `only`, the findings in those files
 * (paths as in the summaries): every file is still read, but the rules skip the per-file work of the others.
 */
export function analyze(
  summaries: readonly FileSummary[],
  config: Config,
  modelOptions: ModelOptions = {},
  only?: ReadonlySet<string>,
): Finding[] {
  return runRules(new Model(summaries, modelOptions), config, only);
}

/**
 * analyze() over a model already built from the summaries: the language server keeps its model while edits change
 * only what the model does not read (see Workspace.update).
 */
export function runRules(model: Model, config: Config, only?: ReadonlySet<string>): Finding[] {
  const suppressions = new Map<string, Map<number, readonly string[]>>();
  for (const s of model.files) if (s.suppressions.length > 0) suppressions.set(s.path, new Map(s.suppressions));
  const suppressed = (path: string, line: number, rule: RuleId): boolean => {
    const rules = suppressions.get(path)?.get(line);
    return rules !== undefined && (rules.length === 0 || rules.includes(rule));
  };
  const context: RuleContext = {
    model,
    options: {
      criticalNames: config.criticalNames,
      allowDuplicateNames: config.allowDuplicateNames,
      compareUnconnected: config.compareUnconnected ?? false,
    },
    isSuppressed: (file, line, rule) => suppressed(file.path, line, rule),
    reports: only ? (file) => only.has(file.path) : () => true,
  };
  const raw: RawFinding[] = [];
  for (const rule of RULES) {
    const setting = config.rules[rule.id];
    if (setting === 'off') continue;
    for (const f of rule.run(context)) {
      if (suppressed(f.file, f.line, f.rule) || (only && !only.has(f.file))) continue;
      raw.push(setting ? { ...f, severity: setting } : f);
    }
  }
  raw.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1),
  );
  return addFingerprints(raw);
}
