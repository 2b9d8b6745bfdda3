/**
 * npm run bench:server — the server under load, on embedded PostgreSQL (fsync off), in one run:
 *   (1) HTTP: authenticated `POST /threads/:id/messages` through Tether (JWT check, login-session check,
 *       request-scoped session with RLS, INSERT, NOTIFY) against a minimal fastify + pg handler doing the same
 *       INSERT without Tether's layers. autocannon, alternating rounds; the ratio is the median of per-round ratios.
 *   (2) WebSocket: 2,000 authenticated connections, each subscribed to its own thread; `message.send` frames at
 *       1,000 per second from random connections. Latency of the round trip send → `message` frame back
 *       through PostgreSQL NOTIFY (ws_p50_ms, ws_p99_ms), and of send → `ack` (stored).
 * Each server runs in a child process (this file with `--serve`), the load in this one.
 * The last line printed is one JSON object with every figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { loadConfig } from 'tether/config';
import { EmbeddedPostgres, provisionDatabase } from 'tether/database';
import { TetherServer } from 'tether/server';

const env = process.env;
const POOL_MAX = Number(env.BENCH_POOL_MAX ?? 20);
const HTTP_CONNECTIONS = Number(env.BENCH_HTTP_CONNECTIONS ?? 10);
const HTTP_ROUND_S = Number(env.BENCH_HTTP_ROUND_S ?? 4);
const HTTP_ROUNDS = Number(env.BENCH_HTTP_ROUNDS ?? 3);
const WS_CONNECTIONS = Number(env.BENCH_WS_CONNECTIONS ?? 2_000);
const WS_RATE = Number(env.BENCH_WS_RATE ?? 1_000);
const WS_SECONDS = Number(env.BENCH_WS_SECONDS ?? 10);
const WS_USERS = Math.max(1, Math.ceil(WS_CONNECTIONS / 20));
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const self = fileURLToPath(import.meta.url);

// ---- the servers (child processes) ----

async function serveTether(databaseUrl: string): Promise<string> {
  const config = loadConfig(
    {},
    {
      port: 0,
      databaseUrl,
      secret: SECRET,
      logLevel: 'warn',
      pool: { max: POOL_MAX },
      auth: { passwordHashCost: 10, loginAttemptsPerMinute: 100_000, maxSessionsPerUser: 100 },
      server: { wsHeartbeatMs: 0 },
      // one user's requests at full speed measure the server's cost per request: the fairness limits, which exist
      // to stop exactly that, are lifted (bench:fairness measures them)
      limits: {
        sessionsPerUser: POOL_MAX,
        queuedSessionsPerUser: 100_000,
        userRequestsPerSecond: 1_000_000,
        userRequestBurst: 1_000_000,
        ipRequestsPerSecond: 1_000_000,
        ipRequestBurst: 1_000_000,
        credentialAttemptsPerIpPerMinute: 1_000_000,
        credentialAttemptBurst: 1_000_000,
        websocketsPerUser: 100_000,
      },
    },
  );
  const server = new TetherServer({ config, databaseUrl, logger: pino({ level: 'warn' }), version: 'bench' });
  return server.listen();
}

/** The same INSERT, with nothing of Tether: no token, no login-session check, no session, no RLS. */
async function serveBaseline(databaseUrl: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_MAX });
  const app = Fastify();
  app.post<{ Params: { id: string }; Body: { content: string } }>('/threads/:id/messages', async (request, reply) => {
    const userId = request.headers['x-user-id'];
    const { rows } = await pool.query(
      'INSERT INTO messages (thread_id, user_id, content) VALUES ($1, $2, $3) RETURNING id, thread_id, content, created_at',
      [request.params.id, userId, request.body.content],
    );
    const r = rows[0] as { id: string; thread_id: string; content: string; created_at: Date };
    return reply
      .code(201)
      .send({ id: r.id, threadId: r.thread_id, content: r.content, createdAt: r.created_at.toISOString() });
  });
  return app.listen({ port: 0, host: '127.0.0.1' });
}

