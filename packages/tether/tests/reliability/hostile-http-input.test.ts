import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  login,
  nestedJson,
  rawRequest,
  registerAndLogin,
  startTestServer,
  type LoggedInUser,
  type RawRequest,
  type RawResponse,
  type ScratchDatabase,
  type TestServer,
} from '@tether/testing';

// Hostile HTTP input, property-based (fast-check), against the real server on a real database: whatever a client
// sends, every route answers 2xx or a documented 4xx with {"error":{"code","message"}}, never a 5xx while the
// database is up, and the process keeps serving. Bodies and URLs have limits; SQL-looking text is data.

const BODY_LIMIT = 1_048_576; // the default server.bodyLimitBytes
const RUNS = Number(process.env.TETHER_FUZZ_RUNS ?? 200);

/** Every code a 4xx of this server may carry (SPEC's HTTP contract plus fastify's client errors, mapped). */
const CLIENT_ERROR_CODES = new Set([
  'invalid_request',
  'invalid_credentials',
  'token_missing',
  'token_invalid',
  'token_expired',
  'session_revoked',
  'session_expired',
  'refresh_token_invalid',
  'refresh_token_reused',
  'forbidden',
  'not_found',
  'email_taken',
  'session_limit_reached',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'method_not_allowed',
  'request_header_fields_too_large',
  'uri_too_long',
  'nesting_too_deep',
]);

let db: ScratchDatabase;
let server: TestServer;
let alice: LoggedInUser;
/** Logout with a valid body ends the session: that route runs as this user, logged in again after each 204. */
let leaver: LoggedInUser;
let aliceThread: string;
let requests = 0;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({ databaseUrl: db.url, config: { auth: { loginAttemptsPerMinute: 100_000 } } });
  [alice, leaver] = await Promise.all([registerAndLogin(server.url), registerAndLogin(server.url)]);
  aliceThread = (
    await api<{ id: string }>(server.url, '/threads', { token: alice.accessToken, body: { title: 'fuzz target' } })
  ).body.id;
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

/**
 * Error-level log records: a 500's "request failed", a crash, a driver error. A caller's own mistake (a 404, a bad
 * field) is logged at info: no client can fill the error log at will.
 */
function serverErrors(): unknown[] {
  return server.logs.filter((l) => l.level >= 50);
}

/** Writes `raw` bytes to a new TCP connection and returns everything the server wrote back before closing. */
function rawExchange(raw: string): Promise<string> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(raw));
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(raw)}`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks).toString()) : reject(e)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

function describeRequest(r: RawRequest): string {
  const text = String(r.body);
  const body =
    r.body === undefined
      ? ''
      : ` body=${JSON.stringify(text.slice(0, 200))}${text.length > 200 ? `… (${text.length} chars)` : ''}`;
  return `${r.method ?? 'GET'} ${r.path.slice(0, 200)} headers=${JSON.stringify(r.headers ?? {}).slice(0, 300)}${body}`;
}

/** The one property of every answer: 2xx/3xx, or a 4xx with the documented error body and a known code. */
function assertHandled(request: RawRequest, response: RawResponse): void {
  const what = `${describeRequest(request)} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, what).toBeGreaterThanOrEqual(200);
  expect(response.status, what).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.json, what).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    const code = (response.json as { error: { code: string } }).error.code;
    expect(CLIENT_ERROR_CODES.has(code), `unknown error code ${code}: ${what}`).toBe(true);
  }
}

async function send(request: RawRequest): Promise<RawResponse> {
  requests++;
  const response = await rawRequest(server.url, request);
  assertHandled(request, response);
  if (request.path === '/auth/logout' && response.status === 204)
    Object.assign(leaver, await login(server.url, leaver.email, leaver.password));
  return response;
}

const json = (body: unknown, extra: Record<string, string> = {}): Pick<RawRequest, 'body' | 'headers'> => ({
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...extra },
});
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

// ---- arbitraries -------------------------------------------------------------------------------------------

