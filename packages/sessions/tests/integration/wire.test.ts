import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IsolationViolationError, SessionFactory } from '@tether/sessions';
import { createScratchDatabase, failureOf, insertUsers, type ScratchDatabase } from '@tether/testing';
// the batch is internal to the session layer; its protocol edge cases are tested here against a real server
import { batchingWire, BEGIN_STATEMENT, type PreludeStatement, type SessionClient } from '../../src/wire.js';

const acceptsBatch = (client: object, name: string | undefined, text: string): boolean =>
  batchingWire.acceptsBatch(client as unknown as SessionClient, name, text);

function sendBatch<R extends pg.QueryResultRow>(
  client: pg.Client,
  prelude: PreludeStatement[],
  statement: { text: string },
): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) =>
    batchingWire.sendBatch<R>(client as unknown as SessionClient, prelude, statement, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
}

let db: ScratchDatabase;
let alice: string;
let bob: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [alice, bob] = (await insertUsers(db.url, 'a@batch.test', 'b@batch.test')) as [string, string];
});
afterAll(async () => {
  await db.drop();
});

describe('statement batches (prelude statements and one Sync)', () => {
  it("returns only the caller's rows, leaves an implicit transaction committed and a BEGIN's open", async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const context = { name: 'test:ctx', text: "SELECT set_config('app.user_id', $1, true) AS uid", values: ['x'] };
      const implicit = await sendBatch<{ uid: string }>(client, [context], {
        text: "SELECT current_setting('app.user_id', true) AS uid",
      });
      expect(implicit.rows).toEqual([{ uid: 'x' }]);
      expect(client.getTransactionStatus()).toBe('I');
      const explicit = await sendBatch<{ n: number }>(client, [BEGIN_STATEMENT, context], { text: 'SELECT 1 AS n' });
      expect(explicit.rows).toEqual([{ n: 1 }]);
      expect(client.getTransactionStatus()).toBe('T');
      expect((await client.query("SELECT current_setting('app.user_id', true) AS uid")).rows).toEqual([{ uid: 'x' }]);
      await client.query('COMMIT');
      expect((await client.query("SELECT current_setting('app.user_id', true) AS uid")).rows).toEqual([{ uid: '' }]);
    } finally {
      await client.end();
    }
  });

  it('recovers when a prelude statement was prepared by a batch that failed before it could be recorded', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // Parse succeeds, Execute fails (division by zero): the name exists on the server but is not recorded
      const prelude = { name: 'test:divide', text: 'SELECT 1 / $1::int', values: ['0'] };
      expect(await failureOf(sendBatch(client, [prelude], { text: 'SELECT 1' }))).toHaveProperty('code', '22012');
      // a second Parse of the same name would fail with 42P05; the batch closes the name first
      const ok = await sendBatch<{ n: number }>(client, [{ ...prelude, values: ['1'] }], { text: 'SELECT 2 AS n' });
      expect(ok.rows).toEqual([{ n: 2 }]);
      // recorded now: the next batch binds the prepared statement without parsing it again
      expect(
        (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements[
          'test:divide'
        ],
      ).toBe(prelude.text);
      expect(
        (await sendBatch<{ n: number }>(client, [{ ...prelude, values: ['1'] }], { text: 'SELECT 3 AS n' })).rows,
      ).toEqual([{ n: 3 }]);
    } finally {
      await client.end();
    }
  });

  it('carries a named statement only once it is prepared on the connection', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const text = 'SELECT $1::int AS n';
      expect(acceptsBatch(client, undefined, text)).toBe(true);
      expect(acceptsBatch(client, 'test:n', text)).toBe(false);
      await client.query({ name: 'test:n', text, values: [1] });
      expect(acceptsBatch(client, 'test:n', text)).toBe(true);
      expect(acceptsBatch({}, undefined, text)).toBe(false);
    } finally {
      await client.end();
    }
  });
});

describe("withSession's first statement, batched with BEGIN and the context", () => {
  it('keeps the whole callback in one transaction: a later failure rolls back the first statement', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1 });
    try {
      const insert = 'INSERT INTO threads (user_id, title) VALUES ($1, $2)';
      await factory.withSession({ userId: alice }, (s) =>
        s.query(insert, [alice, 'prepare the statement on the connection']),
      );
      const failed = await failureOf(
        factory.withSession({ userId: alice }, async (s) => {
          await s.query(insert, [alice, 'rolled back']); // batched: the statement is prepared by now
          await s.query('SELECT 1');
          throw new Error('the callback fails after two statements');
        }),
      );
      expect(failed).toHaveProperty('message', 'the callback fails after two statements');
      const titles = await factory.withSession({ userId: alice }, (s) =>
        s.query<{ title: string }>('SELECT title FROM threads'),
      );
      expect(titles.rows.map((r) => r.title)).toEqual(['prepare the statement on the connection']);
      // a first statement refused by RLS: typed, the session rolled back, the connection clean and reused
      const pid = async (): Promise<number> =>
        (await factory.withSession({ userId: bob }, (s) => s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')))
          .rows[0]!.pid;
      const before = await pid();
      expect(
        await failureOf(factory.withSession({ userId: bob }, (s) => s.query(insert, [alice, 'forged']))),
      ).toBeInstanceOf(IsolationViolationError);
      expect(await pid()).toBe(before);
      const metrics = factory.poolMetrics();
      expect(metrics).toMatchObject({ dirtyEvicted: 0, activeSessions: 0 });
      const context = await factory.withSession({ userId: bob, requestId: 'batch-1' }, (s) =>
        s.query<{ role: string; name: string; uid: string }>(
          `SELECT current_user AS role, current_setting('application_name') AS name,
                  current_setting('app.user_id') AS uid`,
        ),
      );
      expect(context.rows[0]).toEqual({ role: 'tether_app', name: 'tether:batch-1', uid: bob });
    } finally {
      await factory.close();
    }
  });
});

describe("sessions through pg's public API only (batchStatements: false)", () => {
  it('keep the same isolation, transactions and round trips to a clean connection', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1, batchStatements: false });
    try {
      const insert = 'INSERT INTO threads (user_id, title) VALUES ($1, $2)';
      await factory.withSession({ userId: bob }, (s) => s.query(insert, [bob, 'public wire, one statement']));
      const failed = await failureOf(
        factory.withSession({ userId: bob }, async (s) => {
          await s.query(insert, [bob, 'public wire, rolled back']);
          throw new Error('the callback fails after its statement');
        }),
      );
      expect(failed).toHaveProperty('message', 'the callback fails after its statement');
      expect(await failureOf(factory.query({ userId: bob }, insert, [alice, 'forged']))).toBeInstanceOf(
        IsolationViolationError,
      );
      const titles = await factory.query<{ title: string }>(
        { userId: bob },
        'SELECT title FROM threads ORDER BY title',
      );
      expect(titles.rows.map((r) => r.title)).toEqual(['public wire, one statement']);
      expect(factory.poolMetrics()).toMatchObject({ dirtyEvicted: 0, activeSessions: 0 });
    } finally {
      await factory.close();
    }
  });
});
