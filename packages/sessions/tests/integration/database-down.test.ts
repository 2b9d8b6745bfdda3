import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import { CircuitOpenError, DatabaseUnavailableError, SessionFactory } from '@tether/sessions';
import { captureLogger, eventually, failureOf, startPrivatePostgres } from '@tether/testing';
import { migrate } from 'tether/database';
import pg from 'pg';

// A real outage: the embedded server is stopped in the middle of a session, then started again.
let server: EmbeddedPostgres;
let dataDir: string;
let port: number;

beforeAll(async () => {
  server = await startPrivatePostgres();
  dataDir = server.dataDir;
  port = server.port;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await migrate(client);
  await client.end();
});
afterAll(() => server.stop());

describe('database stopped in the middle of a session', () => {
  it('raises a typed error, opens the breaker, fails fast while open, and recovers after a restart', async () => {
    const logs = captureLogger();
    const threshold = 3;
    const factory = new SessionFactory({
      connectionString: server.url,
      breakerThreshold: threshold,
      breakerCooldownMs: 300,
      acquireTimeoutMs: 2_000,
      logger: logs.logger,
    });
    const breakerStates: string[] = [];
    factory.subscribe((e) => {
      if (e.type === 'breaker') breakerStates.push(e.state);
    });
    try {
      const session = await factory.openSession({ userId: 'system' });
      await session.query('SELECT 1');
      await server.stop();

      const midSession = await failureOf(session.query('SELECT 1'));
      expect(midSession).toBeInstanceOf(DatabaseUnavailableError);
      await session.close();
      expect(factory.poolMetrics().activeSessions).toBe(0);

      // consecutive connection failures trip the breaker
      for (let i = 0; i < threshold; i++) {
        expect(await failureOf(factory.withSession({ userId: 'system' }, (s) => s.query('SELECT 1')))).toBeInstanceOf(
          DatabaseUnavailableError,
        );
      }
      expect(factory.breakerState()).toBe('open');
      const started = performance.now();
      const fast = await failureOf(factory.withSession({ userId: 'system' }, (s) => s.query('SELECT 1')));
      expect(fast).toBeInstanceOf(CircuitOpenError);
      expect(performance.now() - started).toBeLessThan(50);
      expect(factory.poolMetrics().breakerTrips).toBe(1);
      expect(logs.find('database circuit breaker opened')).toHaveLength(1);

      server = await EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
      // after the cooldown, the next session is the half-open probe: it succeeds and closes the breaker
      expect(
        await eventually(
          async () => {
            try {
              await factory.withSession({ userId: 'system' }, (s) => s.query('SELECT 1'));
              return true;
            } catch {
              return false;
            }
          },
          10_000,
          100,
        ),
      ).toBe(true);
      expect(factory.breakerState()).toBe('closed');
      expect(breakerStates[0]).toBe('open');
      expect(breakerStates.at(-2)).toBe('half_open');
      expect(breakerStates.at(-1)).toBe('closed');
      const metrics = factory.poolMetrics();
      expect(metrics.breakerTrips).toBe(1);
      expect(metrics.activeSessions).toBe(0);
      expect(metrics.errorsByCode.database_unavailable).toBeGreaterThanOrEqual(threshold + 1);
      expect(metrics.errorsByCode.circuit_open).toBeGreaterThanOrEqual(1);
    } finally {
      await factory.close();
    }
  });

  it('reports health as unavailable while the database is down and ok once it is back', async () => {
    const factory = new SessionFactory({
      connectionString: server.url,
      breakerThreshold: 100,
      acquireTimeoutMs: 1_000,
    });
    try {
      expect((await factory.health()).status).toBe('ok');
      await server.stop();
      const down = await factory.health();
      expect(down.status).toBe('unavailable');
      expect(down.error?.code).toBe('database_unavailable');
      server = await EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
      expect(await eventually(async () => (await factory.health()).status === 'ok', 10_000, 100)).toBe(true);
    } finally {
      await factory.close();
    }
  });
});
