/** Summaries for a scan's files: from the cache where a file is unchanged, extracted (on worker threads) otherwise. */
import { relative, sep } from 'node:path';
import type { Config } from '../config.js';
import { extractFiles } from '../parse/pool.js';
import type { Extracted, ParseOptions, SourceFile } from '../parse/pool.js';
import type { FileSummary } from '../parse/summary.js';
import { SummaryCache, cacheKey } from './summary-cache.js';

export interface SummarizeOptions extends ParseOptions {
  /** cache directory; null: no cache */
  readonly cacheDir: string | null;
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

export async function summarize(files: readonly SourceFile[], options: SummarizeOptions): Promise<Summarized> {
  if (options.cacheDir === null) {
    return { summaries: (await extractFiles(files, options)).map((e) => e.summary), cached: 0 };
  }
  const cache = new SummaryCache(options.cacheDir, cacheKey(options.config));
  const { hits, misses } = cache.partition(files);
  const fresh = await extractFiles(misses, {
    ...options,
    ...(options.onProgress
      ? { onProgress: (done: number) => options.onProgress?.(hits.size + done, files.length) }
      : {}),
  });
  const extracted = new Map<string, Extracted>(misses.map((f, i) => [f.relative, fresh[i]!]));
  const scanned = options.paths.map((p) => relative(options.root, p).split(sep).join('/'));
  cache.save(files, extracted, scanned);
  return { summaries: files.map((f) => hits.get(f.relative) ?? extracted.get(f.relative)!.summary), cached: hits.size };
}
