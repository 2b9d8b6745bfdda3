/**
 * `ssot lsp --stdio` driven over stdio by a real LSP client connection (vscode-languageserver-protocol's node
 * client side), as an editor would: open, edit, quick fix, syntax error mid-edit, save, files created and deleted.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CodeActionRequest,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  ExitNotification,
  FileChangeType,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import type { Diagnostic, ProtocolConnection } from 'vscode-languageserver-protocol/node';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

const MODELS = 'class Metrics:\n    counter = 0\n    errors = 0\n';
const USE = 'from models import Metrics\n\n\ndef f(m: Metrics) -> int:\n    return m.countr\n';

interface Published {
  readonly diagnostics: Diagnostic[];
}

class Client {
  private readonly latest = new Map<string, Published>();
  private waiters: { uri: string; test: (d: Diagnostic[]) => boolean; resolve: (p: Published) => void }[] = [];
  registrations: string[] = [];
  constructor(
    readonly connection: ProtocolConnection,
    readonly process: ChildProcessWithoutNullStreams,
  ) {
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      const published = { diagnostics: params.diagnostics };
      this.latest.set(params.uri, published);
      this.waiters = this.waiters.filter((w) => {
        if (w.uri !== params.uri || !w.test(params.diagnostics)) return true;
        w.resolve(published);
        return false;
      });
    });
    connection.onRequest(RegistrationRequest.type, (params) => {
      this.registrations.push(...params.registrations.map((r) => r.method));
    });
    connection.listen();
  }

  /** The next (or current) diagnostics of `uri` that pass `test`. */
  diagnostics(uri: string, test: (d: Diagnostic[]) => boolean, timeoutMs = 20_000): Promise<Published> {
    const current = this.latest.get(uri);
    if (current && test(current.diagnostics)) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no matching diagnostics for ${uri}; last: ${JSON.stringify(this.latest.get(uri)?.diagnostics)}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        uri,
        test,
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }
}

const codes = (d: Diagnostic[]): (string | number | undefined)[] => d.map((x) => x.code);

