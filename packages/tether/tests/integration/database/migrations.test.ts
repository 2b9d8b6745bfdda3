import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadMigrations, migrate, MigrationError, MIGRATIONS_DIR } from 'tether/database';
import { createScratchDatabase, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let client: pg.Client;
beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'), { migrate: false });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

const tables = async (): Promise<string[]> =>
  (
    await client.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
  ).rows.map((r) => r.t);

describe('migrations', () => {
  it('bring an empty database to the latest version and record each file', async () => {
    const result = await migrate(client);
    expect(result.applied).toEqual(loadMigrations().map((m) => m.name));
    expect(await tables()).toEqual([
      'auth_sessions',
      'broadcast_outbox',
      'messages',
      'tether_schema_migrations',
      'thread_members',
      'threads',
      'users',
    ]);
    const { rows } = await client.query('SELECT version, name FROM tether_schema_migrations ORDER BY version');
    expect(rows.map((r: { name: string }) => r.name)).toEqual(result.applied);
  });

  it('change nothing when applied again', async () => {
    const before = (
      await client.query('SELECT version, checksum, applied_at FROM tether_schema_migrations ORDER BY version')
    ).rows;
    const result = await migrate(client);
    expect(result.applied).toEqual([]);
    expect(
      (await client.query('SELECT version, checksum, applied_at FROM tether_schema_migrations ORDER BY version')).rows,
    ).toEqual(before);
  });

  it('roll back a broken migration whole and name the file that failed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tether-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      const next = String(loadMigrations().length + 1).padStart(4, '0');
      // the first statement succeeds, the second fails: neither may remain
      writeFileSync(
        path.join(dir, `${next}_broken.sql`),
        'CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n',
      );
      const failure = migrate(client, dir);
      await expect(failure).rejects.toBeInstanceOf(MigrationError);
      await expect(failure).rejects.toThrow(`${next}_broken.sql`);
      expect(await tables()).not.toContain('half_done');
      const { rows } = await client.query<{ max: number }>('SELECT max(version) AS max FROM tether_schema_migrations');
      expect(rows[0]?.max).toBe(loadMigrations().length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
