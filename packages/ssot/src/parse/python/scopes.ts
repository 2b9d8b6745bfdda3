/**
 * Phase 3 of Python extraction: the scopes (the module and each function, with its `self` and class parameter), the
 * names each binds and how (typed by an annotation or a call, or not), and the names guarded against missing
 * attributes (`isinstance`, `hasattr`, `getattr`, `except AttributeError`).
 */
import type { FunctionInfo, TypeSource } from '../summary.js';
import { parameters } from '../python-text.js';
import { METHOD_DECORATORS, PROPERTY_DECORATORS } from './classes.js';
import type { SourceText } from './tree.js';
import type { Structure } from './structure.js';

export interface Range {
  start: number;
  end: number;
}

export interface ScopeDraft extends Range {
  name: string;
  selfClass: number;
  selfName: string | null;
  /** the enclosing function's scope, -1 for the module */
  parent: number;
  /** typed bindings of each name, and how many bindings of it are not typed */
  typed: Map<string, TypeSource[]>;
  untyped: Map<string, number>;
  /** names narrowed or guarded (`isinstance`, `hasattr`, `getattr`), or every name when `AttributeError` is caught */
  guarded: Set<string>;
  catchesAttributeError: boolean;
  /** names of classes defined directly in this scope */
  localClasses: Set<string>;
  /** in a classmethod or `__new__`: the class it is defined in, the name of its class parameter, and the variables
   *  bound to a new instance (`obj = super().__new__(cls)`), whose attribute stores are instance attributes */
  ownerClass: number;
  clsName: string | null;
  /** a method under an unknown decorator */
  selfUnsure: boolean;
  /** a module-level function's parameter names (empty for anything else) */
  moduleFunctionParameters: Set<string>;
  newInstances: Set<string>;
}

function newScope(name: string, start: number, end: number, selfClass: number, selfName: string | null): ScopeDraft {
  return {
    name,
    start,
    end,
    selfClass,
    selfName,
    parent: -1,
    typed: new Map(),
    untyped: new Map(),
    guarded: new Set(),
    catchesAttributeError: false,
    localClasses: new Set(),
    ownerClass: -1,
    clsName: null,
    selfUnsure: false,
    moduleFunctionParameters: new Set(),
    newInstances: new Set(),
  };
}

export function bindUntyped(scope: ScopeDraft, name: string): void {
  scope.untyped.set(name, (scope.untyped.get(name) ?? 0) + 1);
}

export function bindTyped(scope: ScopeDraft, name: string, source: TypeSource): void {
  const list = scope.typed.get(name);
  if (list) list.push(source);
  else scope.typed.set(name, [source]);
}

