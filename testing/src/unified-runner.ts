#!/usr/bin/env node
/**
 * The unified test runner: `npm run test:unified -- [--pattern GLOB] [--category C | --categories C…]
 * [--real-services] [--fast-fail] [--list-categories] [--json-output FILE]`. It drives Vitest, one project per
 * category; see testing/README.md. Exit codes: 0 all passed, 1 failures, 2 usage errors.
 */
import { fileURLToPath } from 'node:url';
import { CategoryConfigError } from './runner/categories.js';
import { parseArguments, UsageError } from './runner/options.js';
import { Interrupt, runUnified } from './runner/run.js';

const REPOSITORY_CONFIG = fileURLToPath(new URL('../../vitest.config.ts', import.meta.url));

async function main(argv: readonly string[]): Promise<number> {
  // through npm, relative paths mean what they meant where npm was started
  const cwd = process.env['npm_lifecycle_event']?.startsWith('test')
    ? (process.env['INIT_CWD'] ?? process.cwd())
    : process.cwd();
  const interrupt = new Interrupt();
  try {
    const parsed = parseArguments(argv, { config: REPOSITORY_CONFIG, cwd });
    if (parsed.kind === 'exit') return parsed.code;
    installSignalHandlers(interrupt);
    return await runUnified(
      parsed.options,
      { env: process.env, log: (line) => console.log(line), error: (line) => console.error(line) },
      interrupt,
    );
  } catch (error) {
    if (error instanceof UsageError || error instanceof CategoryConfigError) {
      console.error(`test:unified: ${error.message}`);
      return 2;
    }
    console.error('test:unified: the run could not complete:', error);
    return 1;
  }
}

/**
 * First SIGINT/SIGTERM: cancel the Vitest run and let the run clean up (close Vitest, stop PostgreSQL). A second
 * one exits at once; the PostgreSQL launcher still stops its server on exit.
 */
function installSignalHandlers(interrupt: Interrupt): void {
  let cancel: (() => void) | undefined;
  let stopServices: (() => void) | undefined;
  interrupt.onVitest = (vitest) => {
    cancel = () => void vitest.cancelCurrentRun('keyboard-input');
  };
  interrupt.onServices = (services) => {
    stopServices = () => void services.stop();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.signal) {
      stopServices?.();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    interrupt.raise(signal);
    console.error(`test:unified: ${signal}: stopping the run and its services (again to exit at once)`);
    cancel?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const code = await main(process.argv.slice(2));
// Vitest's worker pools and the PostgreSQL client may hold handles; the run is over.
process.exit(code);
