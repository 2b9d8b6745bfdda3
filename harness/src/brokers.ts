import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A broker process of a test's own, on a free port: stopped and started again on the same port by the test. */
export interface BrokerProcess {
  readonly url: string;
  readonly port: number;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s); resolves when it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port (and, for NATS, the same JetStream directory); resolves when it accepts. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  dispose(): Promise<void>;
}

export const REDIS_SERVER = '/usr/bin/redis-server';
export const NATS_SERVER = '/usr/sbin/nats-server';

/** Redis without persistence, as the broker tests run it: a restart loses what the stream held. */
export function startRedis(): Promise<BrokerProcess> {
  return startBroker('redis', REDIS_SERVER, (port) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
}

/** NATS with JetStream storing under a directory of its own, kept across restarts. */
export function startNats(): Promise<BrokerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tether-nats-'));
  return startBroker(
    'nats',
    NATS_SERVER,
    (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

async function startBroker(
  scheme: string,
  binary: string,
  args: (port: number) => string[],
  cleanUp?: () => void,
): Promise<BrokerProcess> {
  if (!existsSync(binary)) {
    const debianPackage = scheme === 'redis' ? 'redis-server' : 'nats-server';
    throw new Error(`${binary} is missing: install Debian's ${debianPackage} package (.ci/run does)`);
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const spawned = spawn(binary, args(port), { stdio: 'ignore' });
    child = spawned;
    const exited = new Promise<never>((_resolve, reject) =>
      spawned.once('exit', (code) => reject(new Error(`${binary} exited with ${code}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPort(port, 15_000), exited]);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    start,
    stop,
    dispose: async () => {
      await stop();
      cleanUp?.();
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
