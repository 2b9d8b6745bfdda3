import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPostgres } from 'tether/database';
import {
  api,
  eventually,
  openSocket,
  registerAndLogin,
  startPrivatePostgres,
  startTestServer,
  type TestServer,
} from '@tether/testing';

// An instance's LISTEN connection goes away (its backend terminated, and new logins refused for a while): the
// messages written meanwhile must still reach its subscribers, once each, when the connection is back.

let postgres: EmbeddedPostgres;
let server: TestServer;
let admin: pg.Client;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  server = await startTestServer({ databaseUrl: postgres.url });
  admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
}, 60_000);
afterAll(async () => {
  await admin?.query('ALTER ROLE postgres PASSWORD $$' + postgres.password + '$$').catch(() => {});
  await admin?.end();
  await server?.close();
  await postgres?.stop();
});

describe('notifications missed while the LISTEN connection is down', () => {
  it('are delivered from the database once the connection is back, each exactly once', async () => {
    const user = await registerAndLogin(server.url);
    const thread = (
      await api<{ id: string }>(server.url, '/threads', { token: user.accessToken, body: { title: 'catch-up' } })
    ).body.id;
    const socket = await openSocket(server.wsUrl, user.accessToken);
    await socket.request({ type: 'thread.subscribe', threadId: thread });

    // the pool keeps its open connections; only new ones (the listener's reconnect) are refused
    await admin.query("ALTER ROLE postgres PASSWORD 'not-the-configured-one'");
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'tether-listener:%'",
    );
    expect(
      await eventually(
        async () => (await api<{ notifications: string }>(server.url, '/ready')).body.notifications === 'reconnecting',
        5_000,
      ),
    ).toBe(true);

    const posted = await api<{ id: string }>(server.url, `/threads/${thread}/messages`, {
      token: user.accessToken,
      body: { content: 'written while deaf' },
    });
    expect(posted.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(socket.frames.filter((f) => f.type === 'message')).toEqual([]); // not heard: the listener is down

    await admin.query('ALTER ROLE postgres PASSWORD $$' + postgres.password + '$$');
    const heard = await socket.next(
      (f) => f.type === 'message' && (f.message as { id: string }).id === posted.body.id,
      15_000,
    );
    expect(heard.message).toMatchObject({ id: posted.body.id, threadId: thread, content: 'written while deaf' });
    // a message written after the reconnect arrives the ordinary way, and nothing comes twice
    const after = await api<{ id: string }>(server.url, `/threads/${thread}/messages`, {
      token: user.accessToken,
      body: { content: 'heard live' },
    });
    await socket.next((f) => f.type === 'message' && (f.message as { id: string }).id === after.body.id, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // both were taken by next(): no duplicate is left
    expect(socket.frames.filter((f) => f.type === 'message')).toEqual([]);
    await socket.close();
  }, 60_000);
});
