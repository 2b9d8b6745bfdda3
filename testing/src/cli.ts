import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled `tether` command (from `testing/src` and `testing/dist` alike). */
export const TETHER_CLI = fileURLToPath(new URL('../../packages/tether/dist/cli.js', import.meta.url));

export interface ServedCli {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

/**
 * Starts `tether serve --port 0 …args` in its own process, as a user runs it, and resolves with the URL it
 * prints. The environment is `env` over a minimal one (PATH, quiet logs, fast password hashing). The caller
 * stops the child once it has started; one that prints no URL within 30 s is killed.
 */
export function serveCli(args: readonly string[], env: Record<string, string> = {}): Promise<ServedCli> {
  const child = spawn(process.execPath, [TETHER_CLI, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', TETHER_LOG_LEVEL: 'warn', TETHER_PASSWORD_HASH_COST: '10', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return started(child);
}

/** Resolves with the URL a starting server prints; kills it when none comes within 30 s. */
function started(child: ChildProcess): Promise<ServedCli> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no URL within 30 s: ${output}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.:]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How a child process ended (at once when it already has). */
export function exitOf(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export interface CliResult extends ProcessExit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one `tether` command to its end (without blocking the test's event loop), with `serveCli`'s environment. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const child = spawn(process.execPath, [TETHER_CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', TETHER_LOG_LEVEL: 'warn', TETHER_PASSWORD_HASH_COST: '10', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return exitOf(child).then((exit) => {
    clearTimeout(timer);
    return { ...exit, stdout, stderr };
  });
}

/**
 * `npm start` from the repository root, as a user runs it, in its own process group (a terminal's foreground
 * job: `process.kill(-child.pid, signal)` is what Ctrl-C does), resolving with the URL the server prints.
 */
export function npmStart(dataDir: string): Promise<ServedCli> {
  const root = path.resolve(path.dirname(TETHER_CLI), '../../..');
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? root,
      PORT: '0',
      TETHER_DATA_DIR: dataDir,
      TETHER_LOG_LEVEL: 'info',
      TETHER_PASSWORD_HASH_COST: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return started(child);
}