function startChild(kind: 'tether' | 'baseline', databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      self,
      '--serve',
      kind,
      databaseUrl,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

// ---- the load (this process) ----

async function post(url: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

async function user(url: string, i: number): Promise<{ id: string; token: string }> {
  const email = `bench-${i}-${Date.now()}@example.com`;
  const registered = (await post(url, '/auth/register', { email, password: 'bench password' })) as {
    user: { id: string };
  };
  const login = await post(url, '/auth/login', { email, password: 'bench password' });
  return { id: registered.user.id, token: login.accessToken as string };
}

function cannon(url: string, path: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}${path}`,
    method: 'POST',
    connections: HTTP_CONNECTIONS,
    duration: HTTP_ROUND_S,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ content: 'benchmark message' }),
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const percentile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function httpBench(tetherUrl: string, baselineUrl: string): Promise<Record<string, number>> {
  const u = await user(tetherUrl, 0);
  const thread = (await post(tetherUrl, '/threads', { title: 'http bench' }, u.token)) as { id: string };
  const path = `/threads/${thread.id}/messages`;
  const tether = (): Promise<autocannon.Result> => cannon(tetherUrl, path, { authorization: `Bearer ${u.token}` });
  const baseline = (): Promise<autocannon.Result> => cannon(baselineUrl, path, { 'x-user-id': u.id });
  const check = (r: autocannon.Result, name: string): autocannon.Result => {
    if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return r;
  };
  // warm-up: connections opened, code optimised
  await autocannon({
    url: `${tetherUrl}${path}`,
    method: 'POST',
    connections: HTTP_CONNECTIONS,
    duration: 1,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${u.token}` },
    body: '{"content":"warm"}',
  });
  await autocannon({
    url: `${baselineUrl}${path}`,
    method: 'POST',
    connections: HTTP_CONNECTIONS,
    duration: 1,
    headers: { 'content-type': 'application/json', 'x-user-id': u.id },
    body: '{"content":"warm"}',
  });
  const ratios: number[] = [];
  const t: number[] = [];
  const b: number[] = [];
  const tp99: number[] = [];
  const bp99: number[] = [];
  for (let i = 0; i < HTTP_ROUNDS; i++) {
    const [x, y] =
      i % 2 === 0
        ? [check(await tether(), 'tether'), check(await baseline(), 'baseline')]
        : [null, check(await baseline(), 'baseline')];
    const xx = x ?? check(await tether(), 'tether');
    t.push(xx.requests.average);
    b.push(y.requests.average);
    tp99.push(xx.latency.p99);
    bp99.push(y.latency.p99);
    ratios.push(xx.requests.average / y.requests.average);
  }
  return {
    http_ratio: round(median(ratios), 3),
    http_tether_rps: round(median(t), 0),
    http_baseline_rps: round(median(b), 0),
    http_tether_p99_ms: median(tp99),
    http_baseline_p99_ms: median(bp99),
  };
}

interface Client {
  readonly ws: WebSocket;
  readonly threadId: string;
  readonly sent: Map<string, number>;
}

async function wsBench(tetherUrl: string): Promise<Record<string, number>> {
  const wsUrl = `${tetherUrl.replace(/^http/, 'ws')}/ws`;
  const users: Array<{ id: string; token: string }> = [];
  for (let i = 0; i < WS_USERS; i += 20)
    users.push(
      ...(await Promise.all(Array.from({ length: Math.min(20, WS_USERS - i) }, (_, k) => user(tetherUrl, 1 + i + k)))),
    );
  const ackLatencies: number[] = [];
  const deliveryLatencies: number[] = [];
  const clients: Client[] = [];
  let errors = 0;
  const openStarted = performance.now();
  for (let i = 0; i < WS_CONNECTIONS; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, WS_CONNECTIONS - i) }, async (_, k) => {
        const u = users[(i + k) % users.length] as { token: string };
        const thread = (await post(tetherUrl, '/threads', { title: `ws ${i + k}` }, u.token)) as { id: string };
        const ws = new WebSocket(wsUrl, ['bearer', u.token]);
        const client: Client = { ws, threadId: thread.id, sent: new Map() };
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        ws.on('message', (data) => {
          const now = performance.now();
          const frame = JSON.parse(data.toString()) as { type: string; id?: string; message?: { content: string } };
          if (frame.type === 'ack' && frame.id?.startsWith('m')) {
            const at = client.sent.get(frame.id);
            if (at !== undefined) ackLatencies.push(now - at);
          } else if (frame.type === 'message' && frame.message) {
            const at = client.sent.get(frame.message.content);
            if (at !== undefined) {
              deliveryLatencies.push(now - at);
              client.sent.delete(frame.message.content);
            }
          } else if (frame.type === 'error') {
            errors++;
          }
        });
        await new Promise<void>((resolve) => {
          ws.once('message', () => resolve()); // the subscribe ack
          ws.send(JSON.stringify({ type: 'thread.subscribe', id: 's', threadId: thread.id }));
        });
        return client;
      }),
    );
    clients.push(...batch);
  }
  const openMs = performance.now() - openStarted;
  // steady state: every socket linked to its login session (those writes queue behind the opening burst)
  const settleDeadline = Date.now() + 60_000;
  for (;;) {
    const text = await (await fetch(`${tetherUrl}/metrics`)).text();
    const linked = Number(/^tether_user_sessions_websockets_linked (\d+)/m.exec(text)?.[1] ?? 0);
    const pending = Number(/^tether_pool_connections_pending (\d+)/m.exec(text)?.[1] ?? 0);
    if ((linked >= clients.length && pending === 0) || Date.now() > settleDeadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }

  // 1,000 messages per second, in ticks of 10 ms, from random connections
  let sentCount = 0;
  const total = WS_RATE * WS_SECONDS;
  const perTick = WS_RATE / 100;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.round(((performance.now() - started) / 1000) * WS_RATE));
      // a late tick catches up by at most five ticks' worth at once; the rest follows in the next ticks
      const until = Math.min(due, sentCount + perTick * 5);
      for (let n = sentCount; n < until; n++) {
        const client = clients[Math.floor(Math.random() * clients.length)] as Client;
        const id = `m${n}`;
        const now = performance.now();
        client.sent.set(id, now);
        client.sent.set(`msg ${n}`, now);
        client.ws.send(JSON.stringify({ type: 'message.send', id, threadId: client.threadId, content: `msg ${n}` }));
      }
      sentCount = until;
      if (sentCount >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  const sendSeconds = (performance.now() - started) / 1000;
  const deadline = Date.now() + 15_000;
  while (deliveryLatencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const c of clients) c.ws.terminate();

  const delivered = [...deliveryLatencies].sort((a, b) => a - b);
  const acked = [...ackLatencies].sort((a, b) => a - b);
  return {
    ws_connections: clients.length,
    ws_open_seconds: round(openMs / 1000, 1),
    ws_rate_per_s: round(total / sendSeconds, 0),
    ws_sent: total,
    ws_delivered: delivered.length,
    ws_errors: errors,
    ws_p50_ms: round(percentile(delivered, 0.5)),
    ws_p99_ms: round(percentile(delivered, 0.99)),
    ws_ack_p50_ms: round(percentile(acked, 0.5)),
    ws_ack_p99_ms: round(percentile(acked, 0.99)),
  };
}

