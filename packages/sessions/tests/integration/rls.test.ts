import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IsolationViolationError, SessionFactory } from '@tether/sessions';
import { captureLogger, createScratchDatabase, failureOf, insertUsers, type ScratchDatabase } from '@tether/testing';

let db: ScratchDatabase;
let factory: SessionFactory;
const logs = captureLogger();
let alice: string;
let bob: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [alice, bob] = (await insertUsers(db.url, 'a@rls.test', 'b@rls.test')) as [string, string];
  // max 1: every session below runs on the same connection, so nothing may carry over between them
  factory = new SessionFactory({ connectionString: db.url, max: 1, logger: logs.logger });
});
afterAll(async () => {
  await factory.close();
  await db.drop();
});

describe('row-level security through the session factory', () => {
  it("hides rows written in user A's session from user B's, even from a raw SELECT with no WHERE", async () => {
    await factory.withSession({ userId: alice }, async (s) => {
      const t = await s.query<{ id: string }>("INSERT INTO threads (title) VALUES ('alice only') RETURNING id");
      await s.query("INSERT INTO messages (thread_id, content) VALUES ($1, 'secret')", [t.rows[0]!.id]);
    });
    const seenByBob = await factory.withSession({ userId: bob }, async (s) => ({
      messages: (await s.query('SELECT * FROM messages')).rows,
      threads: (await s.query('SELECT * FROM threads')).rows,
      users: (await s.query<{ id: string }>('SELECT id FROM users')).rows,
    }));
    expect(seenByBob).toEqual({ messages: [], threads: [], users: [{ id: bob }] });
    const seenByAlice = await factory.withSession({ userId: alice }, (s) =>
      s.query<{ content: string }>('SELECT content FROM messages'),
    );
    expect(seenByAlice.rows).toEqual([{ content: 'secret' }]);
  });

  it('runs user work as the unprivileged role, and an anonymous session sees no user rows', async () => {
    const who = await factory.withSession({ userId: alice }, (s) =>
      s.query<{ role: string; uid: string }>("SELECT current_user AS role, current_setting('app.user_id') AS uid"),
    );
    expect(who.rows[0]).toEqual({ role: 'tether_app', uid: alice });
    const anonymous = await factory.withSession({}, (s) =>
      s.query<{ role: string; n: string }>('SELECT current_user AS role, (SELECT count(*) FROM messages) AS n'),
    );
    expect(anonymous.rows[0]).toEqual({ role: 'tether_app', n: '0' });
  });

  it('refuses to write a row for another user and reports it as an isolation violation', async () => {
    const error = await failureOf(
      factory.withSession({ userId: bob }, (s) =>
        s.query('INSERT INTO threads (user_id, title) VALUES ($1, $2)', [alice, 'forged']),
      ),
    );
    expect(error).toBeInstanceOf(IsolationViolationError);
    expect((error as IsolationViolationError).code).toBe('isolation_violation');
    // a refusal the caller can cause at will is logged, but not as an error
    expect(
      logs
        .find('session failed')
        .filter((l) => (l.context.session as { errorCode: string }).errorCode === 'isolation_violation')
        .map((l) => l.level),
    ).toEqual(['info']);
  });

  it('refuses an identity that is neither a UUID nor a system identity before touching the database', async () => {
    const before = factory.poolMetrics().sessionsOpened;
    const error = await failureOf(factory.withSession({ userId: "' OR 1=1 --" }, (s) => s.query('SELECT 1')));
    expect(error).toBeInstanceOf(IsolationViolationError);
    expect(factory.poolMetrics().sessionsOpened).toBe(before);
  });

  it('runs a system session with the privileged role, sees every user, and logs it as privileged', async () => {
    const result = await factory.withSession({ userId: 'system', requestId: 'req-sys-1' }, (s) =>
      s.query<{ role: string; n: string }>('SELECT current_user AS role, (SELECT count(*) FROM users) AS n'),
    );
    expect(result.rows[0]).toEqual({ role: 'tether_system', n: '2' });
    const [line] = logs.find('privileged session opened').filter((l) => l.context.requestId === 'req-sys-1');
    expect(line?.context).toMatchObject({ identity: 'system', role: 'tether_system' });
    expect(line?.level, 'the audit line is at debug, as the README says').toBe('debug');
    await factory.withSession({ userId: 'service:mailer' }, (s) => s.query('SELECT 1'));
    expect(logs.find('privileged session opened').some((l) => l.context.identity === 'service:mailer')).toBe(true);
  });

  it('carries the request id in application_name for the session only', async () => {
    const inside = await factory.withSession({ userId: alice, requestId: 'req-42' }, (s) =>
      s.query<{ name: string }>("SELECT current_setting('application_name') AS name"),
    );
    expect(inside.rows[0]?.name).toBe('tether:req-42');
    const after = await factory.withSession({}, (s) =>
      s.query<{ name: string; uid: string | null }>(
        "SELECT current_setting('application_name') AS name, current_setting('app.user_id', true) AS uid",
      ),
    );
    expect(after.rows[0]?.name).toBe('tether');
    expect(after.rows[0]?.uid ?? '').toBe('');
  });
});
