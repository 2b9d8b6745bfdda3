import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createScratchDatabase, insertUsers, type ScratchDatabase } from '@tether/testing';

// Membership decides who reads a thread's messages, in policies that stay fast on a table with many threads.

let db: ScratchDatabase;
let client: pg.Client;
let alice: string;
let bob: string;
let carol: string;
let shared: string;
const THREADS = 40;
const MESSAGES_PER_THREAD = 500;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [alice, bob, carol] = (await insertUsers(db.url, 'alice@example.com', 'bob@example.com', 'carol@example.com')) as [
    string,
    string,
    string,
  ];
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const threads = await client.query<{ id: string }>(
    "INSERT INTO threads (user_id, title) SELECT $1, 'thread ' || n FROM generate_series(1, $2) n RETURNING id",
    [alice, THREADS],
  );
  shared = threads.rows[0]?.id as string;
  await client.query(
    `INSERT INTO messages (thread_id, user_id, content)
     SELECT t.id, $1, 'message ' || n FROM unnest($2::uuid[]) t(id), generate_series(1, $3) n`,
    [alice, threads.rows.map((r) => r.id), MESSAGES_PER_THREAD],
  );
  await client.query('INSERT INTO thread_members (thread_id, user_id) VALUES ($1, $2)', [shared, bob]);
  await client.query('ANALYZE threads, messages, thread_members');
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Runs `sql` as the application role for `userId`, the way every user session does. */
async function asUser<R extends pg.QueryResultRow>(userId: string, sql: string, values: unknown[] = []): Promise<R[]> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('role', 'tether_app', true), set_config('app.user_id', $1, true)", [userId]);
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.query('ROLLBACK');
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Loops'?: number;
  'Parent Relationship'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('row-level security through thread membership', () => {
  it("shows a member every message of a shared thread and nothing of the others' threads", async () => {
    const seen = await asUser<{ thread_id: string; n: number }>(
      bob,
      'SELECT thread_id, count(*)::int AS n FROM messages GROUP BY thread_id',
    );
    expect(seen).toEqual([{ thread_id: shared, n: MESSAGES_PER_THREAD }]);
    expect(await asUser(carol, 'SELECT * FROM messages')).toEqual([]);
    expect(await asUser(carol, 'SELECT * FROM thread_members')).toEqual([]);
    expect(await asUser(carol, 'SELECT * FROM thread_member_list')).toEqual([]);
    const members = await asUser<{ email: string }>(
      bob,
      'SELECT email FROM thread_member_list WHERE thread_id = $1 ORDER BY added_at',
      [shared],
    );
    expect(members.map((m) => m.email)).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('refuses a non-member who adds themself or posts, and a member who posts as someone else', async () => {
    await expect(
      asUser(carol, 'INSERT INTO thread_members (thread_id, user_id) VALUES ($1, $2)', [shared, carol]),
    ).rejects.toThrow(/row-level security/);
    await expect(
      asUser(carol, "INSERT INTO messages (thread_id, content) VALUES ($1, 'hi')", [shared]),
    ).rejects.toThrow(/row-level security/);
    await expect(
      asUser(bob, "INSERT INTO messages (thread_id, user_id, content) VALUES ($1, $2, 'forged')", [shared, alice]),
    ).rejects.toThrow(/row-level security/);
    expect(
      await asUser(bob, "INSERT INTO messages (thread_id, content) VALUES ($1, 'hi') RETURNING content", [shared]),
    ).toEqual([{ content: 'hi' }]);
  });

  it("lists a thread's messages with an index scan, the membership looked up once per statement", async () => {
    const [
      {
        'QUERY PLAN': [explained],
      },
    ] = (await asUser<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      alice,
      `EXPLAIN (ANALYZE, FORMAT JSON)
       SELECT id, thread_id, content, created_at FROM messages WHERE thread_id = $1 ORDER BY created_at, id LIMIT 1000`,
      [shared],
    )) as [{ 'QUERY PLAN': [{ Plan: PlanNode }] }];
    const plan = nodes(explained.Plan);
    // an index scan, or a bitmap heap scan over a bitmap index scan when the planner expects many rows
    expect(plan.filter((n) => n['Relation Name'] === 'messages').map((n) => n['Node Type'])).not.toContain('Seq Scan');
    const indexed = plan.filter((n) => n['Index Name'] === 'messages_thread_created').map((n) => n['Node Type']);
    expect(
      indexed.length === 1 && ['Index Scan', 'Bitmap Index Scan'].includes(indexed[0] as string),
      JSON.stringify(explained.Plan),
    ).toBe(true);
    // the membership (an index lookup on thread_members) is one hashed subplan run once, not once per message row
    const scan = plan.find((n) => n['Relation Name'] === 'messages');
    expect(scan?.Filter).toMatch(/hashed SubPlan/);
    const subplans = plan.filter((n) => n['Parent Relationship'] === 'SubPlan');
    expect(subplans.length).toBeGreaterThan(0);
    expect(subplans.every((n) => n['Actual Loops'] === 1)).toBe(true);
  });
});
