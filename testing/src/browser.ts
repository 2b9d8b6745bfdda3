import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (never a downloaded browser), headless, with the flags this closed network needs: without
 * the background-networking ones, Chromium's own connections are refused many at a time.
 */
export function launchChromium(executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
