/** Findings as LSP diagnostics, and the "did you mean" suggestion as a quick fix. */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CodeActionKind, DiagnosticSeverity } from 'vscode-languageserver/node';
import type { CodeAction, Diagnostic } from 'vscode-languageserver/node';
import type { Finding, Severity } from '../rules/types.js';

export const SOURCE = 'ssot';
/** the diagnostic code of a file that does not parse */
export const SYNTAX_ERROR = 'syntax-error';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  note: DiagnosticSeverity.Information,
};

/** What a diagnostic carries for its quick fix. */
interface FixData {
  readonly suggestion: string;
}

export function uriOf(root: string, path: string): string {
  return pathToFileURL(join(root, path)).href;
}

/** A line and 1-based column as a range over the finding's word (the attribute, or else the symbol). */
function rangeOf(line: number, column: number, word: string): Diagnostic['range'] {
  const start = { line: Math.max(0, line - 1), character: Math.max(0, column - 1) };
  return { start, end: { line: start.line, character: start.character + word.length } };
}

export function toDiagnostic(root: string, finding: Finding): Diagnostic {
  const diagnostic: Diagnostic = {
    range: rangeOf(finding.line, finding.column, finding.attribute ?? finding.symbol),
    severity: SEVERITY[finding.severity],
    code: finding.rule,
    source: SOURCE,
    message:
      finding.suggestion !== undefined && !finding.message.includes(finding.suggestion)
        ? `${finding.message} (did you mean "${finding.suggestion}"?)`
        : finding.message,
    relatedInformation: finding.related.map((r) => ({
      location: { uri: uriOf(root, r.file), range: rangeOf(r.line, 1, '') },
      message: r.message,
    })),
  };
  if (finding.suggestion !== undefined && finding.attribute !== undefined) {
    diagnostic.data = { suggestion: finding.suggestion } satisfies FixData;
  }
  return diagnostic;
}

/** `syntax error at 3:7 …` → a diagnostic at that place; the file's other diagnostics come from its last good text. */
export function syntaxDiagnostic(message: string): Diagnostic {
  const at = /at (\d+):(\d+)/.exec(message);
  const line = at ? Number(at[1]) : 1;
  const column = at ? Number(at[2]) : 1;
  return {
    range: rangeOf(line, column, ' '),
    severity: DiagnosticSeverity.Error,
    code: SYNTAX_ERROR,
    source: SOURCE,
    message,
  };
}

export function quickFixes(uri: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const d of diagnostics) {
    const data = d.data as Partial<FixData> | undefined;
    if (d.source !== SOURCE || typeof data?.suggestion !== 'string') continue;
    actions.push({
      title: `Replace with "${data.suggestion}"`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [d],
      isPreferred: true,
      edit: { changes: { [uri]: [{ range: d.range, newText: data.suggestion }] } },
    });
  }
  return actions;
}
