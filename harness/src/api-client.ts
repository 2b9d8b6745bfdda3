import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';

/** A JSON answer from the server. */
export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** Real HTTP through `fetch`: JSON in, JSON (or text) out, never throws on a status. */
export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
  options: { method?: string; token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Prometheus text, for instance
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

/** A user who registered and logged in through the real API. */
export interface LoggedInUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  expiresIn: number;
}

/** Registers a fresh user (unique email unless given) and logs in: the real-login helper of the e2e tests. */
export async function registerAndLogin(
  baseUrl: string,
  options: { email?: string; password?: string } = {},
): Promise<LoggedInUser> {
  const email = options.email ?? `user-${randomBytes(6).toString('hex')}@example.com`;
  const password = options.password ?? `pw-${randomBytes(8).toString('hex')}`;
  const registered = await api<{ user: { id: string; email: string } }>(baseUrl, '/auth/register', {
    body: { email, password },
  });
  if (registered.status !== 201)
    throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const tokens = await login(baseUrl, email, password);
  return { id: registered.body.user.id, email, password, ...tokens };
}

/** Logs in an existing user; throws unless 200. */
export async function login(
  baseUrl: string,
  email: string,
  password: string,
): Promise<{ accessToken: string; refreshToken: string; sessionId: string; expiresIn: number }> {
  const response = await api<{ accessToken: string; refreshToken: string; sessionId: string; expiresIn: number }>(
    baseUrl,
    '/auth/login',
    { body: { email, password } },
  );
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A server frame. */
export type Frame = Record<string, unknown> & { type: string };

/** A real `ws` client with helpers to wait for frames and for the close. */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly opened: Promise<void>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private nextId = 0;

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => resolve());
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('error', () => {});
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      }
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for a frame (already received or arriving) that matches. */
  next(match: (f: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`));
      }, timeoutMs);
      const done = (f: Frame): void => {
        clearTimeout(timer);
        this.frames.splice(this.frames.indexOf(f), 1);
        resolve(f);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Sends a frame with a fresh `id` and waits for the one frame answering it. */
  async request(frame: Record<string, unknown>, timeoutMs = 5_000): Promise<Frame> {
    const id = (frame.id as string | undefined) ?? `r${++this.nextId}`;
    const answer = this.next((f) => f.id === id, timeoutMs);
    this.send({ ...frame, id });
    return answer;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.closed;
  }
}

/** Opens `/ws` with a token in the query (default) or as the subprotocol pair `bearer, <token>`; waits for the open. */
export async function openSocket(
  wsUrl: string,
  token: string | null,
  via: 'query' | 'protocol' = 'query',
): Promise<TestSocket> {
  const ws =
    via === 'protocol' && token
      ? new WebSocket(wsUrl, ['bearer', token])
      : new WebSocket(token ? `${wsUrl}?access_token=${encodeURIComponent(token)}` : wsUrl);
  const socket = new TestSocket(ws);
  await socket.opened;
  return socket;
}

/** Makes `userId` an administrator, directly in the database (as `tether admin grant` does). */
export async function grantAdmin(databaseUrl: string, userId: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("UPDATE users SET role = 'admin' WHERE id = $1", [userId]);
  } finally {
    await client.end();
  }
}
