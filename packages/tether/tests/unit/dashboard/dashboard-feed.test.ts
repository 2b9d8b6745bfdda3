import { describe, expect, it } from 'vitest';
import { DashboardFeed, UserEmails, type DashboardFrame, type TrafficTotals } from '../../../src/dashboard/index.js';
import {
  LATENCY_BUCKETS_MS,
  type PoolMetrics,
  type SessionEvent,
  type SessionEventListener,
  type SessionMetrics,
} from '@tether/sessions';

const histogram = (buckets: number[]) => ({
  buckets,
  count: buckets.reduce((a, b) => a + b, 0),
  sumMs: 0,
  maxMs: 100,
  p50Ms: 0,
  p99Ms: 0,
});
const empty = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

/** A stand-in for the factory whose figures the test sets by hand. */
class FakeSource {
  pool: PoolMetrics = {
    max: 10,
    active: 0,
    idle: 0,
    pending: 0,
    activeSessions: 0,
    peakConcurrent: 0,
    totalCreated: 0,
    totalClosed: 0,
    sessionsOpened: 0,
    sessionsFailed: 0,
    acquireTimeouts: 0,
    breakerState: 'closed',
    breakerTrips: 0,
    leaksDetected: 0,
    sessionsTerminated: 0,
    dirtyEvicted: 0,
    errorsByCode: {},
    acquireTime: histogram(empty()),
    sessionLifetime: histogram(empty()),
    queryTime: histogram(empty()),
  };
  sessions: SessionMetrics[] = [];
  listener: SessionEventListener | undefined;
  poolMetrics = (): PoolMetrics => this.pool;
  activeSessions = (): SessionMetrics[] => this.sessions.map((s) => ({ ...s }));
  subscribe = (l: SessionEventListener): (() => void) => {
    this.listener = l;
    return () => (this.listener = undefined);
  };
}

const session = (id: string, createdAt: number): SessionMetrics => ({
  sessionId: id,
  requestId: `req-${id}`,
  userId: 'u',
  threadId: null,
  state: 'active',
  createdAt,
  lastActivityAt: createdAt,
  closedAt: null,
  queryCount: 1,
  transactionCount: 1,
  errorCount: 0,
  lastError: null,
  totalTimeMs: 0,
});

describe('DashboardFeed', () => {
  it('computes sessions and errors per second from the difference between frames', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    const frames: DashboardFrame[] = [];
    const stop = feed.subscribe((f) => frames.push(f));
    await feed.tick(); // the first frame goes out at once
    expect(frames.length).toBeGreaterThanOrEqual(1);
    source.pool = { ...source.pool, sessionsOpened: 50, errorsByCode: { pool_exhausted: 5 } };
    await new Promise((r) => setTimeout(r, 100));
    const frame = await feed.tick();
    expect(frame.rates.sessionsPerSec).toBeGreaterThan(200);
    expect(frame.rates.sessionsPerSec).toBeLessThan(600);
    expect(Object.keys(frame.rates.errorsPerSec)).toEqual(['pool_exhausted']);
    stop();
    expect(feed.watchers).toBe(0);
    feed.close();
    expect(source.listener).toBeUndefined();
  });

  it('sends the recent events to a new watcher first, then only new ones', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    const first: DashboardFrame[] = [];
    feed.subscribe((f) => first.push(f));
    const leak: SessionEvent = {
      type: 'leak',
      at: 1,
      sessionId: 's',
      requestId: 'r',
      userId: null,
      heldMs: 20_000,
      openedAt: 'at handler (routes.ts:1)',
      statement: 'SELECT 1',
    };
    source.listener?.(leak);
    await feed.tick();
    const second: DashboardFrame[] = [];
    feed.subscribe((f) => second.push(f));
    await feed.tick();
    expect(first.at(-2)?.events).toEqual([leak]);
    expect(first.at(-1)?.events).toEqual([]);
    expect(second[0]?.events).toEqual([leak]);
  });

  it('lists the oldest sessions first, caps the rows and always sends the total', async () => {
    const source = new FakeSource();
    source.sessions = Array.from({ length: 1_000 }, (_, i) => session(`s${i}`, 10_000 - i));
    const feed = new DashboardFeed(source, { intervalMs: 60_000, maxRows: 100 });
    feed.subscribe(() => {});
    const frame = await feed.tick();
    expect(frame.sessions.total).toBe(1_000);
    expect(frame.sessions.rows).toHaveLength(100);
    expect(frame.sessions.rows[0]?.sessionId).toBe('s999');
  });

  it('reports acquire-time percentiles over the window only', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000, windowMs: 60_000 });
    const slow = empty();
    slow[12] = 100; // ≤ 2500 ms: long ago
    source.pool = { ...source.pool, acquireTime: histogram(slow) };
    feed.subscribe(() => {});
    await feed.tick();
    const recent = slow.slice();
    recent[2] = 100; // ≤ 1 ms: since the last frame
    source.pool = { ...source.pool, acquireTime: histogram(recent) };
    const frame = await feed.tick();
    expect(frame.acquire.p99Ms).toBeLessThanOrEqual(1);
  });
});

