import { describe, expect, it } from 'vitest';
import { api, serverForFile, registerAndLogin } from '@tether/testing';

// The HTTP contract of SPEC "Contracts": shapes, statuses and error bodies, through real HTTP and real login.

const file = serverForFile();

describe('HTTP API contract', () => {
  it('registers with 201 and the user, refuses a taken email with 409 and bad input with 400', async () => {
    const email = `Contract-${Date.now()}@Example.com`;
    const created = await api(file.server.url, '/auth/register', {
      body: { email, password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ user: { id: expect.any(String), email } });
    const taken = await api(file.server.url, '/auth/register', {
      body: { email: email.toLowerCase(), password: 'another password' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ error: { code: 'email_taken', message: expect.any(String) } });
    const bad = await api(file.server.url, '/auth/register', { body: { email: 'not-an-email', password: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request', message: expect.stringMatching(/^email: /) } });
    const notJson = await fetch(`${file.server.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('logs in with 200 and the token pair, and answers a wrong password with 401', async () => {
    const user = await registerAndLogin(file.server.url);
    expect(user.accessToken.split('.')).toHaveLength(3);
    expect(user.refreshToken).toMatch(new RegExp(`^${user.sessionId}\\.`));
    expect(user.expiresIn).toBe(900);
    const wrong = await api(file.server.url, '/auth/login', {
      body: { email: user.email, password: 'wrong password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 'invalid_credentials', message: expect.any(String) } });
    const nobody = await api(file.server.url, '/auth/login', {
      body: { email: 'nobody@example.com', password: 'whatever1' },
    });
    expect(nobody.status).toBe(401);
  });

  it('creates, lists and reads threads and messages, oldest message first', async () => {
    const user = await registerAndLogin(file.server.url);
    const token = user.accessToken;
    const thread = await api<{ id: string; title: string; createdAt: string }>(file.server.url, '/threads', {
      token,
      body: { title: 'Plans' },
    });
    expect(thread.status).toBe(201);
    expect(thread.body).toEqual({ id: expect.any(String), title: 'Plans', createdAt: expect.any(String) });
    expect(new Date(thread.body.createdAt).toISOString()).toBe(thread.body.createdAt);

    const listed = await api(file.server.url, '/threads', { token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [thread.body] });
    expect((await api(file.server.url, `/threads/${thread.body.id}`, { token })).body).toEqual(thread.body);

    for (const content of ['first', 'second', 'third']) {
      const posted = await api(file.server.url, `/threads/${thread.body.id}/messages`, { token, body: { content } });
      expect(posted.status).toBe(201);
      expect(posted.body).toEqual({
        id: expect.any(String),
        threadId: thread.body.id,
        content,
        createdAt: expect.any(String),
      });
    }
    const messages = await api<{ items: Array<{ content: string }> }>(
      file.server.url,
      `/threads/${thread.body.id}/messages`,
      { token },
    );
    expect(messages.status).toBe(200);
    expect(messages.body.items.map((m) => m.content)).toEqual(['first', 'second', 'third']);
  });

  it('answers a missing thread with 404 and bad bodies with 400', async () => {
    const { accessToken: token } = await registerAndLogin(file.server.url);
    expect((await api(file.server.url, '/threads/00000000-0000-4000-8000-000000000000', { token })).status).toBe(404);
    expect((await api(file.server.url, '/threads/not-a-uuid', { token })).status).toBe(404);
    const noTitle = await api(file.server.url, '/threads', { token, body: { title: '   ' } });
    expect(noTitle.status).toBe(400);
    expect(noTitle.body).toMatchObject({ error: { code: 'invalid_request', message: 'title: must not be empty' } });
    const thread = await api<{ id: string }>(file.server.url, '/threads', { token, body: { title: 't' } });
    const noContent = await api(file.server.url, `/threads/${thread.body.id}/messages`, { token, body: {} });
    expect(noContent.status).toBe(400);
    expect(noContent.body).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/^content: /) },
    });
    expect((await api(file.server.url, '/no/such/route', { token })).status).toBe(404);
  });

  it('stores a retried message with the same Idempotency-Key once', async () => {
    const { accessToken: token } = await registerAndLogin(file.server.url);
    const thread = await api<{ id: string }>(file.server.url, '/threads', { token, body: { title: 'retries' } });
    const headers = { 'idempotency-key': 'client-key-1' };
    const first = await api<{ id: string }>(file.server.url, `/threads/${thread.body.id}/messages`, {
      token,
      body: { content: 'once' },
      headers,
    });
    const again = await api<{ id: string }>(file.server.url, `/threads/${thread.body.id}/messages`, {
      token,
      body: { content: 'once' },
      headers,
    });
    expect(first.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    const messages = await api<{ items: unknown[] }>(file.server.url, `/threads/${thread.body.id}/messages`, { token });
    expect(messages.body.items).toHaveLength(1);
  });

  it('requires a bearer token on every thread route', async () => {
    for (const [method, path] of [
      ['GET', '/threads'],
      ['POST', '/threads'],
      ['GET', '/threads/00000000-0000-4000-8000-000000000000/messages'],
    ] as const) {
      const response = await api(file.server.url, path, {
        method,
        ...(method === 'POST' ? { body: { title: 'x' } } : {}),
      });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ error: { code: 'token_missing' } });
    }
  });

  it('serves /health, /ready and Prometheus /metrics', async () => {
    expect((await api(file.server.url, '/health')).body).toMatchObject({ status: 'ok' });
    const ready = await api(file.server.url, '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', breakerState: 'closed' });
    const metrics = await fetch(`${file.server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^tether_pool_connections_active \d+$/m);
    expect(text).toMatch(/^tether_pool_connection_acquire_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^tether_user_sessions\{state="active"\} \d+$/m);
  });
});
