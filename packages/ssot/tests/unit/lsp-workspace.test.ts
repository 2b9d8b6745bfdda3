/** The language server's workspace: its findings after edits are exactly a fresh analysis of the texts as they are,
 *  whether an edit kept the model (reads only) or changed what the model is built from. */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, analyze } from '../../src/index.js';
import { discoverFiles } from '../../src/files/discover.js';
import { Workspace } from '../../src/lsp/workspace.js';
import { extractSource } from '../../src/parse/extract.js';

const fixture = fileURLToPath(new URL('../fixtures/session-metrics-bug', import.meta.url));
const FACTORY = 'netra_backend/app/database/request_scoped_session_factory.py';
const original = readFileSync(join(fixture, FACTORY), 'utf8');

let root: string;
let workspace: Workspace;
const texts = new Map<string, string>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ssot-workspace-'));
  cpSync(fixture, root, { recursive: true });
  for (const f of discoverFiles({ root, paths: [root], include: [], exclude: [] }))
    texts.set(f.relative, readFileSync(f.absolute, 'utf8'));
  workspace = await Workspace.open(root, (message) => {
    throw new Error(message);
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Edits a file in the workspace and checks every file's findings against a fresh analysis of all the texts. */
function edit(path: string, text: string): void {
  texts.set(path, text);
  workspace.update(path, text);
  const paths = new Set(texts.keys());
  workspace.analyze(paths);
  const summaries = [...texts].map(([p, t]) => extractSource(p, t)).sort((a, b) => (a.path < b.path ? -1 : 1));
  const fresh = analyze(summaries, DEFAULT_CONFIG);
  for (const p of paths) expect(workspace.findings(p), p).toEqual(fresh.filter((f) => f.file === p));
}

const attributes = (path: string): string[] =>
  workspace.findings(path).flatMap((f) => (f.rule === 'unknown-attribute' ? [f.attribute ?? ''] : []));

describe('language server workspace: edits', () => {
  it('an edit of reads only leaves the other files settled and gives a fresh analysis’s findings', () => {
    workspace.settle(new Set(texts.keys()));
    expect(attributes(FACTORY)).toContain('last_activity');
    edit(FACTORY, original.replace('session_metrics.last_activity,', 'session_metrics.last_activity_at,'));
    expect(attributes(FACTORY)).not.toContain('last_activity');
    expect(workspace.unsettled).toBe(false); // no other file's findings can have changed
    edit(FACTORY, original.replace('session_metrics.last_activity,', 'session_metrics.last_activty,'));
    expect(attributes(FACTORY)).toContain('last_activty');
    edit(FACTORY, original.replace('session_metrics.last_activity,', 'session_metrics.last_activity,  # ssot: ignore'));
    expect(attributes(FACTORY)).not.toContain('last_activity');
    expect(workspace.unsettled).toBe(false);
  });

  it("a line added above a definition moves the places other files' findings point to", () => {
    const manager = 'shared/session_management/user_session_manager.py';
    const related = (): number[] =>
      workspace
        .findings(FACTORY)
        .filter((f) => f.rule === 'duplicate-definition')
        .flatMap((f) => f.related.filter((r) => r.file === manager).map((r) => r.line));
    workspace.settle(new Set(texts.keys()));
    const [line = 0] = related();
    edit(manager, `# a comment\n${texts.get(manager)!}`);
    expect(workspace.unsettled).toBe(true); // other files' findings moved
    expect(related()).toEqual([line + 1]);
  });

  it('an edit that changes what the model is built from (a field, a new class) is seen by every file', () => {
    // the read fixed by defining the attribute instead: the class's shape changes
    edit(
      FACTORY,
      original.replace(
        '    """Metrics of one request-scoped database session."""\n',
        (doc) => `${doc}    last_activity: float = 0.0\n`,
      ),
    );
    expect(workspace.unsettled).toBe(true);
    expect(attributes(FACTORY)).not.toContain('last_activity');
    edit(FACTORY, `${original}\n\nclass SessionMetricsView:\n    pass\n`);
    expect(attributes(FACTORY)).toContain('last_activity');
    edit(FACTORY, original);
  });
});
