/**
 * npm run bench:fairness — can one client slow everyone else? A normal signed-in user (one request every 50 ms:
 * post a message, read the thread's last 20, alternately; and a second user logging in every 2 s) is measured
 * alone, then under each abuse in turn, each from an address of its own (`X-Forwarded-For`, `server.trustProxy`):
 *   nested   anonymous `POST /auth/register` with a 1 MiB body of 524,000 nested arrays, 4 connections
 *   ws       one user's 50 WebSockets sending `message.send` to its own thread, 64 unanswered frames per socket
 *   http     one user's `GET /threads` on 64 connections (autocannon)
 *   spray    `POST /auth/login` over distinct made-up emails, 16 connections (autocannon)
 * The server runs in a child process with the default limits, the abuse in another, the normal user here.
 * The last line is one JSON object: p99 of each phase, `ratio_<abuse>` = p99 under it / max(p99 alone, 5 ms)
 * (goal ≤ 3), the login ratio under the spray, and what the abuser was answered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { loadConfig } from 'tether/config';
import { EmbeddedPostgres, provisionDatabase } from 'tether/database';
import { TetherServer } from 'tether/server';

const env = process.env;
const PHASE_S = Number(env.BENCH_PHASE_S ?? 10);
const NORMAL_INTERVAL_MS = 50;
const LOGIN_INTERVAL_MS = 2_000;
const FLOOR_MS = 5;
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const self = fileURLToPath(import.meta.url);
const ABUSES = ['nested', 'ws', 'http', 'spray'] as const;
type Abuse = (typeof ABUSES)[number];
/** `BENCH_ABUSES=ws,http` runs those phases only. */
const PHASES = (env.BENCH_ABUSES?.split(',') ?? ABUSES).filter((a): a is Abuse => ABUSES.includes(a as Abuse));
const PASSWORD = 'fairness bench password';

// ---- the server (child process) ----

async function serve(databaseUrl: string): Promise<string> {
  // the default limits and password cost: what a deployment runs; the bench is the proxy that names clients
  const config = loadConfig(
    {},
    { port: 0, databaseUrl, secret: SECRET, logLevel: 'warn', server: { trustProxy: true } },
  );
  const server = new TetherServer({
    config,
    databaseUrl,
    logger: pino({ level: 'warn' }, pino.destination(2)),
    version: 'bench',
  });
  return server.listen();
}

