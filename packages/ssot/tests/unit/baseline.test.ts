import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { scan, writeBaseline } from '../../src/index.js';

const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug/', import.meta.url));
const FACTORY = 'netra_backend/app/database/request_scoped_session_factory.py';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssot-baseline-'));
  dirs.push(dir);
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

// each test runs several scans: seconds when the machine is loaded
describe('baseline round trip', { timeout: 30_000 }, () => {
  it('accepts existing findings after code moves by some lines, and reports only new ones', async () => {
    const dir = copyFixture();
    const baseline = join(dir, 'ssot-baseline.json');
    const before = await scan({ paths: [dir], threads: 0 });
    expect(before.findings.length).toBeGreaterThan(0);
    writeBaseline(baseline, before.findings);

    // move everything down: new imports and a helper at the top of each module
    for (const file of [
      FACTORY,
      'netra_backend/app/monitoring/session_monitor.py',
      'shared/session_management/user_session_manager.py',
    ]) {
      const path = join(dir, file);
      writeFileSync(
        path,
        `import os\nimport sys\n\n\ndef helper() -> None:\n    pass\n\n\n${readFileSync(path, 'utf8')}`,
      );
    }
    const moved = await scan({ paths: [dir], threads: 0, baseline });
    expect(moved.findings).toEqual([]);
    expect(moved.baselined).toBe(before.findings.length);
    const lines = (await scan({ paths: [dir], threads: 0 })).findings.map((f) => f.line);
    expect(lines).not.toEqual(before.findings.map((f) => f.line));

    // a new wrong read is reported despite the baseline
    const factory = join(dir, FACTORY);
    writeFileSync(
      factory,
      readFileSync(factory, 'utf8').replace(
        '"errors": session_metrics.errors,',
        '"errors": session_metrics.errors,\n            "closed": session_metrics.closed_at,',
      ),
    );
    const grown = await scan({ paths: [dir], threads: 0, baseline });
    expect(grown.findings.map((f) => f.attribute)).toEqual(['closed_at']);
  });
});
