/**
 * npm run bench:sessions — what a request-scoped session costs, against baselines measured in the same run on
 * the same embedded PostgreSQL:
 *   (a) a session with one SELECT and no user context  vs  pool.query on a bare pg Pool
 *   (b) a full user session (user context, one SELECT, committed)  vs  BEGIN, context, SELECT, COMMIT one by one;
 *       `withSession(ctx, (s) => s.query(…))`: the callback returns its one statement, which is then sent as the
 *       whole transaction (one round trip)
 *   (b2) the same session from a callback that awaits its statement (`async (s) => { await s.query(…) }`): it
 *       could send another, so BEGIN … COMMIT, two round trips; and its floor, those two round trips written
 *       straight onto pg's connection with no session layer
 *   (p) (b) and (b2) through pg's public API only (`batchStatements: false`: each statement its own Sync, no
 *       batch, no corking), so the choice of reaching below pg's API (sessions/wire.ts) can be revisited
 *   (t) (a), (b) and (b2) again through PgBouncer in transaction mode (Debian's `pgbouncer`, started for the run
 *       in front of the same PostgreSQL, `default_pool_size` = the pool size), the factory with `pooler:
 *       'transaction'` and the baselines' pg Pool through PgBouncer too; and a user session through PgBouncer
 *       against the same session direct: the cost of the pooler. Without `pgbouncer`, the bench says so.
 *   (c) the factory's own bookkeeping per session, against a stub pool that answers at once (in a fresh process)
 * Rounds alternate between contender and baseline; the ratio reported is the median of per-round ratios.
 * The last line printed is one JSON object with every figure.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EmbeddedPostgres, migrate } from 'tether/database';
import { SessionFactory } from '@tether/sessions';
import { AnsweringClient, findPgBouncer, PGBOUNCER_MISSING, poolOf, startPgBouncer } from '@tether/harness';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POOL_MAX = 10;

type Op = () => Promise<unknown>;

/** Runs `op` from `concurrency` loops for `ms`; returns operations per second. */
async function throughput(op: Op, concurrency: number, ms: number): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op();
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1_000);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Alternating rounds of contender and baseline; median ratio and median rates. */
async function compare(
  contender: Op,
  baseline: Op,
  concurrency: number,
): Promise<{ ratio: number; contender: number; baseline: number }> {
  await throughput(contender, concurrency, 300); // warm-up: connections opened, code optimised
  await throughput(baseline, concurrency, 300);
  const ratios: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const first = i % 2 === 0;
    const x = first ? await throughput(contender, concurrency, ROUND_MS) : 0;
    const y = await throughput(baseline, concurrency, ROUND_MS);
    const x2 = first ? x : await throughput(contender, concurrency, ROUND_MS);
    a.push(x2);
    b.push(y);
    ratios.push(x2 / y);
  }
  return { ratio: median(ratios), contender: median(a), baseline: median(b) };
}

/**
 * Microseconds per user session with one statement, against the stub pool: through `withSession` (leak detection
 * on, the default), through an explicit handle (`openSession`, which captures its caller's stack when it opens),
 * or through `withSession` with leak detection off.
 */
async function bookkeepingMicros(
  userId: string,
  form: 'withSession' | 'openSession' | 'noLeakDetection',
): Promise<number> {
  const factory = new SessionFactory({
    pool: poolOf(new AnsweringClient()),
    ...(form === 'noLeakDetection' ? { leakDetectionThresholdMs: 0 } : {}),
  });
  const context = { userId, requestId: 'bench' };
  const run: () => Promise<unknown> =
    form === 'openSession'
      ? async () => {
          const session = await factory.openSession(context);
          await session.query('SELECT 1');
          await session.commit();
        }
      : () => factory.withSession(context, (s) => s.query('SELECT 1'));
  for (let i = 0; i < 20_000; i++) await run(); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const n = 100_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) await run();
    samples.push(((performance.now() - started) * 1_000) / n);
  }
  await factory.close();
  return median(samples);
}

/** pg's connection as the floor below writes to it (pg-protocol's serializer; not in pg's type declarations). */
interface Wire {
  readonly stream: { cork(): void; uncork(): void };
  parse(config: { name: string; text: string; types: unknown[] }): void;
  bind(config: { statement: string; values: unknown[] }): void;
  describe(config: { type: 'P'; name: string }): void;
  execute(config: { portal: string; rows: number }): void;
  sync(): void;
}

