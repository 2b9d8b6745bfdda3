/**
 * Parses files on worker threads (or in this thread for small scans). Batches are handed out as workers
 * finish, so one slow file does not hold the others; between batches each worker returns to its event loop,
 * which lets the garbage collector free the native syntax trees.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { extractFile } from './extract.js';
import type { FileSummary } from './summary.js';
import type { WorkerRequest, WorkerResponse } from './worker.js';

export interface ParseOptions {
  /** worker threads; 0 parses in this thread. Default: one per core, or 0 for fewer than 200 files. */
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

const BATCH = 24;

/** The compiled worker; under a TypeScript runner (tests) this module is a source file, and dist has the worker. */
export function workerPath(): string {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return fileURLToPath(here);
  const dist = fileURLToPath(new URL('../../dist/parse/worker.js', import.meta.url));
  if (existsSync(dist)) return dist;
  throw new Error('ssot: the compiled worker (packages/ssot/dist/parse/worker.js) is missing; run `npx tsc -b packages/ssot` first');
}

export async function parseFiles(files: readonly { absolute: string; relative: string }[], options: ParseOptions = {}): Promise<FileSummary[]> {
  const threads = options.threads ?? (files.length < 200 ? 0 : Math.max(1, availableParallelism()));
  const results: FileSummary[] = new Array<FileSummary>(files.length);
  let done = 0;
  if (threads === 0) {
    for (let i = 0; i < files.length; i++) {
      results[i] = extractFile(files[i]!.absolute, files[i]!.relative);
      done++;
      if (i % BATCH === BATCH - 1) {
        options.onProgress?.(done, files.length);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    options.onProgress?.(done, files.length);
    return results;
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
        worker.postMessage({ id: start, files: files.slice(start, next) } satisfies WorkerRequest);
      };
      worker.on('message', (response: WorkerResponse) => {
        const summaries = JSON.parse(response.summaries) as FileSummary[];
        summaries.forEach((s, i) => (results[response.id + i] = s));
        done += summaries.length;
        options.onProgress?.(done, files.length);
        send();
      });
      worker.on('error', reject);
      send();
    });
  const workers = Array.from({ length: Math.min(threads, Math.ceil(files.length / BATCH)) }, () => new Worker(path));
  try {
    await Promise.all(workers.map(run));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
