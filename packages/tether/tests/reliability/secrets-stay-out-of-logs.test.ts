import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  openSocket,
  rawRequest,
  startTestServer,
  TEST_SECRET,
  type ApiResponse,
  type ScratchDatabase,
  type TestServer,
} from '@tether/testing';

// No password, password hash, access or refresh token, or signing secret in any log line (captured at trace level,
// the most the server can say) or in any response body that is not the one handing the token out. The server is
// driven through register, logins right and wrong, refresh (and its reuse), WebSockets, logout and a range of
// errors, including ones whose request carried the secret.

let db: ScratchDatabase;
let server: TestServer;
let admin: pg.Client;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({
    databaseUrl: db.url,
    config: { logLevel: 'trace', auth: { loginAttemptsPerMinute: 4 } },
  });
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await server?.close();
  await db?.drop();
});

describe('secrets stay out of logs and responses', () => {
  it('after a tour of the API, no log line or other response carries a password, hash, token or secret', async () => {
    const email = 'secret-keeper@example.com';
    const password = 'correct horse battery staple 7f3a';
    const wrongPassword = 'wrong horse battery staple 9c1e';
    /** Responses that must not carry any secret; those that hand tokens out are checked for the rest only. */
    const responses: Array<{ what: string; text: string; tokensAllowed: boolean }> = [];
    const call = async (
      what: string,
      path: string,
      options: Parameters<typeof api>[2] = {},
      tokensAllowed = false,
    ): Promise<ApiResponse> => {
      const r = await api(server.url, path, options);
      responses.push({ what, text: typeof r.body === 'string' ? r.body : JSON.stringify(r.body), tokensAllowed });
      return r;
    };

    expect((await call('register', '/auth/register', { body: { email, password } })).status).toBe(201);
    await call('register again', '/auth/register', { body: { email, password } });
    await call('register with the password as the email', '/auth/register', { body: { email: password, password } });
    await call('wrong password', '/auth/login', { body: { email, password: wrongPassword } });
    await call('unknown user', '/auth/login', { body: { email: 'nobody@example.com', password } });
    const first = await call('login', '/auth/login', { body: { email, password } }, true);
    expect(first.status).toBe(200);
    const tokens = first.body as { accessToken: string; refreshToken: string; sessionId: string };
    const rotated = await call('refresh', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } }, true);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body as { accessToken: string; refreshToken: string };
    const second = (await call('second login', '/auth/login', { body: { email, password } }, true)).body as {
      accessToken: string;
      refreshToken: string;
    };
    const accessTokens = [tokens.accessToken, fresh.accessToken, second.accessToken];
    const refreshTokens = [tokens.refreshToken, fresh.refreshToken, second.refreshToken];

    // authenticated use, and errors whose requests carry secrets
    const thread = (await call('create thread', '/threads', { token: second.accessToken, body: { title: 'secrets' } }))
      .body as { id: string };
    await call('post message', `/threads/${thread.id}/messages`, {
      token: second.accessToken,
      body: { content: 'hello' },
    });
    await call('list sessions', '/auth/sessions', { token: second.accessToken });
    await call('metrics', '/metrics');
    await admin.query("UPDATE users SET role = 'admin' WHERE email = $1", [email]);
    await call('admin sessions', '/admin/sessions', { token: second.accessToken });
    await call('token in a path', `/threads/${second.accessToken}`, { token: second.accessToken });
    await call(
      'refresh token in a query',
      `/threads/${thread.id}/messages?after=${encodeURIComponent(second.refreshToken)}`,
      { token: second.accessToken },
    );
    await call('password as a title too long', '/threads', {
      token: second.accessToken,
      body: { title: password.repeat(10) },
    });
    await call('tampered token', '/threads', { token: `${second.accessToken.slice(0, -4)}AAAA` });
    await call('refresh token as access token', '/threads', { token: second.refreshToken });
    await call('access token as refresh token', '/auth/refresh', { body: { refreshToken: second.accessToken } });
    const broken = await rawRequest(server.url, {
      method: 'POST',
      path: '/auth/login',
      body: `{"email":"${email}","password":"${password}`,
      headers: { 'content-type': 'application/json' },
    });
    responses.push({ what: 'login with broken JSON', text: broken.text, tokensAllowed: false });
    const typed = await rawRequest(server.url, {
      method: 'POST',
      path: '/auth/login',
      body: `email=${email}&password=${password}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    responses.push({ what: 'login as a form', text: typed.text, tokensAllowed: false });
    for (let i = 0; i < 5; i++)
      await call('rate limited login', '/auth/login', { body: { email, password: wrongPassword } });
    await call('password too long', '/auth/login', {
      body: { email: 'other@example.com', password: password.repeat(100) },
    });

    // WebSockets: the token in the query and as a subprotocol; frames that carry secrets
    const socket = await openSocket(server.wsUrl, second.accessToken);
    const viaProtocol = await openSocket(server.wsUrl, second.accessToken, 'protocol');
    expect(await socket.request({ type: 'thread.subscribe', threadId: thread.id })).toMatchObject({ type: 'ack' });
    await socket.request({ type: 'message.send', threadId: thread.id, content: 'over ws' });
    await socket.request({ type: 'message.send', threadId: second.refreshToken, content: password });
    await socket.request({ type: 'ping', id: second.accessToken.slice(0, 200) });
    socket.send(`not json ${password} ${second.accessToken}`);
    await socket.next((f) => f.type === 'error' && !('id' in f));
    expect(await viaProtocol.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    for (const f of [...socket.frames, ...viaProtocol.frames])
      responses.push({ what: 'ws frame', text: JSON.stringify(f), tokensAllowed: false });
    const refused = await openSocket(server.wsUrl, `${second.accessToken.slice(0, -4)}AAAA`);
    expect((await refused.closed).code).toBe(4401);

    // reuse of a rotated refresh token (revokes the session and closes its sockets), then logout
    await call('refresh reuse', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } });
    await call('logout', '/auth/logout', { token: second.accessToken, body: { all: true } });
    await call('after logout', '/threads', { token: second.accessToken });
    await Promise.all([socket.closed, viaProtocol.closed]);

    // what is secret, read from the database where the server keeps it
    const { rows } = await admin.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [
      email,
    ]);
    const hash = rows[0]!.password_hash;
    const { rows: sessions } = await admin.query<{
      refresh_token_hash: string;
      rotated_refresh_token_hashes: string[];
    }>('SELECT refresh_token_hash, rotated_refresh_token_hashes FROM auth_sessions');
    const secrets: Array<[string, string, 'token' | 'other']> = [
      ['the password', password, 'other'],
      ['the wrong password', wrongPassword, 'other'],
      ['the password hash', hash, 'other'],
      ['the password hash key', hash.split('$')[5]!, 'other'],
      ['the password hash salt', hash.split('$')[4]!, 'other'],
      ['the signing secret', TEST_SECRET, 'other'],
      ...sessions
        .flatMap((s) => [s.refresh_token_hash, ...s.rotated_refresh_token_hashes])
        .map((h): [string, string, 'other'] => ['a stored refresh token hash', h, 'other']),
      ...accessTokens.map((t): [string, string, 'token'] => ['an access token', t, 'token']),
      ...accessTokens.map((t): [string, string, 'token'] => ['an access token signature', t.split('.')[2]!, 'token']),
      ...refreshTokens.map((t): [string, string, 'token'] => [
        'a refresh token secret',
        t.slice(t.indexOf('.') + 1),
        'token',
      ]),
    ];
    expect(server.logs.length).toBeGreaterThan(20); // trace level: the server did say things
    const logText = server.logs.map((l) => JSON.stringify(l));
    const leaks: string[] = [];
    for (const [name, value, kind] of secrets) {
      expect(value.length).toBeGreaterThan(15);
      for (const line of logText) if (line.includes(value)) leaks.push(`${name} in log: ${line.slice(0, 400)}`);
      for (const r of responses)
        if (r.text.includes(value) && !(kind === 'token' && r.tokensAllowed))
          leaks.push(`${name} in response to ${r.what}: ${r.text.slice(0, 400)}`);
    }
    // the signing secret, and any token, must not appear even in pieces long enough to matter
    expect(leaks).toEqual([]);
  });
});
