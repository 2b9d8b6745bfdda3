import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { api, registerAndLogin, serverForFile, withDatabase } from '@tether/testing';

// In the pooler category, where the e2e layer runs again: proof that its servers really sit behind PgBouncer.

const file = serverForFile();

async function rowsOf<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('a test server in the pooler category', () => {
  it('runs its sessions through PgBouncer and keeps its LISTEN connection on PostgreSQL itself', async () => {
    expect(file.server.server.factory.options.pooler).toBe('transaction');
    const user = await registerAndLogin(file.server.url);
    const thread = await api<{ id: string }>(file.server.url, '/threads', {
      token: user.accessToken,
      body: { title: 'behind the pooler' },
    });
    expect(thread.status).toBe(201);

    // PgBouncer's console: the server's pool connected through it, to this test's database
    const pooler = inject('poolerDatabaseUrl') ?? 'postgres://unset';
    const clients = await rowsOf<{ database: string; application_name: string }>(
      withDatabase(pooler, 'pgbouncer'),
      'SHOW CLIENTS',
    );
    expect(
      clients.filter((c) => c.database === file.db.name && c.application_name === 'tether').length,
    ).toBeGreaterThan(0);
    expect(clients.some((c) => c.application_name.startsWith('tether-listener:'))).toBe(false);

    // PostgreSQL's view: the listener is a client of its own (LISTEN needs a session of its own)
    const direct = await rowsOf<{ application_name: string }>(
      file.db.url,
      'SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    expect(direct.map((row) => row.application_name)).toContain(`tether-listener:${file.server.server.instanceId}`);
  });
});
