import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'tether/database';
import {
  api,
  grantAdmin,
  launchChromium,
  registerAndLogin,
  startPrivatePostgres,
  startTestServer,
  type LoggedInUser,
  type TestServer,
} from '@tether/testing';

// The live dashboard in real Chromium (Debian's, driven by playwright-core) against the real server on a
// private embedded PostgreSQL that the test stops and starts again.

const artifacts = fileURLToPath(new URL('../../../../test-results/browser/', import.meta.url));

let database: EmbeddedPostgres;
let server: TestServer;
let browser: Browser;
let admin: LoggedInUser;
let writer: LoggedInUser;
let threadId: string;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  database = await startPrivatePostgres();
  server = await startTestServer({
    databaseUrl: database.url,
    config: { pool: { max: 6, breakerThreshold: 3, breakerCooldownMs: 1_000, acquireTimeoutMs: 1_000 } },
  });
  admin = await registerAndLogin(server.url);
  writer = await registerAndLogin(server.url);
  await grantAdmin(database.url, admin.id);
  threadId = (await api<{ id: string }>(server.url, '/threads', { token: writer.accessToken, body: { title: 'load' } }))
    .body.id;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.stop();
});

/** Writes messages from `workers` loops until stopped; counts answers by status. */
function generateLoad(workers = 6): { stop(): Promise<Map<number, number>> } {
  let running = true;
  const statuses = new Map<number, number>();
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const r = await api(server.url, `/threads/${threadId}/messages`, {
        token: writer.accessToken,
        body: { content: 'load' },
      }).catch(() => ({ status: 0 }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status !== 201) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

async function signIn(page: Page, user: LoggedInUser): Promise<void> {
  await page.goto(`${server.url}/dashboard`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const number = async (page: Page, selector: string): Promise<number> =>
  Number((await page.locator(selector).textContent())?.replace(/[^\d.]/g, '') || 'NaN');

describe('live dashboard in Chromium', () => {
  it('refuses an account that is not an administrator', async () => {
    const page = await browser.newPage();
    await signIn(page, writer);
    await expect
      .poll(() => page.locator('#login-error').textContent(), { timeout: 10_000 })
      .toContain('not an administrator');
    expect(await page.locator('#board').isHidden()).toBe(true);
    await page.close();
  });

  it('shows pool figures and charts moving under load, the breaker opening on an outage, and recovery', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await signIn(page, admin);
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 10_000 }).toBe('Live');
    await expect.poll(() => page.locator('#pool-max').textContent()).toBe('6');
    expect(await page.locator('#breaker').textContent()).toBe('closed');
    await page.screenshot({ path: `${artifacts}dashboard-idle.png`, fullPage: true });

    // load: the sessions-per-second figure and the chart move, sessions appear in the table at some point
    const load = generateLoad();
    await expect.poll(() => number(page, '#now-sessions'), { timeout: 10_000 }).toBeGreaterThan(5);
    await expect.poll(() => page.locator('#chart-sessions canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => number(page, '#pool-trips')).toBe(0);
    // a figure, and one the pool can have: between none and its max (6) connections checked out
    const active = await number(page, '#pool-active');
    expect(Number.isInteger(active) && active >= 0 && active <= 6, `#pool-active shows ${active}`).toBe(true);
    await page.screenshot({ path: `${artifacts}dashboard-load.png`, fullPage: true });

    // outage: the database stops while the load goes on
    const { dataDir, port } = database;
    await database.stop();
    await expect.poll(() => page.locator('#breaker').textContent(), { timeout: 15_000 }).toBe('open');
    await expect
      .poll(() => page.locator('#errors').textContent(), { timeout: 5_000 })
      .toMatch(/database_unavailable|circuit_open/);
    expect(await page.locator('#connection').textContent()).toBe('Live'); // the dashboard itself needs no database
    await page.screenshot({ path: `${artifacts}dashboard-outage.png`, fullPage: true });

    // recovery: the same cluster comes back on the same port; the server heals by itself
    database = await EmbeddedPostgres.start({ dataDir, port, ephemeral: true });
    await expect.poll(() => page.locator('#breaker').textContent(), { timeout: 20_000 }).toBe('closed');
    await expect.poll(() => number(page, '#now-sessions'), { timeout: 10_000 }).toBeGreaterThan(5);
    await page.screenshot({ path: `${artifacts}dashboard-recovered.png`, fullPage: true });
    const statuses = await load.stop();
    expect(statuses.get(201)).toBeGreaterThan(0);
    expect(statuses.get(503)).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s !== 201 && s !== 503)).toEqual([]);
    await page.close();
  });

  it('is usable from the keyboard: the sign-in form takes focus and every field has a label', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('email');
    await page.keyboard.type(admin.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(admin.password);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 10_000 }).toBe('Live');
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('input')].filter((i) => !i.labels?.length).map((i) => i.id),
    );
    expect(unlabeled).toEqual([]);
    await page.close();
  });
});
