import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  openSocket,
  registerAndLogin,
  startTestServer,
  type ScratchDatabase,
  type TestServer,
} from '@tether/testing';

// Two server instances on one database: login sessions, messages and revocations cross between them through
// PostgreSQL (rows and LISTEN/NOTIFY), with no other channel.

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

describe('two server instances on one database', () => {
  it('deliver a message sent through instance A to a subscriber on instance B', async () => {
    expect(a.server.instanceId).not.toBe(b.server.instanceId);
    const user = await registerAndLogin(a.url);
    const thread = await api<{ id: string }>(a.url, '/threads', { token: user.accessToken, body: { title: 'across' } });
    const onB = await openSocket(b.wsUrl, user.accessToken);
    expect(await onB.request({ type: 'thread.subscribe', threadId: thread.body.id })).toMatchObject({ type: 'ack' });

    const posted = await api<{ id: string }>(a.url, `/threads/${thread.body.id}/messages`, {
      token: user.accessToken,
      body: { content: 'from A over HTTP' },
    });
    expect(await onB.next((f) => f.type === 'message')).toEqual({ type: 'message', message: posted.body });

    const onA = await openSocket(a.wsUrl, user.accessToken);
    const ack = await onA.request({ type: 'message.send', threadId: thread.body.id, content: 'from A over WebSocket' });
    expect(await onB.next((f) => f.type === 'message')).toEqual({ type: 'message', message: ack.message });
    await Promise.all([onA.close(), onB.close()]);
  });

  it('close the WebSockets of a session revoked on the other instance with 4401', async () => {
    const user = await registerAndLogin(a.url);
    const onB = await openSocket(b.wsUrl, user.accessToken);
    expect(await onB.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const started = Date.now();
    expect((await api(a.url, '/auth/logout', { token: user.accessToken, method: 'POST' })).status).toBe(204);
    expect((await onB.closed).code).toBe(4401);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await api(b.url, '/threads', { token: user.accessToken })).status).toBe(401);
  });
});
