import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '@tether/testing';
// wire.ts is the one module below pg's public API: this test is its tripwire for pg upgrades
import { missingPgInternals, PG_INTERNALS, PG_VERSION_CHECKED } from '../../src/wire.js';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
});
afterAll(async () => {
  await db.drop();
});

describe("pg's internals that wire.ts relies on", () => {
  it('are those of the pg version wire.ts was checked against (on upgrade: re-check, bump PG_VERSION_CHECKED)', () => {
    const require = createRequire(import.meta.url);
    const installed = JSON.parse(readFileSync(require.resolve('pg/package.json'), 'utf8')) as { version: string };
    expect(
      installed.version,
      `pg ${installed.version} is installed; wire.ts was checked against ${PG_VERSION_CHECKED}`,
    ).toBe(PG_VERSION_CHECKED);
  });

  it('are all present on a connected client, each named when it is not', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(missingPgInternals(client), `pg internals moved; wire.ts uses: ${PG_INTERNALS.join(', ')}`).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('report what is missing from a client that lacks them', () => {
    const client = new pg.Client();
    (client as unknown as { connection: object }).connection = {};
    expect(missingPgInternals(client)).toEqual([
      'client.connection.parsedStatements',
      'client.connection.submittedNamedStatements',
      'client.connection.parse/bind/execute/close',
      'client.connection.stream.cork/uncork',
      'client.secretKey', // a client that never connected has no cancel key
    ]);
  });
});
