import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How the runner's own tests start it: the compiled runner in a child process, as `npm run test:unified` does. */
export const repository = fileURLToPath(new URL('../../', import.meta.url));
export const runnerScript = path.join(repository, 'testing/dist/unified-runner.js');

/** The Vitest config of one of the fake projects under fixtures/. */
export const fixture = (name: string): string =>
  path.join(repository, 'testing/tests/fixtures', name, 'vitest.config.ts');

export interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runner(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<RunOutcome> {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  // the outer run's services and npm context must not leak into the run under test
  for (const key of [
    'DATABASE_URL',
    'TETHER_TEST_DATABASE_URL',
    'TETHER_TEST_POOLER_URL',
    'TETHER_TEST_PGBOUNCER',
    'npm_lifecycle_event',
    'INIT_CWD',
    'VITEST',
    'VITEST_WORKER_ID',
    'VITEST_POOL_ID',
    'TEST',
    'NODE_ENV',
  ])
    delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runnerScript, ...args], {
      cwd: repository,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}

/** Whether anything still accepts connections at the URL's host and port. */
export function accepting(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
