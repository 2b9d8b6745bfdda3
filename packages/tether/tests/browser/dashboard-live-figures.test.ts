import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import {
  api,
  grantAdmin,
  launchChromium,
  openSocket,
  registerAndLogin,
  startPrivatePostgres,
  startTestServer,
  type LoggedInUser,
  type TestServer,
} from '@tether/testing';

// What the dashboard shows beyond the pool, in real Chromium against the real server on a private embedded
// PostgreSQL: traffic by status class, WebSockets, the minute before sign-in, emails instead of ids, a caller's
// own 404 as information (not an alarm), and a banner while the database is really stopped.

let database: EmbeddedPostgres;
let server: TestServer;
let browser: Browser;
let admin: LoggedInUser;
let writer: LoggedInUser;
let stranger: LoggedInUser;
let threadId: string;

beforeAll(async () => {
  database = await startPrivatePostgres();
  server = await startTestServer({
    databaseUrl: database.url,
    config: { pool: { max: 6, breakerThreshold: 3, breakerCooldownMs: 1_000, acquireTimeoutMs: 1_000 } },
  });
  [admin, writer, stranger] = await Promise.all([
    registerAndLogin(server.url),
    registerAndLogin(server.url),
    registerAndLogin(server.url),
  ]);
  await grantAdmin(database.url, admin.id);
  threadId = (
    await api<{ id: string }>(server.url, '/threads', { token: writer.accessToken, body: { title: 'figures' } })
  ).body.id;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.stop();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${server.url}/dashboard`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('#connection').textContent(), { timeout: 10_000 }).toBe('Live');
}

const number = async (page: Page, selector: string): Promise<number> =>
  Number((await page.locator(selector).textContent())?.replace(/[^\d.]/g, '') || 'NaN');

describe('dashboard figures in Chromium', () => {
  it('draws the minute before sign-in at once, and shows requests by status class and open WebSockets', async () => {
    // traffic before anyone watches: 2xx writes and 4xx misses for a few seconds
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      await api(server.url, `/threads/${threadId}/messages`, {
        token: writer.accessToken,
        body: { content: 'before' },
      });
      await api(server.url, `/threads/${randomUUID()}`, { token: writer.accessToken });
    }
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(page);
    const live = Date.now();
    // the server's samples since it started (one per 250 ms): far more than the page could have gathered itself
    const points = async (): Promise<number> =>
      Number((await page.locator('#chart-sessions').getAttribute('data-points')) ?? 0);
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(0);
    const gatheredByPage = Math.ceil((Date.now() - live) / 250) + 1;
    expect(await points()).toBeGreaterThanOrEqual(gatheredByPage + 12); // at least the 3 s of traffic above

    const socket = await openSocket(server.wsUrl, writer.accessToken);
    let running = true;
    const load = (async () => {
      while (running) {
        await api(server.url, `/threads/${threadId}/messages`, {
          token: writer.accessToken,
          body: { content: 'load' },
        });
        await api(server.url, `/threads/${randomUUID()}`, { token: writer.accessToken });
        await socket.request({ type: 'ping', id: randomUUID() });
      }
    })();
    await expect.poll(() => number(page, '[data-http="2xx"]'), { timeout: 10_000 }).toBeGreaterThan(1);
    await expect.poll(() => number(page, '[data-http="4xx"]'), { timeout: 10_000 }).toBeGreaterThan(1);
    expect(await number(page, '[data-http="5xx"]')).toBe(0);
    await expect.poll(() => page.locator('#ws-connections').textContent(), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => number(page, '#ws-frames'), { timeout: 10_000 }).toBeGreaterThan(0);
    // a session open while sampled shows its user's email, never the bare id
    await expect.poll(() => page.locator('#sessions tbody').textContent(), { timeout: 15_000 }).toContain(writer.email);
    expect(await page.locator('#sessions tbody').textContent()).not.toContain(writer.id);
    running = false;
    await load;
    await socket.close();
    await expect.poll(() => page.locator('#ws-connections').textContent(), { timeout: 10_000 }).toBe('0');
    await page.close();
  });

  it("shows a caller's own 404 (a write RLS refused) as information with their email, not an alarm", async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(page);
    const refused = await api(server.url, `/threads/${threadId}/messages`, {
      token: stranger.accessToken,
      body: { content: 'not mine' },
    });
    expect(refused.status).toBe(404);
    const entry = page.locator('#errors li', { hasText: 'isolation_violation' }).first();
    await expect.poll(() => entry.count(), { timeout: 10_000 }).toBe(1);
    expect(await entry.getAttribute('data-level')).toBe('info');
    expect(await entry.textContent()).toContain(stranger.email);
    expect(await entry.textContent()).toContain('not an alarm');
    const colour = await entry.locator('code').evaluate((el) => getComputedStyle(el).color);
    expect(colour).not.toBe('rgb(176, 0, 32)'); // --bad
    expect(await page.locator('#now-errors').textContent()).not.toMatch(/^now [1-9]/); // the alarm figure stays at 0
    await page.close();
  });

  it('shows a banner while the database is stopped, even with no traffic, and removes it once it is back', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(page);
    expect(await page.locator('#database-banner').isHidden()).toBe(true);
    const { dataDir, port } = database;
    await database.stop();
    await expect.poll(() => page.locator('#database-banner').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('#database-banner').textContent()).toContain('database is unreachable');
    expect(await page.locator('#connection').textContent()).toBe('Live'); // the dashboard itself needs no database
    database = await EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
    await expect.poll(() => page.locator('#database-banner').isHidden(), { timeout: 20_000 }).toBe(true);
    await page.close();
  });
});
