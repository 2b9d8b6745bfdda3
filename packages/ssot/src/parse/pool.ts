/**
 * Parses files on worker threads (or in this thread for small scans). Batches are handed out as workers
 * finish, so one slow file does not hold the others; between batches each worker returns to its event loop,
 * which lets the garbage collector free the native syntax trees.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FileSummary } from './summary.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

export interface ParseOptions {
  /** worker threads; 0 parses in this thread. Default: one per core, or 0 for fewer than 200 files. */
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** hash each file and take its stamp, for the summary cache (default true) */
  readonly hash?: boolean;
  /** workers started ahead (startWorkers), taken from this list before any new one is started */
  readonly started?: Worker[];
}

export interface SourceFile {
  readonly absolute: string;
  readonly relative: string;
}

/** One extracted file: its summary, the summary's JSON when a worker sent it, its content hash and stamp. */
export interface Extracted {
  readonly summary: FileSummary;
  readonly json: string | null;
  readonly hash: string | null;
  readonly stamp: string;
}

/** files per message to a worker */
export const BATCH = 24;

/** The compiled worker; under a TypeScript runner (tests) this module is a source file, and dist has the worker. */
export function workerPath(): string {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return fileURLToPath(here);
  const dist = fileURLToPath(new URL('../../dist/parse/worker.js', import.meta.url));
  if (existsSync(dist)) return dist;
  throw new Error(
    'ssot: the compiled worker (packages/ssot/dist/parse/worker.js) is missing; run `npx tsc -b packages/ssot` first',
  );
}

export function threadsFor(files: number, threads: number | undefined): number {
  return threads ?? (files < 200 ? 0 : Math.max(1, availableParallelism()));
}

function newWorker(path: string): Worker {
  return new Worker(path);
}

/**
 * Starts workers before the files are known (while discovery walks the tree), so that they have loaded their parsers
 * by the time the first batch comes. Pass them as `started`; end those left unused with stopWorkers.
 */
export function startWorkers(count: number): Worker[] {
  const path = workerPath();
  return Array.from({ length: count }, () => newWorker(path));
}

export async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
}

export async function parseFiles(files: readonly SourceFile[], options: ParseOptions = {}): Promise<FileSummary[]> {
  return (await extractFiles(files, options)).map((e) => e.summary);
}

/** Reads, hashes and extracts every file. */
export async function extractFiles(files: readonly SourceFile[], options: ParseOptions = {}): Promise<Extracted[]> {
  const results: Extracted[] = new Array<Extracted>(files.length);
  const hash = options.hash ?? true;
  // the parsers load only where they run: a scan on workers never loads them on this thread
  const { readAndExtract } = threadsFor(files.length, options.threads) === 0 ? await import('./extract.js') : {};
  await runBatches(
    files,
    { mode: 'extract', hash },
    options,
    (start, response) => {
      response.summaries.forEach((json, i) => {
        results[start + i] = {
          summary: JSON.parse(json) as FileSummary,
          json,
          hash: response.hashes[i] ?? null,
          stamp: response.stamps[i] ?? '',
        };
      });
    },
    (i) => {
      results[i] = { ...readAndExtract!(files[i]!.absolute, files[i]!.relative, hash), json: null };
    },
  );
  return results;
}

/** Reads and parses every file on the same threads as a scan would, extracting nothing (the bench's floor). */
export async function parseFilesOnly(files: readonly SourceFile[], options: ParseOptions = {}): Promise<void> {
  const { parseOnly } = threadsFor(files.length, options.threads) === 0 ? await import('./parse-only.js') : {};
  await runBatches(
    files,
    { mode: 'parse', hash: false },
    options,
    () => {},
    (i) => parseOnly!(files[i]!.absolute, files[i]!.relative),
  );
}

async function runBatches(
  files: readonly SourceFile[],
  task: Pick<WorkerRequest, 'mode' | 'hash'>,
  options: ParseOptions,
  received: (start: number, response: WorkerResponse) => void,
  inThread: (index: number) => void,
): Promise<void> {
  const threads = threadsFor(files.length, options.threads);
  let done = 0;
  if (threads === 0) {
    for (let i = 0; i < files.length; i++) {
      inThread(i);
      done++;
      if (i % BATCH === BATCH - 1) {
        options.onProgress?.(done, files.length);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    options.onProgress?.(done, files.length);
    return;
  }
  const path = workerPath();
  let next = 0;
  const run = (worker: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      const send = (): void => {
        if (next >= files.length) {
          resolve();
          return;
        }
        const start = next;
        next = Math.min(files.length, next + BATCH);
        worker.postMessage({ id: start, files: files.slice(start, next), ...task } satisfies WorkerRequest);
      };
      worker.on('message', (response: WorkerResponse) => {
        received(response.id, response);
        done += Math.min(BATCH, files.length - response.id);
        options.onProgress?.(done, files.length);
        send();
      });
      worker.on('error', reject);
      send();
    });
  const count = Math.min(threads, Math.ceil(files.length / BATCH));
  const workers = (options.started ?? []).splice(0, count);
  while (workers.length < count) workers.push(newWorker(path));
  try {
    await Promise.all(workers.map(run));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
