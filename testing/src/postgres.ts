import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from 'tether/database';

export interface ScratchDatabase {
  /** Superuser URL of the new database (migrated unless asked otherwise). */
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A URL with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A fresh database on the shared test server, so test files never see each other's rows and can run on
 * embedded PostgreSQL and on DATABASE_URL alike.
 */
export async function createScratchDatabase(
  adminUrl: string,
  options: { migrate?: boolean } = {},
): Promise<ScratchDatabase> {
  const name = `tether_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  if (options.migrate !== false) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client);
    } finally {
      await client.end();
    }
  }
  return {
    url,
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Adds users straight into the database (as the superuser, not through the API); returns their ids in order. */
export async function insertUsers(url: string, ...emails: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO users (email, password_hash)
       SELECT e, 'not a hash' FROM unnest($1::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n
       RETURNING id`,
      [emails],
    );
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}
