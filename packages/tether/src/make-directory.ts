import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p`, one level at a time: Node 20's recursive mkdirSync spins forever when a parent exists but creating its
 * child fails with ENOENT (a path under /proc, a stale mount). `mode` is the last directory's;
 * the parents it creates get 755, so that the directory stays reachable (the postgres user needs that).
 */
export function makeDirectory(dir: string, mode = 0o700): void {
  if (existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeDirectory(parent, 0o755);
  try {
    mkdirSync(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
