import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import { SESSION_FACTORY_DEFAULTS as POOL } from '@tether/sessions';

/**
 * Every setting Tether reads, with its default written once. Sources, later winning: defaults, environment
 * (`TETHER_*`, `DATABASE_URL`, `PORT`), command-line flags. Read once at start and passed down.
 */
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `true`, `false`, a hop count, or addresses and CIDR ranges separated by commas (from an environment string too). */
const trustProxy = z.preprocess(
  (value) =>
    value === 'true'
      ? true
      : value === 'false'
        ? false
        : typeof value === 'string' && /^\d+$/.test(value)
          ? Number(value)
          : value,
  z.union([
    z.boolean(),
    z.number().int().min(0).max(100),
    z.string().regex(/^[\w.:/]+(\s*,\s*[\w.:/]+)*$/, 'must be true, false, a hop count or addresses'),
  ]),
);

export const configSchema = z
  .object({
    /** HTTP/WebSocket listen port; 0 picks a free one. */
    port: integer(0, 65535).default(3000),
    host: z.string().min(1).default('127.0.0.1'),
    /** Embedded PostgreSQL cluster, generated secrets. Ignored for the database when `databaseUrl` is set. */
    dataDir: z.string().min(1).default('./.tether/data'),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, 'must look like postgres://user:password@host:port/database')
      .optional(),
    /**
     * `transaction`: `databaseUrl` is a transaction-mode pooler (PgBouncer, Supavisor, PgCat). Sessions then send
     * nothing that outlives a transaction (no startup parameters, no named prepared statements), and what needs a
     * session of its own (migrations, their advisory lock, LISTEN) uses `directDatabaseUrl`.
     */
    pooler: z.enum(['none', 'transaction']).default('none'),
    /** PostgreSQL itself, bypassing the pooler; required with `pooler: 'transaction'`. */
    directDatabaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, 'must look like postgres://user:password@host:port/database')
      .optional(),
    /** JWT signing secret; generated once into the data directory when absent. */
    secret: z.string().min(32, 'must be at least 32 characters').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    pool: z
      .object({
        // defaults are the session layer's own (SESSION_FACTORY_DEFAULTS), written once there
        max: integer(1, 1000).default(POOL.max),
        acquireTimeoutMs: integer(1, 600_000).default(POOL.acquireTimeoutMs),
        idleTimeoutMs: integer(0, 3_600_000).default(POOL.idleTimeoutMs),
        statementTimeoutMs: integer(0, 3_600_000).default(POOL.statementTimeoutMs),
        idleInTransactionTimeoutMs: integer(0, 3_600_000).default(POOL.idleInTransactionTimeoutMs),
        leakDetectionThresholdMs: integer(0, 3_600_000).default(POOL.leakDetectionThresholdMs),
        maxSessionLifetimeMs: integer(0, 86_400_000).default(POOL.maxSessionLifetimeMs),
        breakerThreshold: integer(1, 1000).default(POOL.breakerThreshold),
        breakerCooldownMs: integer(100, 600_000).default(POOL.breakerCooldownMs),
      })
      .prefault({}),

    auth: z
      .object({
        accessTokenTtlSeconds: integer(1, 86_400).default(900),
        // minimum 1 s so that tests can watch sessions expire; production values are hours and days
        sessionAbsoluteTtlSeconds: integer(1, 31_536_000).default(7 * 86_400),
        sessionIdleTtlSeconds: integer(1, 31_536_000).default(86_400),
        maxSessionsPerUser: integer(1, 10_000).default(10),
        /** What a login past the per-user limit does: end the oldest session, or be refused. */
        sessionLimitPolicy: z.enum(['evict-oldest', 'refuse']).default('evict-oldest'),
        sweepIntervalMs: integer(100, 3_600_000).default(60_000),
        loginAttemptsPerMinute: integer(1, 100_000).default(10),
        /**
         * How long a validated login session is trusted from memory before the database is asked again (and its
         * idle clock touched). Revocations arrive at once through the broadcaster; this bounds a missed one.
         */
        sessionCheckIntervalMs: integer(50, 600_000).default(5_000),
        /** scrypt cost as log2(N): 14 is N = 16384 (about 50 ms a hash). Lower only for tests and benchmarks. */
        passwordHashCost: integer(10, 20).default(14),
      })
      .prefault({}),

    /** How instances tell each other about messages, revoked logins and membership changes (see broadcast/). */
    broadcast: z
      .object({
        /** Unset: PostgreSQL LISTEN/NOTIFY on the service's database. `redis://host:port`: Redis Streams;
         * `nats://host:port`: NATS JetStream. */
        url: z
          .string()
          .regex(
            /^(redis|rediss|nats):\/\/[^\s]+$/,
            'must be redis://host:port or nats://host:port (unset for PostgreSQL LISTEN/NOTIFY)',
          )
          .optional(),
        /** The NOTIFY channel, Redis stream key or JetStream stream name; instances that talk must share it. */
        channel: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
          .default('tether_events'),
        /** Events a Redis or NATS stream keeps (older ones are trimmed): enough to bridge a reconnect. */
        retainEvents: integer(1_000, 100_000_000).default(100_000),
        /** How often the outbox relay looks without being kicked (events of crashed instances, a broker back). */
        relayIntervalMs: integer(10, 600_000).default(500),
        /** Events the relay publishes per transaction. */
        relayBatchSize: integer(1, 10_000).default(500),
      })
      .prefault({}),

    server: z
      .object({
        /** How long shutdown waits for in-flight requests and sessions before ending them. */
        shutdownTimeoutMs: integer(0, 600_000).default(10_000),
        /** Largest accepted request body and WebSocket frame. */
        bodyLimitBytes: integer(1_024, 16_777_216).default(1_048_576),
        /**
         * Deepest nesting of JSON accepted in a request body or WebSocket frame; deeper text is refused (400
         * `nesting_too_deep`) before a value is built. Tether's own bodies are two levels deep.
         */
        maxJsonDepth: integer(2, 10_000).default(64),
        /** Largest message content, in characters. */
        maxMessageLength: integer(1, 1_000_000).default(10_000),
        /** WebSocket keep-alive: a connection that does not answer a protocol ping within this interval is closed. */
        wsHeartbeatMs: integer(0, 3_600_000).default(30_000),
        /**
         * fastify's `trustProxy`: whose `X-Forwarded-For` names the client, and so which address the per-IP limits
         * count. `false` (the default) counts the TCP peer: behind a reverse proxy every client would share the
         * proxy's budget. `true` trusts any sender (only when nothing but the proxy can reach the server), a number
         * trusts that many hops, and a comma-separated list trusts those addresses or CIDR ranges.
         */
        trustProxy: trustProxy.default(false),
      })
      .prefault({}),

    /** Fairness: no client, signed in or not, can take the service from the others (README: "Fair limits"). */
    limits: z
      .object({
        /** Request-scoped sessions one user runs at once, over HTTP and WebSocket together. */
        sessionsPerUser: integer(1, 1000).default(4),
        /** A user's calls waiting for one of those places; beyond, 429 `rate_limited`. */
        queuedSessionsPerUser: integer(0, 100_000).default(64),
        /** Sustained HTTP requests plus WebSocket frames per second of one user ... */
        userRequestsPerSecond: integer(1, 1_000_000).default(50),
        /** ... with bursts of this many. */
        userRequestBurst: integer(1, 1_000_000).default(200),
        /** Sustained HTTP requests and WebSocket upgrades per second from one IP address (see `trustProxy`) ... */
        ipRequestsPerSecond: integer(1, 1_000_000).default(200),
        /** ... with bursts of this many. */
        ipRequestBurst: integer(1, 1_000_000).default(400),
        /** Registrations and logins per minute from one IP address (each costs a password hash) ... */
        credentialAttemptsPerIpPerMinute: integer(1, 1_000_000).default(60),
        /** ... with bursts of this many (a burst of hashes takes every core for a while). */
        credentialAttemptBurst: integer(1, 1_000_000).default(10),
        /** Open WebSockets of one user on one instance; more are closed with 4429 `websocket_limit_reached`. */
        websocketsPerUser: integer(1, 100_000).default(32),
        /**
         * After a 429, how long a client's connection is not served: an HTTP refusal is answered after
         * min(Retry-After, this), a WebSocket's error frame goes at once and the socket is not read for as long.
         * A client that retries without waiting then costs a timer, not a reply per attempt. 0 turns it off.
         */
        refusalPauseMs: integer(0, 60_000).default(1000),
      })
      .prefault({}),
  })
  .superRefine((config, context) => {
    if (config.pooler !== 'transaction') return;
    // behind a pooler, migrations (an advisory lock) and LISTEN need PostgreSQL itself; embedded has no pooler
    for (const key of ['databaseUrl', 'directDatabaseUrl'] as const) {
      if (config[key] === undefined)
        context.addIssue({ code: 'custom', path: [key], message: 'is required when pooler is "transaction"' });
    }
  });

