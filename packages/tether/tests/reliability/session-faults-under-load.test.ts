import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TetherError } from 'tether';
import { PoolExhaustedError, SessionFactory, SessionTimeoutError } from '@tether/sessions';
import { createScratchDatabase, type ScratchDatabase } from '@tether/testing';

// Real faults under concurrent load at the session layer: backends killed mid-transaction, a pool storm at
// ten times its size, a database slowed to its statement timeout.

let db: ScratchDatabase;
let admin: pg.Client;
let userId: string;
let threadId: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  userId = (
    await admin.query<{ id: string }>(
      "INSERT INTO users (email, password_hash) VALUES ('load@example.com', 'x') RETURNING id",
    )
  ).rows[0]!.id;
  threadId = (
    await admin.query<{ id: string }>("INSERT INTO threads (user_id, title) VALUES ($1, 'load') RETURNING id", [userId])
  ).rows[0]!.id;
});
afterAll(async () => {
  await admin.end();
  await db.drop();
});

async function forMs(ms: number, workers: number, work: (worker: number, i: number) => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; Date.now() < until; i++) await work(w, i);
    }),
  );
}

describe('session faults under load', () => {
  it('backends killed mid-transaction: typed errors, no ack lost, no failed write kept, no dirty reuse', async () => {
    const factory = new SessionFactory({
      connectionString: db.url,
      max: 8,
      acquireTimeoutMs: 2_000,
      breakerThreshold: 1_000,
    });
    const acked = new Set<string>();
    const failed = new Set<string>();
    const untyped: unknown[] = [];
    let killing = true;
    const killer = (async () => {
      let kills = 0;
      while (killing) {
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE 'tether:%' AND pid <> pg_backend_pid()
            LIMIT 2`,
        );
        kills += rowCount ?? 0;
        await new Promise((r) => setTimeout(r, 40));
      }
      return kills;
    })();
    try {
      await forMs(2_500, 16, async (w, i) => {
        const key = `w${w}-${i}`;
        try {
          await factory.withSession({ userId, requestId: key }, async (s) => {
            await s.query('INSERT INTO messages (thread_id, content, client_message_id) VALUES ($1, $2, $2)', [
              threadId,
              key,
            ]);
            await s.query('SELECT pg_sleep(0.005)');
          });
          acked.add(key);
        } catch (error) {
          failed.add(key);
          if (!(error instanceof TetherError)) untyped.push(error);
        }
      });
    } finally {
      killing = false;
    }
    const kills = await killer;
    expect(kills).toBeGreaterThan(0);
    expect(failed.size).toBeGreaterThan(0);
    expect(untyped).toEqual([]);
    const { rows } = await admin.query<{ client_message_id: string }>(
      'SELECT client_message_id FROM messages WHERE thread_id = $1',
      [threadId],
    );
    const stored = new Set(rows.map((r) => r.client_message_id));
    expect([...acked].filter((k) => !stored.has(k))).toEqual([]); // nothing acknowledged was lost
    expect(rows.length).toBe(stored.size); // nothing duplicated
    // a failure is either a rollback or (a kill between COMMIT and its reply) an ambiguous commit: a client
    // retry with the same key settles both, and every write then exists exactly once
    await Promise.all(
      [...failed].map((key) =>
        factory.withSession({ userId }, (s) =>
          s.query(
            `INSERT INTO messages (thread_id, content, client_message_id) VALUES ($1, $2, $2)
             ON CONFLICT (user_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING`,
            [threadId, key],
          ),
        ),
      ),
    );
    const after = await admin.query<{ n: string; distinct: string }>(
      'SELECT count(*) AS n, count(DISTINCT client_message_id) AS distinct FROM messages WHERE thread_id = $1',
      [threadId],
    );
    expect(Number(after.rows[0]?.n)).toBe(acked.size + failed.size);
    expect(Number(after.rows[0]?.distinct)).toBe(acked.size + failed.size);
    // every connection left in the pool is clean and usable
    const checks = await Promise.all(
      Array.from({ length: 8 }, () =>
        factory.withSession({ userId }, (s) => s.query<{ n: string }>('SELECT count(*) AS n FROM threads')),
      ),
    );
    expect(checks.every((c) => c.rows[0]?.n === '1')).toBe(true);
    expect(factory.poolMetrics().activeSessions).toBe(0);
    await factory.close();
  });

  it('a pool storm at ten times the pool size fails the excess with PoolExhaustedError in time, no leak', async () => {
    const max = 4;
    const acquireTimeoutMs = 300;
    const factory = new SessionFactory({ connectionString: db.url, max, acquireTimeoutMs });
    const outcomes = await Promise.all(
      Array.from({ length: max * 10 }, async () => {
        const started = Date.now();
        try {
          await factory.withSession({ userId }, (s) => s.query('SELECT pg_sleep(0.4)'));
          return { ok: true, ms: Date.now() - started, error: null };
        } catch (error) {
          return { ok: false, ms: Date.now() - started, error };
        }
      }),
    );
    const failures = outcomes.filter((o) => !o.ok);
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThanOrEqual(max);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.error).toBeInstanceOf(PoolExhaustedError);
      expect(f.ms).toBeLessThan(acquireTimeoutMs * 1.5 + 50);
    }
    const metrics = factory.poolMetrics();
    expect(metrics.acquireTimeouts).toBe(failures.length);
    expect(metrics.activeSessions).toBe(0);
    expect(metrics.active).toBe(0);
    expect(metrics.peakConcurrent).toBe(max);
    await factory.close();
  });

  it('a slow database keeps its timeouts typed and local: fast sessions beside the slow ones all succeed', async () => {
    const factory = new SessionFactory({
      connectionString: db.url,
      max: 10,
      statementTimeoutMs: 150,
      acquireTimeoutMs: 2_000,
    });
    const slowErrors: unknown[] = [];
    let slowOk = 0;
    let fastOk = 0;
    const fastErrors: unknown[] = [];
    await Promise.all([
      forMs(1_500, 5, async () => {
        try {
          await factory.withSession({ userId }, (s) =>
            s.query(`SELECT pg_sleep(${(0.1 + Math.random() * 0.1).toFixed(3)})`),
          );
          slowOk++;
        } catch (error) {
          slowErrors.push(error);
        }
      }),
      forMs(1_500, 3, async () => {
        try {
          await factory.withSession({ userId }, (s) => s.query('SELECT 1'));
          fastOk++;
        } catch (error) {
          fastErrors.push(error);
        }
      }),
    ]);
    expect(slowErrors.length).toBeGreaterThan(0);
    expect(slowOk).toBeGreaterThan(0);
    for (const e of slowErrors) expect(e).toBeInstanceOf(SessionTimeoutError);
    expect(fastErrors).toEqual([]);
    expect(fastOk).toBeGreaterThan(100);
    expect(factory.breakerState()).toBe('closed');
    expect(factory.poolMetrics().activeSessions).toBe(0);
    await factory.close();
  });
});
