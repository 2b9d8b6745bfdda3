import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IsolationViolationError, SessionFactory, SessionTimeoutError } from '@tether/sessions';
import { createScratchDatabase, failureOf, insertUsers, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let factory: SessionFactory;
let alice: string;
let bob: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [alice, bob] = (await insertUsers(db.url, 'a@one.test', 'b@one.test')) as [string, string];
  factory = new SessionFactory({ connectionString: db.url, max: 1 });
});
afterAll(async () => {
  await factory.close();
  await db.drop();
});

const pid = async (): Promise<number> =>
  (await factory.query<{ pid: number }>({ userId: alice }, 'SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('one-statement sessions (factory.query)', () => {
  it("commits the statement with the user's context and Row-Level Security", async () => {
    const inserted = await factory.query<{ title: string }>(
      { userId: alice, requestId: 'one-1' },
      'INSERT INTO threads (title) VALUES ($1) RETURNING title',
      ['from alice'],
    );
    expect(inserted.rows).toEqual([{ title: 'from alice' }]);
    expect((await factory.query({ userId: alice }, 'SELECT * FROM threads')).rowCount).toBe(1);
    expect((await factory.query({ userId: bob }, 'SELECT * FROM threads')).rowCount).toBe(0);
    const context = await factory.query<{ role: string; name: string }>(
      { userId: alice, requestId: 'one-2' },
      "SELECT current_user AS role, current_setting('application_name') AS name",
    );
    expect(context.rows[0]).toEqual({ role: 'tether_app', name: 'tether:one-2' });
  });

  it('rolls back a failing statement, types its error, and leaves the connection clean for reuse', async () => {
    const before = await pid();
    const error = await failureOf(
      factory.query({ userId: bob }, 'INSERT INTO threads (user_id, title) VALUES ($1, $2)', [alice, 'forged']),
    );
    expect(error).toBeInstanceOf(IsolationViolationError);
    expect(await pid()).toBe(before);
    const timeout = await failureOf(factory.query({ userId: alice, statementTimeoutMs: 50 }, 'SELECT pg_sleep(1)'));
    expect(timeout).toBeInstanceOf(SessionTimeoutError);
    expect(await pid()).toBe(before);
    const metrics = factory.poolMetrics();
    expect(metrics.dirtyEvicted).toBe(0);
    expect(metrics.activeSessions).toBe(0);
    expect((await factory.query({ userId: alice }, "SELECT 1 FROM threads WHERE title = 'forged'")).rowCount).toBe(0);
  });

  it('runs a repeated statement (prepared once, then batched with its context) right through failures', async () => {
    const insert = 'INSERT INTO threads (user_id, title) VALUES ($1, $2) RETURNING title';
    for (const title of ['one', 'two', 'three']) {
      expect((await factory.query<{ title: string }>({ userId: bob }, insert, [bob, title])).rows).toEqual([{ title }]);
    }
    // the same prepared statement refused by RLS, then used again: nothing kept, nothing broken
    expect(await failureOf(factory.query({ userId: bob }, insert, [alice, 'forged again']))).toBeInstanceOf(
      IsolationViolationError,
    );
    expect(await failureOf(factory.query({ userId: bob }, insert, ['not a uuid', 'bad input']))).toHaveProperty(
      'code',
      '22P02',
    );
    expect((await factory.query<{ title: string }>({ userId: bob }, insert, [bob, 'four'])).rows).toEqual([
      { title: 'four' },
    ]);
    const titles = await factory.query<{ title: string }>({ userId: bob }, 'SELECT title FROM threads ORDER BY title');
    expect(titles.rows.map((r) => r.title)).toEqual(['four', 'one', 'three', 'two']);
    // the context never outlives its session: an anonymous session on the same connection sees no user
    const after = await factory.withSession({}, (s) =>
      s.query<{ uid: string | null; name: string }>(
        "SELECT current_setting('app.user_id', true) AS uid, current_setting('application_name') AS name",
      ),
    );
    expect(after.rows[0]?.uid ?? '').toBe('');
    expect(after.rows[0]?.name).toBe('tether');
    expect(factory.poolMetrics().dirtyEvicted).toBe(0);
  });

  it('counts one query and one transaction for a handle committed with queryAndCommit', async () => {
    const session = await factory.openSession({ userId: alice });
    await session.queryAndCommit('SELECT 1');
    await session.commit();
    expect(session.metrics).toMatchObject({ queryCount: 1, transactionCount: 1, state: 'committed', errorCount: 0 });
    expect(await failureOf(session.query('SELECT 1'))).toBeInstanceOf(Error);
  });
});

describe('withSession callbacks that return their one statement (the whole transaction, one round trip)', () => {
  it("commits with the user's context and Row-Level Security, as a longer session would", async () => {
    const inserted = await factory.withSession({ userId: alice, requestId: 'whole-1' }, (s) =>
      s.query<{ title: string }>('INSERT INTO threads (title) VALUES ($1) RETURNING title', ['whole transaction']),
    );
    expect(inserted.rows).toEqual([{ title: 'whole transaction' }]);
    const seen = (userId: string) =>
      factory.withSession({ userId }, (s) => s.query("SELECT 1 FROM threads WHERE title = 'whole transaction'"));
    expect((await seen(alice)).rowCount).toBe(1);
    expect((await seen(bob)).rowCount).toBe(0);
    const context = await factory.withSession({ userId: alice, requestId: 'whole-2' }, (s) =>
      s.query<{ role: string; name: string }>(
        "SELECT current_user AS role, current_setting('application_name') AS name",
      ),
    );
    expect(context.rows[0]).toEqual({ role: 'tether_app', name: 'tether:whole-2' });
  });

  it('rolls back a refused statement, types its error, and keeps the connection', async () => {
    const before = await pid();
    const refused = factory.withSession({ userId: bob }, (s) =>
      s.query('INSERT INTO threads (user_id, title) VALUES ($1, $2)', [alice, 'forged whole']),
    );
    expect(await failureOf(refused)).toBeInstanceOf(IsolationViolationError);
    expect(await pid()).toBe(before);
    expect(
      (await factory.query({ userId: alice }, "SELECT 1 FROM threads WHERE title = 'forged whole'")).rowCount,
    ).toBe(0);
    expect(factory.poolMetrics().dirtyEvicted).toBe(0);
  });

  it('runs statements issued together in order, in one transaction', async () => {
    const count = await factory.withSession({ userId: bob }, (s) => {
      void s.query('INSERT INTO threads (title) VALUES ($1)', ['issued together']);
      return s.query<{ n: string }>("SELECT count(*) AS n FROM threads WHERE title = 'issued together'");
    });
    expect(count.rows[0]?.n).toBe('1');
  });

  it('runs LOCK TABLE (transaction blocks only) after BEGIN, from withSession and from factory.query', async () => {
    await factory.withSession({ userId: 'system' }, (s) => s.query('LOCK TABLE threads IN SHARE MODE'));
    await factory.query({ userId: 'system' }, 'LOCK TABLE threads IN SHARE MODE');
    expect(factory.poolMetrics().dirtyEvicted).toBe(0);
  });
});
