/**
 * The on-disk cache of per-file summaries (`.ssot_cache/` in the scan root, or a directory of the caller's).
 *
 * Files `summaries-00.jsonl` … `summaries-1f.jsonl`, each source file's entry in the one its path hashes to (so a scan
 * that changed a few files rewrites a few small files, not one as large as all summaries). Each starts with a header
 * line with the cache key (ssot's version, the config's hash and a hash of the extraction code), then one line per
 * source file: its content hash, its stamp (size, times, inode: see fileStamp), its path (JSON) and its summary (JSON,
 * opaque here), tab-separated. A summary is used only when the key matches and the file is the one it was extracted
 * from: its stamp is the same, or else its bytes hash to the same value (and the entry takes the new stamp). So a
 * cached scan reads exactly what a cold one would extract; the rules always run again over all summaries. Each file is
 * replaced whole (written to a temporary file, then renamed), so runs that share them never see half a file; a
 * corrupt or foreign file is ignored and rewritten. Nothing here throws: a cache that cannot be read or written only
 * makes the scan slower.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import type { Extracted, SourceFile } from '../parse/pool.js';
import { contentHash, fileStamp } from '../parse/source.js';
import type { FileSummary } from '../parse/summary.js';
import { VERSION } from '../version.js';
import { extractorHash } from './extractor-hash.js';

const FORMAT = 2;
export const SHARDS = 32;
/** the single file of earlier versions, removed when the cache is written */
const LEGACY_FILE = 'summaries.jsonl';
const NEWLINE = 0x0a;
const TAB = 0x09;

/** The name of shard `index`'s file. */
export function shardFile(index: number): string {
  return `summaries-${index.toString(16).padStart(2, '0')}.jsonl`;
}

/** Which shard a path's entry is in (FNV-1a of the path). */
export function shardOf(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SHARDS;
}

/** One line of a cache file, as bytes of the buffer it was read into (written back as they were). */
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