async function main(): Promise<void> {
  const dataDir = env.DATABASE_URL ? null : EmbeddedPostgres.temporaryDataDir('tether-bench-server-');
  const postgres = dataDir ? await EmbeddedPostgres.start({ dataDir, ephemeral: true }) : null;
  const databaseUrl = env.DATABASE_URL ?? (postgres as EmbeddedPostgres).url;
  const children: ChildProcess[] = [];
  try {
    const db = await provisionDatabase({ databaseUrl, dataDir: dataDir ?? '.' });
    const tether = await startChild('tether', databaseUrl);
    const baseline = await startChild('baseline', databaseUrl);
    children.push(tether.child, baseline.child);
    console.log(
      `PostgreSQL ${db.serverVersion}${postgres ? ' (embedded, fsync off)' : ''}, pool max ${POOL_MAX}, node ${process.version}`,
    );
    const only = env.BENCH_ONLY;
    const http = only === 'ws' ? {} : await httpBench(tether.url, baseline.url);
    if (only !== 'ws')
      console.log(
        `HTTP POST /threads/:id/messages, ${HTTP_CONNECTIONS} connections, ${HTTP_ROUNDS} rounds × ${HTTP_ROUND_S} s: tether ${http.http_tether_rps} req/s (p99 ${http.http_tether_p99_ms} ms), baseline ${http.http_baseline_rps} req/s (p99 ${http.http_baseline_p99_ms} ms), ratio ${http.http_ratio} (goal ≥ 0.8)`,
      );
    baseline.child.kill('SIGTERM');
    const ws = only === 'http' ? {} : await wsBench(tether.url);
    if (only !== 'http')
      console.log(
        `WebSocket: ${ws.ws_connections} connections (opened in ${ws.ws_open_seconds} s), ${ws.ws_rate_per_s} message.send/s for ${WS_SECONDS} s: delivered ${ws.ws_delivered}/${ws.ws_sent}, round trip through NOTIFY p50 ${ws.ws_p50_ms} ms, p99 ${ws.ws_p99_ms} ms (goal < 50); ack p50 ${ws.ws_ack_p50_ms} ms, p99 ${ws.ws_ack_p99_ms} ms; ${ws.ws_errors} error frames`,
      );
    console.log(JSON.stringify({ ...http, ...ws, pool_max: POOL_MAX, cpus: (await import('node:os')).cpus().length }));
  } finally {
    // SIGTERM first: a child started with --cpu-prof (BENCH_CPU_PROF=dir) writes its profile on exit
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, env.BENCH_CPU_PROF ? 1_500 : 100));
    for (const child of children) child.kill('SIGKILL');
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  const [, , , kind, databaseUrl] = process.argv as [string, string, string, string, string];
  process.once('SIGTERM', () => process.exit(0));
  const url = kind === 'tether' ? await serveTether(databaseUrl) : await serveBaseline(databaseUrl);
  console.log(JSON.stringify({ url }));
} else {
  await main();
}
