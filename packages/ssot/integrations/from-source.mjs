// Builds the scanner from this checkout, alone, where no npm package was installed for us: the pre-commit hook and
// the GitHub Action both run from a clone of this repository. `npm ci --workspace packages/ssot` installs the
// scanner's dependencies only (none of the service's: no PostgreSQL), then TypeScript compiles it. A checkout that
// already has the compiled scanner (a developer's, or a clone built once before) is used as it is.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
export const repositoryRoot = join(packageDir, '..', '..');
const dist = join(packageDir, 'dist');
// tsc writes its build info after every output file: its presence means the last build finished
const built = () => existsSync(join(dist, 'cli.js')) && existsSync(join(dist, '.tsbuildinfo'));

/** A step that could not run: the message says what is missing. */
export class SetupError extends Error {}

function run(command, args, log) {
  log(`ssot: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error?.code === 'ENOENT')
    throw new SetupError(`ssot: \`${command}\` is not on PATH; the scanner needs Node.js ≥ 20.19 with npm`);
  if (result.status !== 0) {
    throw new SetupError(
      `ssot: \`${command} ${args.join(' ')}\` failed (exit ${result.status}):\n` +
        (result.stderr || result.stdout).trim(),
    );
  }
}

/** Waits while another process installs (a lock directory), then installs and builds once; returns dist/. */
export function ensureScanner(log = (line) => process.stderr.write(`${line}\n`)) {
  if (built()) return dist;
  const lock = join(packageDir, '.installing');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // a lock older than the deadline was left by a process that died
      if (Date.now() > deadline || Date.now() - statSync(lock).mtimeMs > 15 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      if (built()) return dist;
    }
  }
  try {
    if (!built()) {
      log(
        'ssot: first run from this checkout: installing the scanner alone (its dependencies compile, about a minute)',
      );
      // --ignore-scripts: `npm ci --workspace` still runs the root's `prepare`, which builds every workspace (and fails
      // without their dependencies); the scanner's own dependencies' install scripts (node-tree-sitter's native build)
      // run next, through `npm rebuild`
      run(
        'npm',
        ['ci', '--workspace', 'packages/ssot', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
        log,
      );
      const { dependencies } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
      run('npm', ['rebuild', ...Object.keys(dependencies), '--loglevel=error'], log);
      run(
        process.execPath,
        [join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/ssot'],
        log,
      );
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return dist;
}
