import { describe, expect, it } from 'vitest';
import { api, openSocket, registerAndLogin, serverForFile, type Frame } from '@tether/testing';

// The contract the server publishes about itself: OpenAPI at /openapi.json (with /docs), AsyncAPI at
// /asyncapi.json. Each document is checked against what the server really answers.

const file = serverForFile();

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: string[];
}
interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: { 'application/json': { schema: JsonSchema } }; headers?: object }> }
    >
  >;
}

const getJson = async <T>(path: string): Promise<T> => (await api<T>(file.server.url, path)).body;

/** The error codes a route documents under one status. */
function documentedCodes(doc: OpenApi, path: string, method: string, status: number): string[] {
  const response = doc.paths[path]?.[method]?.responses[String(status)];
  return response?.content?.['application/json'].schema.properties?.error?.properties?.code?.enum ?? [];
}

/** Every key of `value` is a documented property and every required property is present. */
function fitsShape(value: Record<string, unknown>, schema: JsonSchema): boolean {
  const known = Object.keys(schema.properties ?? {});
  return Object.keys(value).every((k) => known.includes(k)) && (schema.required ?? []).every((k) => k in value);
}

describe('OpenAPI at /openapi.json', () => {
  it('documents every route, with an interactive page at /docs', async () => {
    const doc = await getJson<OpenApi>('/openapi.json');
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /auth/register',
        'POST /auth/login',
        'POST /auth/refresh',
        'POST /auth/logout',
        'GET /auth/sessions',
        'POST /threads',
        'GET /threads',
        'GET /threads/{id}',
        'POST /threads/{id}/messages',
        'GET /threads/{id}/messages',
        'POST /threads/{id}/members',
        'GET /threads/{id}/members',
        'DELETE /threads/{id}/members/{userId}',
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /admin/sessions',
      ]),
    );
    const page = await fetch(`${file.server.url}/docs`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('every error the server answers is documented for its route and status', async () => {
    const doc = await getJson<OpenApi>('/openapi.json');
    const user = await registerAndLogin(file.server.url);
    const url = file.server.url;
    const cases: [string, string, number, Promise<{ status: number; body: Record<string, unknown> }>][] = [
      [
        '/auth/register',
        'post',
        409,
        api(url, '/auth/register', { body: { email: user.email, password: 'password-123' } }),
      ],
      [
        '/auth/register',
        'post',
        400,
        api(url, '/auth/register', { body: { email: 'not-an-email', password: 'password-123' } }),
      ],
      [
        '/auth/login',
        'post',
        401,
        api(url, '/auth/login', { body: { email: user.email, password: 'wrong-password' } }),
      ],
      ['/auth/refresh', 'post', 401, api(url, '/auth/refresh', { body: { refreshToken: 'not-a-token' } })],
      ['/threads', 'get', 401, api(url, '/threads')],
      ['/threads', 'post', 400, api(url, '/threads', { token: user.accessToken, body: { title: '' } })],
      [
        '/threads/{id}',
        'get',
        404,
        api(url, '/threads/00000000-0000-4000-8000-000000000000', { token: user.accessToken }),
      ],
      ['/admin/sessions', 'get', 403, api(url, '/admin/sessions', { token: user.accessToken })],
      ['/dashboard/assets/{name}', 'get', 404, api(url, '/dashboard/assets/missing.js')],
    ];
    for (const [path, method, status, answer] of cases) {
      const { status: actual, body } = await answer;
      expect(actual, `${method} ${path}`).toBe(status);
      const code = (body.error as { code: string }).code;
      expect(documentedCodes(doc, path, method, status), `${method} ${path} ${status}`).toContain(code);
    }
    // database trouble: 503 with Retry-After, on every route that reaches the database
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (['/health', '/ready', '/metrics'].includes(path) || path.startsWith('/dashboard')) continue; // no database
        expect(documentedCodes(doc, path, method, 503), `${method} ${path}`).toEqual([
          'database_unavailable',
          'circuit_open',
          'pool_exhausted',
          'session_timeout',
        ]);
        expect(operation.responses['503']?.headers, `${method} ${path}`).toHaveProperty('Retry-After');
      }
    }
  });

  it('success bodies have the documented shape', async () => {
    const doc = await getJson<OpenApi>('/openapi.json');
    const user = await registerAndLogin(file.server.url);
    const thread = await api(file.server.url, '/threads', { token: user.accessToken, body: { title: 'documented' } });
    const schema = (path: string, method: string, status: number): JsonSchema =>
      doc.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json'].schema ?? {};
    expect(fitsShape(thread.body, schema('/threads', 'post', 201))).toBe(true);
    const message = await api(file.server.url, `/threads/${thread.body.id as string}/messages`, {
      token: user.accessToken,
      body: { content: 'hi' },
    });
    expect(fitsShape(message.body, schema('/threads/{id}/messages', 'post', 201))).toBe(true);
    const login = await api(file.server.url, '/auth/login', { body: { email: user.email, password: user.password } });
    expect(fitsShape(login.body, schema('/auth/login', 'post', 200))).toBe(true);
  });
});

describe('AsyncAPI at /asyncapi.json', () => {
  interface AsyncApi {
    asyncapi: string;
    components: { messages: Record<string, { payload: JsonSchema }> };
    operations: Record<string, { action: string; reply?: { messages: { $ref: string }[] } }>;
  }

  it('describes every frame, and the frames the server sends fit it', async () => {
    const doc = await getJson<AsyncApi>('/asyncapi.json');
    expect(doc.asyncapi).toBe('3.0.0');
    const messages = doc.components.messages;
    expect(Object.keys(messages).sort()).toEqual([
      'ack',
      'error',
      'message',
      'message.send',
      'ping',
      'pong',
      'thread.subscribe',
      'thread.unsubscribe',
    ]);
    expect(doc.operations['receive message.send']?.reply?.messages.map((m) => m.$ref.split('/').pop())).toEqual([
      'ack',
      'error',
    ]);

    const user = await registerAndLogin(file.server.url);
    const thread = await api<{ id: string }>(file.server.url, '/threads', {
      token: user.accessToken,
      body: { title: 'frames' },
    });
    const socket = await openSocket(`${file.server.url.replace('http', 'ws')}/ws`, user.accessToken);
    const fits = (frame: Frame): boolean => fitsShape(frame, messages[frame.type]?.payload ?? {});
    const pong = await socket.request({ type: 'ping', id: 'p1' });
    expect(pong).toMatchObject({ type: 'pong', id: 'p1' });
    expect(fits(pong)).toBe(true);
    expect(fits(await socket.request({ type: 'thread.subscribe', id: 's1', threadId: thread.body.id }))).toBe(true);
    const ack = await socket.request({ type: 'message.send', id: 'm1', threadId: thread.body.id, content: 'hello' });
    expect(ack).toMatchObject({ type: 'ack', id: 'm1', message: { threadId: thread.body.id, content: 'hello' } });
    expect(fits(ack)).toBe(true);
    const error = await socket.request({ type: 'message.send', id: 'm2', threadId: 'nope', content: 'x' });
    expect(error).toMatchObject({ type: 'error', id: 'm2', code: 'invalid_request' });
    expect(fits(error)).toBe(true);
    await socket.close();
  });
});
