import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serverForFile } from '@tether/testing';

// The dashboard's layout at common window widths (the board is shown without signing in: layout only).

const file = serverForFile();
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

describe('dashboard layout', () => {
  it('the nine pool cards never leave one card alone on a row, at any common width', async () => {
    for (const width of [800, 1024, 1180, 1280, 1366, 1920]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(`${file.server.url}/dashboard`);
      const rows = await page.evaluate(() => {
        (document.getElementById('board') as HTMLElement).hidden = false;
        const tops = [...document.querySelectorAll('.cards .card')].map((card) =>
          Math.round(card.getBoundingClientRect().top),
        );
        return [...new Set(tops)].map((top) => tops.filter((t) => t === top).length);
      });
      expect(
        rows.reduce((a, b) => a + b, 0),
        `width ${width}`,
      ).toBe(9);
      expect(Math.min(...rows), `width ${width}: cards per row ${rows.join(', ')}`).toBeGreaterThan(1);
      await page.close();
    }
  });
});
