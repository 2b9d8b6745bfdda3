/**
 * One workspace folder as the language server sees it: every file's summary (from the scan on start, then from the
 * editor's buffers and file events), and the findings of the files the editor shows. The rules always read every
 * summary, but their per-file work is limited to the files asked for (`analyze`): an edit's own file at once, and
 * the open files once edits pause (`settle`), when an edit may have changed theirs. The findings of a file are what
 * `ssot scan` would print for it.
 */
import { resolve, relative, sep } from 'node:path';
import { DEFAULT_CONFIG, loadConfig, skippedPatterns } from '../config.js';
import type { Config } from '../config.js';
import { summarize } from '../cache/summarize.js';
import { discoverFiles, SKIPPED_DIRECTORIES } from '../files/discover.js';
import { Model } from '../model/model.js';
import { extractSource, languageOf } from '../parse/extract.js';
import type { FileSummary } from '../parse/summary.js';
import type { Finding } from '../rules/types.js';
import { DEFAULT_CACHE_DIR, rootPackageOf, runRules } from '../scan.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const POSITION = new Set(['line', 'column']);

/**
 * A file's summary as the model is built from it, `withPositions` or not: all but its attribute reads, suppression
 * comments and line count, which only the file's own findings read (unknown-attribute checks a file's reads against
 * the model; a suppression silences its own line). The model never reads a position: the rules take them from the
 * summary when they report.
 */
function modelInput(summary: FileSummary, withPositions: boolean): string {
  const { reads: _reads, suppressions: _suppressions, lines: _lines, ...rest } = summary;
  if (withPositions) return JSON.stringify(rest);
  return JSON.stringify(rest, (key, value: unknown) => (POSITION.has(key) ? undefined : value));
}

/** Copies the positions of `from` into `to`, two values alike but for their positions. */
function copyPositions(to: unknown, from: unknown): void {
  if (typeof to !== 'object' || to === null || typeof from !== 'object' || from === null) return;
  const target = to as Record<string, unknown>;
  for (const [key, value] of Object.entries(from)) {
    if (POSITION.has(key)) target[key] = value;
    else copyPositions(target[key], value);
  }
}

export class Workspace {
  private readonly summaries = new Map<string, FileSummary>();
  /** the last summary of a file that parsed: what the rules use while its buffer has a syntax error */
  private readonly parseErrors = new Map<string, string>();
  /** the findings of the files analysed, as last computed */
  private readonly findingsByFile = new Map<string, Finding[]>();
  /** a summary changed since the open files were last analysed together (settle) */
  private summariesChanged = false;
  /** the model of the summaries as they are, built on the first analysis after a change it depends on */
  private model: Model | null = null;

  private constructor(
    readonly root: string,
    readonly config: Config,
  ) {}

  /** Scans the folder (through the summary cache). A config that does not load leaves the defaults, reported. */
  static async open(root: string, onConfigError: (message: string) => void): Promise<Workspace> {
    let config: Config;
    try {
      config = loadConfig(root);
    } catch (error) {
      onConfigError(error instanceof Error ? error.message : String(error));
      config = DEFAULT_CONFIG;
    }
    const workspace = new Workspace(resolve(root), config);
    const files = discoverFiles({
      root: workspace.root,
      paths: [workspace.root],
      include: config.include,
      exclude: skippedPatterns(config),
    });
    const { summaries } = await summarize(files, {
      cacheDir: resolve(workspace.root, DEFAULT_CACHE_DIR),
      root: workspace.root,
      config,
      paths: [workspace.root],
    });
    for (const s of summaries) workspace.put(s);
    return workspace;
  }

  /** The path relative to the root, or null when the file is outside this folder or not a scanned language. */
  relativePath(absolute: string): string | null {
    const rel = relative(this.root, absolute);
    if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || !languageOf(rel)) return null;
    const posix = rel.split(sep).join('/');
    return this.isScanned(absolute, posix) ? posix : null;
  }

  /** Whether a scan would read this file: the config's include/exclude and the skipped folders apply. */
  private isScanned(absolute: string, posix: string): boolean {
    if (this.summaries.has(posix)) return true;
    const folders = posix.split('/').slice(0, -1);
    if (folders.some((part) => SKIPPED_DIRECTORIES.has(part))) return false;
    try {
      return (
        discoverFiles({
          root: this.root,
          paths: [absolute],
          include: this.config.include,
          exclude: skippedPatterns(this.config),
        }).length === 1
      );
    } catch {
      return false; // gone from the disk meanwhile
    }
  }

  /**
   * Replaces a file's summary from its text (its findings: analyze). An edit that changes only the file's reads or
   * positions (most keystrokes: a read typed or fixed, a line added) keeps the model; an edit of reads alone changes
   * no other file's findings, so it leaves the workspace settled.
   */
  update(path: string, text: string): void {
    const summary = extractSource(path, text);
    const previous = this.summaries.get(path);
    if (summary.parseError !== null) {
      this.parseErrors.set(path, summary.parseError);
      if (!previous) this.put(summary);
      return;
    }
    this.parseErrors.delete(path);
    const samePlaces = previous !== undefined && modelInput(previous, true) === modelInput(summary, true);
    if (previous && (samePlaces || modelInput(previous, false) === modelInput(summary, false))) {
      // the model stays: the new reads, suppressions and positions go into the summary it holds; moved definitions
      // and imports move the places other files' findings point to
      if (!samePlaces) {
        this.summariesChanged = true;
        copyPositions(previous, summary);
      }
      const { reads, suppressions, lines } = summary;
      Object.assign(previous as Writable<FileSummary>, { reads, suppressions, lines });
      return;
    }
    this.put(summary);
  }

  /** Forgets a deleted file. */
  remove(path: string): void {
    this.summaries.delete(path);
    this.parseErrors.delete(path);
    this.changed();
  }

  /** Whether a summary changed since the last settle(). */
  get unsettled(): boolean {
    return this.summariesChanged;
  }

  /** analyze() of the editor's open files after edits, which may have changed any file's findings. */
  settle(open: ReadonlySet<string>): Set<string> {
    this.summariesChanged = false;
    return this.analyze(open);
  }

  findings(path: string): readonly Finding[] {
    return this.findingsByFile.get(path) ?? [];
  }

  /** The syntax error of the file's latest text, if any (its previous summary still feeds the rules). */
  parseError(path: string): string | null {
    return this.parseErrors.get(path) ?? this.summaries.get(path)?.parseError ?? null;
  }

  private put(summary: FileSummary): void {
    this.summaries.set(summary.path, summary);
    this.changed();
  }

  /** A change the model depends on: any file's findings may have changed. */
  private changed(): void {
    this.model = null;
    this.summariesChanged = true;
  }

  /**
   * Computes the findings of `paths` again (the rules read every summary, and limit their per-file work to these);
   * returns those whose findings changed.
   */
  analyze(paths: ReadonlySet<string>): Set<string> {
    this.model ??= new Model(
      [...this.summaries.values()].sort((a, b) => (a.path < b.path ? -1 : 1)),
      { rootPackage: rootPackageOf(this.root) },
    );
    const next = new Map<string, Finding[]>();
    for (const f of runRules(this.model, this.config, paths)) {
      const list = next.get(f.file);
      if (list) list.push(f);
      else next.set(f.file, [f]);
    }
    const changed = new Set<string>();
    for (const path of paths) {
      const found = next.get(path) ?? [];
      if (JSON.stringify(found) !== JSON.stringify(this.findingsByFile.get(path) ?? [])) changed.add(path);
      this.findingsByFile.set(path, found);
    }
    return changed;
  }
}
