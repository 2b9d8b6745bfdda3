#!/usr/bin/env node
// The pre-commit hook (`.pre-commit-hooks.yaml`, id `ssot`): `ssot scan [args]` over the whole tree, once per commit.
// pre-commit runs it from its clone of this repository; the first run builds the scanner there (from-source.mjs).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureScanner, SetupError } from './from-source.mjs';

let dist;
try {
  dist = ensureScanner();
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const result = spawnSync(process.execPath, [join(dist, 'cli.js'), 'scan', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(result.status ?? 2);
