import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import { eventually, exitOf, npmStart, openSocket, registerAndLogin, serveCli } from '@tether/testing';

// Repeated shutdown signals, as Ctrl-C under `npm start` delivers them (the terminal signals the whole process
// group, and npm forwards its own copy): one graceful shutdown, exit 0, WebSockets closed 1001, PostgreSQL stopped.

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(prefix: string): string {
  const dir = EmbeddedPostgres.temporaryDataDir(prefix);
  dirs.push(dir);
  return dir;
}

/**
 * A request whose body is still arriving: the graceful shutdown waits for it, so the test can send more signals
 * while the shutdown is certainly in progress. It resolves once the server answered `100 Continue`, that is once it
 * parsed the head: a connection whose head has not been read yet is idle, and closing the server closes idle
 * connections at once. `finish()` sends the rest of the body.
 */
async function requestInFlight(url: string): Promise<{ finish(): void }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const body = JSON.stringify({ email: 'nobody@example.com', password: 'not-the-password' });
  const head = [
    'POST /auth/login HTTP/1.1',
    `Host: ${hostname}`,
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    'Expect: 100-continue',
  ];
  const continued = new Promise<void>((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (/^HTTP\/1\.1 100 /.test(received)) resolve();
      else reject(new Error(`expected 100 Continue, got ${received}`));
    };
    socket.on('data', onData);
  });
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  await continued;
  socket.write(body.slice(0, 5));
  return { finish: () => void socket.end(body.slice(5)) };
}

describe('shutdown signals', () => {
  it('ignores a second SIGINT during shutdown: exit 0, WebSockets closed with 1001, PostgreSQL stopped', async () => {
    const dir = dataDir('tether-sigint-');
    const { child, url, output } = await serveCli(['--data-dir', dir], { TETHER_LOG_LEVEL: 'info' });
    children.push(child);
    const user = await registerAndLogin(url);
    const socket = await openSocket(`${url.replace('http', 'ws')}/ws`, user.accessToken);
    const request = await requestInFlight(url);

    child.kill('SIGINT');
    expect(await eventually(() => /received SIGINT, shutting down/.test(output()), 10_000)).toBe(true);
    child.kill('SIGINT');
    expect(await eventually(() => /received SIGINT again, still shutting down/.test(output()), 10_000)).toBe(true);
    request.finish();
    expect((await socket.closed).code).toBe(1001);
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    expect(output().match(/received SIGINT, shutting down/g)).toHaveLength(1);
    expect(existsSync(path.join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('Ctrl-C on npm start (SIGINT to the whole process group) stops the server cleanly and npm exits 0', async () => {
    const dir = dataDir('tether-ctrl-c-');
    const { child: npm, url, output } = await npmStart(dir);
    children.push(npm);
    const user = await registerAndLogin(url);
    const socket = await openSocket(`${url.replace('http', 'ws')}/ws`, user.accessToken);

    process.kill(-(npm.pid as number), 'SIGINT');
    expect((await socket.closed).code).toBe(1001);
    expect(await exitOf(npm)).toEqual({ code: 0, signal: null });
    expect(output()).toMatch(/received SIGINT, shutting down/);
    expect(existsSync(path.join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  it('a third signal forces the exit (130) while the graceful shutdown still waits', async () => {
    const dir = dataDir('tether-sigint-3-');
    const { child, url, output } = await serveCli(['--data-dir', dir], { TETHER_LOG_LEVEL: 'info' });
    children.push(child);
    const request = await requestInFlight(url);
    child.kill('SIGTERM');
    expect(await eventually(() => /received SIGTERM, shutting down/.test(output()), 10_000)).toBe(true);
    child.kill('SIGTERM');
    expect(await eventually(() => /received SIGTERM again/.test(output()), 10_000)).toBe(true);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toEqual({ code: 130, signal: null });
    expect(output()).toMatch(/received SIGTERM a third time, exiting without finishing the shutdown/);
    request.finish();
  });
});
