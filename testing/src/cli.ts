import { spawn, type ChildProcess } from 'node:child_process';
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
      reject(new Error(`tether serve exited with ${code}: ${output}`));
    });
  });
}
