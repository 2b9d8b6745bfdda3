/**
 * `ssot lsp --stdio`: the language server. On initialize it scans each workspace folder (through the summary
 * cache); it publishes diagnostics for open files. On every change of an open buffer it re-extracts that one file and
 * publishes its findings at once; once edits pause (SETTLE_AFTER_MS), and on file events from the client (created,
 * changed, deleted on disk), it computes the open files' findings again and re-publishes those that changed. The
 * rules read every summary each time; only the open files' findings are worked out, as nothing else is shown.
 */
import { fileURLToPath } from 'node:url';
import {
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  createConnection,
} from 'vscode-languageserver/node';
import type { Connection, Diagnostic, InitializeParams, InitializeResult } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { readFileSync } from 'node:fs';
import { VERSION } from '../version.js';
import { quickFixes, syntaxDiagnostic, toDiagnostic, uriOf } from './diagnostics.js';
import { Workspace } from './workspace.js';

/** The watched-files glob the server registers: every extension a scan reads. */
const WATCHED = '**/*.{py,pyi,ts,tsx,mts,cts,js,jsx,mjs,cjs}';

/**
 * How long after the last edit the other open files' findings are computed again (an edit may change them: a class
 * edited in one file, read in another). The edited file's own are published at once; the others wait for a pause in
 * typing rather than delaying each keystroke (`npm run bench:lsp` measures the wait for the edited file).
 */
export const SETTLE_AFTER_MS = 150;

/** Over stdin and stdout, the one transport: `--stdio`, which editors pass, is accepted and not needed. */
export function startLanguageServer(
  connection: Connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout),
): void {
  const documents = new TextDocuments(TextDocument);
  let folders: string[] = [];
  let workspaces: Workspace[] = [];
  let ready: Promise<void> = Promise.resolve();
  let watchRegistration = false;
  /** what was last published per URI, so a file is re-published only when its diagnostics change */
  const published = new Map<string, string>();

  const locate = (uri: string): { workspace: Workspace; path: string } | null => {
    if (!uri.startsWith('file:')) return null;
    const absolute = fileURLToPath(uri);
    for (const workspace of workspaces) {
      const path = workspace.relativePath(absolute);
      if (path !== null) return { workspace, path };
    }
    return null;
  };

  const publish = (uri: string, force = false): void => {
    const found = locate(uri);
    let diagnostics: Diagnostic[] = [];
    if (found && documents.get(uri)) {
      const error = found.workspace.parseError(found.path);
      diagnostics = found.workspace.findings(found.path).map((f) => toDiagnostic(found.workspace.root, f));
      if (error !== null) diagnostics.unshift(syntaxDiagnostic(error));
    }
    const key = JSON.stringify(diagnostics);
    if (!force && published.get(uri) === key) return;
    published.set(uri, key);
    void connection.sendDiagnostics({ uri, diagnostics });
  };

  const republish = (workspace: Workspace, changed: ReadonlySet<string>): void => {
    for (const path of changed) {
      const uri = uriOf(workspace.root, path);
      if (documents.get(uri)) publish(uri);
    }
  };

  /** The open files of a workspace, as its paths. */
  const openIn = (workspace: Workspace): Set<string> => {
    const paths = new Set<string>();
    for (const document of documents.all()) {
      const found = locate(document.uri);
      if (found?.workspace === workspace) paths.add(found.path);
    }
    return paths;
  };

  /** Computes the open files' findings again where summaries changed, and publishes those that changed. */
  const settle = (): void => {
    clearTimeout(settling);
    for (const workspace of workspaces)
      if (workspace.unsettled) republish(workspace, workspace.settle(openIn(workspace)));
  };
  let settling: NodeJS.Timeout | undefined;
  const settleSoon = (): void => {
    clearTimeout(settling);
    settling = setTimeout(settle, SETTLE_AFTER_MS);
  };

  /** the text each open buffer last had when its file was extracted (a save after an edit changes nothing) */
  const extracted = new Map<string, string>();
  /** A buffer's text is its file's content from now on: its findings at once, the other open files' soon. */
  const refresh = (uri: string, text: string): void => {
    const found = locate(uri);
    if (!found || extracted.get(uri) === text) return;
    extracted.set(uri, text);
    found.workspace.update(found.path, text);
    found.workspace.analyze(new Set([found.path]));
    publish(uri);
    settleSoon();
  };

  /** A file's content on disk (or its absence) counts from now on. */
  const readFromDisk = (found: { workspace: Workspace; path: string }, uri: string): void => {
    try {
      found.workspace.update(found.path, readFileSync(fileURLToPath(uri), 'utf8'));
    } catch {
      found.workspace.remove(found.path);
    }
  };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    folders = uris.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
    if (folders.length === 0) folders = [process.cwd()];
    watchRegistration = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        codeActionProvider: { codeActionKinds: ['quickfix'] },
      },
      serverInfo: { name: 'ssot', version: VERSION },
    };
  });

  connection.onInitialized(() => {
    if (watchRegistration) {
      void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: WATCHED }] });
    }
    ready = (async () => {
      workspaces = await Promise.all(
        folders.map((root) =>
          Workspace.open(
            root,
            (message) => void connection.window.showWarningMessage(`ssot: ${message}; using the defaults`),
          ),
        ),
      );
      // buffers opened during the scan: their text may differ from the disk's
      for (const document of documents.all()) {
        const found = locate(document.uri);
        if (!found) continue;
        extracted.set(document.uri, document.getText());
        found.workspace.update(found.path, document.getText());
      }
      for (const workspace of workspaces) workspace.settle(openIn(workspace));
      for (const document of documents.all()) publish(document.uri, true);
    })().catch((error: unknown) => {
      connection.console.error(
        `ssot: the workspace scan failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    });
  });

  // open, edit, save: the buffer's text is the file's content from now on
  documents.onDidChangeContent((event) => {
    void ready.then(() => refresh(event.document.uri, event.document.getText()));
  });
  documents.onDidSave((event) => {
    void ready.then(() => refresh(event.document.uri, event.document.getText()));
  });
  documents.onDidClose((event) => {
    void ready.then(() => {
      // the file's text on disk counts again (the buffer may have been closed without saving)
      const found = locate(event.document.uri);
      if (found) readFromDisk(found, event.document.uri);
      published.delete(event.document.uri);
      extracted.delete(event.document.uri);
      void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
      settle();
    });
  });

  connection.onDidChangeWatchedFiles((params) => {
    void ready.then(() => {
      for (const change of params.changes) {
        if (documents.get(change.uri) && change.type !== FileChangeType.Deleted) continue; // the buffer wins
        const found = locate(change.uri);
        if (!found) continue;
        if (change.type === FileChangeType.Deleted) found.workspace.remove(found.path);
        else readFromDisk(found, change.uri);
      }
      settle();
    });
  });

  connection.onShutdown(() => clearTimeout(settling));

  connection.onCodeAction((params) => quickFixes(params.textDocument.uri, params.context.diagnostics));

  documents.listen(connection);
  connection.listen();
}
