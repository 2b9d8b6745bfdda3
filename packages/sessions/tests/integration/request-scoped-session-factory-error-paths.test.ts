import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  DatabaseUnavailableError,
  PoolExhaustedError,
  SessionFactory,
  SessionTimeoutError,
  type SessionMetrics,
} from '@tether/sessions';
import { captureLogger, createScratchDatabase, insertUsers, failureOf, type ScratchDatabase } from '@tether/testing';

// Counterparts of the seed's integration tests: each failure path of the session factory, against a real
// PostgreSQL, ends in a typed error and a correct log line, never in an error raised by the error handling.

let db: ScratchDatabase;
let userId: string;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  [userId] = (await insertUsers(db.url, 'errors@example.com')) as [string];
});
afterAll(() => db.drop());

describe('request-scoped session factory error paths', () => {
  it("database connection error raises DatabaseUnavailableError caused by the driver's error", async () => {
    const logs = captureLogger();
    // a port where nothing listens: connection refused
    const factory = new SessionFactory({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      acquireTimeoutMs: 2_000,
      logger: logs.logger,
    });
    try {
      const attempt = factory.withSession({ userId }, (s) => s.query('SELECT 1'));
      await expect(attempt).rejects.toBeInstanceOf(DatabaseUnavailableError);
      const error = await failureOf<DatabaseUnavailableError>(attempt);
      expect(error.code).toBe('database_unavailable');
      expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      const [line] = logs.find('session could not acquire a connection');
      expect(line?.level).toBe('warn'); // database trouble that clears by itself
      const context = line?.context.session as Record<string, unknown>;
      expect(context.errorCode).toBe('database_unavailable');
      expect(context.userId).toBe(userId);
      expect(context.errorCount).toBe(1);
      expect(context.lastError).toMatchObject({ code: 'database_unavailable' });
      const metrics = factory.poolMetrics();
      expect(metrics.activeSessions).toBe(0);
      expect(metrics.active).toBe(0);
      expect(metrics.sessionsFailed).toBe(1);
      expect(metrics.errorsByCode.database_unavailable).toBe(1);
    } finally {
      await factory.close();
    }
  });

  it('session timeout error path raises SessionTimeoutError and the next session on the same pool works', async () => {
    const factory = new SessionFactory({ connectionString: db.url, max: 1, statementTimeoutMs: 200 });
    try {
      const slow = factory.withSession({ userId }, (s) => s.query('SELECT pg_sleep(5)'));
      const error = await failureOf(slow);
      expect(error).toBeInstanceOf(SessionTimeoutError);
      expect(((error as Error).cause as { code: string }).code).toBe('57014');
      // the only connection of the pool serves the next session
      const { rows } = await factory.withSession({ userId }, (s) => s.query<{ n: number }>('SELECT 41 + 1 AS n'));
      expect(rows[0]?.n).toBe(42);
      expect(factory.poolMetrics().errorsByCode.session_timeout).toBe(1);
    } finally {
      await factory.close();
    }
  });

  it('session factory pool exhaustion error: PoolExhaustedError within the acquire timeout, no hang', async () => {
    const max = 3;
    const extra = 2;
    const acquireTimeoutMs = 400;
    const factory = new SessionFactory({ connectionString: db.url, max, acquireTimeoutMs });
    try {
      const holders = await Promise.all(Array.from({ length: max }, () => factory.openSession({ userId })));
      await Promise.all(holders.map((s) => s.query('SELECT 1')));
      const started = Date.now();
      const waits = await Promise.allSettled(Array.from({ length: extra }, () => factory.openSession({ userId })));
      const waited = Date.now() - started;
      expect(waits.map((w) => w.status)).toEqual(Array(extra).fill('rejected'));
      for (const w of waits) expect((w as PromiseRejectedResult).reason).toBeInstanceOf(PoolExhaustedError);
      expect(waited).toBeGreaterThanOrEqual(acquireTimeoutMs * 0.5);
      expect(waited).toBeLessThanOrEqual(acquireTimeoutMs * 1.5);
      const during = factory.poolMetrics();
      expect(during.active).toBe(max);
      expect(during.acquireTimeouts).toBe(extra);

      await Promise.all(holders.map((s) => s.commit()));
      const { rows } = await factory.withSession({ userId }, (s) => s.query<{ ok: boolean }>('SELECT true AS ok'));
      expect(rows[0]?.ok).toBe(true);
      expect(factory.poolMetrics().activeSessions).toBe(0);
    } finally {
      await factory.close();
    }
  });

  it('session metrics creation and error logging: right fields logged, the caller gets the error', async () => {
    const logs = captureLogger();
    const factory = new SessionFactory({ connectionString: db.url, logger: logs.logger });
    let seen: SessionMetrics | undefined;
    try {
      const failing = factory.withSession({ userId, requestId: 'req-err-1' }, async (s) => {
        seen = s.metrics;
        await s.query('SELECT 1');
        await s.query('SELECT * FROM no_such_table');
      });
      const error = await failureOf<Error & { code: string }>(failing);
      // the caller receives the database's own error (undefined_table), not one raised while logging it
      expect(error.code).toBe('42P01');
      expect(error).not.toBeInstanceOf(TypeError);
      const [line] = logs.find('session failed');
      expect(line?.level).toBe('error'); // neither the caller's input nor an outage: a bug to look at
      const context = line!.context.session as Record<string, unknown>;
      expect(Object.keys(context).sort()).toEqual(
        [
          'ageMs',
          'closedAt',
          'createdAt',
          'errorCode',
          'errorCount',
          'errorMessage',
          'lastActivityAt',
          'lastError',
          'queryCount',
          'requestId',
          'sessionId',
          'state',
          'threadId',
          'totalTimeMs',
          'transactionCount',
          'userId',
        ].sort(),
      );
      expect(context).toMatchObject({
        requestId: 'req-err-1',
        userId,
        queryCount: 2,
        errorCount: 1,
        transactionCount: 1,
        errorCode: '42P01',
        state: 'rolled_back',
      });
      expect(Object.values(context).every((v) => v !== undefined)).toBe(true);
      for (const legacy of ['last_activity', 'operations_count', 'errors']) expect(context).not.toHaveProperty(legacy);
      expect(seen?.state).toBe('rolled_back');
      expect(seen?.closedAt).toBeGreaterThanOrEqual(seen!.createdAt);
    } finally {
      await factory.close();
    }
  });
});
