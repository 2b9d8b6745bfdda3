/**
 * A hash of the code that turns a file into its summary: every module the parse worker imports, followed through
 * relative imports, and the package's manifest (its version and the exact versions of its parsers). Any change to
 * the extractor, even without a version bump, gives a new hash, so cached summaries from older code are not used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g;

/** Compiled modules import `./x.js`; under a TypeScript runner the file beside is `./x.ts`. */
function existing(path: string): string | null {
  if (existsSync(path)) return path;
  const ts = path.replace(/\.js$/, '.ts');
  return ts !== path && existsSync(ts) ? ts : null;
}

let memo: string | null = null;

/** The files of the extraction code: the worker and every module it imports, directly or not. */
export function extractorModules(): string[] {
  const entry = existing(fileURLToPath(new URL('../parse/worker.js', import.meta.url)));
  const seen = new Set<string>();
  const queue = entry ? [entry] : [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) {
      const imported = existing(resolve(dirname(file), match[1]!));
      if (imported) queue.push(imported);
    }
  }
  return [...seen].sort();
}

export function extractorHash(): string {
  if (memo) return memo;
  const hash = createHash('sha1');
  const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
  for (const file of extractorModules()) hash.update(relative(packageRoot, file)).update(readFileSync(file));
  const manifest = join(packageRoot, 'package.json');
  if (existsSync(manifest)) hash.update(readFileSync(manifest));
  memo = hash.digest('hex');
  return memo;
}
