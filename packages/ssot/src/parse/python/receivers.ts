/**
 * Phase 5 of Python extraction, first half: which names have one sure type in their scope (one annotation or
 * constructor call, no other binding, no guard), noted for the model where they are read or written; and where
 * class objects escape.
 */
import type { ScopeInfo, TypeSource } from '../summary.js';
import { escapingNames } from '../python-escapes.js';
import type { ScopeDraft } from './scopes.js';

export interface Receivers {
  /** the one type `name` surely has in a scope, or null */
  readonly sureType: (scopeIndex: number, name: string) => TypeSource | null;
  /** keeps a receiver's type for the model (only receivers that are read or written are sent) */
  readonly noteReceiver: (scopeIndex: number, name: string, source: TypeSource) => void;
  /** the scopes as the summary gives them, with their noted receivers */
  readonly scopeInfos: () => ScopeInfo[];
}

export function typedReceivers(scopes: readonly ScopeDraft[]): Receivers {
  const declaredType = (scopeIndex: number, name: string): TypeSource | null => {
    const scope = scopes[scopeIndex]!;
    const typed = scope.typed.get(name);
    if (!typed || scope.untyped.has(name) || scope.guarded.has(name) || scope.catchesAttributeError) return null;
    const first = typed[0]!;
    const key = JSON.stringify(first);
    return typed.every((t) => t === first || JSON.stringify(t) === key) ? first : null;
  };
  /**
   * A call's result, where the callee is a local value rather than a class or function the model can resolve:
   * calling an instance gives its `__call__`'s result (`factory: Factory` then `factory()`), anything else unknown.
   */
  const callResult = (scopeIndex: number, source: TypeSource): TypeSource | null => {
    if (source.kind !== 'call') return source;
    const dot = source.callee.indexOf('.');
    const root = dot >= 0 ? source.callee.slice(0, dot) : source.callee;
    for (let s = scopeIndex; s > 0; s = scopes[s]!.parent) {
      const scope = scopes[s]!;
      if (!scope.typed.has(root) && !scope.untyped.has(root)) continue;
      if (scope.localClasses.has(root) && scope.untyped.get(root) === 1 && !scope.typed.has(root)) return source;
      if (s !== scopeIndex || dot >= 0) return null;
      const callee = declaredType(s, root);
      return callee?.kind === 'annotation' ? { kind: 'called', text: callee.text } : null;
    }
    return source;
  };
  const sureType = (scopeIndex: number, name: string): TypeSource | null => {
    const declared = declaredType(scopeIndex, name);
    return declared ? callResult(scopeIndex, declared) : null;
  };
  const receiverSources = new Map<number, Map<string, TypeSource>>();
  const noteReceiver = (scopeIndex: number, name: string, source: TypeSource): void => {
    let map = receiverSources.get(scopeIndex);
    if (!map) receiverSources.set(scopeIndex, (map = new Map()));
    map.set(name, source);
  };
  const scopeInfos = (): ScopeInfo[] =>
    scopes.map((s, i) => ({
      name: s.name,
      selfClass: s.selfClass,
      selfName: s.selfName,
      parent: s.parent,
      receivers: [...(receiverSources.get(i) ?? new Map<string, TypeSource>()).entries()].map(([name, source]) => ({
        name,
        source,
      })),
    }));

  return { sureType, noteReceiver, scopeInfos };
}

/**
 * Dotted names whose class object escapes, once per scope; an instance passed to `setattr` is noted as a receiver.
 * `classNames`: the file's classes (those not capitalized are looked for by name).
 */
export function collectEscapes(
  source: string,
  scopeAt: (index: number) => number,
  { sureType, noteReceiver }: Receivers,
  classNames: readonly string[],
): { name: string; scope: number }[] {
  const escapeKeys = new Set<string>();
  const escapes: { name: string; scope: number }[] = [];
  for (const e of escapingNames(source, classNames)) {
    const scope = scopeAt(e.index);
    const key = `${scope} ${e.name}`;
    if (escapeKeys.has(key)) continue;
    escapeKeys.add(key);
    escapes.push({ name: e.name, scope });
    // `setattr(style, role, f)` on an instance: the model opens the instance's class
    const source = /^[A-Za-z_]\w*$/.test(e.name) ? sureType(scope, e.name) : null;
    if (source) noteReceiver(scope, e.name, source);
  }

  return escapes;
}