const FLOOR_CONTEXT =
  "SELECT set_config('role', $1, true), set_config('app.user_id', $2, true), set_config('application_name', $3, true)";

/**
 * The floor under (b2): the two round trips `withSession` sends for an awaiting callback, written straight onto
 * pg's connection with nothing else — BEGIN, the context and the SELECT in one batch with one Sync (BEGIN and the
 * context prepared once per connection), then COMMIT. Its ratio to `pool.query` is what two round trips allow at
 * all on the machine; `b2_vs_bare_10` reads against it.
 */
function twoRoundTripFloor(pool: pg.Pool, userId: string): Op {
  const prepared = new WeakSet<pg.PoolClient>();
  const batch = (client: pg.PoolClient, prepare: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const submittable = {
        submit(wire: Wire): void {
          wire.stream.cork();
          if (prepare) {
            wire.parse({ name: 'floor_begin', text: 'BEGIN', types: [] });
            wire.parse({ name: 'floor_context', text: FLOOR_CONTEXT, types: [] });
          }
          wire.bind({ statement: 'floor_begin', values: [] });
          wire.execute({ portal: '', rows: 0 });
          wire.bind({ statement: 'floor_context', values: ['tether_app', userId, 'tether:bench'] });
          wire.execute({ portal: '', rows: 0 });
          wire.parse({ name: '', text: 'SELECT 1', types: [] });
          wire.bind({ statement: '', values: [] });
          wire.describe({ type: 'P', name: '' });
          wire.execute({ portal: '', rows: 0 });
          wire.sync();
          wire.stream.uncork();
        },
        handleRowDescription(): void {},
        handleDataRow(): void {},
        handleCommandComplete(): void {},
        handleEmptyQuery(): void {},
        handlePortalSuspended(): void {},
        handleError: (error: Error): void => reject(error),
        handleReadyForQuery: (): void => resolve(),
      };
      void client.query(submittable as unknown as pg.Submittable);
    });
  return async () => {
    const client = await pool.connect();
    try {
      const prepare = !prepared.has(client);
      prepared.add(client);
      await batch(client, prepare);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
}

async function main(): Promise<void> {
  const dataDir = EmbeddedPostgres.temporaryDataDir('tether-bench-');
  const server = await EmbeddedPostgres.start({ dataDir, ephemeral: true });
  try {
    const setup = new pg.Client({ connectionString: server.url });
    await setup.connect();
    await migrate(setup);
    const userId = (
      await setup.query<{ id: string }>(
        "INSERT INTO users (email, password_hash) VALUES ('bench@example.com', 'x') RETURNING id",
      )
    ).rows[0]!.id;
    await setup.end();

    const bare = new pg.Pool({ connectionString: server.url, max: POOL_MAX });
    const factory = new SessionFactory({ connectionString: server.url, max: POOL_MAX });
    const publicFactory = new SessionFactory({ connectionString: server.url, max: POOL_MAX, batchStatements: false });

    const barePoolQuery: Op = () => bare.query('SELECT 1');
    const anonymousSession: Op = () => factory.withSession({}, (s) => s.query('SELECT 1'));
    const userSession: Op = () => factory.withSession({ userId }, (s) => s.query('SELECT 1'));
    const awaitingUserSession: Op = () =>
      factory.withSession({ userId }, async (s) => {
        await s.query('SELECT 1');
      });
    const naiveUserSession = naiveSession(bare, userId);

    const figures: Record<string, number> = {};
    const rows: string[][] = [];
    for (const c of [1, 10]) {
      const a = await compare(anonymousSession, barePoolQuery, c);
      const b = await compare(userSession, naiveUserSession, c);
      const bBare = await compare(userSession, barePoolQuery, c);
      const awaiting = await compare(awaitingUserSession, naiveUserSession, c);
      const awaitingBare = await compare(awaitingUserSession, barePoolQuery, c);
      figures[`a_ratio_${c}`] = round(a.ratio);
      figures[`b_vs_naive_${c}`] = round(b.ratio);
      figures[`b_vs_bare_${c}`] = round(bBare.ratio);
      figures[`b2_vs_naive_${c}`] = round(awaiting.ratio);
      figures[`b2_vs_bare_${c}`] = round(awaitingBare.ratio);
      figures[`bare_pool_query_ops_${c}`] = Math.round(a.baseline);
      figures[`anonymous_session_ops_${c}`] = Math.round(a.contender);
      figures[`user_session_ops_${c}`] = Math.round(b.contender);
      figures[`naive_user_session_ops_${c}`] = Math.round(b.baseline);
      rows.push([
        `(a) anonymous session vs pool.query`,
        String(c),
        fmt(a.contender),
        fmt(a.baseline),
        round(a.ratio).toFixed(2),
        '≥ 0.90',
      ]);
      rows.push([
        `(b) user session vs naive 4 statements`,
        String(c),
        fmt(b.contender),
        fmt(b.baseline),
        round(b.ratio).toFixed(2),
        '≥ 1.50',
      ]);
      rows.push([
        `(b) user session vs pool.query`,
        String(c),
        fmt(bBare.contender),
        fmt(bBare.baseline),
        round(bBare.ratio).toFixed(2),
        c === 10 ? '≥ 0.50' : '',
      ]);
      rows.push([
        `(b2) awaiting callback vs naive 4 statements`,
        String(c),
        fmt(awaiting.contender),
        fmt(awaiting.baseline),
        round(awaiting.ratio).toFixed(2),
        '',
      ]);
      rows.push([
        `(b2) awaiting callback vs pool.query`,
        String(c),
        fmt(awaitingBare.contender),
        fmt(awaitingBare.baseline),
        round(awaitingBare.ratio).toFixed(2),
        '',
      ]);
      if (c === 10) {
        const floor = await compare(twoRoundTripFloor(bare, userId), barePoolQuery, c);
        figures.b2_floor_vs_bare_10 = round(floor.ratio);
        rows.push([
          `(b2) floor: its 2 round trips on bare pg`,
          String(c),
          fmt(floor.contender),
          fmt(floor.baseline),
          round(floor.ratio).toFixed(2),
          '',
        ]);
        const publicUser: Op = () => publicFactory.withSession({ userId }, (s) => s.query('SELECT 1'));
        const publicAwaiting: Op = () =>
          publicFactory.withSession({ userId }, async (s) => {
            await s.query('SELECT 1');
          });
        const p = await compare(publicUser, barePoolQuery, c);
        const p2 = await compare(publicAwaiting, barePoolQuery, c);
        figures.b_public_vs_bare_10 = round(p.ratio);
        figures.b2_public_vs_bare_10 = round(p2.ratio);
        rows.push([
          `(p) (b) with pg's public API only vs pool.query`,
          String(c),
          fmt(p.contender),
          fmt(p.baseline),
          round(p.ratio).toFixed(2),
          '',
        ]);
        rows.push([
          `(p) (b2) with pg's public API only vs pool.query`,
          String(c),
          fmt(p2.contender),
          fmt(p2.baseline),
          round(p2.ratio).toFixed(2),
          '',
        ]);
      }
    }
    if (findPgBouncer() === undefined) {
      rows.push([`(t) through PgBouncer: not measured, ${PGBOUNCER_MISSING}`, '', '', '', '', '']);
    } else {
      await throughPgBouncer(server.url, userId, userSession, figures, rows);
    }
    await factory.close();
    await publicFactory.close();
    await bare.end();

    // in a fresh process: here the session code has run with real pg clients, and a stub client now would make
    // its call sites polymorphic, which production never sees
    const bookkeeping = JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--bookkeeping', userId], { encoding: 'utf8' }),
    ) as [number, number, number];
    figures.bookkeeping_us = round(bookkeeping[0]);
    figures.bookkeeping_open_session_us = round(bookkeeping[1]);
    figures.bookkeeping_no_leak_detection_us = round(bookkeeping[2]);
    rows.push([
      '(c) factory bookkeeping per session, withSession (µs)',
      '1',
      figures.bookkeeping_us.toFixed(2),
      '',
      '',
      '≤ 5',
    ]);
    rows.push([
      '(c) … explicit handle (opening stack captured)',
      '1',
      figures.bookkeeping_open_session_us.toFixed(2),
      '',
      '',
      '',
    ]);
    rows.push([
      '(c) … withSession, leak detection off',
      '1',
      figures.bookkeeping_no_leak_detection_us.toFixed(2),
      '',
      '',
      '',
    ]);

    const header = ['benchmark', 'clients', 'tether/s', 'baseline/s', 'ratio', 'goal'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (r: string[]): string => r.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ');
    console.log(
      `PostgreSQL ${server.version} (embedded, fsync off), pool max ${POOL_MAX}, ${ROUNDS} rounds × ${ROUND_MS} ms, ` +
        `node ${process.version}`,
    );
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    console.log(JSON.stringify(figures));
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The baseline of (b): BEGIN, the user context, the SELECT and COMMIT, one round trip each, on a bare pg Pool. */
function naiveSession(pool: pg.Pool, userId: string): Op {
  return async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('app.user_id', $1, true)", [userId]);
      await client.query('SELECT 1');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
}

/**
 * (t): the figures of (a), (b) and (b2), each session and each baseline through PgBouncer in transaction mode; and
 * a user session through it against the same session straight to PostgreSQL (`directUserSession`).
 */
async function throughPgBouncer(
  directUrl: string,
  userId: string,
  directUserSession: Op,
  figures: Record<string, number>,
  rows: string[][],
): Promise<void> {
  const pooler = await startPgBouncer({ upstreamUrl: directUrl, poolSize: POOL_MAX });
  const url = pooler.through(directUrl);
  const bare = new pg.Pool({ connectionString: url, max: POOL_MAX });
  const factory = new SessionFactory({ connectionString: url, max: POOL_MAX, pooler: 'transaction' });
  try {
    const barePoolQuery: Op = () => bare.query('SELECT 1');
    const userSession: Op = () => factory.withSession({ userId }, (s) => s.query('SELECT 1'));
    const naiveUserSession = naiveSession(bare, userId);
    const awaitingUserSession: Op = () =>
      factory.withSession({ userId }, async (s) => {
        await s.query('SELECT 1');
      });
    for (const c of [1, 10]) {
      const measured: Array<[string, string, Op, Op]> = [
        [
          `t_a_ratio_${c}`,
          '(t) (a) anonymous session vs pool.query, both through PgBouncer',
          () => factory.withSession({}, (s) => s.query('SELECT 1')),
          barePoolQuery,
        ],
        [
          `t_b_vs_naive_${c}`,
          '(t) (b) user session vs naive 4 statements, both through PgBouncer',
          userSession,
          naiveUserSession,
        ],
        [`t_b_vs_bare_${c}`, '(t) (b) user session vs pool.query, both through PgBouncer', userSession, barePoolQuery],
        [
          `t_b2_vs_naive_${c}`,
          '(t) (b2) awaiting callback vs naive 4 statements, through PgBouncer',
          awaitingUserSession,
          naiveUserSession,
        ],
        [
          `t_b2_vs_bare_${c}`,
          '(t) (b2) awaiting callback vs pool.query, through PgBouncer',
          awaitingUserSession,
          barePoolQuery,
        ],
        [
          `t_b_vs_direct_${c}`,
          '(t) (b) user session through PgBouncer vs the same direct',
          userSession,
          directUserSession,
        ],
      ];
      for (const [key, label, contender, baseline] of measured) {
        const result = await compare(contender, baseline, c);
        figures[key] = round(result.ratio);
        rows.push([label, String(c), fmt(result.contender), fmt(result.baseline), round(result.ratio).toFixed(2), '']);
      }
    }
  } finally {
    await factory.close();
    await bare.end();
    await pooler.stop();
  }
}

const round = (x: number): number => Math.round(x * 1_000) / 1_000;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

if (process.argv[2] === '--bookkeeping') {
  const userId = process.argv[3] as string;
  console.log(
    JSON.stringify([
      await bookkeepingMicros(userId, 'withSession'),
      await bookkeepingMicros(userId, 'openSession'),
      await bookkeepingMicros(userId, 'noLeakDetection'),
    ]),
  );
} else {
  await main();
}
