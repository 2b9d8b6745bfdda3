import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import { exitOf, eventually } from '@tether/testing';

// The service as published: its tarball (with the @tether/sessions tarball it depends on) installed into an
// empty folder, started with `npx tether serve`. Nothing may reach back into the repository's src/.

const run = promisify(execFile);
const packages = fileURLToPath(new URL('../../..', import.meta.url));
const appDir = mkdtempSync(path.join(tmpdir(), 'tether-packed-'));
const dataDir = EmbeddedPostgres.temporaryDataDir('tether-packed-data-');
let server: ChildProcess | undefined;

/** SIGTERM to npx and the server under it (npx forwards nothing: it is killed, the server stops cleanly). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(-(child.pid as number), 'SIGTERM');
  await exitOf(child);
}

afterAll(async () => {
  if (server) await stop(server);
  rmSync(appDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

async function pack(dir: string): Promise<{ tarball: string; files: string[] }> {
  expect(existsSync(path.join(dir, 'dist/index.js')), 'build first (npm run build): the tarball packs dist/').toBe(
    true,
  );
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', appDir], { cwd: dir });
  const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  return { tarball: path.join(appDir, packed.filename), files: packed.files.map((f) => f.path) };
}

describe('tether from its packed tarball', () => {
  it('installs into an empty folder; `npx tether serve` serves the dashboard, assets, API documents', async () => {
    const sessions = await pack(path.join(packages, 'sessions'));
    const tether = await pack(path.join(packages, 'tether'));
    expect(tether.files.filter((f) => f.startsWith('src/'))).toEqual([]);
    for (const file of [
      'dist/database/migrations/0001_init.sql',
      'dist/dashboard/assets/index.html',
      'dist/dashboard/assets/dashboard.js',
      'dist/dashboard/assets/locale.js',
    ]) {
      expect(tether.files).toContain(file);
    }

    writeFileSync(
      path.join(appDir, 'package.json'),
      JSON.stringify({ name: 'tether-app', private: true, type: 'module' }),
    );
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', sessions.tarball, tether.tarball], {
      cwd: appDir,
      maxBuffer: 16 * 1024 * 1024,
    });

    server = spawn('npx', ['tether', 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: appDir,
      detached: true,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? appDir, TETHER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    expect(await eventually(() => /listening on http/.test(output) || server?.exitCode !== null, 60_000), output).toBe(
      true,
    );
    const url = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1];
    expect(url, output).toBeDefined();

    const page = await fetch(`${url}/dashboard`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/dashboard/assets/dashboard.js');
    for (const asset of ['dashboard.js', 'dashboard.css', 'locale.js', 'uPlot.iife.min.js']) {
      expect((await fetch(`${url}/dashboard/assets/${asset}`)).status, asset).toBe(200);
    }
    expect(((await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
    expect((await fetch(`${url}/ready`)).status).toBe(200);

    await stop(server);
    // a clean stop: the embedded PostgreSQL is gone with its pid file
    expect(await eventually(() => !existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 20_000)).toBe(true);
  }, 420_000);
});
