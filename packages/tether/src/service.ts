import { pino, type Logger } from 'pino';
import type { TetherConfig } from './config/index.js';
import { provisionDatabase, type ProvisionedDatabase } from './database/index.js';
import { TetherServer } from './server/index.js';

export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly port: number;
  readonly server: TetherServer;
  readonly database: ProvisionedDatabase;
  log(line: string): void;
  /** Graceful stop: the server (WebSockets closed with 1001, sessions drained), then the embedded database. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Print the start-up line on stdout (the CLI does; tests do not). */
  readonly announce?: boolean;
  /** Where logs go; pino on stdout at `config.logLevel` by default. */
  readonly logger?: Logger;
  /**
   * Called when the embedded PostgreSQL exits on its own (crash, stray signal): this server can never serve
   * again. The CLI closes the service and exits non-zero; by default the service only closes.
   */
  readonly onDatabaseLost?: (exitCode: number | null) => void;
}

/** Starts everything `tether serve` runs and says what it runs. */
export async function startService(
  config: TetherConfig,
  version: string,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const announce = options.announce ?? true;
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'tether' } });
  // migrations take a session-level advisory lock: PostgreSQL itself, not a transaction-mode pooler
  const db = await provisionDatabase({
    databaseUrl: config.directDatabaseUrl ?? config.databaseUrl,
    dataDir: config.dataDir,
    onLog: (line) => logger.debug({ component: 'postgres' }, line),
  });
  let server: TetherServer;
  let url: string;
  try {
    server = new TetherServer({
      config,
      databaseUrl: config.pooler === 'transaction' ? (config.databaseUrl ?? db.url) : db.url,
      logger,
      version,
    });
    url = await server.listen();
  } catch (error) {
    await db.close();
    throw error;
  }
  if (announce) {
    const pooler =
      config.pooler === 'transaction'
        ? `, sessions through the transaction-mode pooler at ${redact(config.databaseUrl ?? db.url)}`
        : '';
    const where = db.embedded
      ? `embedded PostgreSQL ${db.serverVersion} on 127.0.0.1:${db.embedded.port}, data in ${db.embedded.dataDir}`
      : `PostgreSQL ${db.serverVersion} at ${redact(db.url)}${pooler}`;
    const endpoints = `WebSocket ${url.replace(/^http/, 'ws')}/ws, dashboard ${url}/dashboard`;
    console.log(
      `tether ${version}: listening on ${url} (${endpoints}); ${where}; ` +
        `schema version ${db.migrations.current}. Ctrl-C stops.`,
    );
  }
  let closing: Promise<void> | null = null;
  void db.embedded?.exitedUnexpectedly.then((exitCode) => {
    if (closing) return;
    logger.fatal({ component: 'postgres', exitCode }, 'embedded PostgreSQL exited unexpectedly; stopping this server');
    if (options.onDatabaseLost) options.onDatabaseLost(exitCode);
    else void service.close();
  });
  const service: RunningService = {
    url,
    port: server.port,
    server,
    database: db,
    log: (line) => logger.info(line),
    close: () =>
      (closing ??= (async () => {
        try {
          await server.close();
        } finally {
          await db.close();
        }
      })()),
  };
  return service;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
