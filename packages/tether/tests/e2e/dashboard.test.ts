import pg from 'pg';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createScratchDatabase, registerAndLogin, startTestServer, TestSocket, type ScratchDatabase, type TestServer } from '@tether/testing';

// The live dashboard: its page over HTTP, its feed over /dashboard/ws for admins only.

let db: ScratchDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({ databaseUrl: db.url });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function watch(token: string | null): Promise<TestSocket> {
  const url = `${server.url.replace('http', 'ws')}/dashboard/ws`;
  const socket = new TestSocket(token ? new WebSocket(url, ['bearer', token]) : new WebSocket(url));
  await socket.opened;
  return socket;
}

describe('the dashboard', () => {
  it('serves its page and assets, and nothing else from disk', async () => {
    const page = await fetch(`${server.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/dashboard/assets/dashboard.js');
    const script = await fetch(`${server.url}/dashboard/assets/dashboard.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/dashboard/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/dashboard/assets/secret.txt`)).status).toBe(404);
  });

  it('streams snapshots to an admin, and closes with 4401 without a token and 4403 for a non-admin', async () => {
    expect((await (await watch(null)).closed).code).toBe(4401);
    const user = await registerAndLogin(server.url);
    expect((await (await watch(user.accessToken)).closed).code).toBe(4403);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("UPDATE users SET role = 'admin' WHERE id = $1", [user.id]);
    await client.end();
    const socket = await watch(user.accessToken);
    await api(server.url, '/threads', { token: user.accessToken });
    const frame = await socket.next((f) => f.type === 'snapshot');
    expect(frame).toMatchObject({ type: 'snapshot', pool: { max: expect.any(Number), breakerState: 'closed' }, sessions: { total: expect.any(Number) } });
    await socket.close();
  });
});
