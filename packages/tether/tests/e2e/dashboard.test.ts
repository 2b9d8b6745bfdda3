import pg from 'pg';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { api, serverForFile, registerAndLogin, TestSocket } from '@tether/testing';

// The live dashboard: its page over HTTP, its feed over /dashboard/ws for admins only.

const file = serverForFile();

async function watch(token: string | null): Promise<TestSocket> {
  const url = `${file.server.url.replace('http', 'ws')}/dashboard/ws`;
  const socket = new TestSocket(token ? new WebSocket(url, ['bearer', token]) : new WebSocket(url));
  await socket.opened;
  return socket;
}

describe('the dashboard', () => {
  it('serves its page and assets, and nothing else from disk', async () => {
    const page = await fetch(`${file.server.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/dashboard/assets/dashboard.js');
    const script = await fetch(`${file.server.url}/dashboard/assets/dashboard.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    // every module the page's script imports is served as JavaScript (a browser refuses a module of another type)
    const imported = [...(await script.text()).matchAll(/from '\.\/([\w-]+\.js)'/g)].map((m) => m[1]);
    expect(imported.length).toBeGreaterThan(0);
    for (const name of imported) {
      const module = await fetch(`${file.server.url}/dashboard/assets/${name}`);
      expect([name, module.status, module.headers.get('content-type')]).toEqual([
        name,
        200,
        expect.stringMatching(/javascript/),
      ]);
    }
    expect((await fetch(`${file.server.url}/dashboard/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${file.server.url}/dashboard/assets/secret.txt`)).status).toBe(404);
  });

  it('streams snapshots to an admin, and closes with 4401 without a token and 4403 for a non-admin', async () => {
    expect((await (await watch(null)).closed).code).toBe(4401);
    const user = await registerAndLogin(file.server.url);
    expect((await (await watch(user.accessToken)).closed).code).toBe(4403);

    const client = new pg.Client({ connectionString: file.db.url });
    await client.connect();
    await client.query("UPDATE users SET role = 'admin' WHERE id = $1", [user.id]);
    await client.end();
    const socket = await watch(user.accessToken);
    await api(file.server.url, '/threads', { token: user.accessToken });
    const frame = await socket.next((f) => f.type === 'snapshot');
    expect(frame).toMatchObject({
      type: 'snapshot',
      pool: { max: expect.any(Number), breakerState: 'closed' },
      sessions: { total: expect.any(Number) },
    });
    await socket.close();
  });
});
