import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import {
  api,
  createScratchDatabase,
  eventually,
  openSocket,
  registerAndLogin,
  npmStart,
  serveCli,
  TETHER_CLI,
  type ServedCli,
} from '@tether/testing';

// `tether serve` as a user runs it: the compiled CLI in its own process, on embedded PostgreSQL by default.

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Starts `tether serve`, resolves with the URL it prints; stopped after the file's tests. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<ServedCli> {
  const started = await serveCli(args, env);
  children.push(started.child);
  return started;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('tether serve', () => {
  it('starts on embedded PostgreSQL, prints its URL, keeps its secret; on SIGTERM closes 1001, stops it', async () => {
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

  it('npm start hands a SIGTERM sent to npm (by a process manager) to the server, which stops PostgreSQL', async () => {
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-npm-start-');
    dirs.push(dataDir);
    const { child: npm, output } = await npmStart(dataDir);
    children.push(npm);
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);

    npm.kill('SIGTERM'); // npm alone, not its process group
    await exited(npm);
    // the server got it: a clean shutdown, and the embedded PostgreSQL is stopped (its pid file removed)
    expect(
      await eventually(() => /received SIGTERM, shutting down/.test(output()) && !existsSync(pidFile), 20_000),
    ).toBe(true);
  });

  it('tether admin grant EMAIL gives a registered user the admin role for /admin/sessions', async () => {
    const db = await createScratchDatabase(inject('adminDatabaseUrl'));
    try {
      const env = { DATABASE_URL: db.url, TETHER_SECRET: 'a-secret-for-this-test-only-0123456789' };
      const { child, url } = await serve([], env);
      const user = await registerAndLogin(url);
      expect((await api(url, '/admin/sessions', { token: user.accessToken })).status).toBe(403);
      const grant = spawnSync(process.execPath, [TETHER_CLI, 'admin', 'grant', user.email], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', ...env },
      });
      expect(grant.stdout).toContain(`${user.email} is now an admin`);
      expect(grant.status).toBe(0);
      expect(
        await eventually(async () => (await api(url, '/admin/sessions', { token: user.accessToken })).status === 200),
      ).toBe(true);
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
