import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createScratchDatabase, insertUsers, throughPooler, type ScratchDatabase } from '@tether/testing';
import { SessionFactory } from '@tether/sessions';

// In the pooler category: every connection here goes through PgBouncer 1.18 in transaction mode, whose few server
// connections (default_pool_size 5) are shared by every client, one transaction at a time.

const USERS = 20;
const ROUNDS = 12;

/** What a session sees of its own context, and of what other clients may have left on its server connection. */
interface Observed {
  user_id: string;
  role: string;
  statement_timeout: string;
  idle_timeout: string;
  backend: number;
  prepared: string;
}

const OBSERVE = `SELECT current_setting('app.user_id', true) AS user_id, current_user AS role,
  current_setting('statement_timeout') AS statement_timeout,
  current_setting('idle_in_transaction_session_timeout') AS idle_timeout, pg_backend_pid() AS backend,
  (SELECT count(*) FROM pg_prepared_statements)::text AS prepared`;

function pooled(db: ScratchDatabase): string {
  const url = throughPooler(db.url);
  if (url === undefined)
    throw new Error('this file runs in the pooler category only (inject("poolerDatabaseUrl") is unset)');
  return url;
}

describe('sessions through PgBouncer in transaction mode', () => {
  let db: ScratchDatabase;
  let users: string[];
  let factory: SessionFactory;

  beforeAll(async () => {
    db = await createScratchDatabase(inject('adminDatabaseUrl'));
    users = await insertUsers(db.url, ...Array.from({ length: USERS }, (_, i) => `pooled-${i}@example.com`));
    factory = new SessionFactory({
      connectionString: pooled(db),
      pooler: 'transaction',
      max: USERS,
      idleInTransactionTimeoutMs: 7_000,
    });
  });

  afterAll(async () => {
    await factory?.close();
    await db?.drop();
  });

  test(
    "20 concurrent users never see one another's rows or settings; no prepared statement is left behind",
    { timeout: 60_000 },
    async () => {
      const backends = new Set<number>();
      const seen: Observed[] = [];
      const userWork = async (userId: string, index: number): Promise<void> => {
        // each user its own statement timeout: a SET that outlived its transaction would show on someone else's
        const statementTimeoutMs = 2_001 + index; // not a whole second: SHOW prints these as "2001ms", …
        const context = { userId, statementTimeoutMs, requestId: `user-${index}` };
        for (let round = 0; round < ROUNDS; round++) {
          // three shapes of session: BEGIN … COMMIT, one-round-trip batch (held statement), factory.query
          await factory.withSession(context, async (s) => {
            const before = (await s.query<Observed>(OBSERVE)).rows[0] as Observed;
            seen.push(before);
            expect(before).toMatchObject({
              user_id: userId,
              role: 'tether_app',
              statement_timeout: `${statementTimeoutMs}ms`,
              idle_timeout: '7s',
              prepared: '0',
            });
            backends.add(before.backend);
            await s.query('INSERT INTO threads (title) VALUES ($1)', [`${userId} round ${round}`]);
            const { rows } = await s.query<{ user_id: string; title: string }>('SELECT user_id, title FROM threads');
            expect(rows.length).toBe(round + 1);
            for (const row of rows)
              expect(row, 'a row of another user').toMatchObject({
                user_id: userId,
                title: expect.stringContaining(userId),
              });
          });
          const held = await factory.withSession(context, (s) => s.query<Observed>(OBSERVE));
          const single = await factory.query<Observed>(context, OBSERVE);
          for (const observed of [held.rows[0], single.rows[0]] as Observed[]) {
            seen.push(observed);
            expect(observed).toMatchObject({
              user_id: userId,
              role: 'tether_app',
              statement_timeout: `${statementTimeoutMs}ms`,
              prepared: '0',
            });
          }
        }
      };
      const anonymousWork = async (): Promise<void> => {
        // an anonymous session has no user and the factory's default timeout, whatever ran before it there
        for (let round = 0; round < ROUNDS * 2; round++) {
          const { rows } = await factory.query<Observed>({}, OBSERVE);
          seen.push(rows[0] as Observed);
          expect(rows[0]).toMatchObject({ user_id: '', role: 'tether_app', statement_timeout: '15s', prepared: '0' });
        }
      };
      await Promise.all([...users.map((userId, index) => userWork(userId, index)), anonymousWork()]);

      expect(seen.length).toBe(USERS * ROUNDS * 3 + ROUNDS * 2);
      // the point of the exercise: a handful of server connections served every user in turn
      expect(backends.size).toBeGreaterThan(1);
      expect(backends.size).toBeLessThanOrEqual(5);
      expect(factory.poolMetrics()).toMatchObject({ sessionsFailed: 0, dirtyEvicted: 0, errorsByCode: {} });

      // and each user's rows are its own, counted from outside RLS
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ user_id: string; n: number }>(
          'SELECT user_id, count(*)::int AS n FROM threads GROUP BY user_id',
        );
        expect(rows.length).toBe(USERS);
        for (const row of rows) expect(row.n).toBe(ROUNDS);
      } finally {
        await admin.end();
      }
    },
  );

  test('a transaction-block-only statement and a failed statement leave the connection clean', async () => {
    const [userId] = users as [string];
    await factory.withSession({ userId }, (s) => s.query('LOCK TABLE threads IN SHARE MODE'));
    await expect(factory.query({ userId }, 'SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(
      factory.withSession({ userId }, async (s) => {
        await s.query('SELECT 1/0').catch(() => undefined); // swallowed: the commit must not pretend
        await s.query('SELECT 1').catch(() => undefined);
      }),
    ).rejects.toMatchObject({ code: 'transaction_aborted' });
    const after = await factory.query<Observed>({ userId }, OBSERVE);
    expect(after.rows[0]).toMatchObject({ user_id: userId, prepared: '0' });
  });
});

describe('the checks above would catch a leak', () => {
  // a database of its own: PgBouncer keeps one pool per database and login, so what this leaves on its server
  // connections stays here
  let db: ScratchDatabase;
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase(inject('adminDatabaseUrl'), { migrate: false });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await db?.drop();
  });

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: pooled(db) });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  test("a session-level SET made through PgBouncer shows on other clients' transactions", async () => {
    const leaker = await connect();
    // outlives its transaction: the bug the test above looks for
    await leaker.query("SET statement_timeout = '4321ms'");
    const others = await Promise.all(Array.from({ length: 12 }, () => connect()));
    const timeouts = await Promise.all(
      others.map(
        async (client) =>
          (await client.query<{ t: string }>("SELECT current_setting('statement_timeout') AS t")).rows[0]?.t,
      ),
    );
    expect(timeouts).toContain('4321ms');
  });

  test("a named prepared statement made through PgBouncer shows on other clients' transactions", async () => {
    const leaker = await connect();
    await leaker.query({ name: 'leaked', text: 'SELECT 1 AS one' });
    const others = await Promise.all(Array.from({ length: 12 }, () => connect()));
    const counts = await Promise.all(
      others.map(
        async (client) =>
          (await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_prepared_statements')).rows[0]?.n,
      ),
    );
    expect(counts).toContain('1');
  });
});
