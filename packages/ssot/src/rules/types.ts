import type { Model } from '../model/model.js';
import type { FileSummary } from '../parse/summary.js';

export type Severity = 'error' | 'warning' | 'note';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'note'];
export type RuleId = 'duplicate-definition' | 'unknown-attribute' | 'inconsistent-import';

export interface Related {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** A finding as a rule reports it; the fingerprint is added once all findings are known. */
export interface RawFinding {
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly symbol: string;
  readonly attribute?: string;
  readonly suggestion?: string;
  readonly related: readonly Related[];
  /** what identifies the finding regardless of line numbers: module, scope, symbol, attribute */
  readonly identity: readonly string[];
}

export interface Finding extends Omit<RawFinding, 'identity'> {
  readonly fingerprint: string;
}

export interface RuleOptions {
  /** names (globs with `*`) whose duplicates are errors */
  readonly criticalNames: readonly string[];
  /** names that repeat by convention and are never duplicates */
  readonly allowDuplicateNames: readonly string[];
  /** compare same-named definitions in parts of the code base that never import each other (default: no) */
  readonly compareUnconnected: boolean;
}

export interface RuleContext {
  readonly model: Model;
  readonly options: RuleOptions;
  isSuppressed(file: FileSummary, line: number, rule: RuleId): boolean;
  /** whether findings in this file are wanted (`--since`, an editor's edited buffer): a rule may skip the work of
   *  the others, whose findings are dropped anyway */
  reports(file: FileSummary): boolean;
}

export interface Rule {
  readonly id: RuleId;
  readonly summary: string;
  /** the rule's documentation, printed by `ssot explain` */
  readonly doc: string;
  run(context: RuleContext): RawFinding[];
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}
