import pg from 'pg';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, openSocket, registerAndLogin, serverForFile, type LoggedInUser } from '@tether/testing';

// A WebSocket id is linked to its login session when the socket opens and unlinked when it closes. Opening and
// closing at once, repeated, once left 20–25 % of the ids linked for good: the unlink's UPDATE overtook the
// link's. Ids must not outlive their sockets, the array is bounded, and the sweep removes what an unlink missed.

const file = serverForFile({ limits: { websocketsPerUser: 8, ipRequestBurst: 100_000, ipRequestsPerSecond: 100_000 } });
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: file.db.url });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
});

const linked = async (sessionId: string): Promise<string[]> =>
  (await admin.query<{ websocket_ids: string[] }>('SELECT websocket_ids FROM auth_sessions WHERE id = $1', [sessionId]))
    .rows[0]?.websocket_ids ?? [];

async function listedIds(user: LoggedInUser): Promise<string[]> {
  const { body } = await api<{ items: Array<{ id: string; websocketIds: string[] }> }>(
    file.server.url,
    '/auth/sessions',
    { token: user.accessToken },
  );
  return body.items.find((s) => s.id === user.sessionId)?.websocketIds ?? ['(session not listed)'];
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${file.server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

/** Opens a socket and closes it the moment it is open: the close races the link. */
function openAndCloseAtOnce(token: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${file.server.wsUrl}?access_token=${encodeURIComponent(token)}`);
    ws.on('open', () => ws.close(1000));
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

describe('WebSocket links of a login session', () => {
  it('opening and closing sockets at once, 300 times, leaves no id linked (API and metric back to 0)', async () => {
    const user = await registerAndLogin(file.server.url);
    for (let round = 0; round < 50; round++)
      await Promise.all(Array.from({ length: 6 }, () => openAndCloseAtOnce(user.accessToken)));
    const settled = await eventually(
      async () => (await metric('tether_websocket_connections')) === 0 && (await linked(user.sessionId)).length === 0,
      15_000,
      100,
    );
    expect(settled, `still linked: ${(await linked(user.sessionId)).length} ids`).toBe(true);
    expect(await listedIds(user)).toEqual([]);
    expect(await metric('tether_user_sessions_websockets_linked')).toBe(0);
  });

  it('keeps at most limits.websocketsPerUser ids per login session, the newest', async () => {
    const user = await registerAndLogin(file.server.url);
    const { logins } = file.server.server;
    const ids = Array.from({ length: 20 }, (_, i) => `elsewhere:${i + 1}`);
    for (const id of ids) await logins.linkWebSocket(user.id, user.sessionId, id, 8);
    expect(await linked(user.sessionId)).toEqual(ids.slice(-8));
  });

  it("the sweep removes this instance's ids of closed sockets, keeps open ones and other instances' ids", async () => {
    // the closed socket is another login's: its own link and unlink may land after this login's socket opened, and
    // this login's row must hold the open socket's id alone when the test reads it
    const other = await registerAndLogin(file.server.url);
    await openAndCloseAtOnce(other.accessToken);
    const user = await registerAndLogin(file.server.url);
    const open = await openSocket(file.server.wsUrl, user.accessToken);
    expect(await eventually(async () => (await linked(user.sessionId)).length === 1)).toBe(true);
    const [openId = ''] = await linked(user.sessionId);
    const [instance, n] = openId.split(':');
    expect(instance).toBe(file.server.server.instanceId);
    // an unlink lost (say, to a database outage) leaves a closed socket's id behind: the one opened just before
    const lost = `${instance}:${Number(n) - 1}`;
    await admin.query('UPDATE auth_sessions SET websocket_ids = websocket_ids || $2::text[] WHERE id = $1', [
      user.sessionId,
      [lost, 'other-instance:7'],
    ]);
    expect(await listedIds(user)).toContain(lost);
    await file.server.server.logins.sweep();
    expect((await linked(user.sessionId)).sort()).toEqual([openId, 'other-instance:7'].sort());
    await open.close();
    expect(await eventually(async () => (await linked(user.sessionId)).length === 1)).toBe(true);
  });
});