const GUARD = /\b(isinstance|hasattr|getattr)\(\s*([A-Za-z_]\w*)\b|except\s*\(?[\w.,\s]*\bAttributeError\b/g;

export interface Scopes {
  readonly scopes: readonly ScopeDraft[];
  /** module-level functions */
  readonly functions: readonly FunctionInfo[];
  /** the innermost scope around a string index (class bodies belong to the scope around the class) */
  readonly scopeAt: (index: number) => number;
}

export function buildScopes({ source }: SourceText, structure: Structure): Scopes {
  const { classRaw, functionRaw, classRanges, classDrafts, definitionAt, containerOf } = structure;
  const scopes: ScopeDraft[] = [newScope('<module>', -1, Number.MAX_SAFE_INTEGER, -1, null)];
  const functions: FunctionInfo[] = [];
  const scopeOfFunction: number[] = [];
  /** where each function's body starts (after its header's colon) */
  const bodyStart: number[] = [];
  // innermost scope containing a byte index
  const scopeAt = (index: number): number => {
    const c = containerOf(index);
    if (!c) return 0;
    if (c.kind === 'function') {
      // a def's parameters, defaults and annotations are evaluated where the def is, not in the function's scope
      // (`def g(t: t.Any)` then `t: Template` in the body: the annotation's `t` is the module's)
      if (index < bodyStart[c.index]!) return enclosingFunctionScope(functionRaw[c.index]!.start, c.index);
      return scopeOfFunction[c.index] ?? 0;
    }
    // in a class body: the scope around the class
    let outer = containerOf(classRanges[c.index]!.start, { kind: 'class', index: c.index });
    while (outer?.kind === 'class')
      outer = containerOf(classRanges[outer.index]!.start, { kind: 'class', index: outer.index });
    return outer ? (scopeOfFunction[outer.index] ?? 0) : 0;
  };
  /** the scope of the function around a definition starting at `start` (class bodies skipped), or the module's */
  const enclosingFunctionScope = (start: number, self: number): number => {
    let c = containerOf(start, { kind: 'function', index: self });
    while (c?.kind === 'class') c = containerOf(classRanges[c.index]!.start, { kind: 'class', index: c.index });
    return c ? (scopeOfFunction[c.index] ?? 0) : 0;
  };
  for (let i = 0; i < functionRaw.length; i++) {
    const f = functionRaw[i]!;
    const { header, decorators: decos } = definitionAt(f);
    const { name, returns } = header;
    bodyStart[i] = f.start + header.length;
    const owner = containerOf(f.start, { kind: 'function', index: i });
    const selfClass = owner?.kind === 'class' ? owner.index : -1;
    if (!owner) functions.push({ name, returns });
    const params = parameters(header.list ?? '()');
    const isStatic = decos.includes('staticmethod');
    const isClassMethod = decos.includes('classmethod');
    const selfName = selfClass >= 0 && !isStatic && params.length > 0 ? params[0]!.name : null;
    const scope = newScope(
      selfClass >= 0 ? `${classDrafts[selfClass]!.info.name}.${name}` : name,
      f.start,
      f.end,
      isClassMethod ? -1 : selfClass,
      isClassMethod ? null : selfName,
    );
    // under a decorator it does not know, the first parameter may not be the instance: its stores may still be
    // instance attributes, its reads are not checked
    scope.selfUnsure = !decos.every((d) => METHOD_DECORATORS.has(d) || PROPERTY_DECORATORS.test(d));
    // nor when its first parameter is not called `self`: a function kept in a class as in a namespace
    // (`class MaximaHelpers: def maxima_expand(expr): return expr.expand()`, called through the class)
    if (selfName !== null && selfName !== 'self') scope.selfUnsure = true;
    scope.parent = enclosingFunctionScope(f.start, i);
    if (selfClass >= 0 && (isClassMethod || name === '__new__') && params.length > 0) {
      scope.ownerClass = selfClass;
      scope.clsName = params[0]!.name;
      // `__new__` returns the instance it makes, however it got it (`instance = cls._cache.get(key)`)
      if (name === '__new__')
        for (const m of source.slice(f.start, f.end).matchAll(/\breturn[ \t]+([A-Za-z_]\w*)[ \t]*(?:#.*)?$/gm))
          scope.newInstances.add(m[1]!);
    }
    if (!owner) scope.moduleFunctionParameters = new Set(params.map((p) => p.name));
    for (const [k, p] of params.entries()) {
      if (k === 0 && selfName !== null) continue;
      if (p.type) bindTyped(scope, p.name, { kind: 'annotation', text: p.type });
      else bindUntyped(scope, p.name);
    }
    scopeOfFunction[i] = scopes.length;
    scopes.push(scope);
    if (selfClass >= 0) {
      const draft = classDrafts[selfClass]!;
      if (!draft.methods.some((m) => m.name === name) && !draft.info.properties.includes(name)) {
        draft.methods.push({ name, async: header.async, returns });
      }
    }
  }
  // a def binds its name in the scope around it
  for (let i = 0; i < functionRaw.length; i++) {
    const owner = containerOf(functionRaw[i]!.start, { kind: 'function', index: i });
    if (owner?.kind === 'class') continue;
    bindUntyped(
      scopes[owner ? (scopeOfFunction[owner.index] ?? 0) : 0]!,
      scopes[scopeOfFunction[i]!]!.name.split('.').pop()!,
    );
  }
  for (let i = 0; i < classRaw.length; i++) {
    if (classDrafts[i]!.parentClass < 0) {
      const scope = scopes[scopeAt(classRanges[i]!.start)]!;
      bindUntyped(scope, classDrafts[i]!.info.name);
      scope.localClasses.add(classDrafts[i]!.info.name);
    }
  }

  // guards
  if (/isinstance|hasattr|getattr|AttributeError/.test(source)) {
    for (const m of source.matchAll(GUARD)) {
      const scope = scopes[scopeAt(m.index)]!;
      if (m[2]) scope.guarded.add(m[2]);
      else scope.catchesAttributeError = true;
    }
  }

  return { scopes, functions, scopeAt };
}