const SQLISH = [
  "'); DROP TABLE users;--",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)--',
  "admin'--",
  "\\'; TRUNCATE threads CASCADE; --",
  '$1 $2 $$ $$; DELETE FROM messages; $$',
  "%' UNION SELECT password_hash FROM users --",
  "'; COPY users TO '/tmp/x'; --",
  "E'\\x00'",
  "current_setting('app.user_id')",
];
const ODD_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufeff',
  '\u202e\u202d',
  'e\u0301',
  '👩‍👩‍👧‍👦',
  'ﷺ',
  '\u2028\u2029',
  '\r\n\t',
  ' ',
  '   ',
  'Ω≈ç√∫',
  '𝕿𝖊𝖙𝖍𝖊𝖗',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
];
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Text PostgreSQL cannot store as sent: NUL, or UTF-16 that is not Unicode (an unpaired surrogate). */
const unrepresentable = (text: string): boolean => text.includes('\u0000') || LONE_SURROGATE.test(text);
const LIMIT_LENGTHS = [199, 200, 201, 319, 320, 321, 511, 512, 513, 1023, 1024, 1025, 9_999, 10_000, 10_001, 100_000];

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...SQLISH, ...ODD_TEXT),
  fc.emailAddress(),
  fc.tuple(fc.constantFrom(...LIMIT_LENGTHS), fc.constantFrom('x', 'é', '😀', ' ')).map(([n, c]) => c.repeat(n)),
);
const hostileValue = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}, [''], { $ne: null }),
);
/** Bodies that use the fields the routes read, with wrong types, odd text and lengths around each limit. */
const fieldBody = fc.record(
  {
    email: hostileValue,
    password: hostileValue,
    refreshToken: hostileValue,
    title: hostileValue,
    content: hostileValue,
    all: hostileValue,
  },
  { requiredKeys: [] },
);
const anyBody = fc.oneof(
  fieldBody,
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }).map((v) => {
    try {
      return JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
    } catch {
      return null;
    }
  }),
);

const POST_ROUTES = [
  '/auth/register',
  '/auth/login',
  '/auth/refresh',
  '/auth/logout',
  '/threads',
  '/threads/:id/messages',
] as const;
const GET_ROUTES = [
  '/threads',
  '/threads/:id',
  '/threads/:id/messages',
  '/admin/sessions',
  '/auth/sessions',
  '/health',
  '/ready',
  '/metrics',
] as const;

const concrete = (route: string): string => route.replace(':id', aliceThread);
/** The token a route is fuzzed with: alice's, except for logout. */
const tokenFor = (route: string): string => (route === '/auth/logout' ? leaver.accessToken : alice.accessToken);

/** Runs `property` over `runs` generated cases, `batch` of them at a time (the server is the thing under load). */
async function fuzz<T>(
  arbitrary: fc.Arbitrary<T>,
  property: (value: T) => Promise<void>,
  runs = RUNS,
  batch = 8,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(arbitrary, { minLength: batch, maxLength: batch }), async (values) => {
      await Promise.all(values.map(property));
    }),
    { numRuns: Math.max(1, Math.ceil(runs / batch)), endOnFailure: true },
  );
}

// ---- properties --------------------------------------------------------------------------------------------

