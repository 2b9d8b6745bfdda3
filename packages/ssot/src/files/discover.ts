/**
 * Which files a scan reads: the supported extensions under the given paths, minus .gitignore'd files,
 * dependency folders, virtualenvs, build output and caches, minus the config's excludes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import { languageOf } from '../parse/source.js';

export const SKIPPED_DIRECTORIES = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
  '.nox',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  'site-packages',
  'dist',
  'build',
  '.next',
  '.nuxt',
  'coverage',
  '.cache',
  '.eggs',
  'bower_components',
  '.turbo',
  '.parcel-cache',
  '.idea',
  '.vscode',
  '.ssot_cache',
]);

export interface DiscoverOptions {
  readonly root: string;
  readonly paths: readonly string[];
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** called with the number of files found so far, as each is found */
  readonly onFile?: (count: number) => void;
}

interface Scoped {
  readonly base: string;
  readonly matcher: Ignore;
}

const toPosix = (p: string): string => (sep === '/' ? p : p.split(sep).join('/'));

/** Absolute paths of the files to scan, sorted, each with its path relative to the root. */
export function discoverFiles(options: DiscoverOptions): { absolute: string; relative: string }[] {
  const { root } = options;
  const excluded = ignore().add([...options.exclude]);
  const included = options.include.length > 0 ? ignore().add([...options.include]) : null;
  const out = new Map<string, string>();
  const gitignores = new Map<string, Scoped | null>();
  /** `present`: whether the directory has a .gitignore, when its listing says (no need to ask the file system) */
  const gitignoreOf = (dir: string, present?: boolean): Scoped | null => {
    let scoped = gitignores.get(dir);
    if (scoped === undefined) {
      const file = join(dir, '.gitignore');
      scoped = (present ?? existsSync(file)) ? { base: dir, matcher: ignore().add(readFileSync(file, 'utf8')) } : null;
      gitignores.set(dir, scoped);
    }
    return scoped;
  };
  const rootPrefix = root.endsWith(sep) ? root : root + sep;
  /** `path` relative to the root: a slice for paths inside it (most), `relative` otherwise */
  const fromRoot = (path: string): string =>
    path.startsWith(rootPrefix) ? toPosix(path.slice(rootPrefix.length)) : toPosix(relative(root, path));
  const ignoredByGit = (path: string, isDir: boolean, stack: readonly Scoped[]): boolean => {
    for (const s of stack) {
      const rel = toPosix(relative(s.base, path)) + (isDir ? '/' : '');
      if (rel && !rel.startsWith('..') && s.matcher.ignores(rel)) return true;
    }
    return false;
  };
  const rootRelative = (path: string, isDir: boolean): string => fromRoot(path) + (isDir ? '/' : '');
  const addFile = (path: string): void => {
    const rel = fromRoot(path);
    if (!languageOf(rel)) return;
    if (rel && !rel.startsWith('..') && excluded.ignores(rel)) return;
    if (included && rel && !rel.startsWith('..') && !included.ignores(rel)) return;
    out.set(path, rel.startsWith('..') ? toPosix(path) : rel);
    options.onFile?.(out.size);
  };
  /** `top`: a path given to the scan, walked even when it is a virtualenv */
  const walk = (dir: string, stack: Scoped[], top = false): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    // a virtualenv (any folder with pyvenv.cfg) is skipped, as are the folders below
    if (!top && entries.some((e) => e.name === 'pyvenv.cfg')) return;
    const own = gitignoreOf(
      dir,
      entries.some((e) => e.name === '.gitignore'),
    );
    const scopes = own ? [...stack, own] : stack;
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (SKIPPED_DIRECTORIES.has(entry.name) || entry.name.endsWith('.egg-info')) continue;
        if (ignoredByGit(path, true, scopes)) continue;
        const rel = rootRelative(path, true);
        if (!rel.startsWith('..') && excluded.ignores(rel)) continue;
        walk(path, scopes);
      } else if (entry.isFile()) {
        if (ignoredByGit(path, false, scopes)) continue;
        addFile(path);
      }
    }
  };
  for (const p of options.paths) {
    const stat = statSync(p);
    if (stat.isDirectory()) {
      // .gitignore files between the root and the path apply too
      const stack: Scoped[] = [];
      let dir = root;
      const parts = toPosix(relative(root, p))
        .split('/')
        .filter((x) => x && x !== '.');
      if (!parts.includes('..')) {
        for (const part of parts) {
          const g = gitignoreOf(dir);
          if (g) stack.push(g);
          dir = join(dir, part);
        }
      }
      walk(p, stack, true);
    } else addFile(p);
  }
  return [...out.entries()]
    .map(([absolute, rel]) => ({ absolute, relative: rel }))
    .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}
