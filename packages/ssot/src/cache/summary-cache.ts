/**
 * The on-disk cache of per-file summaries (`.ssot_cache/` in the scan root, or a directory of the caller's).
 *
 * One file, `summaries.jsonl`: a header line with the cache key (ssot's version, the config's hash and a hash of the
 * extraction code), then one line per source file: its content hash, its path (JSON) and its summary (JSON, opaque
 * here), tab-separated. A summary is used only when the key matches and the file's bytes hash to the same value, so
 * a cached scan reads exactly what a cold one would extract; the rules always run again over all summaries.
 * The file is replaced whole (written to a temporary file, then renamed), so runs that share it never see half a
 * file; a corrupt or foreign file is ignored and rewritten. Nothing here throws: a cache that cannot be read or
 * written only makes the scan slower.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { contentHash } from '../parse/extract.js';
import type { Extracted, SourceFile } from '../parse/pool.js';
import type { FileSummary } from '../parse/summary.js';
import { VERSION } from '../version.js';
import { extractorHash } from './extractor-hash.js';

export const CACHE_FILE = 'summaries.jsonl';
const FORMAT = 1;

interface Entry {
  readonly hash: string;
  /** the whole line, written back as it was when the file is unchanged */
  readonly line: string;
  /** where the summary's JSON starts in the line */
  readonly summaryAt: number;
}

export function cacheKey(config: Config): string {
  return createHash('sha1')
    .update(`${VERSION}\0${JSON.stringify(config)}\0${extractorHash()}`)
    .digest('hex');
}

function readEntries(path: string, key: string): Map<string, Entry> | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  try {
    const header = JSON.parse(lines[0] ?? '') as { ssotCache?: unknown; key?: unknown };
    if (header.ssotCache !== FORMAT || header.key !== key) return null;
  } catch {
    return null;
  }
  const entries = new Map<string, Entry>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const first = line.indexOf('\t');
    const second = first < 0 ? -1 : line.indexOf('\t', first + 1);
    if (second < 0) continue;
    let path: unknown;
    try {
      path = JSON.parse(line.slice(first + 1, second));
    } catch {
      continue;
    }
    if (typeof path === 'string') entries.set(path, { hash: line.slice(0, first), line, summaryAt: second + 1 });
  }
  return entries;
}

export class SummaryCache {
  private readonly path: string;
  /** null: no usable cache file (missing, corrupt, foreign or from another key) */
  private readonly entries: Map<string, Entry> | null;
  private dirty: boolean;

  constructor(
    readonly dir: string,
    private readonly key: string,
  ) {
    this.path = join(dir, CACHE_FILE);
    this.entries = readEntries(this.path, key);
    this.dirty = this.entries === null;
  }

  /**
   * Splits files into those whose cached summary is current (returned with it) and those to extract. A cached
   * summary that does not parse counts as missing.
   */
  partition(files: readonly SourceFile[]): { hits: Map<string, FileSummary>; misses: SourceFile[] } {
    const hits = new Map<string, FileSummary>();
    const misses: SourceFile[] = [];
    for (const file of files) {
      const entry = this.entries?.get(file.relative);
      let summary: FileSummary | null = null;
      if (entry) {
        try {
          if (contentHash(readFileSync(file.absolute)) === entry.hash)
            summary = JSON.parse(entry.line.slice(entry.summaryAt)) as FileSummary;
        } catch {
          summary = null;
        }
      }
      if (summary) hits.set(file.relative, summary);
      else misses.push(file);
    }
    return { hits, misses };
  }

  /**
   * Writes the cache for this scan: entries for every file scanned (`extracted` holds the fresh ones), and the
   * entries of files outside `scanned` (relative paths of the scanned directories or files; '' is the whole root)
   * kept as they were. Skipped when nothing changed.
   */
  save(files: readonly SourceFile[], extracted: ReadonlyMap<string, Extracted>, scanned: readonly string[]): void {
    const current = new Set(files.map((f) => f.relative));
    const inside = (path: string): boolean => scanned.some((s) => s === '' || path === s || path.startsWith(`${s}/`));
    const lines = [JSON.stringify({ ssotCache: FORMAT, key: this.key })];
    let changed = this.dirty || extracted.size > 0;
    for (const [path, entry] of this.entries ?? []) {
      if (current.has(path) ? extracted.has(path) : inside(path)) {
        changed ||= !current.has(path); // a file gone from the scan: drop its entry
        continue;
      }
      lines.push(entry.line);
    }
    for (const [path, e] of extracted) {
      if (e.hash === null) continue;
      lines.push(`${e.hash}\t${JSON.stringify(path)}\t${e.json ?? JSON.stringify(e.summary)}`);
    }
    if (!changed) return;
    writeAtomically(this.dir, CACHE_FILE, `${lines.join('\n')}\n`);
    this.dirty = false;
  }
}

/** Writes `name` in `dir` through a temporary file and a rename; creates the directory (marked as a cache). */
function writeAtomically(dir: string, name: string, text: string): void {
  const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      // tools that walk or commit the tree leave it alone, as with .ruff_cache and .pytest_cache
      writeFileSync(join(dir, '.gitignore'), '# created by ssot\n*\n');
      writeFileSync(join(dir, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n# created by ssot\n');
    }
    writeFileSync(temporary, text);
    renameSync(temporary, join(dir, name));
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // a directory we cannot write to: nothing to clean up
    }
  }
}
