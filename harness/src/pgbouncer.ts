import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from 'tether/database';

/** Where Debian's `pgbouncer` package puts its binary (also looked up on PATH). */
const KNOWN_LOCATIONS = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** What to tell someone whose machine lacks PgBouncer. */
export const PGBOUNCER_MISSING = 'pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run installs it)';

/** Names the binary to use instead of looking for one (the runner's own tests point it at nothing). */
export const PGBOUNCER_BINARY_ENV = 'TETHER_TEST_PGBOUNCER';

/** The PgBouncer binary on this machine (or the one `TETHER_TEST_PGBOUNCER` names), or undefined when there is none. */
export function findPgBouncer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env[PGBOUNCER_BINARY_ENV];
  const onPath = (env['PATH'] ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'pgbouncer'));
  for (const candidate of named !== undefined ? [named] : [...onPath, ...KNOWN_LOCATIONS]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PgBouncerOptions {
  /** The PostgreSQL it pools for (a URL with user and password; its database part is ignored). */
  readonly upstreamUrl: string;
  /** Server connections per database and user (`default_pool_size`): kept small so clients share them. */
  readonly poolSize?: number;
}

/** A PgBouncer in transaction mode in front of one PostgreSQL server, owned by this process. */
export interface PgBouncer {
  readonly port: number;
  /** `pgbouncer --version`'s first line. */
  readonly version: string;
  /** `url` with its host and port replaced by the pooler's: the same database and login, through PgBouncer. */
  through(url: string): string;
  /** Stops it (SIGTERM: immediate shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts Debian's `pgbouncer` in transaction mode on a free port of 127.0.0.1, in front of `upstreamUrl`'s server:
 * every database of that server is reachable through it by name (`* =` fallback), with the URL's login (its
 * password is in the auth file; clients are trusted). It sets no `ignore_startup_parameters`, so a client that
 * sends one PgBouncer does not know (`statement_timeout`, `options`) is refused, as in production. PgBouncer
 * refuses to run as root: as root it runs as the `postgres` system user, its files in a directory that user owns.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (binary === undefined) throw new Error(PGBOUNCER_MISSING);
  const version =
    (spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.trim() || 'pgbouncer';
  const upstream = new URL(options.upstreamUrl);
  const runAs = pgbouncerIdentity();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tether-pgbouncer-'));
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = launch(binary, dir, port, upstream, options.poolSize ?? 5, runAs);
      await ready(child, port, upstream, path.join(dir, 'pgbouncer.log'));
      let stopping: Promise<void> | undefined;
      return {
        port,
        version,
        through: (url) => {
          const u = new URL(url);
          u.hostname = '127.0.0.1';
          u.port = String(port);
          return u.toString();
        },
        stop: () => (stopping ??= stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }))),
      };
    } catch (error) {
      const portTaken = error instanceof Error && /Address already in use/i.test(error.message);
      if (!portTaken || attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

function launch(
  binary: string,
  dir: string,
  port: number,
  upstream: URL,
  poolSize: number,
  runAs: { uid: number; gid: number } | undefined,
): ChildProcess {
  const user = decodeURIComponent(upstream.username || 'postgres');
  const password = decodeURIComponent(upstream.password);
  const quote = (value: string): string => `"${value.replace(/"/g, '""')}"`;
  const files = {
    config: path.join(dir, 'pgbouncer.ini'),
    users: path.join(dir, 'userlist.txt'),
    log: path.join(dir, 'pgbouncer.log'),
    pid: path.join(dir, 'pgbouncer.pid'),
  };
  writeFileSync(files.users, `${quote(user)} ${quote(password)}\n`, { mode: 0o600 });
  writeFileSync(
    files.config,
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${files.users}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 1000',
      'max_db_connections = 0',
      // its console (database `pgbouncer`: SHOW CLIENTS, SHOW POOLS) lets tests see who is connected through it
      `admin_users = ${user}`,
      `logfile = ${files.log}`,
      `pidfile = ${files.pid}`,
      // a scratch database dropped WITH (FORCE) leaves pooled server connections behind: retry them soon
      'server_login_retry = 1',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  if (runAs) for (const file of [files.config, files.users]) chownSync(file, runAs.uid, runAs.gid);
  const child = spawn(binary, [files.config], { stdio: ['ignore', 'ignore', 'pipe'], ...(runAs ?? {}) });
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGTERM');
    });
  }
  return child;
}

/** Waits until a query through the pooler reaches PostgreSQL; throws with PgBouncer's own words if it exits. */
async function ready(child: ChildProcess, port: number, upstream: URL, logFile: string): Promise<void> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let exited = false;
  child.once('exit', () => (exited = true));
  const probe = new URL(upstream.toString());
  probe.hostname = '127.0.0.1';
  probe.port = String(port);
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`pgbouncer exited during start-up: ${tail(stderr, logFile)}`);
    const client = new pg.Client({ connectionString: probe.toString(), connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      last = error;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopChild(child);
  const why = (last as Error | undefined)?.message ?? 'no answer';
  throw new Error(`pgbouncer did not pass a query within 15 s (${why}): ${tail(stderr, logFile)}`);
}

function tail(stderr: string, logFile: string): string {
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8');
  } catch {
    // not written yet
  }
  return `${stderr}\n${log}`.trim().split('\n').slice(-5).join(' | ') || 'no output';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** PgBouncer refuses root: as root, the `postgres` system user (Debian's package creates it), else nobody. */
function pgbouncerIdentity(): { uid: number; gid: number } | undefined {
  if ((process.getuid?.() ?? 0) !== 0) return undefined;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === 'postgres' && uid && gid) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no passwd file: fall through
  }
  return { uid: 65534, gid: 65534 };
}
