import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, eventually, insertUsers, throughPooler, type ScratchDatabase } from '@tether/testing';
import { SessionFactory, SessionTimeoutError } from '@tether/sessions';

// Behind PgBouncer the process id a client knows is PgBouncer's, not a backend's: ending a session past its
// lifetime cancels its statement through PgBouncer (which forwards the cancel to the server connection in use).

let db: ScratchDatabase;
let factory: SessionFactory;
let userId: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [userId] = (await insertUsers(db.url, 'terminated@pooler.test')) as [string];
  const pooled = throughPooler(db.url);
  if (pooled === undefined) throw new Error('this file runs in the pooler category only');
  factory = new SessionFactory({
    connectionString: pooled,
    pooler: 'transaction',
    max: 2,
    // 1 s, not less: the session served next must finish well within it on a loaded machine
    maxSessionLifetimeMs: 1_000,
    leakDetectionThresholdMs: 0,
  });
});
afterAll(async () => {
  await factory?.close();
  await db?.drop();
});

async function sleepersOnServer(): Promise<number> {
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await admin.end();
  }
}

describe('a session past maxSessionLifetimeMs behind PgBouncer', () => {
  it(
    'is terminated, its statement stops running on the server, and its slot serves the next session',
    { timeout: 30_000 },
    async () => {
      const started = Date.now();
      const sleeping = factory.withSession({ userId }, async (s) => {
        await s.query('SELECT pg_sleep(30)');
      });
      await expect(sleeping).rejects.toBeInstanceOf(SessionTimeoutError);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await eventually(async () => (await sleepersOnServer()) === 0, 10_000)).toBe(true);
      expect(factory.poolMetrics().sessionsTerminated).toBe(1);
      const { rows } = await factory.query<{ uid: string }>({ userId }, "SELECT current_setting('app.user_id') AS uid");
      expect(rows[0]?.uid).toBe(userId);
    },
  );
});
