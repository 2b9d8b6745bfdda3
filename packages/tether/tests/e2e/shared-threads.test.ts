import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  openSocket,
  registerAndLogin,
  startTestServer,
  type LoggedInUser,
  type ScratchDatabase,
  type TestServer,
} from '@tether/testing';

// Two real users share threads through membership, across two server instances on one database.

let db: ScratchDatabase;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [a, b] = await Promise.all([startTestServer({ databaseUrl: db.url }), startTestServer({ databaseUrl: db.url })]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db?.drop();
});

async function threadOf(owner: LoggedInUser, title = 'shared'): Promise<string> {
  const created = await api<{ id: string }>(a.url, '/threads', { token: owner.accessToken, body: { title } });
  expect(created.status).toBe(201);
  return created.body.id;
}

describe('shared threads', () => {
  it("let a member added by email list, read, post and receive the other member's messages", async () => {
    const [alice, bob] = await Promise.all([registerAndLogin(a.url), registerAndLogin(a.url)]);
    const threadId = await threadOf(alice);
    expect((await api(a.url, `/threads/${threadId}`, { token: bob.accessToken })).status).toBe(404);

    const added = await api(a.url, `/threads/${threadId}/members`, {
      token: alice.accessToken,
      body: { email: bob.email.toUpperCase() },
    });
    expect(added).toMatchObject({ status: 201, body: { threadId, userId: bob.id, email: bob.email } });

    const members = await api<{ items: Array<{ userId: string; email: string; addedAt: string }> }>(
      b.url,
      `/threads/${threadId}/members`,
      { token: bob.accessToken },
    );
    expect(members.status).toBe(200);
    expect(members.body.items.map((m) => [m.userId, m.email])).toEqual([
      [alice.id, alice.email],
      [bob.id, bob.email],
    ]);
    expect(Number.isNaN(Date.parse(members.body.items[0]?.addedAt ?? ''))).toBe(false);

    expect(
      (await api<{ items: Array<{ id: string }> }>(b.url, '/threads', { token: bob.accessToken })).body.items.map(
        (t) => t.id,
      ),
    ).toContain(threadId);
    const fromAlice = await api<{ id: string }>(a.url, `/threads/${threadId}/messages`, {
      token: alice.accessToken,
      body: { content: 'hello bob' },
    });

    const bobSocket = await openSocket(b.wsUrl, bob.accessToken);
    const aliceSocket = await openSocket(a.wsUrl, alice.accessToken);
    expect(await bobSocket.request({ type: 'thread.subscribe', threadId })).toMatchObject({ type: 'ack' });
    expect(await aliceSocket.request({ type: 'thread.subscribe', threadId })).toMatchObject({ type: 'ack' });

    const reply = await bobSocket.request({ type: 'message.send', threadId, content: 'hello alice' });
    expect(reply).toMatchObject({ type: 'ack', message: { threadId, content: 'hello alice' } });
    expect(await aliceSocket.next((f) => f.type === 'message')).toEqual({ type: 'message', message: reply.message });

    const listed = await api<{ items: Array<{ id: string; content: string }> }>(
      b.url,
      `/threads/${threadId}/messages`,
      { token: bob.accessToken },
    );
    expect(listed.body.items.map((m) => m.content)).toEqual(['hello bob', 'hello alice']);
    expect(listed.body.items[0]?.id).toBe(fromAlice.body.id);
    await Promise.all([bobSocket.close(), aliceSocket.close()]);
  });

  it('answer 404 for a thread the caller is not in, 404 user_not_found, 409 for a member already there', async () => {
    const [alice, bob, carol] = await Promise.all([
      registerAndLogin(a.url),
      registerAndLogin(a.url),
      registerAndLogin(a.url),
    ]);
    const threadId = await threadOf(alice);
    const byOutsider = await api(a.url, `/threads/${threadId}/members`, {
      token: carol.accessToken,
      body: { email: bob.email },
    });
    expect(byOutsider).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect((await api(a.url, `/threads/${threadId}/members`, { token: carol.accessToken })).status).toBe(404);
    expect((await api(a.url, '/threads/not-a-uuid/members', { token: alice.accessToken })).status).toBe(404);

    const unknown = await api(a.url, `/threads/${threadId}/members`, {
      token: alice.accessToken,
      body: { email: 'nobody-here@example.com' },
    });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'user_not_found' } } });
    expect((await api(a.url, `/threads/${threadId}/members`, { token: alice.accessToken, body: {} })).status).toBe(400);

    expect(
      (await api(a.url, `/threads/${threadId}/members`, { token: alice.accessToken, body: { email: bob.email } }))
        .status,
    ).toBe(201);
    const again = await api(a.url, `/threads/${threadId}/members`, {
      token: alice.accessToken,
      body: { email: bob.email },
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'already_member' } } });
    const creatorAgain = await api(a.url, `/threads/${threadId}/members`, {
      token: bob.accessToken,
      body: { email: alice.email },
    });
    expect(creatorAgain).toMatchObject({ status: 409, body: { error: { code: 'already_member' } } });
    // a member (not only the creator) adds others
    expect(
      (await api(a.url, `/threads/${threadId}/members`, { token: bob.accessToken, body: { email: carol.email } }))
        .status,
    ).toBe(201);
    expect((await api(a.url, `/threads/${threadId}/members`, { body: { email: carol.email } })).status).toBe(401);
  });

  it('let a member leave, let the creator remove anyone but themself, and refuse the rest', async () => {
    const [alice, bob, carol] = await Promise.all([
      registerAndLogin(a.url),
      registerAndLogin(a.url),
      registerAndLogin(a.url),
    ]);
    const threadId = await threadOf(alice);
    for (const user of [bob, carol])
      await api(a.url, `/threads/${threadId}/members`, { token: alice.accessToken, body: { email: user.email } });

    const bobRemovesCarol = await api(a.url, `/threads/${threadId}/members/${carol.id}`, {
      token: bob.accessToken,
      method: 'DELETE',
    });
    expect(bobRemovesCarol).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const removeCreator = await api(a.url, `/threads/${threadId}/members/${alice.id}`, {
      token: alice.accessToken,
      method: 'DELETE',
    });
    expect(removeCreator).toMatchObject({ status: 409, body: { error: { code: 'creator_is_member' } } });

    expect(
      (await api(a.url, `/threads/${threadId}/members/${bob.id}`, { token: bob.accessToken, method: 'DELETE' })).status,
    ).toBe(204);
    expect((await api(a.url, `/threads/${threadId}`, { token: bob.accessToken })).status).toBe(404);
    expect(
      (await api(a.url, `/threads/${threadId}/messages`, { token: bob.accessToken, body: { content: 'still here?' } }))
        .status,
    ).toBe(404);
    const gone = await api(a.url, `/threads/${threadId}/members/${bob.id}`, {
      token: alice.accessToken,
      method: 'DELETE',
    });
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'member_not_found' } } });

    expect(
      (await api(a.url, `/threads/${threadId}/members/${carol.id}`, { token: alice.accessToken, method: 'DELETE' }))
        .status,
    ).toBe(204);
    const left = await api<{ items: Array<{ userId: string }> }>(a.url, `/threads/${threadId}/members`, {
      token: alice.accessToken,
    });
    expect(left.body.items.map((m) => m.userId)).toEqual([alice.id]);
  });

  it("end a removed member's subscriptions at once with an error frame, on every instance", async () => {
    const [alice, bob] = await Promise.all([registerAndLogin(a.url), registerAndLogin(a.url)]);
    const threadId = await threadOf(alice);
    await api(a.url, `/threads/${threadId}/members`, { token: alice.accessToken, body: { email: bob.email } });
    const bobOnA = await openSocket(a.wsUrl, bob.accessToken);
    const bobOnB = await openSocket(b.wsUrl, bob.accessToken);
    const aliceOnB = await openSocket(b.wsUrl, alice.accessToken);
    expect(await aliceOnB.request({ type: 'thread.subscribe', threadId })).toMatchObject({ type: 'ack' });
    for (const socket of [bobOnA, bobOnB])
      expect(await socket.request({ type: 'thread.subscribe', threadId })).toMatchObject({ type: 'ack' });

    const started = Date.now();
    expect(
      (await api(a.url, `/threads/${threadId}/members/${bob.id}`, { token: alice.accessToken, method: 'DELETE' }))
        .status,
    ).toBe(204);
    for (const socket of [bobOnA, bobOnB]) {
      expect(await socket.next((f) => f.type === 'error')).toMatchObject({
        type: 'error',
        code: 'membership_revoked',
        threadId,
      });
    }
    expect(Date.now() - started).toBeLessThan(3_000);

    // nothing more reaches them (alice's socket on the same instance gets it), and the sockets stay open
    await api(a.url, `/threads/${threadId}/messages`, {
      token: alice.accessToken,
      body: { content: 'after bob left' },
    });
    expect(await aliceOnB.next((f) => f.type === 'message')).toMatchObject({ message: { content: 'after bob left' } });
    expect(await bobOnA.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await bobOnB.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const refused = await bobOnB.request({ type: 'thread.subscribe', threadId });
    expect(refused).toMatchObject({ type: 'error', code: 'not_found' });
    expect([...bobOnA.frames, ...bobOnB.frames].filter((f) => f.type === 'message')).toEqual([]);
    await Promise.all([bobOnA.close(), bobOnB.close(), aliceOnB.close()]);
  });
});
