import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  login,
  openSocket,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from '@tether/testing';

// The per-user limit of concurrent login sessions, under both policies, and the login rate limit.

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length)
    await cleanup
      .pop()?.()
      .catch(() => {});
});

async function serverWith(auth: Record<string, unknown>): Promise<TestServer> {
  const db = await createScratchDatabase(inject('adminDatabaseUrl'));
  cleanup.push(() => db.drop());
  const server = await startTestServer({ databaseUrl: db.url, config: { auth } });
  cleanup.push(() => server.close());
  return server;
}

describe('per-user login session limit', () => {
  it('evicts the oldest session when a login goes past the limit, closing its WebSockets with 4401', async () => {
    const server = await serverWith({ maxSessionsPerUser: 2, sessionLimitPolicy: 'evict-oldest' });
    const first = await registerAndLogin(server.url);
    const socket = await openSocket(server.wsUrl, first.accessToken);
    const second = await login(server.url, first.email, first.password);
    const third = await login(server.url, first.email, first.password);
    expect((await socket.closed).code).toBe(4401);
    const evicted = await api<{ error: { code: string } }>(server.url, '/threads', { token: first.accessToken });
    expect(evicted.status).toBe(401);
    expect(evicted.body.error.code).toBe('session_revoked');
    expect((await api(server.url, '/threads', { token: second.accessToken })).status).toBe(200);
    expect((await api(server.url, '/threads', { token: third.accessToken })).status).toBe(200);
    const sessions = await api<{ items: Array<{ id: string; revokedReason: string | null }> }>(
      server.url,
      '/auth/sessions',
      { token: third.accessToken },
    );
    expect(sessions.body.items.find((s) => s.id === first.sessionId)?.revokedReason).toBe('session_limit');
  });

  it('refuses a login past the limit with 429 when the policy is refuse, and admits one after a logout', async () => {
    const server = await serverWith({ maxSessionsPerUser: 2, sessionLimitPolicy: 'refuse' });
    const first = await registerAndLogin(server.url);
    await login(server.url, first.email, first.password);
    const refused = await api<{ error: { code: string } }>(server.url, '/auth/login', {
      body: { email: first.email, password: first.password },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('session_limit_reached');
    expect((await api(server.url, '/threads', { token: first.accessToken })).status).toBe(200);
    expect((await api(server.url, '/auth/logout', { token: first.accessToken, method: 'POST' })).status).toBe(204);
    expect(
      (await api(server.url, '/auth/login', { body: { email: first.email, password: first.password } })).status,
    ).toBe(200);
  });

  it('limits login attempts per address with 429 and Retry-After', async () => {
    const server = await serverWith({ loginAttemptsPerMinute: 3 });
    const user = await registerAndLogin(server.url);
    const answers: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const response = await api(server.url, '/auth/login', {
        body: { email: user.email, password: 'wrong password' },
      });
      answers.push(response.status);
      retryAfter ??= response.headers.get('retry-after');
    }
    expect(answers).toEqual([401, 401, 401, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});
