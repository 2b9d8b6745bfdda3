import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { api, nestedJson, openSocket, registerAndLogin, serverForFile, type LoggedInUser } from '@tether/testing';

// Deeply nested JSON must be refused before a value is built: a 1 MiB body of 524,000 nested arrays once cost
// 185–340 ms of the main thread to parse (and then was refused anyway), so four anonymous connections sending it
// stalled every other client. The server runs in this process: its event loop is the one measured here.

const file = serverForFile();
/** `{"email": [[[…]]]}`, 1 MiB: the body of the report. */
const NESTED_BODY = `{"email":${nestedJson(524_000)}}`;
const ABUSE_MS = 3_000;
/** `{"email": "xxx…"}`, 1 MiB: what reading and parsing a body of the size limit costs anyway. */
const FLAT_BODY = `{"email":"${'x'.repeat(NESTED_BODY.length - 12)}"}`;

/**
 * A nested body may cost what a flat one of the same size costs, never what building a 524,000-level value costs
 * (about 20 times more before the depth limit). Both are measured in the same run: the machine may be loaded.
 */
function expectNoWorseThanFlat(nested: Measured, flat: Measured, what: string): void {
  const detail =
    `${what}: event-loop delay p99 ${nested.stallP99Ms.toFixed(1)} ms nested ` +
    `vs ${flat.stallP99Ms.toFixed(1)} ms flat; ${nested.sent} vs ${flat.sent} sent`;
  expect(nested.stallP99Ms, detail).toBeLessThan(Math.max(2 * flat.stallP99Ms, flat.stallP99Ms + 25));
  expect(nested.sent, detail).toBeGreaterThanOrEqual(flat.sent / 2);
}

interface Measured {
  readonly stallP99Ms: number;
  readonly sent: number;
}

/** Four connections sending back to back for ABUSE_MS while the event loop's delay is sampled. */
async function abuse(send: () => Promise<void>): Promise<Measured> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const until = Date.now() + ABUSE_MS;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        await send();
        sent++;
      }
    }),
  );
  delay.disable();
  return { stallP99Ms: delay.percentile(99) / 1e6, sent };
}

describe('deeply nested JSON', () => {
  it('an HTTP body nested 524,000 levels deep is a 400 nesting_too_deep and does not stall the loop', async () => {
    const codes = new Set<string>();
    const register = (body: string) => async (): Promise<void> => {
      const response = await fetch(`${file.server.url}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(400);
      codes.add(((await response.json()) as { error: { code: string } }).error.code);
    };
    const flat = await abuse(register(FLAT_BODY));
    codes.clear();
    const nested = await abuse(register(NESTED_BODY));
    expectNoWorseThanFlat(nested, flat, 'HTTP');
    expect([...codes]).toEqual(['nesting_too_deep']);
  });

  it('JSON within the depth limit is still parsed (64 levels of unknown fields are ignored)', async () => {
    const user: LoggedInUser = await registerAndLogin(file.server.url);
    const within = JSON.parse(`{"title":"deep but allowed","extra":${nestedJson(63)}}`) as object;
    expect((await api(file.server.url, '/threads', { token: user.accessToken, body: within })).status).toBe(201);
    const beyond = await fetch(`${file.server.url}/threads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: `{"title":"too deep","extra":${nestedJson(64)}}`,
    });
    expect(beyond.status).toBe(400);
    expect(((await beyond.json()) as { error: { code: string } }).error.code).toBe('nesting_too_deep');
  });

  it('a WebSocket frame nested 524,000 levels deep gets an error frame at once; the socket stays open', async () => {
    const user = await registerAndLogin(file.server.url);
    const sockets = await Promise.all(Array.from({ length: 4 }, () => openSocket(file.server.wsUrl, user.accessToken)));
    let next = 0;
    const codes = new Set<string>();
    const nestedPayload = nestedJson(524_000);
    const flatPayload = `"${'x'.repeat(nestedPayload.length - 2)}"`;
    const ping = (payload: string) => async (): Promise<void> => {
      const socket = sockets[next++ % sockets.length];
      if (!socket) throw new Error('no socket');
      const id = `big-${next}`;
      const answer = socket.next((f) => f.id === id || (f.type === 'error' && f.id === undefined), 10_000);
      socket.send(`{"type":"ping","id":"${id}","payload":${payload}}`);
      const frame = await answer;
      codes.add(frame.type === 'error' ? String(frame.code) : frame.type);
    };
    const flat = await abuse(ping(flatPayload));
    expect([...codes]).toEqual(['pong']);
    codes.clear();
    const nested = await abuse(ping(nestedPayload));
    expectNoWorseThanFlat(nested, flat, 'WebSocket');
    expect([...codes]).toEqual(['nesting_too_deep']);
    for (const socket of sockets) expect((await socket.request({ type: 'ping' })).type).toBe('pong');
    await Promise.all(sockets.map((s) => s.close()));
  });
});
