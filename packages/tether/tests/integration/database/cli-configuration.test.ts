import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

function tether(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('tether with bad configuration', () => {
  it.each([
    [
      'a malformed DATABASE_URL',
      ['migrate'],
      { DATABASE_URL: 'not a url' },
      /^tether: invalid setting databaseUrl \(from DATABASE_URL\)/,
    ],
    [
      'an unwritable data directory',
      ['migrate', '--data-dir', '/proc/tether'],
      {},
      /^tether: data directory \/proc\/tether cannot be created/,
    ],
    ['a port out of range', ['serve', '--port', '99999'], {}, /^tether: invalid setting port: /],
    ['an unknown flag', ['serve', '--colour'], {}, /unknown option '--colour'/],
  ])('reports %s in one line and exits 2', (_what, args, env, message) => {
    const result = tether(args, env);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(message);
    if (!args.includes('--colour')) expect(lines).toHaveLength(1);
  });

  it('exits non-zero with the reason when the database server does not answer', () => {
    const result = tether(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^tether: .*ECONNREFUSED/);
  });
});