describe('ssot lsp --stdio', { timeout: 60_000 }, () => {
  let dir: string;
  let client: Client;
  const uri = (name: string): string => pathToFileURL(join(dir, name)).href;
  let version = 1;
  const change = (name: string, text: string): void => {
    void client.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: uri(name), version: ++version },
      contentChanges: [{ text }],
    });
  };
  const open = (name: string, text: string): void => {
    void client.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: uri(name), languageId: 'python', version: ++version, text },
    });
  };

  const close = (name: string): void => {
    void client.connection.sendNotification(DidCloseTextDocumentNotification.type, {
      textDocument: { uri: uri(name) },
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssot-lsp-'));
    writeFileSync(join(dir, 'models.py'), MODELS);
    writeFileSync(join(dir, 'use.py'), USE);
    const server = spawn(process.execPath, [cli, 'lsp', '--stdio'], { cwd: dir, stdio: 'pipe' });
    client = new Client(
      createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin)),
      server,
    );
    const result = await client.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'w' }],
      capabilities: {
        workspace: { didChangeWatchedFiles: { dynamicRegistration: true } },
        textDocument: {
          publishDiagnostics: { relatedInformation: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
        },
      },
    });
    expect(result.serverInfo?.name).toBe('ssot');
    expect(result.capabilities.codeActionProvider).toBeTruthy();
    void client.connection.sendNotification(InitializedNotification.type, {});
  });

  afterAll(async () => {
    if (client) {
      await client.connection.sendRequest(ShutdownRequest.type);
      const exited = new Promise<number | null>((resolve) => client.process.on('exit', (code) => resolve(code)));
      void client.connection.sendNotification(ExitNotification.type);
      expect(await exited).toBe(0);
      client.connection.dispose();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("scans the workspace on start (filling the cache); open files' findings carry rule, related places", async () => {
    open('use.py', USE);
    const { diagnostics } = await client.diagnostics(uri('use.py'), (d) => d.length > 0);
    expect(diagnostics).toHaveLength(1);
    const [d] = diagnostics;
    expect(d).toMatchObject({
      code: 'unknown-attribute',
      severity: 1,
      source: 'ssot',
      range: { start: { line: 4, character: 13 }, end: { line: 4, character: 19 } },
    });
    expect(d?.message).toContain('did you mean');
    expect(d?.message).toContain('counter');
    expect(d?.relatedInformation?.[0]?.location.uri).toBe(uri('models.py'));
    expect(readdirSync(join(dir, '.ssot_cache')).some((f) => /^summaries-[0-9a-f]{2}\.jsonl$/.test(f))).toBe(true);
    expect(client.registrations).toContain(DidChangeWatchedFilesNotification.method);
  });

  it('offers the "did you mean" as a quick fix', async () => {
    const { diagnostics } = await client.diagnostics(uri('use.py'), (d) => d.length === 1);
    const actions = await client.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: uri('use.py') },
      range: diagnostics[0]!.range,
      context: { diagnostics },
    });
    expect(actions).toEqual([
      expect.objectContaining({
        title: 'Replace with "counter"',
        kind: 'quickfix',
        edit: { changes: { [uri('use.py')]: [{ range: diagnostics[0]!.range, newText: 'counter' }] } },
      }),
    ]);
  });

  // how fast, on workspaces of 0.2M to 2M lines, is measured by `npm run bench:lsp` (bench/README.md)
  it('clears a read fixed in the editor', async () => {
    change('use.py', USE.replace('countr', 'counter'));
    await client.diagnostics(uri('use.py'), (d) => d.length === 0);
  });

  it("shows a syntax error mid-edit and keeps the file's last good summary for the rules", async () => {
    change('use.py', 'from models import Metrics\n\n\ndef f(m: Metrics) -> int:\n    return m.(\n');
    const broken = await client.diagnostics(uri('use.py'), (d) => d.some((x) => x.code === 'syntax-error'));
    expect(codes(broken.diagnostics)).toEqual(['syntax-error']);
    expect(broken.diagnostics[0]?.range.start.line).toBe(4);
    change('use.py', USE.replace('countr', 'errros'));
    const fixed = await client.diagnostics(uri('use.py'), (d) => d.length === 1 && d[0]?.code === 'unknown-attribute');
    expect(fixed.diagnostics[0]?.message).toContain('errros');
  });

  it('re-publishes other open files when an edit changes their findings, and on save', async () => {
    open('models.py', MODELS);
    change('use.py', USE.replace('countr', 'counter'));
    await client.diagnostics(uri('use.py'), (d) => d.length === 0);
    change('models.py', MODELS.replace('    counter = 0\n', ''));
    const use = await client.diagnostics(uri('use.py'), (d) => d.length === 1);
    expect(use.diagnostics[0]?.message).toContain('counter');
    writeFileSync(join(dir, 'models.py'), MODELS);
    change('models.py', MODELS);
    void client.connection.sendNotification(DidSaveTextDocumentNotification.type, {
      textDocument: { uri: uri('models.py') },
    });
    await client.diagnostics(uri('use.py'), (d) => d.length === 0);
  });

  it('follows files created and deleted on disk', async () => {
    // a second Metrics with another shape, in a module that can meet models.py (app.py imports both and names
    // Metrics; other.py does not know models.py, so it is no variant of it): a duplicate-definition on models.py
    writeFileSync(join(dir, 'other.py'), 'class Metrics:\n    total = 0\n');
    writeFileSync(join(dir, 'app.py'), 'import models\nimport other\n\nTYPES = (models.Metrics, other.Metrics)\n');
    void client.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [
        { uri: uri('other.py'), type: FileChangeType.Created },
        { uri: uri('app.py'), type: FileChangeType.Created },
      ],
    });
    const duplicate = await client.diagnostics(uri('models.py'), (d) =>
      d.some((x) => x.code === 'duplicate-definition'),
    );
    expect(
      duplicate.diagnostics.find((x) => x.code === 'duplicate-definition')?.relatedInformation?.[0]?.location.uri,
    ).toBe(uri('other.py'));
    unlinkSync(join(dir, 'other.py'));
    unlinkSync(join(dir, 'app.py'));
    void client.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [
        { uri: uri('other.py'), type: FileChangeType.Deleted },
        { uri: uri('app.py'), type: FileChangeType.Deleted },
      ],
    });
    await client.diagnostics(uri('models.py'), (d) => d.length === 0);
  });

  it('publishes for a new file opened in the editor', async () => {
    writeFileSync(join(dir, 'fresh.py'), '');
    open('fresh.py', '');
    await client.diagnostics(uri('fresh.py'), (d) => d.length === 0);
    change('fresh.py', 'from models import Metrics\n\n\ndef g(m: Metrics) -> int:\n    return m.totl\n');
    const published = await client.diagnostics(uri('fresh.py'), (d) => d.length === 1);
    expect(published.diagnostics[0]?.code).toBe('unknown-attribute');
  });

  it("computes a file's findings when it is opened, after edits made elsewhere while it was closed", async () => {
    close('use.py');
    await client.diagnostics(uri('use.py'), (d) => d.length === 0);
    change('models.py', MODELS.replace('    counter = 0\n', ''));
    open('use.py', USE.replace('countr', 'counter'));
    const use = await client.diagnostics(uri('use.py'), (d) => d.length === 1);
    expect(use.diagnostics[0]?.message).toContain("has no attribute 'counter'");
    change('models.py', MODELS);
    await client.diagnostics(uri('use.py'), (d) => d.length === 0);
  });
});

describe('ssot lsp without --stdio', { timeout: 60_000 }, () => {
  it('talks over stdin and stdout all the same (the flag editors pass is not needed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssot-lsp-'));
    const server = spawn(process.execPath, [cli, 'lsp'], { cwd: dir, stdio: 'pipe' });
    const connection = createProtocolConnection(
      new StreamMessageReader(server.stdout),
      new StreamMessageWriter(server.stdin),
    );
    connection.listen();
    try {
      const result = await connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: pathToFileURL(dir).href,
        capabilities: {},
      });
      expect(result.serverInfo?.name).toBe('ssot');
      await connection.sendRequest(ShutdownRequest.type);
      const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
      void connection.sendNotification(ExitNotification.type);
      expect(await exited).toBe(0);
    } finally {
      connection.dispose();
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