describe('hostile HTTP input', () => {
  it('every POST route answers arbitrary JSON bodies with 2xx or a documented 4xx', async () => {
    await fuzz(
      fc.tuple(fc.constantFrom(...POST_ROUTES), anyBody),
      async ([route, body]) => {
        await send({ method: 'POST', path: concrete(route), ...json(body, bearer(tokenFor(route))) });
      },
      RUNS * 4,
    );
  });

  it('the same bodies on GET routes, and unknown methods on every route, are handled', async () => {
    await fuzz(
      fc.tuple(
        fc.constantFrom(...GET_ROUTES, ...POST_ROUTES),
        fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        anyBody,
      ),
      async ([route, method, body]) => {
        const path = concrete(route);
        if (method === 'HEAD') {
          requests++;
          const r = await rawRequest(server.url, { method, path, headers: bearer(alice.accessToken) });
          expect(r.status, `HEAD ${path}`).toBeLessThan(500);
          return;
        }
        await send({ method, path, ...json(body, bearer(tokenFor(path))) });
      },
      RUNS,
    );
  });

  it('arbitrary path parameters and query strings (../, %00, bad encoding, unicode) are a 4xx, never 5xx', async () => {
    const rawSegments = [
      '..',
      '../..',
      '..%2f..%2fetc%2fpasswd',
      '%2e%2e%2f%2e%2e',
      '%00',
      'a%00b',
      '%',
      '%ZZ',
      '%C3%28',
      '%FF%FE',
      '%E0%80%AF',
      '%ED%A0%80',
      '.',
      '%20',
      '~',
      '*',
      '$',
      "'",
      '%27%3B%20DROP%20TABLE%20threads%3B--',
      'null',
      'undefined',
      '0',
      '-1',
      '1e309',
      '00000000-0000-0000-0000-000000000000',
      'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
      `${'a'.repeat(8)}-aaaa-aaaa-aaaa-${'a'.repeat(12)}`,
      'x'.repeat(4_000),
      '%41'.repeat(2_000),
    ];
    const segment = fc.oneof(
      fc.constantFrom(...rawSegments),
      fc.string({ unit: 'binary', maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom(...SQLISH, ...ODD_TEXT.filter((t) => !LONE_SURROGATE.test(t))).map(encodeURIComponent),
      fc.uuid().map((u) => u.toUpperCase()),
    );
    const query = fc.oneof(
      fc.constant(''),
      fc
        .tuple(
          fc.constantFrom('limit', 'after', 'limit[]', 'after[x]', '__proto__', 'constructor[prototype][x]'),
          segment,
        )
        .map(([k, v]) => `?${k}=${v}`),
      fc.tuple(segment, segment).map(([a, b]) => `?limit=${a}&after=${b}&limit=${b}`),
    );
    const templates = [
      '/threads/{}',
      '/threads/{}/messages',
      '/dashboard/assets/{}',
      '/{}',
      '/threads/{}/{}',
      '/auth/{}',
      '/admin/{}',
    ];
    await fuzz(
      fc.tuple(fc.constantFrom(...templates), segment, query, fc.constantFrom('GET', 'POST')),
      async ([template, s, q, method]) => {
        const path = template.replaceAll('{}', s) + q;
        await send({
          method,
          path,
          ...(method === 'POST'
            ? json({ content: 'x', title: 'x' }, bearer(alice.accessToken))
            : { headers: bearer(alice.accessToken) }),
        });
      },
      RUNS * 2,
    );
  });

  it('bad Authorization headers (garbage, alg none, huge) are a 401 with a token code on every route', async () => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const [h, p, s] = alice.accessToken.split('.') as [string, string, string];
    const aliceClaims = { sub: alice.id, sid: alice.sessionId, iss: 'tether', aud: 'tether-api' };
    const tokens = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...aliceClaims, exp: now + 600 })}.`,
      `${b64({ alg: 'none' })}.${p}.`,
      `${b64({ alg: 'HS512', typ: 'JWT' })}.${p}.${s}`,
      `${b64({ alg: 'RS256', typ: 'JWT' })}.${p}.${s}`,
      `${h}.${p}.`,
      `${h}.${p}`,
      `${h}..${s}`,
      `${h}.${b64({ sub: alice.id, sid: "' OR 1=1 --", iss: 'tether', aud: 'tether-api', exp: now + 600 })}.${s}`,
      'a'.repeat(8_000),
      `${h}.${'A'.repeat(7_000)}.${s}`,
      '...',
      '.',
      'null',
      'undefined',
      '%00',
      'e30.e30.e30',
    ];
    const header = fc.oneof(
      fc.constantFrom(...tokens).map((t) => `Bearer ${t}`),
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((t) => `Bearer ${t}`),
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'bearer  x',
        'Basic YWxpY2U6cGFzc3dvcmQ=',
        `Token ${alice.accessToken}`,
        `Bearer ${alice.accessToken} extra`,
        `${alice.accessToken}`,
      ),
    );
    const authenticated = [
      'POST /auth/logout',
      'POST /threads',
      'GET /threads',
      'GET /threads/:id',
      'POST /threads/:id/messages',
      'GET /threads/:id/messages',
      'GET /admin/sessions',
      'GET /auth/sessions',
    ];
    await fuzz(
      fc.tuple(fc.constantFrom(...authenticated), header),
      async ([route, authorization]) => {
        const [method, path] = route.split(' ') as [string, string];
        const r = await send({
          method,
          path: concrete(path),
          ...(method === 'POST'
            ? json({ title: 't', content: 'c' }, { authorization })
            : { headers: { authorization } }),
        });
        expect(r.status, `${route} with Authorization ${authorization.slice(0, 120)}`).toBe(401);
        expect(['token_missing', 'token_invalid', 'token_expired']).toContain(
          (r.json as { error: { code: string } }).error.code,
        );
      },
      RUNS * 2,
    );
    // alice's own session was never touched
    expect((await api(server.url, '/threads', { token: alice.accessToken })).status).toBe(200);
  });

  it('non-JSON types and invalid JSON are a 415 or 400; odd X-Request-Id / Idempotency-Key are handled', async () => {
    const contentType = fc.constantFrom(
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/jsonx',
      'application/vnd.api+json',
      'JSON',
      '*/*',
      ';',
      'application/json;',
    );
    const invalidJson = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }).filter((t) => {
        try {
          JSON.parse(t);
          return false;
        } catch {
          return true;
        }
      }),
      fc.constantFrom(
        '{',
        '{"title":',
        '{"title": "x",}',
        "{'title': 'x'}",
        '{"title": NaN}',
        '{"a":1}{"b":2}',
        '\u0000',
        '\ufeff{"title":"x"}',
        '[',
        'nul',
        '"unterminated',
        '{"__proto__": {"admin": true}, "title": ',
      ),
    );
    await fuzz(
      fc.tuple(
        fc.constantFrom(...POST_ROUTES),
        contentType,
        fc.oneof(
          invalidJson,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
      ),
      async ([route, type, body]) => {
        const r = await send({
          method: 'POST',
          path: concrete(route),
          body,
          headers: { 'content-type': type, ...bearer(tokenFor(route)) },
        });
        if (!type.startsWith('application/json')) expect(r.status, `${route} as ${type}`).not.toBe(201);
      },
      RUNS,
    );
    await fuzz(
      fc.tuple(fc.constantFrom(...POST_ROUTES), invalidJson),
      async ([route, body]) => {
        const r = await send({
          method: 'POST',
          path: concrete(route),
          body,
          headers: { 'content-type': 'application/json', ...bearer(tokenFor(route)) },
        });
        // an empty (or blank) body is no body, which logout accepts
        if (body.trim() !== '') expect(r.status, `${route} with ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      },
      RUNS,
    );
    // raw bytes that are not UTF-8, declared as JSON
    for (const bytes of [
      Buffer.from([0xff, 0xfe, 0xfd]),
      Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      Buffer.alloc(64, 0),
    ]) {
      await send({
        method: 'POST',
        path: '/threads',
        body: bytes,
        headers: { 'content-type': 'application/json', ...bearer(alice.accessToken) },
      });
    }
    const headerValue = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
      fc.constantFrom('', ' ', 'x'.repeat(5_000), "'; DROP TABLE users;--"),
    );
    await fuzz(
      fc.tuple(headerValue, headerValue),
      async ([requestId, key]) => {
        await send({
          method: 'POST',
          path: concrete('/threads/:id/messages'),
          ...json(
            { content: 'idempotent?' },
            { ...bearer(alice.accessToken), 'x-request-id': requestId, 'idempotency-key': key },
          ),
        });
      },
      RUNS,
    );
  });

  it('requests the HTTP parser refuses (too large, malformed) get a 4xx in the contract shape', async () => {
    const huge = await send({
      method: 'GET',
      path: '/threads',
      headers: { ...bearer(alice.accessToken), 'x-padding': 'x'.repeat(64 * 1024) },
    });
    expect(huge.status).toBe(431);
    expect(
      await send({ method: 'GET', path: `/threads/${'a'.repeat(100_000)}`, headers: bearer(alice.accessToken) }),
    ).toMatchObject({ status: 431 });
    for (const raw of [
      'GARBAGE\r\n\r\n',
      'GET /health HTTP/9.9\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc',
      'GET /\u0000 HTTP/1.1\r\n\r\n',
      'GET /health HTTP/1.1\r\nBad Header\r\n\r\n',
    ]) {
      const answer = await rawExchange(raw);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      expect(status, `${JSON.stringify(raw)} → ${answer.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      expect(JSON.parse(body), `${JSON.stringify(raw)} → ${answer}`).toEqual({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
  });

  it(`bodies over the limit (${BODY_LIMIT} bytes) are a 413 payload_too_large, announced or streamed`, async () => {
    const big = JSON.stringify({
      title: 'x'.repeat(BODY_LIMIT),
      content: 'y',
      email: 'a@b.c',
      password: 'p',
      refreshToken: 'r',
    });
    for (const route of POST_ROUTES) {
      for (const chunked of [false, true]) {
        const r = await send({
          method: 'POST',
          path: concrete(route),
          body: big,
          chunked,
          headers: { 'content-type': 'application/json', ...bearer(tokenFor(route)) },
        });
        expect(r.status, `${route} chunked=${chunked}`).toBe(413);
        expect((r.json as { error: { code: string } }).error.code).toBe('payload_too_large');
      }
    }
    // a body just under the limit is read (and refused for what it says, not for its size)
    const under = JSON.stringify({ title: 'x'.repeat(BODY_LIMIT - 100) });
    expect(
      (
        await send({
          method: 'POST',
          path: '/threads',
          body: under,
          headers: { 'content-type': 'application/json', ...bearer(alice.accessToken) },
        })
      ).status,
    ).toBe(400);
  });

  it('deeply nested JSON (10k and 100k levels) is a 4xx, not a stack overflow', async () => {
    // (nested-json-stall.test.ts proves that refusing it costs no more than a flat body of the same size)
    for (const depth of [10_000, 100_000]) {
      for (const kind of ['array', 'object'] as const) {
        const deep = nestedJson(depth, kind);
        for (const [route, body] of [
          ['/threads', deep],
          ['/threads', `{"title": ${deep}}`],
          ['/auth/login', `{"email": "a@b.c", "password": ${deep}}`],
          ['/auth/register', `{"email": ${deep}, "password": "password123"}`],
          ['/auth/refresh', `{"refreshToken": ${deep}}`],
          ['/auth/logout', `{"all": ${deep}}`],
          ['/threads/:id/messages', `{"content": ${deep}}`],
        ] as const) {
          const r = await send({
            method: 'POST',
            path: concrete(route),
            body,
            headers: {
              'content-type': 'application/json',
              ...bearer(route === '/auth/logout' ? 'not-a-token' : alice.accessToken),
            },
          });
          expect(r.status, `${route} with ${depth} levels of ${kind}s`).toBeGreaterThanOrEqual(400);
        }
        // unknown fields are ignored, but not beyond server.maxJsonDepth: the value is never built
        const extra = await send({
          method: 'POST',
          path: concrete('/threads/:id/messages'),
          body: `{"content": "deep extra", "extra": ${deep}}`,
          headers: { 'content-type': 'application/json', ...bearer(alice.accessToken) },
        });
        expect([extra.status, (extra.json as { error: { code: string } }).error.code]).toEqual([
          400,
          'nesting_too_deep',
        ]);
      }
    }
  });

  it('stores SQL-looking and odd unicode text verbatim and reads it back unchanged (no injection)', async () => {
    const text = fc.oneof(
      fc.constantFrom(...SQLISH, ...ODD_TEXT),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
      fc.tuple(fc.constantFrom(...SQLISH), fc.string({ unit: 'grapheme', maxLength: 20 })).map(([a, b]) => a + b),
    );
    const before = (await api<{ items: unknown[] }>(server.url, '/threads', { token: alice.accessToken })).body.items
      .length;
    let stored = 0;
    await fuzz(
      fc.tuple(text, text),
      async ([title, content]) => {
        const created = await send({ method: 'POST', path: '/threads', ...json({ title }, bearer(alice.accessToken)) });
        const expected = title.trim();
        if (expected === '' || expected.length > 200) return void expect(created.status).toBe(400);
        if (created.status === 400) {
          // refused text must be text PostgreSQL cannot hold as sent (NUL, unpaired surrogates): say so, 400
          expect(unrepresentable(expected), `refused ${JSON.stringify(title)}: ${created.text}`).toBe(true);
          return;
        }
        expect(created.status, JSON.stringify(title)).toBe(201);
        stored++;
        const thread = created.json as { id: string; title: string };
        expect(thread.title).toBe(expected);
        const read = await send({ method: 'GET', path: `/threads/${thread.id}`, headers: bearer(alice.accessToken) });
        expect((read.json as { title: string }).title).toBe(expected);
        const posted = await send({
          method: 'POST',
          path: `/threads/${thread.id}/messages`,
          ...json({ content }, bearer(alice.accessToken)),
        });
        if (posted.status === 201) {
          const messages = await send({
            method: 'GET',
            path: `/threads/${thread.id}/messages`,
            headers: bearer(alice.accessToken),
          });
          expect((messages.json as { items: Array<{ content: string }> }).items.map((m) => m.content)).toEqual([
            content.trim(),
          ]);
        }
      },
      RUNS,
    );
    expect(stored).toBeGreaterThan(0);
    const exact = "'); DROP TABLE users;--";
    const created = await api<{ id: string; title: string }>(server.url, '/threads', {
      token: alice.accessToken,
      body: { title: exact },
    });
    expect(created.status).toBe(201);
    expect(
      (await api<{ title: string }>(server.url, `/threads/${created.body.id}`, { token: alice.accessToken })).body
        .title,
    ).toBe(exact);
    // the tables are all still there and alice's rows only grew
    expect(
      (await api<{ items: unknown[] }>(server.url, '/threads', { token: alice.accessToken })).body.items.length,
    ).toBeGreaterThan(before);
    expect(
      (await api(server.url, '/auth/login', { body: { email: alice.email, password: alice.password } })).status,
    ).toBe(200);
  });

  it('a flood of hostile requests leaves /health and /ready answering, with no error logged', async () => {
    const started = Date.now();
    const flood = Array.from({ length: 300 }, (_, i) => {
      const kind = i % 4;
      if (kind === 0)
        return send({
          method: 'POST',
          path: '/auth/login',
          ...json({ email: `nobody-${i}@example.com`, password: 'wrong-password' }),
        });
      if (kind === 1)
        return send({
          method: 'POST',
          path: '/threads',
          body: '{"title":',
          headers: { 'content-type': 'application/json', ...bearer(alice.accessToken) },
        });
      if (kind === 2)
        return send({
          method: 'GET',
          path: `/threads/${encodeURIComponent("' OR 1=1 --")}`,
          headers: bearer(alice.accessToken),
        });
      return send({ method: 'GET', path: '/threads', headers: { authorization: `Bearer ${'x'.repeat(2_000)}` } });
    });
    await Promise.all(flood);
    expect(Date.now() - started).toBeLessThan(30_000);
    const health = await api<{ status: string }>(server.url, '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect((await api(server.url, '/ready')).status).toBe(200);
    expect(serverErrors(), JSON.stringify(serverErrors().slice(0, 3))).toEqual([]);
    console.info(`hostile HTTP input: ${requests} requests`);
  });
});
