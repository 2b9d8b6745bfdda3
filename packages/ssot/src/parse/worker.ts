/** Worker thread entry: extracts (or only parses) batches of files and posts the results back. Loaded from dist/. */
import { parentPort } from 'node:worker_threads';
import { readAndExtract } from './extract.js';
import { parseOnly } from './parse-only.js';

export interface WorkerRequest {
  readonly id: number;
  readonly files: readonly { readonly absolute: string; readonly relative: string }[];
  /** `parse`: read and parse only, extract nothing (the bench's floor) */
  readonly mode: 'extract' | 'parse';
  /** hash each file and take its stamp (for the summary cache) */
  readonly hash: boolean;
}
export interface WorkerResponse {
  readonly id: number;
  /** each file's summary as JSON: plain data, and parsing JSON costs the main thread about half of what
   *  deserializing the same objects from a structured clone does; the cache stores the same text */
  readonly summaries: readonly string[];
  /** each file's content hash (null: not hashed, or unreadable) */
  readonly hashes: readonly (string | null)[];
  /** each file's stamp (see fileStamp) */
  readonly stamps: readonly string[];
}

const port = parentPort;
if (port) {
  port.on('message', (request: WorkerRequest) => {
    if (request.mode === 'parse') {
      for (const f of request.files) parseOnly(f.absolute, f.relative);
      port.postMessage({ id: request.id, summaries: [], hashes: [], stamps: [] } satisfies WorkerResponse);
      return;
    }
    const summaries: string[] = [];
    const hashes: (string | null)[] = [];
    const stamps: string[] = [];
    for (const f of request.files) {
      const { summary, hash, stamp } = readAndExtract(f.absolute, f.relative, request.hash);
      summaries.push(JSON.stringify(summary));
      hashes.push(hash);
      stamps.push(stamp);
    }
    port.postMessage({ id: request.id, summaries, hashes, stamps } satisfies WorkerResponse);
  });
}
