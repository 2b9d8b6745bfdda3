import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EmbeddedPostgres } from 'tether/database';
import { api, openSocket, registerAndLogin, type TestSocket } from './api-client.js';
import { startPrivatePostgres } from './postgres.js';
import { startServer } from './server.js';

/** The codes a client may get for a write while the database is away: typed, retryable. */
export const OUTAGE_CODES = new Set(['database_unavailable', 'circuit_open', 'pool_exhausted', 'session_timeout']);

export interface OutageOptions {
  readonly httpWriters?: number;
  readonly wsWriters?: number;
  /** Load before the database stops. */
  readonly warmupMs?: number;
  /** How long the database stays stopped. */
  readonly outageMs?: number;
  /** Load after the first successful write once the database is back. */
  readonly afterMs?: number;
}

export interface OutageReport {
  readonly writes: number;
  readonly acked: number;
  /** Acknowledged writes whose row is missing afterwards. */
  readonly lost: number;
  /** Rows stored more than once for one client write id. */
  readonly duplicated: number;
  readonly typedErrors: number;
  /** Answers that were neither an acknowledgement nor a typed outage error (must be 0). */
  readonly untypedErrors: number;
  readonly untypedSamples: readonly string[];
  /** WebSocket frames that got no answer at all (the contract promises exactly one). */
  readonly unanswered: number;
  /** The server stopped answering /health (must be 0). */
  readonly crashes: number;
  /** From the database's restart to the first acknowledged write. */
  readonly recoveryS: number;
  /** Write latency outside the outage. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly breakerTrips: number;
  readonly breakerClosedAtEnd: boolean;
  readonly activeSessionsAtEnd: number;
  readonly errorsByCode: Readonly<Record<string, number>>;
}

type Outcome = { key: string; acked: boolean; code: string | null; at: number; ms: number };

/**
 * A real outage under load: HTTP and WebSocket clients write messages (each with its own idempotency key)
 * while the embedded PostgreSQL is stopped for `outageMs` and started again on the same port. Every answer is
 * classified, then the database is read to prove that no acknowledged write was lost or stored twice.
 */
export async function runOutageScenario(options: OutageOptions = {}): Promise<OutageReport> {
  const { httpWriters = 6, wsWriters = 4, warmupMs = 1_500, outageMs = 5_000, afterMs = 1_500 } = options;
  let database = await startPrivatePostgres();
  const server = await startServer({
    databaseUrl: database.url,
    config: {
      pool: { max: 10, breakerThreshold: 3, breakerCooldownMs: 500, acquireTimeoutMs: 1_000 },
      logLevel: 'error',
    },
  });
  const outcomes: Outcome[] = [];
  const untypedSamples: string[] = [];
  let crashes = 0;
  let unanswered = 0;
  let stoppedAt = 0;
  let restartedAt = 0;
  let firstAckAfterRestart = 0;
  let running = true;
  const record = (o: Outcome): void => {
    outcomes.push(o);
    if (o.acked && restartedAt && !firstAckAfterRestart && o.at >= restartedAt) firstAckAfterRestart = o.at;
    if (!o.acked && (o.code === null || !OUTAGE_CODES.has(o.code)) && untypedSamples.length < 10)
      untypedSamples.push(o.code ?? 'no code');
  };
  try {
    const user = await registerAndLogin(server.url);
    const threadId = (
      await api<{ id: string }>(server.url, '/threads', { token: user.accessToken, body: { title: 'outage' } })
    ).body.id;

    const httpLoop = async (): Promise<void> => {
      while (running) {
        const key = randomUUID();
        const started = performance.now();
        const r = await api<{ id?: string; error?: { code: string } }>(server.url, `/threads/${threadId}/messages`, {
          token: user.accessToken,
          body: { content: `http ${key}` },
          headers: { 'idempotency-key': key },
        }).catch(() => null);
        const ms = performance.now() - started;
        if (!r) record({ key, acked: false, code: 'connection refused by the server', at: Date.now(), ms });
        else
          record({
            key,
            acked: r.status === 201 && typeof r.body.id === 'string',
            code: r.status === 201 ? null : (r.body.error?.code ?? `status ${r.status}`),
            at: Date.now(),
            ms,
          });
        if (r?.status !== 201) await sleep(25);
      }
    };

    const wsLoop = async (): Promise<void> => {
      let socket: TestSocket | null = null;
      while (running) {
        if (!socket || socket.ws.readyState !== socket.ws.OPEN) {
          socket = await openSocket(server.wsUrl, user.accessToken).catch(() => null);
          if (!socket || socket.ws.readyState !== socket.ws.OPEN) {
            await sleep(100); // authentication needs the database: retry until it is back
            continue;
          }
        }
        const key = randomUUID();
        const started = performance.now();
        const answer = await socket
          .request({ type: 'message.send', id: key, threadId, content: `ws ${key}`, clientMessageId: key }, 10_000)
          .catch(() => null);
        const ms = performance.now() - started;
        if (!answer) {
          // the socket closed (or stayed silent) without answering the frame: a broken promise of the contract
          unanswered++;
          socket.ws.terminate();
          continue;
        }
        const acked = answer.type === 'ack' && typeof (answer.message as { id?: unknown } | undefined)?.id === 'string';
        record({ key, acked, code: acked ? null : String(answer.code ?? answer.type), at: Date.now(), ms });
        if (!acked) await sleep(25);
      }
      socket?.ws.close(1000);
    };

    const health = (async () => {
      while (running) {
        const r = await api(server.url, '/health').catch(() => null);
        if (!r || r.status !== 200) crashes++;
        await sleep(200);
      }
    })();
    const loops = [...Array.from({ length: httpWriters }, httpLoop), ...Array.from({ length: wsWriters }, wsLoop)];

    await sleep(warmupMs);
    const { dataDir, port } = database;
    stoppedAt = Date.now();
    await database.stop();
    await sleep(outageMs);
    database = await EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
    restartedAt = Date.now();
    const deadline = Date.now() + 30_000;
    while (!firstAckAfterRestart && Date.now() < deadline) await sleep(20);
    await sleep(afterMs);
    running = false;
    await Promise.all([...loops, health]);
    // sessions still open when the load stops finish within a moment
    for (let i = 0; i < 100 && server.server.factory.poolMetrics().activeSessions > 0; i++) await sleep(20);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ key: string; n: string }>(
      `SELECT client_message_id AS key, count(*) AS n FROM messages
        WHERE thread_id = $1 AND client_message_id IS NOT NULL GROUP BY 1`,
      [threadId],
    );
    await client.end();
    const stored = new Map(rows.map((r) => [r.key, Number(r.n)]));
    const acked = outcomes.filter((o) => o.acked);
    const failed = outcomes.filter((o) => !o.acked);
    const outside = outcomes
      .filter((o) => o.acked && (o.at < stoppedAt || o.at > firstAckAfterRestart))
      .map((o) => o.ms)
      .sort((a, b) => a - b);
    const pool = server.server.factory.poolMetrics();
    return {
      writes: outcomes.length,
      acked: acked.length,
      lost: acked.filter((o) => !stored.has(o.key)).length,
      duplicated: [...stored.values()].filter((n) => n > 1).length,
      typedErrors: failed.filter((o) => o.code !== null && OUTAGE_CODES.has(o.code)).length,
      untypedErrors: failed.filter((o) => o.code === null || !OUTAGE_CODES.has(o.code)).length,
      untypedSamples,
      unanswered,
      crashes,
      recoveryS: firstAckAfterRestart ? round((firstAckAfterRestart - restartedAt) / 1_000) : Number.POSITIVE_INFINITY,
      p50Ms: round(percentile(outside, 0.5)),
      p99Ms: round(percentile(outside, 0.99)),
      breakerTrips: pool.breakerTrips,
      breakerClosedAtEnd: pool.breakerState === 'closed',
      activeSessionsAtEnd: pool.activeSessions,
      errorsByCode: pool.errorsByCode,
    };
  } finally {
    running = false;
    await server.close();
    await database.stop();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x: number): number => Math.round(x * 1_000) / 1_000;
const percentile = (sorted: number[], q: number): number =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) : 0;
