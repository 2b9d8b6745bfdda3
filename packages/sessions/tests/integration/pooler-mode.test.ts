import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SessionFactory, SessionTimeoutError } from '@tether/sessions';
import { createScratchDatabase, insertUsers, type ScratchDatabase } from '@tether/testing';

// pooler: 'transaction' straight on PostgreSQL (this runs on every machine; the pooler category runs the same
// factory through a real PgBouncer): what a transaction-mode pooler would hand on to the next client is nothing.

let db: ScratchDatabase;
let factory: SessionFactory;
let alice: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [alice] = (await insertUsers(db.url, 'a@pooler-mode.test')) as [string];
  // max 1: every session below runs on the same connection
  factory = new SessionFactory({
    connectionString: db.url,
    max: 1,
    pooler: 'transaction',
    statementTimeoutMs: 4_000,
    idleInTransactionTimeoutMs: 9_000,
  });
});
afterAll(async () => {
  await factory.close();
  await db.drop();
});

/** The connection's own settings (what RESET restores: startup parameters included) and what is prepared on it. */
const CONNECTION_STATE = `SELECT
  (SELECT reset_val FROM pg_settings WHERE name = 'statement_timeout') AS statement_timeout,
  (SELECT reset_val FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout') AS idle_timeout,
  (SELECT count(*)::int FROM pg_prepared_statements) AS prepared,
  current_user AS "currentUser", current_setting('statement_timeout') AS "statementTimeout",
  current_setting('idle_in_transaction_session_timeout') AS "idleTimeout"`;

describe("SessionFactory with pooler: 'transaction'", () => {
  it('sends no startup parameters and prepares no statement by name, in every shape of session', async () => {
    const states = [
      await factory.withSession({ userId: alice }, async (s) => {
        await s.query('SELECT $1::int', [1]);
        return (await s.query(CONNECTION_STATE)).rows[0];
      }),
      (await factory.withSession({ userId: alice }, (s) => s.query(CONNECTION_STATE))).rows[0],
      (await factory.query({ userId: alice }, `${CONNECTION_STATE} WHERE $1::int = 1`, [1])).rows[0],
      (await factory.query({}, CONNECTION_STATE)).rows[0],
      (await factory.query({ userId: 'system' }, CONNECTION_STATE)).rows[0],
    ];
    for (const state of states) {
      // the server's defaults: nothing came with the connection
      expect(state).toMatchObject({ statement_timeout: '0', idle_timeout: '0', prepared: 0 });
    }
    // …and each transaction set what the startup parameters would have, for itself
    expect(states.map((s) => s?.currentUser)).toEqual([
      'tether_app',
      'tether_app',
      'tether_app',
      'tether_app',
      'tether_system',
    ]);
    for (const state of states) expect(state).toMatchObject({ statementTimeout: '4s', idleTimeout: '9s' });
  });

  it('gives an anonymous session the unprivileged role and no user', async () => {
    const { rows } = await factory.query<{ uid: string; role: string }>(
      {},
      "SELECT current_setting('app.user_id', true) AS uid, current_user AS role",
    );
    expect(rows[0]).toMatchObject({ uid: '', role: 'tether_app' });
    await expect(factory.query({}, 'SELECT count(*) FROM threads')).resolves.toMatchObject({ rows: [{ count: '0' }] });
  });

  it("still bounds a statement by the session's own timeout", async () => {
    await expect(factory.query({ userId: alice, statementTimeoutMs: 50 }, 'SELECT pg_sleep(2)')).rejects.toMatchObject({
      code: 'session_timeout',
    });
    expect(
      (await factory.query<{ t: string }>({ userId: alice }, "SELECT current_setting('statement_timeout') AS t"))
        .rows[0]?.t,
    ).toBe('4s');
  });

  it(
    "ends a session past its lifetime by cancelling its statement (a pooler's process id names no backend)",
    { timeout: 30_000 },
    async () => {
      // the cancel request is built from pg's connection (its secret key is below pg's public API): this fails if that
      // moves
      const limited = new SessionFactory({
        connectionString: db.url,
        max: 1,
        pooler: 'transaction',
        // 1 s, not less: the session served next must finish well within it on a loaded machine
        maxSessionLifetimeMs: 1_000,
        leakDetectionThresholdMs: 0,
      });
      try {
        const started = Date.now();
        await expect(
          limited.withSession({ userId: alice }, async (s) => void (await s.query('SELECT pg_sleep(30)'))),
        ).rejects.toBeInstanceOf(SessionTimeoutError);
        expect(Date.now() - started).toBeLessThan(10_000);
        await expect(limited.query({ userId: alice }, 'SELECT 1 AS one')).resolves.toMatchObject({
          rows: [{ one: 1 }],
        });
        expect(limited.poolMetrics().sessionsTerminated).toBe(1);
      } finally {
        await limited.close();
      }
    },
  );
});