/** A shard's entries; null when the file is missing (`missing`) or unusable: corrupt, foreign, another key. */
function readEntries(bytes: Buffer | null, key: string): { entries: Map<string, Entry> | null; missing: boolean } {
  if (bytes === null) return { entries: null, missing: true };
  // the file stays bytes: only the summaries used are decoded, and unchanged lines are written back as they are
  let end = bytes.indexOf(NEWLINE);
  try {
    const header = JSON.parse(bytes.toString('utf8', 0, end < 0 ? bytes.length : end)) as {
      ssotCache?: unknown;
      key?: unknown;
    };
    if (header.ssotCache !== FORMAT || header.key !== key) return { entries: null, missing: false };
  } catch {
    return { entries: null, missing: false };
  }
  const entries = new Map<string, Entry>();
  for (let start = end + 1; end >= 0 && start < bytes.length; start = end + 1) {
    end = bytes.indexOf(NEWLINE, start);
    if (end < 0) break; // cut short: the last line is incomplete
    const line = bytes.subarray(start, end);
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
  return { entries, missing: false };
}

function entryLine(hash: string, stamp: string, path: string, summaryJson: string): string {
  return `${hash}\t${stamp}\t${JSON.stringify(path)}\t${summaryJson}`;
}

export class SummaryCache {
  /** each shard's entries; null: no usable file */
  private readonly shards: (Map<string, Entry> | null)[] = [];
  /** shards whose file is there but unusable: rewritten */
  private readonly unusable = new Set<number>();
  /** entries whose file was found unchanged under a new stamp: written back with it */
  private readonly restamped = new Map<string, string>();
  /** entries whose summary did not parse: dropped */
  private readonly broken = new Set<string>();

  /** `files`: each shard's bytes, null where there is no file */
  private constructor(
    readonly dir: string,
    private readonly key: string,
    files: readonly (Buffer | null)[],
  ) {
    files.forEach((bytes, i) => {
      const { entries, missing } = readEntries(bytes, key);
      this.shards.push(entries);
      if (!entries && !missing) this.unusable.add(i);
    });
  }

  /** Reads the cache in `dir` (the reads run off this thread, while the caller walks the tree meanwhile). */
  static async open(dir: string, key: string): Promise<SummaryCache> {
    const files = await Promise.all(
      Array.from({ length: SHARDS }, (_, i) =>
        readFile(join(dir, shardFile(i))).catch((error: NodeJS.ErrnoException) =>
          // a file there that cannot be read is unusable (rewritten), a missing one only missing
          error.code === 'ENOENT' ? null : Buffer.alloc(0),
        ),
      ),
    );
    return new SummaryCache(dir, key, files);
  }

  private entry(path: string): Entry | undefined {
    return this.shards[shardOf(path)]?.get(path);
  }

  /**
   * Splits files into those whose cached summary is current and those to extract: an entry whose stamp equals the
   * file's is current; otherwise the file is read and hashed.
   */
  partition(files: readonly SourceFile[]): { hits: Hit[]; misses: SourceFile[] } {
    const hits: Hit[] = [];
    const misses: SourceFile[] = [];
    for (const file of files) {
      const entry = this.entry(file.relative);
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
   * kept as they were. Only the shards where something changed are written.
   */
  save(files: readonly SourceFile[], extracted: ReadonlyMap<string, Extracted>, scanned: readonly string[]): void {
    const current = new Set(files.map((f) => f.relative));
    const inside = (path: string): boolean => scanned.some((s) => s === '' || path === s || path.startsWith(`${s}/`));
    const changed = new Set(this.unusable);
    for (const path of [...extracted.keys(), ...this.restamped.keys(), ...this.broken]) changed.add(shardOf(path));
    const lines: Buffer[][] = this.shards.map(() => []);
    this.shards.forEach((entries, shard) => {
      for (const [path, entry] of entries ?? []) {
        if (current.has(path) ? extracted.has(path) || this.broken.has(path) : inside(path)) {
          if (!current.has(path)) changed.add(shard); // a file gone from the scan: drop its entry
          continue;
        }
        const stamp = this.restamped.get(path);
        lines[shard]!.push(
          stamp === undefined
            ? entry.line
            : Buffer.from(entryLine(entry.hash, stamp, path, entry.line.toString('utf8', entry.summaryAt))),
        );
      }
    });
    for (const [path, e] of extracted) {
      if (e.hash === null) continue;
      lines[shardOf(path)]!.push(Buffer.from(entryLine(e.hash, e.stamp, path, e.json ?? JSON.stringify(e.summary))));
    }
    if (changed.size === 0) return;
    const header = Buffer.from(JSON.stringify({ ssotCache: FORMAT, key: this.key }));
    const newline = Buffer.from('\n');
    for (const shard of changed) {
      const parts: Uint8Array[] = [header, newline];
      for (const line of lines[shard]!) parts.push(line, newline);
      if (!writeAtomically(this.dir, shardFile(shard), Buffer.concat(parts))) return;
    }
    try {
      rmSync(join(this.dir, LEGACY_FILE), { force: true });
    } catch {
      // left in place: never read
    }
    this.unusable.clear();
  }
}

/**
 * `mkdir -p`, one level at a time: Node 20's recursive mkdirSync spins for ever when a parent exists but creating its
 * child fails with ENOENT (a cache directory given under /proc, or on a stale mount).
 */
function makeDirectory(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirectory(parent);
  try {
    mkdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** Writes `name` in `dir` through a temporary file and a rename; creates the directory (marked as a cache). */
function writeAtomically(dir: string, name: string, bytes: Uint8Array): boolean {
  const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    if (!existsSync(dir)) {
      makeDirectory(dir);
      // tools that walk or commit the tree leave it alone, as with .ruff_cache and .pytest_cache
      writeFileSync(join(dir, '.gitignore'), '# created by ssot\n*\n');
      writeFileSync(join(dir, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n# created by ssot\n');
    }
    writeFileSync(temporary, bytes);
    renameSync(temporary, join(dir, name));
    return true;
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // a directory we cannot write to: nothing to clean up
    }
    return false;
  }
}
