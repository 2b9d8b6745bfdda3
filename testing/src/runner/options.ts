import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';

export interface RunnerOptions {
  /** `--pattern GLOB`: see compilePattern. */
  readonly pattern: string | undefined;
  /** `--category`/`--categories`, in the order given; undefined means every category. */
  readonly categories: readonly string[] | undefined;
  readonly realServices: boolean;
  readonly fastFail: boolean;
  readonly listCategories: boolean;
  /** Absolute path of the JSON report, when asked for. */
  readonly jsonOutput: string | undefined;
  /** Absolute path of the Vitest config; its directory is the root test paths are relative to. */
  readonly config: string;
}

/** A command line that cannot be run as written: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ParseResult =
  { readonly kind: 'run'; readonly options: RunnerOptions } | { readonly kind: 'exit'; readonly code: number };

/**
 * Parses the runner's arguments (without `node` and the script). Help goes to stdout and ends with 0; a bad
 * option throws UsageError.
 */
export function parseArguments(
  argv: readonly string[],
  defaults: { readonly config: string; readonly cwd: string },
): ParseResult {
  const program = new Command('test:unified')
    .description('Runs the test categories through Vitest: npm run test:unified -- [options]')
    .option(
      '--pattern <glob>',
      'run only tests whose file path or full name matches (case-insensitive; _ - and space alike)',
    )
    .option('--category <name>', 'run one category (repeatable)', collect)
    .option('--categories <names...>', 'run these categories (space- or comma-separated)')
    .option('--real-services', 'start embedded PostgreSQL (or use DATABASE_URL) for the categories that need it')
    .option('--fast-fail', 'stop at the first failing test')
    .option('--list-categories', 'print each category with its test count, run nothing')
    .option('--json-output <file>', 'write per-test results as JSON to FILE')
    .addOption(
      new Option('--config <file>', "Vitest config declaring the categories (for the runner's own tests)").hideHelp(),
    )
    .addHelpText(
      'after',
      '\nCategories are the projects declared in vitest.config.ts (see --list-categories); they run in that order.\n' +
        'Exit codes: 0 all selected tests passed, 1 failures (or nothing matched), 2 usage errors (including a\n' +
        'category that needs services run without --real-services).',
    )
    .allowExcessArguments(false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    });

  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are answers, not mistakes; commander has already printed its message either way
      if (error.exitCode === 0) return { kind: 'exit', code: 0 };
      return { kind: 'exit', code: 2 };
    }
    throw error;
  }

  const raw = program.opts<{
    pattern?: string;
    category?: string[];
    categories?: string[];
    realServices?: true;
    fastFail?: true;
    listCategories?: true;
    jsonOutput?: string;
    config?: string;
  }>();
  const named = [...(raw.category ?? []), ...(raw.categories ?? [])]
    .flatMap((value) => value.split(','))
    .map((value) => value.trim());
  if (named.some((name) => name === '')) throw new UsageError('empty category name');
  if (raw.pattern !== undefined && raw.pattern.trim() === '') throw new UsageError('--pattern needs a non-empty glob');
  return {
    kind: 'run',
    options: {
      pattern: raw.pattern,
      categories: named.length > 0 ? [...new Set(named)] : undefined,
      realServices: raw.realServices === true,
      fastFail: raw.fastFail === true,
      listCategories: raw.listCategories === true,
      jsonOutput: raw.jsonOutput === undefined ? undefined : path.resolve(defaults.cwd, raw.jsonOutput),
      config: path.resolve(defaults.cwd, raw.config ?? defaults.config),
    },
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