describe('DashboardFeed: traffic, error levels and history', () => {
  it('turns HTTP counts into requests per second by status class, and passes the WebSocket gauges on', async () => {
    const source = new FakeSource();
    let traffic: TrafficTotals = {
      http: { '2xx': 10, '3xx': 0, '4xx': 2, '5xx': 0 },
      websocket: { connections: 3, subscriptions: 2, framesReceived: 5, framesDelivered: 0 },
    };
    const feed = new DashboardFeed(source, { intervalMs: 60_000, traffic: () => traffic });
    await feed.tick();
    traffic = {
      http: { '2xx': 110, '3xx': 0, '4xx': 12, '5xx': 1 },
      websocket: { connections: 4, subscriptions: 2, framesReceived: 25, framesDelivered: 0 },
    };
    await new Promise((r) => setTimeout(r, 200));
    const frame = await feed.tick();
    expect(frame.rates.httpPerSec['2xx']).toBeGreaterThan(200);
    expect(frame.rates.httpPerSec['2xx']).toBeLessThan(600);
    expect(frame.rates.httpPerSec['4xx']).toBeCloseTo(frame.rates.httpPerSec['2xx'] / 10, 5);
    expect(frame.rates.httpPerSec['3xx']).toBe(0);
    expect(frame.rates.wsFramesPerSec).toBeCloseTo(frame.rates.httpPerSec['2xx'] / 5, 5);
    expect(frame.websocket).toEqual({ connections: 4, subscriptions: 2 });
    feed.close();
  });

  it("labels each error code with the level the session layer gave it: a caller's RLS refusal is info", async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    feed.start();
    await feed.tick();
    const event = (code: string, level: 'info' | 'warn' | 'error'): SessionEvent => ({
      type: 'session_error',
      at: 1,
      code,
      message: code,
      sessionId: 's',
      requestId: 'r',
      userId: null,
      level,
    });
    source.listener?.(event('isolation_violation', 'info'));
    source.listener?.(event('database_unavailable', 'warn'));
    source.pool = { ...source.pool, errorsByCode: { isolation_violation: 1, database_unavailable: 1, mystery: 1 } };
    const frame = await feed.tick();
    expect(frame.rates.errorLevels).toEqual({
      isolation_violation: 'info',
      database_unavailable: 'warn',
      mystery: 'error',
    });
    feed.close();
  });

  it('keeps the last minute of samples and sends them first to a new watcher, oldest first', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 1_000, historyMs: 5_000 });
    feed.start();
    for (let i = 0; i < 8; i++) {
      source.pool = { ...source.pool, sessionsOpened: source.pool.sessionsOpened + 10 };
      await feed.tick();
    }
    const frames: DashboardFrame[] = [];
    feed.subscribe((f) => frames.push(f));
    await feed.tick();
    await feed.tick();
    const history = frames[0]?.history ?? [];
    expect(history).toHaveLength(5);
    expect(history.map((s) => s.at)).toEqual([...history.map((s) => s.at)].sort((a, b) => a - b));
    expect(history.at(-1)?.at).toBeLessThanOrEqual(frames[0]?.at ?? 0);
    expect(frames[1]?.history).toBeUndefined();
    feed.close();
  });

  it('shows emails from the cache and looks up unknown ids in one batch, not once per frame or per id', async () => {
    const source = new FakeSource();
    const ids = Array.from({ length: 30 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    source.sessions = ids.map((id, i) => ({ ...session(`s${i}`, i), userId: id }));
    source.sessions.push({ ...session('sys', 100), userId: 'service:auth' });
    const lookups: string[][] = [];
    const emails = new UserEmails(async (batch) => {
      lookups.push([...batch]);
      return new Map(batch.map((id) => [id, `${id.slice(-2)}@example.test`]));
    });
    const feed = new DashboardFeed(source, { intervalMs: 60_000, emails });
    const frames: DashboardFrame[] = [];
    feed.subscribe((f) => frames.push(f));
    await feed.tick();
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 5; i++) await feed.tick();
    expect(lookups).toHaveLength(1);
    expect(lookups[0]?.sort()).toEqual([...ids].sort());
    const rows = frames.at(-1)?.sessions.rows ?? [];
    expect(rows.find((r) => r.userId === ids[7])?.userEmail).toBe('07@example.test');
    expect(rows.find((r) => r.userId === 'service:auth')?.userEmail).toBeNull();
    feed.close();
  });

  it('says the database is down while a probe fails on an idle server, and up when it answers again', async () => {
    const source = new FakeSource();
    let reachable = false;
    const probed = { count: 0 };
    const feed = new DashboardFeed(
      Object.assign(source, {
        health: async () => {
          probed.count++;
          return reachable
            ? { status: 'ok' as const, error: null }
            : { status: 'unavailable' as const, error: { code: 'database_unavailable' } };
        },
      }),
      { intervalMs: 60_000, probeIntervalMs: 0 },
    );
    const frames: DashboardFrame[] = [];
    feed.subscribe((f) => frames.push(f));
    await feed.tick();
    await new Promise((r) => setTimeout(r, 0));
    expect((await feed.tick()).database).toMatchObject({ status: 'down', reason: 'database_unavailable' });
    reachable = true;
    const after: string[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 0));
      after.push((await feed.tick()).database.status);
    }
    expect(after.at(-1)).toBe('up'); // a probe already running when it came back may still say down
    expect(probed.count).toBeGreaterThanOrEqual(2);
    feed.close();
  });

  it('says the database is down while the breaker is open', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    await feed.tick();
    source.pool = { ...source.pool, breakerState: 'open' };
    expect((await feed.tick()).database).toMatchObject({ status: 'down', reason: 'circuit breaker open' });
    feed.close();
  });
});
