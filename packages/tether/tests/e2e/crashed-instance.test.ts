import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, openSocket, registerAndLogin, serveCli, serverForFile, TEST_SECRET } from '@tether/testing';

// A server instance that crashes never unlinks its WebSockets from their login sessions; the others' sweep
// notices that its listener connection is gone and unlinks them.

const file = serverForFile();
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

describe('a crashed server instance', () => {
  it("has its WebSockets unlinked by another instance's sweep, after a second sweep confirms it is gone", async () => {
    const { server, db } = file;
    const served = await serveCli(['--host', '127.0.0.1'], { DATABASE_URL: db.url, TETHER_SECRET: TEST_SECRET });
    child = served.child;
    const childUrl = served.url;
    const user = await registerAndLogin(server.url);
    const onChild = await openSocket(`${childUrl.replace(/^http/, 'ws')}/ws`, user.accessToken);
    const onServer = await openSocket(server.wsUrl, user.accessToken);
    expect(await onChild.request({ type: 'ping' })).toMatchObject({ type: 'pong' });

    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const linked = async (): Promise<string[]> =>
        (
          await admin.query<{ websocket_ids: string[] }>('SELECT websocket_ids FROM auth_sessions WHERE id = $1', [
            user.sessionId,
          ])
        ).rows[0]?.websocket_ids ?? [];
      expect(await eventually(async () => (await linked()).length === 2, 5_000)).toBe(true);
      const ours = (await linked()).filter((id) => id.startsWith(`${server.server.instanceId}:`));
      const theirs = (await linked()).filter((id) => !id.startsWith(`${server.server.instanceId}:`));
      expect([ours.length, theirs.length]).toEqual([1, 1]);

      // alive: two sweeps leave both alone
      await server.server.logins.sweep();
      await server.server.logins.sweep();
      expect((await linked()).sort()).toEqual([...ours, ...theirs].sort());

      child?.kill('SIGKILL');
      const instance = (theirs[0] as string).split(':')[0] as string;
      expect(
        await eventually(
          async () =>
            (
              await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
                `tether-listener:${instance}`,
              ])
            ).rowCount === 0,
          5_000,
        ),
      ).toBe(true);
      await server.server.logins.sweep(); // missing once: could be a reconnect under way
      expect((await linked()).sort()).toEqual([...ours, ...theirs].sort());
      await server.server.logins.sweep(); // missing twice: gone
      expect(await linked()).toEqual(ours);
      expect(await onServer.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    } finally {
      await admin.end();
      await onServer.close();
    }
  });
});
