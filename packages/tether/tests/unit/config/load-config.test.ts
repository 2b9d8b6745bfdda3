import { describe, expect, it } from 'vitest';
import { ConfigurationError } from 'tether';
import { loadConfig } from '../../../src/config/index.js';

describe('loadConfig', () => {
  it('fills every setting with its default', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe('./.tether/data');
    expect(config.pool.max).toBe(20);
    expect(config.auth.sessionLimitPolicy).toBe('evict-oldest');
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads the environment and lets flags win over it', () => {
    const config = loadConfig(
      { PORT: '4000', TETHER_POOL_MAX: '7', DATABASE_URL: 'postgres://u@h/db' },
      { port: 5000 },
    );
    expect(config.port).toBe(5000);
    expect(config.pool.max).toBe(7);
    expect(config.databaseUrl).toBe('postgres://u@h/db');
  });

  it('rejects a bad value with one line naming the setting and the variable it came from', () => {
    expect(() => loadConfig({ TETHER_POOL_MAX: 'lots' })).toThrow(ConfigurationError);
    expect(() => loadConfig({ TETHER_POOL_MAX: 'lots' })).toThrow(
      /^invalid setting pool\.max \(from TETHER_POOL_MAX\)/,
    );
    expect(() => loadConfig({}, { port: 70000 })).toThrow(/invalid setting port:/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/databaseUrl \(from DATABASE_URL\).*postgres:\/\//);
    expect(() => loadConfig({ TETHER_SECRET: 'short' })).toThrow(/secret.*at least 32/);
  });

  it('picks the broadcaster from TETHER_BROADCAST_URL: unset is PostgreSQL, redis:// and nats:// name brokers', () => {
    expect(loadConfig({}).broadcast.url).toBeUndefined();
    expect(loadConfig({}).broadcast.channel).toBe('tether_events');
    expect(loadConfig({ TETHER_BROADCAST_URL: 'redis://127.0.0.1:6379' }).broadcast.url).toBe('redis://127.0.0.1:6379');
    expect(
      loadConfig({ TETHER_BROADCAST_URL: 'nats://127.0.0.1:4222', TETHER_BROADCAST_CHANNEL: 'chat_1' }).broadcast,
    ).toMatchObject({ url: 'nats://127.0.0.1:4222', channel: 'chat_1' });
    expect(() => loadConfig({ TETHER_BROADCAST_URL: 'kafka://x:9092' })).toThrow(
      /broadcast\.url \(from TETHER_BROADCAST_URL\).*redis:\/\//,
    );
    expect(() => loadConfig({ TETHER_BROADCAST_CHANNEL: 'a.b' })).toThrow(/broadcast\.channel/);
  });
});

describe('loadConfig behind a transaction-mode pooler', () => {
  const pooled = { DATABASE_URL: 'postgres://u@pooler:6432/db', TETHER_DIRECT_DATABASE_URL: 'postgres://u@db:5432/db' };

  it('is off by default and reads TETHER_POOLER and TETHER_DIRECT_DATABASE_URL', () => {
    expect(loadConfig({}).pooler).toBe('none');
    const config = loadConfig({ ...pooled, TETHER_POOLER: 'transaction' });
    expect(config.pooler).toBe('transaction');
    expect(config.databaseUrl).toBe('postgres://u@pooler:6432/db');
    expect(config.directDatabaseUrl).toBe('postgres://u@db:5432/db');
  });

  it('refuses a pooler without the direct connection that migrations and LISTEN need', () => {
    expect(() => loadConfig({ DATABASE_URL: pooled.DATABASE_URL, TETHER_POOLER: 'transaction' })).toThrow(
      /^invalid setting directDatabaseUrl: is required when pooler is "transaction"/,
    );
    expect(() => loadConfig({ TETHER_POOLER: 'transaction' })).toThrow(/databaseUrl: is required/);
    expect(() => loadConfig({ ...pooled, TETHER_POOLER: 'session' })).toThrow(/pooler \(from TETHER_POOLER\)/);
  });
});