export type TetherConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables and the setting each one fills. */
const ENVIRONMENT: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['PORT', ['port']],
  ['TETHER_PORT', ['port']],
  ['TETHER_HOST', ['host']],
  ['TETHER_DATA_DIR', ['dataDir']],
  ['DATABASE_URL', ['databaseUrl']],
  ['TETHER_POOLER', ['pooler']],
  ['TETHER_DIRECT_DATABASE_URL', ['directDatabaseUrl']],
  ['TETHER_SECRET', ['secret']],
  ['TETHER_LOG_LEVEL', ['logLevel']],
  ['TETHER_POOL_MAX', ['pool', 'max']],
  ['TETHER_ACQUIRE_TIMEOUT_MS', ['pool', 'acquireTimeoutMs']],
  ['TETHER_IDLE_TIMEOUT_MS', ['pool', 'idleTimeoutMs']],
  ['TETHER_STATEMENT_TIMEOUT_MS', ['pool', 'statementTimeoutMs']],
  ['TETHER_LEAK_DETECTION_THRESHOLD_MS', ['pool', 'leakDetectionThresholdMs']],
  ['TETHER_MAX_SESSION_LIFETIME_MS', ['pool', 'maxSessionLifetimeMs']],
  ['TETHER_BREAKER_THRESHOLD', ['pool', 'breakerThreshold']],
  ['TETHER_BREAKER_COOLDOWN_MS', ['pool', 'breakerCooldownMs']],
  ['TETHER_ACCESS_TOKEN_TTL_S', ['auth', 'accessTokenTtlSeconds']],
  ['TETHER_SESSION_TTL_S', ['auth', 'sessionAbsoluteTtlSeconds']],
  ['TETHER_SESSION_IDLE_TTL_S', ['auth', 'sessionIdleTtlSeconds']],
  ['TETHER_MAX_SESSIONS_PER_USER', ['auth', 'maxSessionsPerUser']],
  ['TETHER_SESSION_LIMIT_POLICY', ['auth', 'sessionLimitPolicy']],
  ['TETHER_SWEEP_INTERVAL_MS', ['auth', 'sweepIntervalMs']],
  ['TETHER_LOGIN_ATTEMPTS_PER_MINUTE', ['auth', 'loginAttemptsPerMinute']],
  ['TETHER_SESSION_CHECK_INTERVAL_MS', ['auth', 'sessionCheckIntervalMs']],
  ['TETHER_PASSWORD_HASH_COST', ['auth', 'passwordHashCost']],
  ['TETHER_IDLE_IN_TRANSACTION_TIMEOUT_MS', ['pool', 'idleInTransactionTimeoutMs']],
  ['TETHER_SHUTDOWN_TIMEOUT_MS', ['server', 'shutdownTimeoutMs']],
  ['TETHER_BODY_LIMIT_BYTES', ['server', 'bodyLimitBytes']],
  ['TETHER_MAX_MESSAGE_LENGTH', ['server', 'maxMessageLength']],
  ['TETHER_MAX_JSON_DEPTH', ['server', 'maxJsonDepth']],
  ['TETHER_TRUST_PROXY', ['server', 'trustProxy']],
  ['TETHER_SESSIONS_PER_USER', ['limits', 'sessionsPerUser']],
  ['TETHER_QUEUED_SESSIONS_PER_USER', ['limits', 'queuedSessionsPerUser']],
  ['TETHER_USER_REQUESTS_PER_SECOND', ['limits', 'userRequestsPerSecond']],
  ['TETHER_USER_REQUEST_BURST', ['limits', 'userRequestBurst']],
  ['TETHER_IP_REQUESTS_PER_SECOND', ['limits', 'ipRequestsPerSecond']],
  ['TETHER_IP_REQUEST_BURST', ['limits', 'ipRequestBurst']],
  ['TETHER_CREDENTIAL_ATTEMPTS_PER_IP_PER_MINUTE', ['limits', 'credentialAttemptsPerIpPerMinute']],
  ['TETHER_CREDENTIAL_ATTEMPT_BURST', ['limits', 'credentialAttemptBurst']],
  ['TETHER_WEBSOCKETS_PER_USER', ['limits', 'websocketsPerUser']],
  ['TETHER_REFUSAL_PAUSE_MS', ['limits', 'refusalPauseMs']],
  ['TETHER_WS_HEARTBEAT_MS', ['server', 'wsHeartbeatMs']],
  ['TETHER_BROADCAST_URL', ['broadcast', 'url']],
  ['TETHER_BROADCAST_CHANNEL', ['broadcast', 'channel']],
  ['TETHER_BROADCAST_RETAIN_EVENTS', ['broadcast', 'retainEvents']],
  ['TETHER_OUTBOX_RELAY_INTERVAL_MS', ['broadcast', 'relayIntervalMs']],
  ['TETHER_OUTBOX_RELAY_BATCH_SIZE', ['broadcast', 'relayBatchSize']],
];

