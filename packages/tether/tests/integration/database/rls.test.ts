import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let client: pg.Client;
let alice: string;
let bob: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const users = await client.query<{ id: string }>(
    "INSERT INTO users (email, password_hash) VALUES ('alice@example.com', 'x'), ('bob@example.com', 'x') RETURNING id",
  );
  [alice, bob] = users.rows.map((r) => r.id) as [string, string];
  for (const user of [alice, bob]) {
    const thread = await client.query<{ id: string }>(
      'INSERT INTO threads (user_id, title) VALUES ($1, $2) RETURNING id',
      [user, 'hello'],
    );
    await client.query("INSERT INTO messages (thread_id, user_id, content) VALUES ($1, $2, 'one'), ($1, $2, 'two')", [
      thread.rows[0]?.id,
      user,
    ]);
  }
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

/** Runs `sql` as the application role with `app.user_id` set (or not), the way every user session does. */
async function asUser(userId: string | null, sql: string): Promise<pg.QueryResult> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('role', 'tether_app', true), set_config('app.user_id', $1, true)", [
      userId ?? '',
    ]);
    return await client.query(sql);
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('row-level security with plain SQL', () => {
  it("returns only the user's own rows to a raw SELECT * FROM messages", async () => {
    const { rows } = await asUser(alice, 'SELECT * FROM messages');
    expect(rows).toHaveLength(2);
    expect(rows.every((r: { user_id: string }) => r.user_id === alice)).toBe(true);
  });

  it('returns no rows when no user is set', async () => {
    expect((await asUser(null, 'SELECT * FROM messages')).rows).toHaveLength(0);
    expect((await asUser(null, 'SELECT * FROM threads')).rows).toHaveLength(0);
  });

  it("shows a user only their own row in users and hides other users' sessions and threads", async () => {
    const { rows } = await asUser(bob, 'SELECT id FROM users');
    expect(rows).toEqual([{ id: bob }]);
    expect((await asUser(bob, 'SELECT user_id FROM threads')).rows).toEqual([{ user_id: bob }]);
  });

  it('does not let the application role disable RLS or write rows for another user', async () => {
    await expect(asUser(alice, 'ALTER TABLE messages DISABLE ROW LEVEL SECURITY')).rejects.toThrow(/must be owner/);
    await expect(asUser(alice, 'SET LOCAL row_security = off; SELECT * FROM messages')).rejects.toThrow(
      /row-level security/,
    );
    await expect(asUser(alice, `INSERT INTO threads (user_id, title) VALUES ('${bob}', 'forged')`)).rejects.toThrow(
      /row-level security/,
    );
  });

  it('still applies to the table owner (FORCE ROW LEVEL SECURITY)', async () => {
    const { rows } = await client.query<{ relname: string }>(
      `SELECT relname FROM pg_class
        WHERE relname IN ('users','auth_sessions','threads','messages') AND relforcerowsecurity ORDER BY 1`,
    );
    expect(rows.map((r) => r.relname)).toEqual(['auth_sessions', 'messages', 'threads', 'users']);
  });
});
