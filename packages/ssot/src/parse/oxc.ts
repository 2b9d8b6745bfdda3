/**
 * oxc-parser, loaded on first use (Node ≥ 20.19 requires ES modules synchronously): a thread that only ever parses
 * Python never spends the time to load it.
 */
import { createRequire } from 'node:module';
import type * as OxcModule from 'oxc-parser';

type Oxc = typeof OxcModule;
let oxc: Oxc | null = null;

export function parseScript(...args: Parameters<Oxc['parseSync']>): ReturnType<Oxc['parseSync']> {
  oxc ??= createRequire(import.meta.url)('oxc-parser') as Oxc;
  return oxc.parseSync(...args);
}
