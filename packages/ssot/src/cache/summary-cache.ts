/**
 * The on-disk cache of per-file summaries (`.ssot_cache/` in the scan root, or a directory of the caller's).
 *
 * One file, `summaries.jsonl`: a header line with the cache key (ssot's version, the config's hash and a hash of the
 * extraction code), then one line per source file: its content hash, its stamp (size, times, inode: see fileStamp),
 * its path (JSON) and its summary (JSON, opaque here), tab-separated. A summary is used only when the key matches and
 * the file is the one it was extracted from: its stamp is the same, or else its bytes hash to the same value (and the
 * entry takes the new stamp). So a cached scan reads exactly what a cold one would extract; the rules always run again
 * over all summaries. The file is replaced whole (written to a temporary file, then renamed), so runs that share it
 * never see half a file; a corrupt or foreign file is ignored and rewritten. Nothing here throws: a cache that cannot
 * be read or written only makes the scan slower.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Extracted, SourceFile } from '../parse/pool.js';
import { contentHash, fileStamp } from '../parse/source.js';
import type { FileSummary } from '../parse/summary.js';
import { VERSION } from '../version.js';
import { extractorHash } from './extractor-hash.js';

export const CACHE_FILE = 'summaries.jsonl';
const FORMAT = 2;
const NEWLINE = 0x0a;
const TAB = 0x09;

/** One line of the cache file, as bytes of the buffer it was read into (written back as they were). */
interface Entry {
  readonly hash: string;
  readonly stamp: string;
  readonly line: Buffer;
  /** where the summary's JSON starts in the line */
  readonly summaryAt: number;
}

/** A file whose cached summary is current: its summary's JSON is still to be parsed. */
export interface Hit {
  readonly file: SourceFile;
  readonly entry: Entry;
}

export function cacheKey(config: Config): string {
  return createHash('sha1')
    .update(`${VERSION}\0${JSON.stringify(config)}\0${extractorHash()}`)
    .digest('hex');
}

function readEntries(path: string, key: string): Map<string, Entry> | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  // the file stays bytes: only the summaries used are decoded, and unchanged lines are written back as they are
  let end = bytes.indexOf(NEWLINE);
  try {
    const header = JSON.parse(bytes.toString('utf8', 0, end < 0 ? bytes.length : end)) as {
      ssotCache?: unknown;
      key?: unknown;
    };
    if (header.ssotCache !== FORMAT || header.key !== key) return null;
  } catch {
    return null;
  }
  const entries = new Map<string, Entry>();
  for (let start = end + 1; end >= 0 && start < bytes.length; start = end + 1) {
    end = bytes.indexOf(NEWLINE, start);
    const line = bytes.subarray(start, end < 0 ? bytes.length : end);
    if (end < 0) break; // cut short: the last line is incomplete
    const first = line.indexOf(TAB);
    const second = first < 0 ? -1 : line.indexOf(TAB, first + 1);
    const third = second < 0 ? -1 : line.indexOf(TAB, second + 1);
    if (third < 0) continue;
    let path: unknown;
    try {
      path = JSON.parse(line.toString('utf8', second + 1, third));
    } catch {
      continue;
    }
    if (typeof path === 'string')
      entries.set(path, {
        hash: line.toString('latin1', 0, first),
        stamp: line.toString('latin1', first + 1, second),
        line,
        summaryAt: third + 1,
      });
  }
  return entries;
}

function entryLine(hash: string, stamp: string, path: string, summaryJson: string): string {
  return `${hash}\t${stamp}\t${JSON.stringify(path)}\t${summaryJson}`;
}

export class SummaryCache {
  private readonly path: string;
  /** null: no usable cache file (missing, corrupt, foreign or from another key) */
  private readonly entries: Map<string, Entry> | null;
  /** entries whose file was found unchanged under a new stamp: written back with it */
  private readonly restamped = new Map<string, string>();
  /** entries whose summary did not parse: dropped */
  private readonly broken = new Set<string>();
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
   * Splits files into those whose cached summary is current and those to extract: an entry whose stamp equals the
   * file's is current; otherwise the file is read and hashed.
   */
  partition(files: readonly SourceFile[]): { hits: Hit[]; misses: SourceFile[] } {
    const hits: Hit[] = [];
    const misses: SourceFile[] = [];
    for (const file of files) {
      const entry = this.entries?.get(file.relative);
      let current = false;
      if (entry) {
        try {
          const stamp = fileStamp(statSync(file.absolute));
          current = stamp !== '' && stamp === entry.stamp;
          if (!current && contentHash(readFileSync(file.absolute)) === entry.hash) {
            current = true;
            if (stamp !== entry.stamp) this.restamped.set(file.relative, stamp);
          }
        } catch {
          current = false; // gone or unreadable: extracted, which says so
        }
      }
      if (current) hits.push({ file, entry: entry! });
      else misses.push(file);
    }
    return { hits, misses };
  }

  /** A hit's summary, or null when its JSON does not parse (the file is then extracted again). */
  summary(hit: Hit): FileSummary | null {
    try {
      return JSON.parse(hit.entry.line.toString('utf8', hit.entry.summaryAt)) as FileSummary;
    } catch {
      this.broken.add(hit.file.relative);
      return null;
    }
  }

  /**
   * Writes the cache for this scan: entries for every file scanned (`extracted` holds the fresh ones), and the
   * entries of files outside `scanned` (relative paths of the scanned directories or files; '' is the whole root)
   * kept as they were. Skipped when nothing changed.
   */
  save(files: readonly SourceFile[], extracted: ReadonlyMap<string, Extracted>, scanned: readonly string[]): void {
    const current = new Set(files.map((f) => f.relative));
    const inside = (path: string): boolean => scanned.some((s) => s === '' || path === s || path.startsWith(`${s}/`));
    const newline = Buffer.from('\n');
    const parts: Buffer[] = [Buffer.from(JSON.stringify({ ssotCache: FORMAT, key: this.key })), newline];
    let changed = this.dirty || extracted.size > 0 || this.restamped.size > 0 || this.broken.size > 0;
    for (const [path, entry] of this.entries ?? []) {
      if (current.has(path) ? extracted.has(path) || this.broken.has(path) : inside(path)) {
        changed ||= !current.has(path); // a file gone from the scan: drop its entry
        continue;
      }
      const stamp = this.restamped.get(path);
      if (stamp === undefined) parts.push(entry.line, newline);
      else {
        const summaryJson = entry.line.toString('utf8', entry.summaryAt);
        parts.push(Buffer.from(entryLine(entry.hash, stamp, path, summaryJson)), newline);
      }
    }
    for (const [path, e] of extracted) {
      if (e.hash === null) continue;
      parts.push(Buffer.from(entryLine(e.hash, e.stamp, path, e.json ?? JSON.stringify(e.summary))), newline);
    }
    if (!changed) return;
    writeAtomically(this.dir, CACHE_FILE, Buffer.concat(parts));
    this.dirty = false;
  }
}

/** Writes `name` in `dir` through a temporary file and a rename; creates the directory (marked as a cache). */
function writeAtomically(dir: string, name: string, bytes: Uint8Array): void {
  const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      // tools that walk or commit the tree leave it alone, as with .ruff_cache and .pytest_cache
      writeFileSync(join(dir, '.gitignore'), '# created by ssot\n*\n');
      writeFileSync(join(dir, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n# created by ssot\n');
    }
    writeFileSync(temporary, bytes);
    renameSync(temporary, join(dir, name));
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // a directory we cannot write to: nothing to clean up
    }
  }
}
