import { describe, expect, it } from 'vitest';
import { DashboardFeed, type DashboardFrame } from '../../../src/dashboard/index.js';
import { LATENCY_BUCKETS_MS, type PoolMetrics, type SessionEvent, type SessionEventListener, type SessionMetrics } from '@tether/sessions';

const histogram = (buckets: number[]) => ({ buckets, count: buckets.reduce((a, b) => a + b, 0), sumMs: 0, maxMs: 100, p50Ms: 0, p99Ms: 0 });
const empty = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

/** A stand-in for the factory whose figures the test sets by hand. */
class FakeSource {
  pool: PoolMetrics = {
    max: 10, active: 0, idle: 0, pending: 0, activeSessions: 0, peakConcurrent: 0, totalCreated: 0, totalClosed: 0, sessionsOpened: 0, sessionsFailed: 0,
    acquireTimeouts: 0, breakerState: 'closed', breakerTrips: 0, leaksDetected: 0, sessionsTerminated: 0, dirtyEvicted: 0,
    errorsByCode: {}, acquireTime: histogram(empty()), sessionLifetime: histogram(empty()), queryTime: histogram(empty()),
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
  sessionId: id, requestId: `req-${id}`, userId: 'u', threadId: null, state: 'active', createdAt, lastActivityAt: createdAt, closedAt: null,
  queryCount: 1, transactionCount: 1, errorCount: 0, lastError: null, totalTimeMs: 0,
});

describe('DashboardFeed', () => {
  it('computes sessions and errors per second from the difference between frames', async () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    const frames: DashboardFrame[] = [];
    const stop = feed.subscribe((f) => frames.push(f));
    await Promise.resolve(); // the first frame goes out at once
    expect(frames).toHaveLength(1);
    source.pool = { ...source.pool, sessionsOpened: 50, errorsByCode: { pool_exhausted: 5 } };
    await new Promise((r) => setTimeout(r, 100));
    const frame = feed.tick();
    expect(frame.rates.sessionsPerSec).toBeGreaterThan(200);
    expect(frame.rates.sessionsPerSec).toBeLessThan(600);
    expect(Object.keys(frame.rates.errorsPerSec)).toEqual(['pool_exhausted']);
    stop();
    expect(feed.watchers).toBe(0);
    expect(source.listener).toBeUndefined();
  });

  it('sends the recent events to a new watcher first, then only new ones', () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000 });
    const first: DashboardFrame[] = [];
    feed.subscribe((f) => first.push(f));
    const leak: SessionEvent = { type: 'leak', at: 1, sessionId: 's', requestId: 'r', userId: null, heldMs: 20_000, openedAt: 'at handler (routes.ts:1)', statement: 'SELECT 1' };
    source.listener?.(leak);
    feed.tick();
    const second: DashboardFrame[] = [];
    feed.subscribe((f) => second.push(f));
    feed.tick();
    expect(first.at(-2)?.events).toEqual([leak]);
    expect(first.at(-1)?.events).toEqual([]);
    expect(second[0]?.events).toEqual([leak]);
  });

  it('lists the oldest sessions first, caps the rows and always sends the total', () => {
    const source = new FakeSource();
    source.sessions = Array.from({ length: 1_000 }, (_, i) => session(`s${i}`, 10_000 - i));
    const feed = new DashboardFeed(source, { intervalMs: 60_000, maxRows: 100 });
    const frame = feed.tick();
    expect(frame.sessions.total).toBe(1_000);
    expect(frame.sessions.rows).toHaveLength(100);
    expect(frame.sessions.rows[0]?.sessionId).toBe('s999');
  });

  it('reports acquire-time percentiles over the window only', () => {
    const source = new FakeSource();
    const feed = new DashboardFeed(source, { intervalMs: 60_000, windowMs: 60_000 });
    const slow = empty();
    slow[12] = 100; // ≤ 2500 ms: long ago
    source.pool = { ...source.pool, acquireTime: histogram(slow) };
    feed.subscribe(() => {});
    feed.tick();
    const recent = slow.slice();
    recent[2] = 100; // ≤ 1 ms: since the last frame
    source.pool = { ...source.pool, acquireTime: histogram(recent) };
    const frame = feed.tick();
    expect(frame.acquire.p99Ms).toBeLessThanOrEqual(1);
  });
});
