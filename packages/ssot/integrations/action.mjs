// The GitHub Action's entry point (action.yml, `runs.using: node24`): builds the scanner from the action's checkout
// (from-source.mjs), scans the workspace once, writes SARIF for github/codeql-action/upload-sarif, prints the text
// report to the log, sets the outputs `sarif-file` and `findings`, and fails the step when findings reach `fail-on`.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureScanner, SetupError } from './from-source.mjs';

const RANK = { note: 0, warning: 1, error: 2 };

/** An input as the runner passes it: INPUT_ + the name upper-cased (spaces become underscores, hyphens stay). */
function input(name, fallback = '') {
  const value = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function output(name, value) {
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${name}=${value}\n`);
}

/** A workflow command the runner turns into an annotation; the text is escaped as the runner expects. */
function fail(message) {
  process.stdout.write(
    `::error title=ssot::${message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`,
  );
  process.exitCode = 2;
}

async function main() {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  const failOn = input('fail-on', 'warning');
  if (!(failOn in RANK) && failOn !== 'never')
    return fail(`fail-on must be error, warning, note or never (got "${failOn}")`);
  const dist = ensureScanner((line) => process.stdout.write(`${line}\n`));
  const { scan, formatSarif, formatText } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  const paths = input('paths', '.')
    .split(/\s+/)
    .map((p) => resolve(workspace, p));
  const config = input('config');
  const baseline = input('baseline');
  const since = input('since');
  const report = await scan({
    paths,
    root: resolve(workspace, input('root', '.')),
    cache: input('cache', 'true') === 'false' ? false : true,
    ...(config ? { config: resolve(workspace, config) } : {}),
    ...(baseline ? { baseline: resolve(workspace, baseline) } : {}),
    ...(since ? { since } : {}),
  });
  const sarifFile = resolve(workspace, input('sarif-file', 'ssot.sarif'));
  mkdirSync(dirname(sarifFile), { recursive: true });
  writeFileSync(sarifFile, formatSarif(report));
  process.stdout.write(formatText(report, { colour: false }));
  output('sarif-file', sarifFile);
  output('findings', String(report.findings.length));
  if (failOn !== 'never' && report.findings.some((f) => RANK[f.severity] >= RANK[failOn])) {
    process.stdout.write(
      `::error title=ssot::${report.findings.length} finding(s) at or above ${failOn}; the SARIF is in ${sarifFile}\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((error) => {
  // configuration, setup and git (--since) problems are the workflow's to fix: one annotation, exit 2
  if (error instanceof SetupError || ['ConfigError', 'SinceError'].includes(error?.name) || error?.code === 'ENOENT')
    fail(error.message);
  else throw error;
});
