import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantAdmin, launchChromium, registerAndLogin, serverForFile, type LoggedInUser } from '@tether/testing';

// The dashboard in a Chromium started under LANG=C.UTF-8, as on a server or in a container without locales:
// Chromium then reports `navigator.language` as `en-US@posix`, which Intl refuses.

const file = serverForFile();
let browser: Browser;
let admin: LoggedInUser;

beforeAll(async () => {
  admin = await registerAndLogin(file.server.url);
  await grantAdmin(file.db.url, admin.id);
  browser = await launchChromium({ env: { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', LANGUAGE: '' } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('dashboard under LANG=C.UTF-8', () => {
  it('the browser really reports a language tag that Intl refuses', async () => {
    const page = await browser.newPage();
    const { language, refused } = await page.evaluate(() => {
      try {
        new Intl.NumberFormat(navigator.language);
        return { language: navigator.language, refused: false };
      } catch {
        return { language: navigator.language, refused: true };
      }
    });
    expect(language).toBe('en-US@posix');
    expect(refused).toBe(true);
    await page.close();
  });

  it('loads uPlot and draws every chart, with no page errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${file.server.url}/dashboard`);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 10_000 }).toBe('Live');
    for (const chart of ['#chart-sessions', '#chart-acquire', '#chart-errors']) {
      await expect.poll(() => page.locator(`${chart} canvas`).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    }
    expect(await page.evaluate(() => typeof (window as unknown as { uPlot?: unknown }).uPlot)).toBe('function');
    // numbers formatted under that locale too: the connections meter says how many of how many
    await expect.poll(() => page.locator('#pool-meter-figures').textContent()).toMatch(/^\d+ of \d+ \(\d+ %\)$/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
