import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  openSocket,
  registerAndLogin,
  startTestServer,
  TEST_SECRET,
  type LoggedInUser,
  type ScratchDatabase,
  type TestServer,
} from '@tether/testing';

// What an attacker might try, through real HTTP and real WebSockets: forged, tampered, expired and revoked
// tokens, a reused refresh token, and someone else's data.

let db: ScratchDatabase;
let server: TestServer;
let alice: LoggedInUser;
let bob: LoggedInUser;
let aliceThread: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({ databaseUrl: db.url, config: { auth: { sessionCheckIntervalMs: 200 } } });
  [alice, bob] = await Promise.all([registerAndLogin(server.url), registerAndLogin(server.url)]);
  aliceThread = (
    await api<{ id: string }>(server.url, '/threads', { token: alice.accessToken, body: { title: "alice's" } })
  ).body.id;
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (user: LoggedInUser) => ({ sub: user.id, sid: user.sessionId, iss: 'tether', aud: 'tether-api' });

async function expectRejected(token: string, code: string): Promise<void> {
  const response = await api<{ error: { code: string } }>(server.url, '/threads', { token });
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe(code);
  const socket = await openSocket(server.wsUrl, token);
  expect((await socket.closed).code).toBe(4401);
}

describe('authentication cannot be forged', () => {
  it('refuses a token with alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claimsOf(alice), iat: now, exp: now + 600 })}.`;
    await expectRejected(unsigned, 'token_invalid');
  });

  it('refuses a token whose signature was tampered with, or whose claims were changed', async () => {
    const [header, payload, signature] = alice.accessToken.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    await expectRejected(`${header}.${payload}.${flipped}`, 'token_invalid');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const asBob = `${header}.${b64({ ...claims, sub: bob.id })}.${signature}`;
    await expectRejected(asBob, 'token_invalid');
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await new SignJWT({ sid: alice.sessionId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.id)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('x'.repeat(48)));
    await expectRejected(forged, 'token_invalid');
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ sid: alice.sessionId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.id)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(new TextEncoder().encode(TEST_SECRET));
    await expectRejected(expired, 'token_expired');
  });

  it('refuses a WebSocket without a token, or with garbage, with close code 4401', async () => {
    expect((await (await openSocket(server.wsUrl, null)).closed).code).toBe(4401);
    expect((await (await openSocket(server.wsUrl, 'not.a.jwt')).closed).code).toBe(4401);
  });

  it('ends a revoked session: HTTP 401 at once and its WebSocket closed with 4401 within seconds', async () => {
    const user = await registerAndLogin(server.url);
    const socket = await openSocket(server.wsUrl, user.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const started = Date.now();
    expect((await api(server.url, '/auth/logout', { token: user.accessToken, method: 'POST' })).status).toBe(204);
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expectRejected(user.accessToken, 'session_revoked');
  });

  it('revokes the session when a rotated refresh token is presented again', async () => {
    const user = await registerAndLogin(server.url);
    const rotated = await api<{ accessToken: string; refreshToken: string; sessionId: string; expiresIn: number }>(
      server.url,
      '/auth/refresh',
      { body: { refreshToken: user.refreshToken } },
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
      sessionId: user.sessionId,
    });
    expect(rotated.body.refreshToken).not.toBe(user.refreshToken);
    expect((await api(server.url, '/threads', { token: rotated.body.accessToken })).status).toBe(200);

    const reuse = await api<{ error: { code: string } }>(server.url, '/auth/refresh', {
      body: { refreshToken: user.refreshToken },
    });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('refresh_token_reused');
    // the whole session is over: the newer tokens stop working too
    expect((await api(server.url, '/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } })).status).toBe(
      401,
    );
    await expectRejected(rotated.body.accessToken, 'session_revoked');
  });

  it('refuses a malformed refresh token without revoking anything', async () => {
    const user = await registerAndLogin(server.url);
    const guess = `${user.sessionId}.${'A'.repeat(43)}`;
    expect(
      (await api<{ error: { code: string } }>(server.url, '/auth/refresh', { body: { refreshToken: guess } })).body
        .error.code,
    ).toBe('refresh_token_invalid');
    expect((await api(server.url, '/auth/refresh', { body: { refreshToken: 'nonsense' } })).status).toBe(401);
    expect((await api(server.url, '/auth/refresh', { body: {} })).status).toBe(400);
    expect((await api(server.url, '/threads', { token: user.accessToken })).status).toBe(200);
  });
});

describe('users see only their own data', () => {
  it("answers another user's thread with 404, over HTTP and WebSocket", async () => {
    expect((await api(server.url, `/threads/${aliceThread}`, { token: bob.accessToken })).status).toBe(404);
    expect((await api(server.url, `/threads/${aliceThread}/messages`, { token: bob.accessToken })).status).toBe(404);
    const post = await api<{ error: { code: string } }>(server.url, `/threads/${aliceThread}/messages`, {
      token: bob.accessToken,
      body: { content: 'intrusion' },
    });
    expect(post.status).toBe(404);
    expect(post.body.error.code).toBe('not_found');
    expect((await api<{ items: unknown[] }>(server.url, '/threads', { token: bob.accessToken })).body.items).toEqual(
      [],
    );

    const socket = await openSocket(server.wsUrl, bob.accessToken);
    expect(await socket.request({ type: 'thread.subscribe', threadId: aliceThread })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    expect(await socket.request({ type: 'message.send', threadId: aliceThread, content: 'intrusion' })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    await socket.close();
    const mine = await api<{ items: unknown[] }>(server.url, `/threads/${aliceThread}/messages`, {
      token: alice.accessToken,
    });
    expect(mine.body.items).toEqual([]);
  });

  it('keeps /admin/sessions for admins: 401 without a token, 403 for a user', async () => {
    expect((await api(server.url, '/admin/sessions')).status).toBe(401);
    const forbidden = await api<{ error: { code: string } }>(server.url, '/admin/sessions', { token: bob.accessToken });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
  });
});

describe('WebSocket frames', () => {
  it('answers bad frames with typed error frames and keeps the socket open', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken);
    socket.send('this is not json');
    expect(await socket.next((f) => f.type === 'error')).toEqual({
      type: 'error',
      code: 'invalid_frame',
      message: 'frame is not JSON',
    });
    expect(await socket.request({ type: 'teleport' })).toMatchObject({ type: 'error', code: 'invalid_frame' });
    expect(await socket.request({ type: 'message.send', threadId: aliceThread })).toMatchObject({
      type: 'error',
      code: 'invalid_request',
      message: expect.stringMatching(/^content: /),
    });
    expect(await socket.request({ type: 'thread.subscribe', threadId: 'nope' })).toMatchObject({
      type: 'error',
      code: 'invalid_request',
    });
    expect(await socket.request({ type: 'ping', id: 7 })).toEqual({ type: 'pong', id: 7 });
    // a retried send with the same client id is stored once
    const first = await socket.request({
      type: 'message.send',
      threadId: aliceThread,
      content: 'once',
      clientMessageId: 'retry-1',
    });
    const again = await socket.request({
      type: 'message.send',
      threadId: aliceThread,
      content: 'once',
      clientMessageId: 'retry-1',
    });
    expect((again.message as { id: string }).id).toBe((first.message as { id: string }).id);
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    await socket.close();
  });
});
