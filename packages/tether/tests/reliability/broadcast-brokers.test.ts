import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  eventually,
  openSocket,
  registerAndLogin,
  startNats,
  startRedis,
  startTestServer,
  type BrokerProcess,
  type LoggedInUser,
  type ScratchDatabase,
  type TestServer,
  type TestSocket,
} from '@tether/testing';

// Three instances talk through a real Redis or NATS server of the test's own, which the test stops and starts
// again. Messages, revoked logins and membership changes travel through it; the transactional outbox makes an
// outage, or an instance that dies between its commit and the publish, lose nothing.

const brokers = { redis: startRedis, nats: startNats } as const;

describe.each(Object.keys(brokers) as Array<keyof typeof brokers>)('with %s as the broadcaster', (kind) => {
  let broker: BrokerProcess;
  let db: ScratchDatabase;
  let instances: TestServer[] = [];
  let alice: LoggedInUser;
  let bob: LoggedInUser;
  let carol: LoggedInUser;
  let threadId: string;
  let sockets: TestSocket[] = [];

  beforeAll(async () => {
    broker = await brokers[kind]();
    db = await createScratchDatabase(inject('adminDatabaseUrl'));
    const channel = `tether_test_${randomBytes(6).toString('hex')}`;
    const config = { broadcast: { url: broker.url, channel, relayIntervalMs: 200 } };
    instances = await Promise.all([0, 1, 2].map(() => startTestServer({ databaseUrl: db.url, config })));
    [alice, bob, carol] = (await Promise.all(instances.map((i) => registerAndLogin(i.url)))) as [
      LoggedInUser,
      LoggedInUser,
      LoggedInUser,
    ];
    threadId = (await api<{ id: string }>(url(0), '/threads', { token: alice.accessToken, body: { title: kind } })).body
      .id;
    for (const user of [bob, carol])
      await api(url(0), `/threads/${threadId}/members`, { token: alice.accessToken, body: { email: user.email } });
    // one member's socket on each instance
    sockets = await Promise.all(
      [alice, bob, carol].map((user, i) => openSocket(instances[i]?.wsUrl ?? '', user.accessToken)),
    );
    for (const socket of sockets)
      expect(await socket.request({ type: 'thread.subscribe', threadId })).toMatchObject({ type: 'ack' });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await Promise.all(instances.map((i) => i.close()));
    await broker?.dispose();
    await db?.drop();
  });

  const url = (i: number): string => instances[i]?.url ?? '';

  /** Waits until every socket has each message, then checks that none came twice. */
  async function expectEachOnce(to: readonly TestSocket[], ids: readonly string[], timeoutMs = 20_000): Promise<void> {
    for (const socket of to) {
      for (const id of ids)
        await socket.next((f) => f.type === 'message' && (f.message as { id: string }).id === id, timeoutMs);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const socket of to)
      expect(
        socket.frames.filter((f) => f.type === 'message' && ids.includes((f.message as { id: string }).id)),
      ).toEqual([]);
  }

  async function post(instance: number, user: LoggedInUser, content: string): Promise<string> {
    const posted = await api<{ id: string }>(url(instance), `/threads/${threadId}/messages`, {
      token: user.accessToken,
      body: { content },
    });
    expect(posted.status).toBe(201);
    return posted.body.id;
  }

  async function outboxSize(): Promise<number> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM broadcast_outbox')).rows[0]?.n ?? -1;
    } finally {
      await client.end();
    }
  }

  it('reports the broadcaster in /ready', async () => {
    expect((await api(url(1), '/ready')).body).toMatchObject({
      status: 'ok',
      notifications: 'listening',
      broadcaster: kind,
    });
  });

  it("delivers messages posted on every instance to every member's socket on every instance, once each", async () => {
    const ids = [await post(0, alice, 'from A'), await post(1, bob, 'from B'), await post(2, carol, 'from C')];
    const large = await post(1, bob, 'x'.repeat(8_000)); // beyond what one NOTIFY carries: read by id
    await expectEachOnce(sockets, [...ids, large]);
  });

  it('loses nothing while the broker is down: the outbox holds the events until it is back', async () => {
    await broker.stop();
    expect(
      await eventually(
        async () => (await api<{ notifications: string }>(url(2), '/ready')).body.notifications === 'reconnecting',
        10_000,
      ),
    ).toBe(true);
    // writes still commit: their events wait in the outbox
    const ids = [
      await post(0, alice, 'during the outage 1'),
      await post(1, bob, 'during the outage 2'),
      await post(2, carol, 'during the outage 3'),
    ];
    expect(await outboxSize()).toBeGreaterThanOrEqual(3);
    await broker.start();
    await expectEachOnce(sockets, ids, 30_000);
    expect(await eventually(async () => (await outboxSize()) === 0, 10_000)).toBe(true); // the relays published them
    expect(
      await eventually(
        async () => (await api<{ notifications: string }>(url(0), '/ready')).body.notifications === 'listening',
        15_000,
      ),
    ).toBe(true);
  }, 90_000);

  it('publishes from another instance what a writer committed but never published (a crash between)', async () => {
    // a writer that committed and died before publishing leaves exactly this: the row and its outbox event
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    let id: string;
    try {
      const { rows } = await writer.query<{ id: string }>(
        "INSERT INTO messages (thread_id, user_id, content) VALUES ($1, $2, 'committed, never published') RETURNING id",
        [threadId, alice.id],
      );
      id = rows[0]?.id as string;
    } finally {
      await writer.end();
    }
    await expectEachOnce(sockets, [id]);
  });

  it("ends a removed member's subscription, closes a revoked login's sockets (4401), on other instances", async () => {
    const started = Date.now();
    expect(
      (await api(url(0), `/threads/${threadId}/members/${carol.id}`, { token: alice.accessToken, method: 'DELETE' }))
        .status,
    ).toBe(204);
    expect(await sockets[2]?.next((f) => f.type === 'error')).toMatchObject({ code: 'membership_revoked', threadId });

    expect((await api(url(0), '/auth/logout', { token: bob.accessToken, method: 'POST' })).status).toBe(204);
    expect((await sockets[1]?.closed)?.code).toBe(4401);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
