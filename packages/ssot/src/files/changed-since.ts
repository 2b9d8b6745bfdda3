/** `--since REF`: the files that differ from a git revision (committed since, staged, unstaged or untracked). */
import { execFileSync } from 'node:child_process';

/** The ref is unknown, or the root is not in a git work tree, or git is missing: a usage error (exit 2). */
export class SinceError extends Error {
  override readonly name = 'SinceError';
  readonly code = 'since_failed';
}

function git(root: string, args: readonly string[]): string[] {
  try {
    const out = execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 28,
    });
    return out.split('\0').filter((p) => p.length > 0);
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
    const reason = stderr || (error instanceof Error ? error.message : String(error));
    throw new SinceError(`--since: git ${args.join(' ')} failed: ${reason.split('\n')[0]}`);
  }
}

/**
 * Paths relative to `root`, with forward slashes, of the files changed since `ref`: the working tree against the
 * merge base of `ref` and HEAD (so `--since origin/main` on a branch means the branch's own changes), plus untracked
 * files. Deleted files are included (no finding can be in them).
 */
export function filesChangedSince(root: string, ref: string): Set<string> {
  if (ref.startsWith('-')) throw new SinceError(`--since: "${ref}" is not a git revision`);
  // outside a work tree `git diff` compares paths instead (--no-index) and would only say it knows no --merge-base
  git(root, ['rev-parse', '--is-inside-work-tree']);
  // --relative: paths relative to the root, restricted to it; `ref --` keeps the ref from being read as a path
  const changed = git(root, ['diff', '--name-only', '--relative', '-z', '--merge-base', ref, '--']);
  const untracked = git(root, ['ls-files', '--others', '--exclude-standard', '-z']);
  return new Set([...changed, ...untracked]);
}
