import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { currentSession, SessionClosedError, SessionFactory, type Session } from '@tether/sessions';
import { createScratchDatabase, failureOf, insertUsers, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let factory: SessionFactory;
let userId: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [userId] = (await insertUsers(db.url, 'handles@example.com')) as [string];
  factory = new SessionFactory({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await factory.close();
  await db.drop();
});

const titles = async (): Promise<string[]> =>
  factory.withSession({ userId }, async (s) =>
    (await s.query<{ title: string }>('SELECT title FROM threads ORDER BY title')).rows.map((r) => r.title),
  );

describe('session handles', () => {
  it('commits a handle with commit(), and rolls back one disposed by await using without it', async () => {
    {
      await using session = await factory.openSession({ userId });
      await session.query("INSERT INTO threads (title) VALUES ('kept')");
      await session.commit();
    }
    {
      await using session = await factory.openSession({ userId });
      await session.query("INSERT INTO threads (title) VALUES ('discarded')");
    }
    expect(await titles()).toEqual(['kept']);
    expect(factory.poolMetrics().activeSessions).toBe(0);
  });

  it('refuses queries on a closed session with SessionClosedError', async () => {
    const session = await factory.openSession({ userId });
    await session.close();
    await session.close(); // twice is harmless
    expect(await failureOf(session.query('SELECT 1'))).toBeInstanceOf(SessionClosedError);
    expect(session.metrics.state).toBe('closed');
  });

  it('makes the current session reachable through AsyncLocalStorage inside the callback only', async () => {
    const deep = async (): Promise<Session | undefined> => {
      await new Promise((r) => setTimeout(r, 5));
      return currentSession();
    };
    const [a, b] = await Promise.all([
      factory.withSession({ userId, requestId: 'als-a' }, async (s) => [s, await deep()] as const),
      factory.withSession({ userId, requestId: 'als-b' }, async (s) => [s, await deep()] as const),
    ]);
    expect(a[1]).toBe(a[0]);
    expect(b[1]).toBe(b[0]);
    expect(a[1]?.metrics.requestId).toBe('als-a');
    expect(currentSession()).toBeUndefined();
  });

  it('counts queries and transactions and moves through its states', async () => {
    const session = await factory.openSession({ userId, threadId: null });
    expect(session.metrics.state).toBe('created');
    await session.query('SELECT 1');
    const during = session.metrics.state;
    await session.query('SELECT 2');
    await session.commit();
    expect(during).toBe('idle');
    expect(session.metrics).toMatchObject({
      state: 'committed',
      queryCount: 2,
      transactionCount: 1,
      errorCount: 0,
      lastError: null,
    });
    expect(session.metrics.closedAt).not.toBeNull();
    expect(session.metrics.totalTimeMs).toBe((session.metrics.closedAt as number) - session.metrics.createdAt);
  });

  it('closes gracefully: refuses new sessions, waits for open ones, then ends the pool', async () => {
    const closing = new SessionFactory({ connectionString: db.url });
    const open = await closing.openSession({ userId });
    await open.query('SELECT 1');
    const closed = closing.close(5_000);
    expect(await failureOf(closing.openSession({ userId }))).toBeInstanceOf(SessionClosedError);
    await new Promise((r) => setTimeout(r, 50));
    await open.query("INSERT INTO threads (title) VALUES ('finished during shutdown')");
    await open.commit();
    await closed;
    expect(await titles()).toContain('finished during shutdown');
  });
});
