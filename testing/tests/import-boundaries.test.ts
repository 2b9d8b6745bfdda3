import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The boundaries rule's messages for `code` as if it were the file at `path` (relative to the repository). */
async function boundaryErrors(path: string, code: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: root }).lintText(code, { filePath: `${root}/${path}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.message);
}

describe('the import directions the lint step enforces', () => {
  it.each([
    [
      'the session layer importing the server',
      'packages/sessions/src/probe.ts',
      "export { TetherServer } from '../../tether/src/server/index.js';",
      'the session layer imports nothing',
    ],
    [
      'the scanner importing the session layer',
      'packages/ssot/src/probe.ts',
      "export { SessionFactory } from '@tether/sessions';",
      'tether and ssot never import each other',
    ],
    [
      'product code importing testing/',
      'packages/tether/src/server/probe.ts',
      "export { failureOf } from '@tether/testing';",
      'product code never imports harness/ or testing/',
    ],
    [
      'a benchmark importing testing/',
      'packages/tether/bench/probe.ts',
      "export { failureOf } from '@tether/testing';",
      'benchmarks never import testing/',
    ],
    [
      'product code importing harness/',
      'packages/sessions/src/probe.ts',
      "export { AnsweringClient } from '@tether/harness';",
      'product code never imports harness/ or testing/',
    ],
    [
      'the service importing harness/',
      'packages/tether/src/server/probe.ts',
      "export { startPgBouncer } from '@tether/harness';",
      'product code never imports harness/ or testing/',
    ],
    [
      'harness/ importing testing/',
      'harness/src/probe.ts',
      "export { failureOf } from '@tether/testing';",
      'harness/ imports neither testing/ nor the benchmarks',
    ],
    [
      'the threads domain importing logins',
      'packages/tether/src/threads/probe.ts',
      "export { LoginManager } from '../logins/index.js';",
      'threads knows no logins',
    ],
  ])('refuses %s', async (_what, path, code, message) => {
    expect((await boundaryErrors(path, code)).join('\n')).toContain(message);
  });

  it('allows the intended directions: the server on the session layer and a domain', async () => {
    const code =
      "export { SessionFactory } from '@tether/sessions';\nexport { createThread } from '../threads/index.js';";
    expect(await boundaryErrors('packages/tether/src/server/probe.ts', code)).toEqual([]);
  });

  it('allows the benchmarks and testing/ to use harness/', async () => {
    const code = "export { runOutageScenario } from '@tether/harness';";
    expect(await boundaryErrors('packages/tether/bench/probe.ts', code)).toEqual([]);
    expect(await boundaryErrors('testing/src/probe.ts', code)).toEqual([]);
  });
}, 60_000);
