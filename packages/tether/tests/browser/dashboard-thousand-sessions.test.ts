import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardFeed, streamDashboard } from '../../src/dashboard/index.js';
import { dashboardRoutes } from '../../src/server/routes/dashboard.js';
import { launchChromium } from '@tether/testing';
import { LATENCY_BUCKETS_MS, type PoolMetrics, type SessionMetrics } from '@tether/sessions';

// The dashboard page with a thousand open sessions: the real page and feed, fed by a source that reports
// 1,000 sessions (a real pool cannot hold that many connections on the embedded server), in real Chromium.

const SESSIONS = 1_000;
const empty = {
  buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
  count: 0,
  sumMs: 0,
  maxMs: 0,
  p50Ms: 0,
  p99Ms: 0,
};

let app: FastifyInstance;
let browser: Browser;
let url: string;
let opened = 0;

beforeAll(async () => {
  const started = Date.now();
  const source = {
    poolMetrics: (): PoolMetrics => ({
      max: 1_000,
      active: SESSIONS,
      idle: 0,
      pending: 12,
      activeSessions: SESSIONS,
      peakConcurrent: SESSIONS,
      totalCreated: SESSIONS,
      totalClosed: 0,
      sessionsOpened: (opened += 400),
      sessionsFailed: 0,
      acquireTimeouts: 0,
      breakerState: 'closed',
      breakerTrips: 0,
      leaksDetected: 0,
      sessionsTerminated: 0,
      dirtyEvicted: 0,
      errorsByCode: {},
      acquireTime: empty,
      sessionLifetime: empty,
      queryTime: empty,
    }),
    activeSessions: (): SessionMetrics[] =>
      Array.from({ length: SESSIONS }, (_, i) => ({
        sessionId: `s-${i}`,
        requestId: `req-${i}`,
        userId: `user-${i % 50}`,
        threadId: null,
        state: 'active',
        createdAt: started - i * 10,
        lastActivityAt: Date.now(),
        closedAt: null,
        queryCount: i % 7,
        transactionCount: 1,
        errorCount: 0,
        lastError: null,
        totalTimeMs: 0,
      })),
    subscribe: () => () => {},
  };
  const feed = new DashboardFeed(source);
  app = Fastify();
  await app.register(dashboardRoutes);
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => 'bearer' });
  (app.server as http.Server).on('upgrade', (request, socket, head) =>
    wss.handleUpgrade(request, socket, head, (ws) => streamDashboard(ws, feed)),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('dashboard with a thousand active sessions', () => {
  it('draws only the rows in view; no main-thread task over 100 ms while frames stream in', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.addInitScript(() => {
      sessionStorage.setItem('tether.dashboard.token', 'any');
      const long: number[] = [];
      (window as unknown as { longTasks: number[] }).longTasks = long;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => long.push(e.duration))).observe({
        type: 'longtask',
        buffered: true,
      });
    });
    await page.goto(`${url}/dashboard`);
    await expect
      .poll(() => page.locator('#sessions-count').textContent(), { timeout: 10_000 })
      .toBe('(500 oldest of 1,000)');
    // a virtualised table: the rows in view and a few around them, not 500 at once
    const rows = page.locator('#sessions tbody tr:not(.spacer)');
    await expect.poll(() => rows.count()).toBeGreaterThan(5);
    expect(await rows.count()).toBeLessThan(40);
    expect(await rows.first().textContent()).toContain('req-999'); // the oldest first
    await page.waitForTimeout(3_000); // a dozen frames of 1,000 sessions each
    const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    expect(longTasks.filter((ms) => ms > 100)).toEqual([]);
    // scrolled to the end, the last of the 500 rows is drawn
    await page.locator('#sessions-wrap').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(() => rows.last().textContent()).toContain('req-500');
    expect(await page.locator('#pool-sessions').textContent()).toBe('1,000');
    await page.close();
  });
});