function startChild(args: string[], onLine: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, [self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    out = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  return child;
}

// ---- HTTP helpers ----

async function call(
  url: string,
  path: string,
  options: { body?: unknown; token?: string; from: string; method?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      'x-forwarded-for': options.from,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function signUp(
  url: string,
  name: string,
  from: string,
): Promise<{ email: string; token: string; threadId: string }> {
  const email = `${name}-${Date.now()}@example.com`;
  const registered = await call(url, '/auth/register', { body: { email, password: PASSWORD }, from });
  if (registered.status !== 201)
    throw new Error(`register ${name}: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await call(url, '/auth/login', { body: { email, password: PASSWORD }, from });
  if (login.status !== 200) throw new Error(`login ${name}: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.accessToken as string;
  const thread = await call(url, '/threads', { body: { title: `${name}'s thread` }, token, from });
  return { email, token, threadId: thread.body.id as string };
}

// ---- the abuses (child process) ----

/** What the abuser was answered: counts by status or frame/close code, and one sample body. */
type Answers = Record<string, number | string>;

const count = (answers: Answers, key: string): void => {
  answers[key] = ((answers[key] as number | undefined) ?? 0) + 1;
};

async function cannonAbuse(
  options: autocannon.Options,
  sample: () => Promise<{ status: number; body: Record<string, unknown> }>,
): Promise<Answers> {
  const result = await autocannon(options);
  const answers: Answers = {
    requests: result.requests.total,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
  };
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {}))
    answers[`status_${status}`] = stat.count ?? 0;
  const last = await sample();
  answers.sample = `${last.status} ${JSON.stringify(last.body).slice(0, 160)}`;
  return answers;
}

async function abuse(kind: Abuse, url: string, seconds: number): Promise<Answers> {
  const from = `203.0.113.${ABUSES.indexOf(kind) + 10}`;
  switch (kind) {
    case 'nested': {
      const body = `{"email":${'['.repeat(524_000)}${']'.repeat(524_000)}}`;
      return cannonAbuse(
        {
          url: `${url}/auth/register`,
          method: 'POST',
          connections: 4,
          duration: seconds,
          headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
          body,
        },
        async () => {
          const response = await fetch(`${url}/auth/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.99' },
            body,
          });
          return { status: response.status, body: (await response.json()) as Record<string, unknown> };
        },
      );
    }
    case 'http': {
      const abuser = await signUp(url, 'http-abuser', from);
      return cannonAbuse(
        {
          url: `${url}/threads`,
          connections: 64,
          duration: seconds,
          headers: { authorization: `Bearer ${abuser.token}`, 'x-forwarded-for': from },
        },
        () => call(url, '/threads', { token: abuser.token, from }),
      );
    }
    case 'spray': {
      let n = 0;
      const email = (): string => `sprayed-${process.pid}-${n++}@example.com`;
      return cannonAbuse(
        {
          url: `${url}/auth/login`,
          method: 'POST',
          connections: 16,
          duration: seconds,
          headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
          requests: [
            {
              setupRequest: (request) => ({
                ...request,
                body: JSON.stringify({ email: email(), password: 'not the password' }),
              }),
            },
          ],
        },
        () => call(url, '/auth/login', { body: { email: email(), password: 'not the password' }, from }),
      );
    }
    case 'ws':
      return wsFlood(url, from, seconds);
  }
}

/** One user's 50 sockets, each keeping 64 `message.send` frames unanswered, for `seconds`. */
async function wsFlood(url: string, from: string, seconds: number): Promise<Answers> {
  const abuser = await signUp(url, 'ws-abuser', from);
  const answers: Answers = { sockets_opened: 0, frames_sent: 0 };
  const until = Date.now() + seconds * 1000;
  let sample = '';
  await Promise.all(
    Array.from({ length: 50 }, async (_, s) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, ['bearer', abuser.token], {
        headers: { 'x-forwarded-for': from },
      });
      ws.on('error', () => {});
      let unanswered = 0;
      let next = 0;
      const pump = (): void => {
        while (unanswered < 64 && Date.now() < until && ws.readyState === WebSocket.OPEN) {
          unanswered++;
          (answers.frames_sent as number)++;
          ws.send(
            JSON.stringify({
              type: 'message.send',
              id: `f${s}-${next++}`,
              threadId: abuser.threadId,
              content: `flood ${next}`,
            }),
          );
        }
      };
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; id?: string; code?: string };
        if (frame.type === 'message') return; // the broadcast of its own thread (it is not subscribed; none expected)
        unanswered--;
        count(answers, frame.type === 'error' ? `error_${frame.code}` : frame.type);
        if (frame.type === 'error' && !sample) sample = JSON.stringify(frame).slice(0, 200);
        pump();
      });
      await new Promise<void>((resolve) => {
        ws.once('open', () => {
          (answers.sockets_opened as number)++;
          pump();
        });
        ws.once('close', (code, reason) => {
          count(answers, `close_${code}_${reason.toString() || 'none'}`);
          resolve();
        });
        setTimeout(() => ws.close(1000), Math.max(0, until - Date.now())).unref();
      });
    }),
  );
  answers.sample = sample;
  return answers;
}

// ---- the normal user (this process) ----

interface Phase {
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly requests: number;
  readonly failures: number;
  readonly loginP99Ms: number;
}

const percentile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function normalUser(
  url: string,
  user: { token: string; threadId: string },
  prober: { email: string },
  seconds: number,
): Promise<Phase> {
  const from = '198.51.100.1';
  const latencies: number[] = [];
  const logins: number[] = [];
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  const requests = (async () => {
    for (let i = 0; performance.now() < until; i++) {
      const started = performance.now();
      const r =
        i % 2 === 0
          ? await call(url, `/threads/${user.threadId}/messages`, {
              body: { content: `normal ${i}` },
              token: user.token,
              from,
            })
          : await call(url, `/threads/${user.threadId}/messages?limit=20`, { token: user.token, from });
      latencies.push(performance.now() - started);
      if (r.status >= 300) failures++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, NORMAL_INTERVAL_MS - (performance.now() - started))),
      );
    }
  })();
  const loginLoop = (async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const r = await call(url, '/auth/login', {
        body: { email: prober.email, password: PASSWORD },
        from: '198.51.100.2',
      });
      logins.push(performance.now() - started);
      if (r.status !== 200) failures++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, LOGIN_INTERVAL_MS - (performance.now() - started))),
      );
    }
  })();
  await Promise.all([requests, loginLoop]);
  return {
    p99Ms: round(percentile(latencies, 0.99)),
    p50Ms: round(percentile(latencies, 0.5)),
    requests: latencies.length,
    failures,
    loginP99Ms: round(percentile(logins, 0.99)),
  };
}

async function main(): Promise<void> {
  const dataDir = env.DATABASE_URL ? null : EmbeddedPostgres.temporaryDataDir('tether-bench-fairness-');
  const postgres = dataDir ? await EmbeddedPostgres.start({ dataDir, ephemeral: true }) : null;
  const databaseUrl = env.DATABASE_URL ?? (postgres as EmbeddedPostgres).url;
  const children: ChildProcess[] = [];
  try {
    const db = await provisionDatabase({ databaseUrl, dataDir: dataDir ?? '.' });
    const url = await new Promise<string>((resolve) => {
      children.push(
        startChild(
          ['--serve', databaseUrl],
          (line) => line.startsWith('{"url"') && resolve((JSON.parse(line) as { url: string }).url),
        ),
      );
    });
    console.log(
      `PostgreSQL ${db.serverVersion}${postgres ? ' (embedded, fsync off)' : ''}, node ${process.version}, ${cpus().length} cores, default limits, ${PHASE_S} s a phase`,
    );
    const user = await signUp(url, 'normal', '198.51.100.1');
    const prober = await signUp(url, 'prober', '198.51.100.2');
    await normalUser(url, user, prober, 2); // warm-up
    const alone = await normalUser(url, user, prober, PHASE_S);
    console.log(
      `alone: p50 ${alone.p50Ms} ms, p99 ${alone.p99Ms} ms over ${alone.requests} requests; login p99 ${alone.loginP99Ms} ms`,
    );
    const figures: Record<string, number | string> = {
      alone_p99_ms: alone.p99Ms,
      alone_login_p99_ms: alone.loginP99Ms,
    };
    const floor = Math.max(alone.p99Ms, FLOOR_MS);
    for (const kind of PHASES) {
      let answers: Answers = {};
      const child = startChild(['--abuse', kind, url, String(PHASE_S + 1)], (line) => {
        if (line.startsWith('{')) answers = JSON.parse(line) as Answers;
      });
      children.push(child);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // the abuse under way (sign-up, sockets open)
      const under = await normalUser(url, user, prober, PHASE_S);
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((resolve) => child.once('exit', resolve));
      figures[`${kind}_p99_ms`] = under.p99Ms;
      figures[`ratio_${kind}`] = round(under.p99Ms / floor);
      if (kind === 'spray') figures.ratio_spray_login = round(under.loginP99Ms / Math.max(alone.loginP99Ms, FLOOR_MS));
      figures[`${kind}_normal_failures`] = under.failures;
      console.log(
        `${kind}: normal user p50 ${under.p50Ms} ms, p99 ${under.p99Ms} ms (ratio ${figures[`ratio_${kind}`]}, goal ≤ 3), ${under.failures} failures; login p99 ${under.loginP99Ms} ms; abuser answered ${JSON.stringify(answers)}`,
      );
      for (const [key, value] of Object.entries(answers)) figures[`${kind}_abuser_${key}`] = value;
    }
    console.log(JSON.stringify(figures));
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  const url = await serve(process.argv[3] as string);
  console.log(JSON.stringify({ url }));
} else if (process.argv[2] === '--abuse') {
  const [, , , kind, url, seconds] = process.argv as [string, string, string, Abuse, string, string];
  console.log(JSON.stringify(await abuse(kind, url, Number(seconds))));
  process.exit(0);
} else {
  await main();
}
