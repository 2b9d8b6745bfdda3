import { WebSocket } from 'ws';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  openSocket,
  registerAndLogin,
  serverForFile,
  startTestServer,
  type TestServer,
} from '@tether/testing';

// Limits per user and per address, so that no one client can take the service from the others: a per-user socket
// limit (close 4429), per-user and per-IP rate limits (429 with Retry-After; an error frame with retryAfter), and a
// per-IP limit on registrations and logins (each costs a password hash). Per-IP counting behind a proxy needs
// `server.trustProxy`; here the proxy is the test itself, naming clients in X-Forwarded-For.

const file = serverForFile({
  server: { trustProxy: true },
  limits: {
    websocketsPerUser: 3,
    userRequestsPerSecond: 2,
    userRequestBurst: 10,
    credentialAttemptsPerIpPerMinute: 20,
    credentialAttemptBurst: 20,
  },
});
const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });
const codeOf = (body: unknown): string | undefined => (body as { error?: { code?: string } }).error?.code;

describe('fair limits', () => {
  it("refuses a user's socket beyond limits.websocketsPerUser with 4429 websocket_limit_reached", async () => {
    const user = await registerAndLogin(file.server.url);
    const sockets = await Promise.all([1, 2, 3].map(() => openSocket(file.server.wsUrl, user.accessToken)));
    const refused = await openSocket(file.server.wsUrl, user.accessToken);
    expect(await refused.closed).toEqual({ code: 4429, reason: 'websocket_limit_reached' });
    const other = await registerAndLogin(file.server.url);
    const theirs = await openSocket(file.server.wsUrl, other.accessToken);
    expect((await theirs.request({ type: 'ping' })).type, 'another user is not refused').toBe('pong');
    await sockets[0]?.close();
    const again = await openSocket(file.server.wsUrl, user.accessToken);
    expect((await again.request({ type: 'ping' })).type, 'a closed socket frees its place').toBe('pong');
    await Promise.all([again, theirs, ...sockets.slice(1)].map((s) => s?.close()));
  });

  it('answers a user past the per-user rate 429 rate_limited with Retry-After, on HTTP and WebSocket', async () => {
    const [greedy, other] = await Promise.all([registerAndLogin(file.server.url), registerAndLogin(file.server.url)]);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => api(file.server.url, '/threads', { token: greedy.accessToken })),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(12);
    expect(limited.length).toBeGreaterThanOrEqual(18);
    for (const a of limited) {
      expect(codeOf(a.body)).toBe('rate_limited');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(
      (await api(file.server.url, '/threads', { token: other.accessToken })).status,
      'another user keeps its own budget',
    ).toBe(200);
    const socket = await openSocket(file.server.wsUrl, greedy.accessToken);
    const frames = await Promise.all(
      Array.from({ length: 15 }, (_, i) => socket.request({ type: 'ping', id: `p${i}` })),
    );
    const refused = frames.filter((f) => f.type === 'error');
    expect(refused.length, 'the bucket holds at most 10 (and refills 2 a second)').toBeGreaterThanOrEqual(3);
    for (const f of refused)
      expect(f).toMatchObject({
        code: 'rate_limited',
        retryAfter: expect.any(Number),
        id: expect.stringMatching(/^p\d+$/),
      });
    await socket.close();
  });

  it('keeps a refused HTTP client waiting (limits.refusalPauseMs): a retry at once costs a timer', async () => {
    const greedy = await registerAndLogin(file.server.url);
    await Promise.all(
      Array.from({ length: 12 }, () => api(file.server.url, '/threads', { token: greedy.accessToken })),
    );
    const refusals: number[] = [];
    const until = performance.now() + 2_000;
    while (performance.now() < until) {
      const started = performance.now();
      const answer = await api(file.server.url, '/threads', { token: greedy.accessToken });
      if (answer.status === 429) refusals.push(performance.now() - started);
    }
    // without the pause a client that does not wait gets hundreds of refusals in two seconds
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals.length).toBeLessThanOrEqual(5);
    for (const ms of refusals) expect(ms, 'held for half to all of the 1 s default').toBeGreaterThanOrEqual(450);
  });

  it('does not read a refused WebSocket for a while: the next frame is answered after the pause', async () => {
    const greedy = await registerAndLogin(file.server.url);
    const socket = await openSocket(file.server.wsUrl, greedy.accessToken);
    let refused: Record<string, unknown> | undefined;
    for (let i = 0; i < 30 && refused === undefined; i++) {
      const reply = await socket.request({ type: 'ping', id: `p${i}` });
      if (reply.type === 'error') refused = reply;
    }
    expect(refused, 'the burst of 10 runs out').toMatchObject({ code: 'rate_limited', retryAfter: 1 });
    const started = performance.now();
    const next = await socket.request({ type: 'ping', id: 'next' });
    expect(performance.now() - started, 'read only once the pause is over').toBeGreaterThanOrEqual(450);
    expect(next).toMatchObject({ id: 'next' });
    await socket.close();
  });

  it('closes a socket that keeps sending after it was told to wait: 4429 rate_limited', async () => {
    const greedy = await registerAndLogin(file.server.url);
    const socket = await openSocket(file.server.wsUrl, greedy.accessToken);
    for (let i = 0; i < 100; i++) socket.send({ type: 'ping', id: `f${i}` });
    expect(await socket.closed).toEqual({ code: 4429, reason: 'rate_limited' });
    const errors = socket.frames.filter((f) => f.type === 'error');
    expect(errors.length, 'refusals answered before the close').toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ code: 'rate_limited', retryAfter: 1 });
  });

  it('limits registrations and logins per address (a spray over distinct emails), not per email only', async () => {
    const sprayed = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        api(file.server.url, '/auth/login', {
          body: { email: `nobody-${i}@example.com`, password: 'wrong-password' },
          headers: from('203.0.113.9'),
        }),
      ),
    );
    expect(sprayed.filter((a) => a.status === 401)).toHaveLength(20);
    const limited = sprayed.filter((a) => a.status === 429);
    expect(limited).toHaveLength(5);
    expect(new Set(limited.map((a) => codeOf(a.body)))).toEqual(new Set(['rate_limited']));
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const register = await api(file.server.url, '/auth/register', {
      body: { email: 'late@example.com', password: 'password123' },
      headers: from('203.0.113.9'),
    });
    expect(register.status, 'registration shares the budget').toBe(429);
    const elsewhere = await api(file.server.url, '/auth/login', {
      body: { email: 'nobody@example.com', password: 'wrong-password' },
      headers: from('198.51.100.4'),
    });
    expect(elsewhere.status, 'another address is not held up').toBe(401);
  });
});

describe('the per-IP request limit', () => {
  let server: TestServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('answers an address past limits.ipRequestBurst 429 before reading the body, upgrades included', async () => {
    const db = await createScratchDatabase(inject('adminDatabaseUrl'));
    drop = () => db.drop();
    server = await startTestServer({
      databaseUrl: db.url,
      // no refusal pause: held 429s would let the bucket refill before the upgrade below
      config: { limits: { ipRequestsPerSecond: 1, ipRequestBurst: 5, refusalPauseMs: 0 } },
    });
    const answers = await Promise.all(Array.from({ length: 8 }, () => api(server!.url, '/health')));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const limited = answers.find((a) => a.status === 429);
    expect(codeOf(limited?.body)).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const upgrade = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
      const ws = new WebSocket(`${server!.url.replace(/^http/, 'ws')}/ws`);
      ws.on('unexpected-response', (_request, response) => {
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
        ws.terminate();
      });
      ws.on('open', () => resolve({ status: 101, retryAfter: undefined }));
      ws.on('error', () => {});
    });
    expect(upgrade.status).toBe(429);
    expect(Number(upgrade.retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