type Tree = { [key: string]: unknown };

function setPath(target: Tree, keys: readonly string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Tree;
  node[keys[keys.length - 1] as string] = value;
}

function mergeDeep(base: Tree, extra: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) continue;
    const prior = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object'
        ? mergeDeep(prior as Tree, value as Tree)
        : value;
  }
  return out;
}

/**
 * Builds the configuration from the environment and explicit overrides (flags). Throws a
 * `ConfigurationError` whose message is one line naming the setting, its source and what is wrong.
 */
export function loadConfig(env: NodeJS.ProcessEnv = {}, overrides: ConfigInput = {}): TetherConfig {
  const fromEnv: Tree = {};
  const sourceOf = new Map<string, string>();
  for (const [name, keys] of ENVIRONMENT) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(fromEnv, keys, value);
    sourceOf.set(keys.join('.'), name);
  }
  const result = configSchema.safeParse(mergeDeep(fromEnv, overrides as Tree));
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path.join('.') ?? '?';
    const source =
      sourceOf.get(key) && !hasPath(overrides as Tree, issue?.path ?? []) ? ` (from ${sourceOf.get(key)})` : '';
    throw new ConfigurationError(`invalid setting ${key}${source}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function hasPath(tree: Tree, path: ReadonlyArray<PropertyKey>): boolean {
  let node: unknown = tree;
  for (const key of path) {
    if (!node || typeof node !== 'object') return false;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node !== undefined;
}
