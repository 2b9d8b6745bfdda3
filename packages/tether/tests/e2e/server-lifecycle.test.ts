import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import { api, createScratchDatabase, eventually, openSocket, registerAndLogin } from '@tether/testing';

// `tether serve` as a user runs it: the compiled CLI in its own process, on embedded PostgreSQL by default.

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts `tether serve`, resolves with the URL it prints. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { env: { PATH: process.env.PATH ?? '', TETHER_LOG_LEVEL: 'warn', TETHER_PASSWORD_HASH_COST: '10', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 30 s: ${output}`)), 30_000);
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
    child.once('exit', (code) => reject(new Error(`tether serve exited with ${code}: ${output}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('tether serve', () => {
  it('starts on embedded PostgreSQL, prints its URL, keeps a secret in the data directory, and on SIGTERM closes WebSockets with 1001 and stops PostgreSQL', async () => {
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-serve-');
    dirs.push(dataDir);
    const { child, url } = await serve(['--data-dir', dataDir]);
    expect((await api(url, '/ready')).status).toBe(200);
    const secret = path.join(dataDir, 'jwt-secret');
    expect(statSync(secret).mode & 0o777).toBe(0o600);

    const user = await registerAndLogin(url);
    const socket = await openSocket(`${url.replace('http', 'ws')}/ws`, user.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });

    child.kill('SIGTERM');
    expect((await socket.closed).code).toBe(1001);
    expect(await exited(child)).toBe(0);
    // the embedded server is gone: its pid file was removed by a clean shutdown
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    // a second start on the same directory is quick, and the old login still works (same secret, same data)
    const started = Date.now();
    const again = await serve(['--data-dir', dataDir]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await api(again.url, '/threads', { token: user.accessToken })).status).toBe(200);
    again.child.kill('SIGINT');
    expect(await exited(again.child)).toBe(0);
  });

  it('tether admin grant EMAIL gives a registered user the admin role for /admin/sessions', async () => {
    const db = await createScratchDatabase(inject('adminDatabaseUrl'));
    try {
      const env = { DATABASE_URL: db.url, TETHER_SECRET: 'a-secret-for-this-test-only-0123456789' };
      const { child, url } = await serve([], env);
      const user = await registerAndLogin(url);
      expect((await api(url, '/admin/sessions', { token: user.accessToken })).status).toBe(403);
      const grant = spawnSync(process.execPath, [cli, 'admin', 'grant', user.email], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
      expect(grant.stdout).toContain(`${user.email} is now an admin`);
      expect(grant.status).toBe(0);
      expect(await eventually(async () => (await api(url, '/admin/sessions', { token: user.accessToken })).status === 200)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
