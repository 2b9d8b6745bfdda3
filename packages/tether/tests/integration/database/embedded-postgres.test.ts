import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from 'tether';
import { EmbeddedPostgres, postgresIdentity } from 'tether/database';

const cleanup: string[] = [];
afterAll(() => cleanup.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(sql);
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

const alive = (pid: number | undefined): boolean =>
  pid !== undefined && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

describe('embedded PostgreSQL', () => {
  it('starts from a directory others cannot enter, answers as a non-root user, stops leaving no process', async () => {
    // a mode-700 parent, like a checkout under /root: postgres (nobody, when we are root) cannot traverse it
    const privateDir = mkdtempSync(path.join(os.tmpdir(), 'tether-private-'));
    cleanup.push(privateDir);
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const server = await EmbeddedPostgres.start({ dataDir: path.join(privateDir, 'data'), ephemeral: true });
    cleanup.push(server.dataDir);
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ one: number; addr: string }>(
        'SELECT 1 AS one, inet_server_addr()::text AS addr',
      );
      await client.end();
      expect(rows[0]).toEqual({ one: 1, addr: '127.0.0.1/32' });
      const owner = statSync(path.join(server.dataDir, 'postgres')).uid;
      expect(owner).toBe(postgresIdentity().uid);
      if (process.getuid?.() === 0) expect(owner).not.toBe(0);
    } finally {
      await server.stop();
    }
    expect(server.isRunning).toBe(false);
    expect(alive(server.pid)).toBe(false);
    const leftovers = spawnSync('pgrep', ['-f', server.dataDir], { encoding: 'utf8' }).stdout.trim();
    expect(leftovers).toBe('');
  });

  it('creates missing parents the postgres user can traverse (./.tether/data on a fresh clone)', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'tether-fresh-'));
    chmodSync(base, 0o755);
    cleanup.push(base);
    const server = await EmbeddedPostgres.start({ dataDir: path.join(base, '.tether', 'data'), ephemeral: true });
    try {
      expect(server.dataDir).toBe(path.join(base, '.tether', 'data'));
      expect(statSync(path.join(base, '.tether')).mode & 0o777).toBe(0o755);
      expect(await count(server.url, 'SELECT 1 AS n')).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('recovers after the postmaster is killed with SIGKILL, keeping the data', async () => {
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-crash-');
    cleanup.push(dataDir);
    const first = await EmbeddedPostgres.start({ dataDir });
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query('CREATE TABLE survivor (n int); INSERT INTO survivor VALUES (1), (2), (3)');
    await client.end();
    await first.kill();
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);

    const second = await EmbeddedPostgres.start({ dataDir });
    try {
      expect(await count(second.url, 'SELECT count(*) AS n FROM survivor')).toBe(3);
    } finally {
      await second.stop();
    }
  });

  it('refuses a port that is already in use with a configuration error naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = EmbeddedPostgres.temporaryDataDir('tether-port-');
    cleanup.push(dataDir);
    try {
      const attempt = EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
      await expect(attempt).rejects.toThrow(ConfigurationError);
      await expect(attempt).rejects.toThrow(`port ${port}`);
    } finally {
      blocker.close();
    }
    expect(spawnSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });

  it('refuses a data directory that cannot be created', async () => {
    await expect(EmbeddedPostgres.start({ dataDir: '/dev/null/tether' })).rejects.toThrow(
      /data directory .* cannot be created/,
    );
  });
});
