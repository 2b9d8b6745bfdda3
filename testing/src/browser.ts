import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Flags for this closed network: without the background-networking ones, Chromium's own connections are refused. */
const FLAGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumOptions {
  /** The browser's environment (e.g. `LANG`), over this process's. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Chromium, headless, never a browser downloaded at test time: the system's where there is one (`CHROMIUM_PATH`,
 * else `/usr/bin/chromium`), otherwise the build that `@sparticuz/chromium` ships inside its npm package
 * (unpacked into the temporary directory on first use), so `npm install && npm test` needs nothing else.
 */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  const system = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  // the packaged build's own `args` are for one page in a serverless function (--single-process): a second page
  // then finds the browser closed. It runs with the same flags as the system's.
  const executablePath = system ?? (await (await import('@sparticuz/chromium')).default.executablePath());
  return chromium.launch({
    executablePath,
    args: FLAGS,
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
}
