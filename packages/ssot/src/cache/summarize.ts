/** Summaries for a scan's files: from the cache where a file is unchanged, extracted (on worker threads) otherwise. */
import { relative, sep } from 'node:path';
import type { Config } from '../config.js';
import { BATCH, extractFiles, threadsFor } from '../parse/pool.js';
import type { Extracted, ParseOptions, SourceFile } from '../parse/pool.js';
import type { FileSummary } from '../parse/summary.js';
import { SummaryCache, cacheKey } from './summary-cache.js';

export interface SummarizeOptions extends ParseOptions {
  /** cache directory; null: no cache */
  readonly cacheDir: string | null;
  /** the cache in cacheDir, when the caller started reading it already (openCache) */
  readonly cache?: Promise<SummaryCache>;
  readonly root: string;
  readonly config: Config;
  /** the scan's paths (absolute): entries of files outside them are kept in the cache */
  readonly paths: readonly string[];
}

export interface Summarized {
  readonly summaries: FileSummary[];
  /** files whose summary came from the cache */
  readonly cached: number;
}

/** Starts reading the cache in `dir` for a scan under `config`. */
export function openCache(dir: string, config: Config): Promise<SummaryCache> {
  return SummaryCache.open(dir, cacheKey(config));
}

/** cached summaries parsed between two turns of the event loop, so that workers' results are taken meanwhile */
const PARSE_CHUNK = 256;

export async function summarize(files: readonly SourceFile[], options: SummarizeOptions): Promise<Summarized> {
  if (options.cacheDir === null) {
    return { summaries: (await extractFiles(files, { ...options, hash: false })).map((e) => e.summary), cached: 0 };
  }
  const cache = await (options.cache ?? openCache(options.cacheDir, options.config));
  const { hits, misses } = cache.partition(files);
  const extracting = (batch: readonly SourceFile[], done: number): Promise<Extracted[]> =>
    extractFiles(batch, {
      ...options,
      // a few changed files of a large scan go to a worker while this thread parses the cached summaries
      threads: options.threads ?? Math.min(threadsFor(files.length, undefined), Math.ceil(batch.length / BATCH)),
      ...(options.onProgress ? { onProgress: (n: number) => options.onProgress?.(done + n, files.length) } : {}),
    });
  const pending = misses.length > 0 ? extracting(misses, hits.length) : Promise.resolve([]);
  const summaries = new Map<string, FileSummary>();
  const unusable: SourceFile[] = [];
  for (let i = 0; i < hits.length; i++) {
    const summary = cache.summary(hits[i]!);
    if (summary) summaries.set(hits[i]!.file.relative, summary);
    else unusable.push(hits[i]!.file);
    if (i % PARSE_CHUNK === PARSE_CHUNK - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  const extracted = new Map<string, Extracted>();
  const fresh = await pending;
  misses.forEach((f, i) => extracted.set(f.relative, fresh[i]!));
  if (unusable.length > 0) {
    const again = await extracting(unusable, files.length - unusable.length);
    unusable.forEach((f, i) => extracted.set(f.relative, again[i]!));
  }
  for (const [path, e] of extracted) summaries.set(path, e.summary);
  const scanned = options.paths.map((p) => relative(options.root, p).split(sep).join('/'));
  cache.save(files, extracted, scanned);
  return { summaries: files.map((f) => summaries.get(f.relative)!), cached: summaries.size - extracted.size };
}
