/**
 * npm run bench:fanout — messages across instances, per broadcaster, in one run (embedded PostgreSQL, fsync off):
 *   (1) Fan-out: 3 server instances (child processes), 200 users with one WebSocket each spread over them, in 20
 *       shared threads of 10 members; `message.send` from random members (so from every instance) at
 *       BENCH_FANOUT_RATE messages/s (default 100: 1,000 deliveries/s to sockets) for BENCH_FANOUT_SECONDS.
 *       Per broadcaster (PostgreSQL LISTEN/NOTIFY, Redis Streams, NATS JetStream on brokers of its own): deliveries
 *       per second, send → `message` frame latency p50/p99 over every delivery, lost and duplicated deliveries.
 *   (2) Commit throughput of message inserts (8 connections, autocommit, alternating rounds) with the outbox
 *       trigger (as shipped), with a NOTIFY per insert (the trigger before the outbox), and with no trigger.
 * The last line printed is one JSON object with every figure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { loadConfig } from 'tether/config';
import { EmbeddedPostgres, provisionDatabase } from 'tether/database';
import { TetherServer } from 'tether/server';
import { api, registerAndLogin, startNats, startRedis, type BrokerProcess, type LoggedInUser } from '@tether/testing';

const env = process.env;
const INSTANCES = 3;
const USERS = Number(env.BENCH_FANOUT_USERS ?? 200);
const MEMBERS_PER_THREAD = Number(env.BENCH_FANOUT_MEMBERS ?? 10);
const RATE = Number(env.BENCH_FANOUT_RATE ?? 100);
const SECONDS = Number(env.BENCH_FANOUT_SECONDS ?? 10);
const BROADCASTERS = (env.BENCH_BROADCASTERS ?? 'postgres,redis,nats').split(',') as Array<
  'postgres' | 'redis' | 'nats'
>;
const COMMIT_CLIENTS = Number(env.BENCH_COMMIT_CLIENTS ?? 8);
const COMMIT_ROUND_S = Number(env.BENCH_COMMIT_ROUND_S ?? 3);
const COMMIT_ROUNDS = Number(env.BENCH_COMMIT_ROUNDS ?? 3);
const SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const self = fileURLToPath(import.meta.url);

const percentile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- one server instance (child process) ----

async function serve(databaseUrl: string, broadcastUrl: string, channel: string): Promise<string> {
  const config = loadConfig(
    {},
    {
      port: 0,
      databaseUrl,
      secret: SECRET,
      logLevel: 'warn',
      auth: { passwordHashCost: 10, loginAttemptsPerMinute: 100_000, maxSessionsPerUser: 100 },
      server: { wsHeartbeatMs: 0 },
      // 200 users register and log in from one address: the per-address credential limit would refuse them.
      limits: { credentialAttemptsPerIpPerMinute: 1_000_000, credentialAttemptBurst: 1_000_000 },
      broadcast: { ...(broadcastUrl === '-' ? {} : { url: broadcastUrl }), channel },
    },
  );
  const server = new TetherServer({ config, databaseUrl, logger: pino({ level: 'warn' }), version: 'bench' });
  return server.listen();
}

function startInstance(
  databaseUrl: string,
  broadcastUrl: string,
  channel: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [self, '--serve', databaseUrl, broadcastUrl, channel], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
  });
}

async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}

// ---- (1) fan-out ----

interface FanoutResult {
  broadcaster: string;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  errors: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function fanout(adminUrl: string, kind: 'postgres' | 'redis' | 'nats'): Promise<FanoutResult> {
  const database = `tether_bench_fanout_${kind}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  await provisionDatabase({ databaseUrl, dataDir: '.' });
  let broker: BrokerProcess | null = null;
  const children: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  try {
    broker = kind === 'redis' ? await startRedis() : kind === 'nats' ? await startNats() : null;
    const instances = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        startInstance(databaseUrl, broker?.url ?? '-', `bench_${kind}_${process.pid}`),
      ),
    );
    children.push(...instances.map((i) => i.child));
    const urls = instances.map((i) => i.url);

    const users: LoggedInUser[] = [];
    for (let i = 0; i < USERS; i += 20)
      users.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, USERS - i) }, (_, j) =>
            registerAndLogin(urls[(i + j) % INSTANCES] as string),
          ),
        )),
      );
    const threadOf: string[] = [];
    for (let first = 0; first < USERS; first += MEMBERS_PER_THREAD) {
      const creator = users[first] as LoggedInUser;
      const thread = await api<{ id: string }>(urls[0] as string, '/threads', {
        token: creator.accessToken,
        body: { title: `bench ${first}` },
      });
      for (let m = first; m < Math.min(USERS, first + MEMBERS_PER_THREAD); m++) {
        if (m !== first)
          await api(urls[0] as string, `/threads/${thread.body.id}/members`, {
            token: creator.accessToken,
            body: { email: (users[m] as LoggedInUser).email },
          });
        threadOf[m] = thread.body.id;
      }
    }
    const membersOf = new Map<string, number>();
    for (const t of threadOf) membersOf.set(t, (membersOf.get(t) ?? 0) + 1);

    // one socket per user, spread over the instances, subscribed to the user's thread
    const latencies: number[] = [];
    const seen = new Map<number, Map<string, number>>(); // socket → message id → copies
    const sentAt = new Map<string, number>(); // content → send time
    let errors = 0;
    let lastDelivery = 0;
    await Promise.all(
      users.map(
        (user, i) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(
              `${(urls[i % INSTANCES] as string).replace(/^http/, 'ws')}/ws?access_token=${encodeURIComponent(user.accessToken)}`,
            );
            sockets[i] = ws;
            const copies = new Map<string, number>();
            seen.set(i, copies);
            ws.on('message', (data) => {
              const frame = JSON.parse(data.toString()) as {
                type: string;
                id?: string;
                message?: { id: string; content: string };
              };
              if (frame.type === 'message' && frame.message) {
                const now = performance.now();
                lastDelivery = now;
                const n = (copies.get(frame.message.id) ?? 0) + 1;
                copies.set(frame.message.id, n);
                const at = sentAt.get(frame.message.content);
                if (n === 1 && at !== undefined) latencies.push(now - at);
              } else if (frame.type === 'ack' && frame.id === 'sub') {
                resolve();
              } else if (frame.type === 'error') {
                errors++;
                if (frame.id === 'sub') reject(new Error(JSON.stringify(frame)));
              }
            });
            ws.once('open', () =>
              ws.send(JSON.stringify({ type: 'thread.subscribe', id: 'sub', threadId: threadOf[i] })),
            );
            ws.once('error', reject);
          }),
      ),
    );

    // the load: RATE messages/s from random members, paced in 10 ms ticks
    let sent = 0;
    let expected = 0;
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      while (sent < due) {
        const from = Math.floor(Math.random() * USERS);
        const content = `bench ${sent}`;
        sentAt.set(content, performance.now());
        (sockets[from] as WebSocket).send(
          JSON.stringify({ type: 'message.send', id: `m${sent}`, threadId: threadOf[from], content }),
        );
        expected += membersOf.get(threadOf[from] as string) ?? 0;
        sent++;
      }
      await sleep(10);
    }
    const sendSeconds = (performance.now() - started) / 1000;
    // wait until nothing more arrives for 2 s (or 20 s in all)
    const drainUntil = performance.now() + 20_000;
    let delivered = 0;
    while (performance.now() < drainUntil) {
      delivered = [...seen.values()].reduce((sum, copies) => sum + copies.size, 0);
      if (delivered >= expected && performance.now() - lastDelivery > 500) break;
      if (performance.now() - lastDelivery > 2_000 && performance.now() - started > SECONDS * 1000 + 2_000) break;
      await sleep(100);
    }
    delivered = [...seen.values()].reduce((sum, copies) => sum + copies.size, 0);
    const duplicated = [...seen.values()].reduce(
      (sum, copies) => sum + [...copies.values()].reduce((d, n) => d + n - 1, 0),
      0,
    );
    latencies.sort((a, b) => a - b);
    return {
      broadcaster: kind,
      sent,
      expected,
      delivered,
      lost: expected - delivered,
      duplicated,
      errors,
      // over the whole time deliveries took (a backlog drained after the sending stopped counts against it)
      deliveredPerSecond: Math.round(delivered / Math.max(sendSeconds, (lastDelivery - started) / 1000)),
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
      maxMs: round(latencies[latencies.length - 1] ?? 0),
    };
  } finally {
    for (const ws of sockets) ws?.terminate();
    await Promise.all(children.map(stopInstance));
    await broker?.dispose();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

// ---- (2) commit throughput: outbox trigger, NOTIFY per insert, nothing ----

const NOTIFY_TRIGGER = `
  CREATE OR REPLACE FUNCTION bench_notify_message() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('bench_messages', jsonb_build_object('kind', 'message', 'id', NEW.id, 'threadId', NEW.thread_id,
      'userId', NEW.user_id, 'createdAt', NEW.created_at, 'content', NEW.content)::text);
    RETURN NULL;
  END $$;`;

type Variant = 'outbox' | 'notify' | 'none';

async function setVariant(client: pg.Client, variant: Variant): Promise<void> {
  await client.query('DROP TRIGGER IF EXISTS bench_notify ON messages');
  await client.query(
    variant === 'outbox'
      ? 'ALTER TABLE messages ENABLE TRIGGER messages_outbox'
      : 'ALTER TABLE messages DISABLE TRIGGER messages_outbox',
  );
  if (variant === 'notify')
    await client.query(
      'CREATE TRIGGER bench_notify AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION bench_notify_message()',
    );
  await client.query('TRUNCATE broadcast_outbox');
}

async function commitThroughput(adminUrl: string): Promise<Record<Variant, number>> {
  const database = `tether_bench_commits_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  await provisionDatabase({ databaseUrl, dataDir: '.' });
  const control = new pg.Client({ connectionString: databaseUrl });
  const listener = new pg.Client({ connectionString: databaseUrl });
  const clients = Array.from({ length: COMMIT_CLIENTS }, () => new pg.Client({ connectionString: databaseUrl }));
  try {
    await Promise.all([control, listener, ...clients].map((c) => c.connect()));
    await control.query(NOTIFY_TRIGGER);
    // a listener, as every instance holds one: NOTIFY's queue is read, as in service
    await listener.query('LISTEN bench_messages');
    const { rows } = await control.query<{ user_id: string; thread_id: string }>(
      `WITH u AS (INSERT INTO users (email, password_hash) VALUES ('bench@example.com', 'x') RETURNING id)
       INSERT INTO threads (user_id, title) SELECT id, 'bench' FROM u RETURNING user_id, id AS thread_id`,
    );
    const { user_id: userId, thread_id: threadId } = rows[0] as { user_id: string; thread_id: string };
    const perVariant: Record<Variant, number[]> = { outbox: [], notify: [], none: [] };
    for (let r = 0; r < COMMIT_ROUNDS; r++) {
      for (const variant of ['outbox', 'notify', 'none'] as const) {
        await setVariant(control, variant);
        let count = 0;
        const until = performance.now() + COMMIT_ROUND_S * 1000;
        await Promise.all(
          clients.map(async (c) => {
            while (performance.now() < until) {
              await c.query('INSERT INTO messages (thread_id, user_id, content) VALUES ($1, $2, $3)', [
                threadId,
                userId,
                'a message of ordinary length, about sixty bytes long',
              ]);
              count++;
            }
          }),
        );
        perVariant[variant].push(count / COMMIT_ROUND_S);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      outbox: Math.round(median(perVariant.outbox)),
      notify: Math.round(median(perVariant.notify)),
      none: Math.round(median(perVariant.none)),
    };
  } finally {
    await Promise.all([control, listener, ...clients].map((c) => c.end().catch(() => {})));
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

async function main(): Promise<void> {
  const dataDir = env.DATABASE_URL ? null : EmbeddedPostgres.temporaryDataDir('tether-bench-fanout-');
  const postgres = dataDir ? await EmbeddedPostgres.start({ dataDir, ephemeral: true }) : null;
  const adminUrl = env.DATABASE_URL ?? (postgres as EmbeddedPostgres).url;
  const figures: Record<string, number | string> = { cpus: cpus().length, load_before: round(loadavg()[0] ?? 0, 1) };
  try {
    console.log(
      `${INSTANCES} instances, ${USERS} sockets in threads of ${MEMBERS_PER_THREAD}, ${RATE} msg/s for ${SECONDS} s (${RATE * MEMBERS_PER_THREAD} deliveries/s); load average ${figures.load_before}`,
    );
    for (const kind of env.BENCH_ONLY === 'commits' ? [] : BROADCASTERS) {
      const r = await fanout(adminUrl, kind);
      console.log(
        `${kind}: ${r.delivered}/${r.expected} delivered (${r.deliveredPerSecond}/s), lost ${r.lost}, duplicated ${r.duplicated}, errors ${r.errors}, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
      );
      Object.assign(figures, {
        [`${kind}_delivered_per_s`]: r.deliveredPerSecond,
        [`${kind}_p50_ms`]: r.p50Ms,
        [`${kind}_p99_ms`]: r.p99Ms,
        [`${kind}_lost`]: r.lost,
        [`${kind}_duplicated`]: r.duplicated,
        [`${kind}_errors`]: r.errors,
      });
    }
    if (env.BENCH_ONLY !== 'fanout') {
      const commits = await commitThroughput(adminUrl);
      console.log(
        `message inserts/s, ${COMMIT_CLIENTS} connections: outbox trigger ${commits.outbox}, NOTIFY per insert ${commits.notify}, no trigger ${commits.none}`,
      );
      Object.assign(figures, {
        commits_outbox_per_s: commits.outbox,
        commits_notify_per_s: commits.notify,
        commits_plain_per_s: commits.none,
        notify_vs_plain: round(commits.notify / commits.none, 3),
        outbox_vs_plain: round(commits.outbox / commits.none, 3),
      });
    }
    figures.load_after = round(loadavg()[0] ?? 0, 1);
    console.log(JSON.stringify(figures));
  } finally {
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  const [, , , databaseUrl, broadcastUrl, channel] = process.argv as [string, string, string, string, string, string];
  serve(databaseUrl, broadcastUrl, channel).then(
    (url) => console.log(JSON.stringify({ url })),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
  process.once('SIGTERM', () => process.exit(0));
} else {
  await main();
}
