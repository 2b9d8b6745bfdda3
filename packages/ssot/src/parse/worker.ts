/** Worker thread entry: extracts batches of files and posts their summaries back. Loaded from dist/. */
import { parentPort } from 'node:worker_threads';
import { extractFile } from './extract.js';
import type { FileSummary } from './summary.js';

export interface WorkerRequest {
  readonly id: number;
  readonly files: readonly { readonly absolute: string; readonly relative: string }[];
}
export interface WorkerResponse {
  readonly id: number;
  /** the batch's summaries as JSON: plain data, and parsing JSON costs the main thread about half of what
   *  deserializing the same objects from a structured clone does */
  readonly summaries: string;
}

const port = parentPort;
if (port) {
  port.on('message', (request: WorkerRequest) => {
    const summaries: FileSummary[] = request.files.map((f) => extractFile(f.absolute, f.relative));
    port.postMessage({ id: request.id, summaries: JSON.stringify(summaries) } satisfies WorkerResponse);
  });
}
