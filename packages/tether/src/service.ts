import type { TetherConfig } from './config/index.js';
import { provisionDatabase } from './database/index.js';

export interface RunningService {
  log(line: string): void;
  close(): Promise<void>;
}

/** Starts everything `tether serve` runs and says what it runs. */
export async function startService(config: TetherConfig, version: string): Promise<RunningService> {
  const db = await provisionDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const where = db.embedded ? `embedded PostgreSQL ${db.serverVersion} on 127.0.0.1:${db.embedded.port}, data in ${db.embedded.dataDir}` : `PostgreSQL ${db.serverVersion} at ${redact(db.url)}`;
  console.log(`tether ${version}: ${where}; schema version ${db.migrations.current}. Ctrl-C stops.`);
  return {
    log: (line) => console.log(`tether: ${line}`),
    close: () => db.close(),
  };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
