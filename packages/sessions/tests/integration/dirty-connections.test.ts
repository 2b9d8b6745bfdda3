import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SessionFactory, TransactionAbortedError } from '@tether/sessions';
import { captureLogger, createScratchDatabase, insertUsers, failureOf, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let userId: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [userId] = (await insertUsers(db.url, 'dirty@example.com')) as [string];
});
afterAll(() => db.drop());

const backendPid = (f: SessionFactory, ctx: { userId?: string } = {}): Promise<number> =>
  f.withSession(ctx, async (s) => (await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);

describe('connections left dirty are evicted, never reused', () => {
  it('evicts a connection on which a session left a transaction open', async () => {
    const logs = captureLogger();
    const factory = new SessionFactory({ connectionString: db.url, max: 1, logger: logs.logger });
    try {
      const before = await backendPid(factory);
      // an anonymous session runs in autocommit: a BEGIN of its own is left open when it returns
      const leftOpen = await factory.withSession({}, async (s) => {
        await s.query('BEGIN');
        return (await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      });
      expect(leftOpen).toBe(before);
      const after = await backendPid(factory);
      expect(after).not.toBe(before);
      expect(factory.poolMetrics().dirtyEvicted).toBe(1);
      expect(logs.find('dirty connection evicted from the pool')[0]?.context).toMatchObject({ transactionStatus: 'T' });
    } finally {
      await factory.close();
    }
  });

  it('evicts a connection whose callback failed with a statement still in flight', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1 });
    try {
      const before = await backendPid(factory, { userId });
      const failure = await failureOf(
        factory.withSession({ userId }, async (s) => {
          await s.query('SELECT 1');
          void s.query('SELECT pg_sleep(0.3)').catch(() => {}); // not awaited: still running when the callback fails
          throw new Error('handler failed mid-transaction');
        }),
      );
      expect(failure.message).toBe('handler failed mid-transaction');
      const after = await backendPid(factory, { userId });
      expect(after).not.toBe(before);
      expect(factory.poolMetrics().dirtyEvicted).toBe(1);
    } finally {
      await factory.close();
    }
  });

  it('rolls back a failed transaction and reuses the clean connection, keeping no row of it', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1 });
    try {
      const before = await backendPid(factory, { userId });
      await failureOf(
        factory.withSession({ userId }, async (s) => {
          await s.query("INSERT INTO threads (title) VALUES ('rolled back')");
          await s.query('SELECT 1/0');
        }),
      );
      expect(await backendPid(factory, { userId })).toBe(before);
      expect(factory.poolMetrics().dirtyEvicted).toBe(0);
      const titles = await factory.withSession({ userId }, (s) =>
        s.query("SELECT 1 FROM threads WHERE title = 'rolled back'"),
      );
      expect(titles.rowCount).toBe(0);
    } finally {
      await factory.close();
    }
  });

  it('refuses to report success when a swallowed statement error aborted the transaction', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1 });
    try {
      const error = await failureOf(
        factory.withSession({ userId }, async (s) => {
          await s.query("INSERT INTO threads (title) VALUES ('lost')");
          await s.query('SELECT 1/0').catch(() => {}); // the handler swallows the error…
        }),
      );
      expect(error).toBeInstanceOf(TransactionAbortedError); // …but the commit does not pretend
      const rows = await factory.withSession({ userId }, (s) => s.query("SELECT 1 FROM threads WHERE title = 'lost'"));
      expect(rows.rowCount).toBe(0);
      expect(factory.poolMetrics().dirtyEvicted).toBe(0);
    } finally {
      await factory.close();
    }
  });
});
