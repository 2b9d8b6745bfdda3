/**
 * Reading a source file and what the summary cache knows it by, without loading any parser: discovery, the cache and
 * the main thread of a scan on workers use this module alone.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { extname } from 'node:path';
import type { Language } from './summary.js';

export function languageOf(path: string): Language | null {
  switch (extname(path).toLowerCase()) {
    case '.py':
    case '.pyi':
      return 'python';
    case '.ts':
    case '.tsx':
    case '.mts':
    case '.cts':
      return 'typescript';
    case '.js':
    case '.jsx':
    case '.mjs':
    case '.cjs':
      return 'javascript';
    default:
      return null;
  }
}

/** What the summary cache keys a file's summary by: a hash of its bytes. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * Times older than this (ms) when a file is looked at cannot be those of a later change to it, even on file systems
 * that keep times to 2 s (FAT): a change after the look gives the file a later time.
 */
const SETTLED_MS = 3000;

/**
 * A file's stamp: size, modification and change times, inode. The cache trusts a stamp equal to the one taken when
 * the summary was extracted (as ESLint and ruff trust size and mtime) and hashes the file otherwise. A file changed
 * within the last seconds has no stamp (''), so a change in the same clock tick as the look is never missed (git's
 * "racily clean" entries); the change time also moves when a tool restores an older mtime.
 */
export function fileStamp(stats: Stats, now = Date.now()): string {
  if (now - stats.mtimeMs < SETTLED_MS || now - stats.ctimeMs < SETTLED_MS) return '';
  return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`;
}

/**
 * One buffer per thread that files are read into: a new buffer per file (readFileSync) costs a scan more than the
 * reads themselves, as each one's memory is allocated outside V8's heap and counted towards its next collection.
 */
let readBuffer = Buffer.allocUnsafe(1 << 16);

/**
 * A file's bytes and its stamp, taken before reading (a change during the read then moves the stamp). The bytes are
 * valid until the next call on this thread.
 */
export function readSource(absolute: string): { bytes: Buffer; stamp: string } {
  const fd = openSync(absolute, 'r');
  try {
    const stats = fstatSync(fd);
    if (stats.size >= readBuffer.length)
      readBuffer = Buffer.allocUnsafe(Math.max(stats.size + 1, readBuffer.length * 2));
    let length = 0;
    for (;;) {
      const n = readSync(fd, readBuffer, length, readBuffer.length - length, null);
      if (n === 0) break;
      length += n;
      // grown since the stat: read on into a larger buffer
      if (length === readBuffer.length) readBuffer = Buffer.concat([readBuffer, Buffer.allocUnsafe(readBuffer.length)]);
    }
    return { bytes: readBuffer.subarray(0, length), stamp: fileStamp(stats) };
  } finally {
    closeSync(fd);
  }
}
