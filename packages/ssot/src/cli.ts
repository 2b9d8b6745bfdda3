#!/usr/bin/env node
/**
 * `ssot scan PATH… [--format text|json|sarif] [--fail-on error|warning|note] [--baseline FILE]
 *  [--write-baseline FILE] [--config FILE]` and `ssot explain RULE`.
 * Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or configuration errors.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from './config.js';
import { SinceError } from './files/changed-since.js';
import { writeBaseline } from './report/baseline.js';
import { formatJson } from './report/json.js';
import { formatSarif } from './report/sarif.js';
import { formatText } from './report/text.js';
import { RULES, ruleById } from './rules/index.js';
import type { Severity } from './rules/types.js';
import { scan } from './scan.js';
import { VERSION } from './version.js';

const RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

class UsageError extends Error {}

interface ScanFlags {
  format: 'text' | 'json' | 'sarif';
  failOn: Severity;
  baseline?: string;
  writeBaseline?: string;
  config?: string;
  root?: string;
  threads?: number;
  since?: string;
  cacheDir?: string;
  cache: boolean;
}

function progressBar(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY || process.env.CI) return undefined;
  let last = 0;
  return (done, total) => {
    if (total < 500) return;
    const now = Date.now();
    if (done < total && now - last < 100) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} files`);
    if (done === total) process.stderr.write('\r\u001b[K');
  };
}

export async function main(argv: readonly string[]): Promise<number | undefined> {
  let exitCode = 0;
  let serving = false;
  const program = new Command()
    .name('ssot')
    .description('Single-source-of-truth scanner for Python and TypeScript/JavaScript')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError();

  program
    .command('scan')
    .description('scan files and directories')
    .argument('[paths...]', 'files or directories (default: .)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding has this severity or above')
        .choices(['error', 'warning', 'note'])
        .default('warning'),
    )
    .option('--baseline <file>', 'report only findings not in this baseline')
    .option('--write-baseline <file>', 'write the findings to a baseline file')
    .option('--config <file>', 'config file (default: ssot.config.json in the scan root)')
    .option('--root <dir>', 'the directory paths are reported relative to and modules resolved from')
    .option('--threads <n>', 'worker threads (0: none)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
      return n;
    })
    .option('--since <ref>', 'report only findings in files changed since this git revision (all files are still read)')
    .option('--cache-dir <dir>', 'where to cache per-file summaries (default: .ssot_cache in the scan root)')
    .option('--no-cache', 'read and extract every file, and leave the cache alone')
    .action(async (paths: string[], opts: ScanFlags) => {
      const onProgress = progressBar();
      const report = await scan({
        paths: paths.length > 0 ? paths : ['.'],
        cache: opts.cache ? (opts.cacheDir ?? true) : false,
        ...(opts.since !== undefined ? { since: opts.since } : {}),
        ...(opts.root ? { root: opts.root } : {}),
        ...(opts.config ? { config: opts.config } : {}),
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      if (opts.writeBaseline) {
        writeBaseline(opts.writeBaseline, report.findings);
        process.stderr.write(`ssot: wrote ${report.findings.length} findings to ${opts.writeBaseline}\n`);
      }
      const out =
        opts.format === 'json'
          ? formatJson(report)
          : opts.format === 'sarif'
            ? formatSarif(report)
            : formatText(report, { colour: process.stdout.isTTY === true && !process.env.NO_COLOR });
      process.stdout.write(out);
      if (!opts.writeBaseline && report.findings.some((f) => RANK[f.severity] >= RANK[opts.failOn])) exitCode = 1;
    });

  program
    .command('lsp')
    .description('run the language server (over stdin and stdout)')
    .option('--stdio', 'talk over stdin and stdout (the only transport, used with or without this flag)')
    .action(async () => {
      const { startLanguageServer } = await import('./lsp/server.js');
      startLanguageServer();
      serving = true;
    });

  program
    .command('explain')
    .description("print a rule's documentation")
    .argument('<rule>', RULES.map((r) => r.id).join(' | '))
    .action((id: string) => {
      const rule = ruleById(id);
      if (!rule) throw new UsageError(`unknown rule "${id}"; rules: ${RULES.map((r) => r.id).join(', ')}`);
      process.stdout.write(rule.doc);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    // the language server runs until its client says exit
    return serving ? undefined : exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ConfigError || error instanceof UsageError || error instanceof SinceError) {
      process.stderr.write(`ssot: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      process.stderr.write(`ssot: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
