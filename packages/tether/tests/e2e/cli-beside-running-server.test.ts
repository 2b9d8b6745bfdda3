import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import { api, eventually, exitOf, registerAndLogin, runCli, serveCli, type ServedCli } from '@tether/testing';

// Real processes on one embedded data directory: a running `tether serve`, and CLI commands or a second server
// started beside it. The server's PostgreSQL must survive them all; and when it dies anyway, the server exits.

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function serveIn(dataDir: string): Promise<ServedCli> {
  const served = await serveCli(['--data-dir', dataDir]);
  children.push(served.child);
  return served;
}

function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('CLI commands beside a running server', () => {
  it('admin grant, migrate and a second serve on its data directory leave the running server up', async () => {
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-beside-');
    dirs.push(dataDir);
    const { child, url } = await serveIn(dataDir);
    const pid = postmasterPid(dataDir);
    const user = await registerAndLogin(url);

    const grant = await runCli(['admin', 'grant', user.email, '--data-dir', dataDir]);
    expect(grant.stdout).toContain(`${user.email} is now an admin`);
    expect(grant.stderr).toContain(`using the database of the running tether (pid ${child.pid})`);
    expect(grant.code).toBe(0);
    expect((await api(url, '/admin/sessions', { token: user.accessToken })).status).toBe(200);

    const migrate = await runCli(['migrate', '--data-dir', dataDir]);
    expect(migrate.stdout).toMatch(/schema is up to date/);
    expect(migrate.code).toBe(0);

    const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toBe(
      `tether: data directory ${dataDir} is in use by a running tether (pid ${child.pid}); ` +
        'stop it first or choose another --data-dir',
    );

    // the same postmaster still serves, and the server is ready
    expect(postmasterPid(dataDir)).toBe(pid);
    expect((await api(url, '/ready')).status).toBe(200);
    expect((await api(url, '/threads', { token: user.accessToken })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
  });

  it('a server whose embedded PostgreSQL dies exits non-zero instead of answering /health for ever', async () => {
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-pg-dies-');
    dirs.push(dataDir);
    const { child, url, output } = await serveIn(dataDir);
    expect((await api(url, '/health')).status).toBe(200);
    process.kill(postmasterPid(dataDir), 'SIGKILL');
    const exit = await Promise.race([
      exitOf(child),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000)),
    ]);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(output()).toMatch(/embedded PostgreSQL exited unexpectedly/);
    expect(
      await eventually(async () => (await api(url, '/health').catch(() => ({ status: 0 }))).status === 0, 5_000),
    ).toBe(true);
  });
});
