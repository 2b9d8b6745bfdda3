/**
 * Phase 5 of Python extraction, second half: attribute reads on receivers whose type may be known, attribute stores
 * (on `self`, on typed receivers, on receivers of unknown type), and which reads those last ones silence: the same
 * path only, never the name on every class. Stores through a field (`x.f.attr = …`) are kept for the model.
 */
import type { AttributeRead, FileSummary } from '../summary.js';
import { DOTTED } from '../python-text.js';
import { receivingCall } from '../python-escapes.js';
import type { Bindings } from './bindings.js';
import type { Receivers } from './receivers.js';
import type { Scopes } from './scopes.js';
import type { Structure } from './structure.js';
import type { SourceText } from './tree.js';
import { partitionPoint } from '../sorted.js';

export interface Accesses {
  readonly reads: AttributeRead[];
  readonly writes: AttributeRead[];
  /** attribute names assigned on receivers of unknown type */
  readonly assignedAttributes: string[];
  readonly fieldStores: FileSummary['fieldStores'];
  readonly parameterStores: FileSummary['parameterStores'];
  readonly argumentCalls: FileSummary['argumentCalls'];
  readonly qualifiedNames: string[];
}

export function collectAccesses(
  { source, textOf, position }: SourceText,
  { classDrafts }: Structure,
  { scopes, scopeAt }: Scopes,
  { writeCandidates, storeRanges, attributeNodes, imports }: Bindings,
  { sureType, noteReceiver }: Receivers,
): Accesses {
  // store ranges are in source order and disjoint (targets do not nest): the last one starting at or before wins
  const isStore = (start: number): boolean => {
    const lo = partitionPoint(storeRanges, (r) => r.start <= start);
    return lo > 0 && start < storeRanges[lo - 1]!.end;
  };
  const own = new Map<number, Set<string>>();
  /** what a class in this file defines itself (its bases may add more; they never take any away) */
  const ownNames = (index: number): Set<string> => {
    let names = own.get(index);
    if (!names) {
      const d = classDrafts[index]!;
      names = new Set([
        ...d.info.fields.map((f) => f.name),
        ...d.instanceAttributes.keys(),
        ...d.methods.map((m) => m.name),
        ...d.info.properties,
        ...d.info.nested,
      ]);
      own.set(index, names);
    }
    return names;
  };
  /**
   * Attribute stores on a receiver the scanner cannot type silence reads of the same path only, which may be that
   * object: the same `self.…` path in the same class, or the same variable path in the same function or in functions
   * nested in one another (a closure, or a callback handed the variable).
   */
  const looseStores = new Map<string, number[]>();
  const looseKey = (scopeIndex: number, receiver: string, attribute: string): string => {
    const scope = scopes[scopeIndex]!;
    const dot = receiver.indexOf('.');
    if (scope.selfName !== null && dot > 0 && receiver.slice(0, dot) === scope.selfName) {
      return `class ${scope.selfClass} ${receiver.slice(dot)}.${attribute}`;
    }
    return `var ${receiver}.${attribute}`;
  };
  const addLooseStore = (scopeIndex: number, receiver: string, attribute: string): void => {
    const key = looseKey(scopeIndex, receiver, attribute);
    const list = looseStores.get(key);
    if (list) list.push(scopeIndex);
    else looseStores.set(key, [scopeIndex]);
  };
  const encloses = (outer: number, inner: number): boolean => {
    for (let s = inner; s >= 0; s = scopes[s]!.parent) if (s === outer) return true;
    return false;
  };
  /** class index → attributes its own methods store on receivers of unknown type (`request.cls.type = …` in a
   *  pytest fixture): the class itself may be that receiver, so its `self` reads of them are silent */
  const storedByOwnMethods = new Map<number, Set<string>>();
  const silencedByLooseStore = (r: AttributeRead): boolean => {
    const scope = scopes[r.scope]!;
    if (r.receiver === scope.selfName && storedByOwnMethods.get(scope.selfClass)?.has(r.attribute)) return true;
    const key = looseKey(r.scope, r.receiver, r.attribute);
    const stores = looseStores.get(key);
    if (!stores) return false;
    return key.startsWith('class ') || stores.some((s) => encloses(s, r.scope) || encloses(r.scope, s));
  };
  const reads: AttributeRead[] = [];
  const seenReads = new Set<string>();
  const imported = new Set(imports.map((imp) => imp.local.split('.')[0]!));
  const qualifiedNames = new Set<string>();
  for (const n of attributeNodes) {
    const text = textOf(n);
    if (!DOTTED.test(text)) continue;
    const dot = text.lastIndexOf('.');
    const receiver = text.slice(0, dot);
    const attribute = text.slice(dot + 1);
    const firstDot = receiver.indexOf('.');
    const rootName = firstDot >= 0 ? receiver.slice(0, firstDot) : receiver;
    if (imported.has(rootName)) qualifiedNames.add(attribute);
    if (attribute.startsWith('__') && attribute.endsWith('__')) continue;
    const scopeIndex = scopeAt(n.start);
    const scope = scopes[scopeIndex]!;
    if (scope.selfName !== null && rootName === scope.selfName) {
      if (scope.catchesAttributeError || scope.guarded.has(rootName) || scope.selfUnsure) continue;
    } else {
      if (firstDot >= 0) continue;
      const source = sureType(scopeIndex, rootName);
      if (!source) continue;
      noteReceiver(scopeIndex, rootName, source);
    }
    if (isStore(n.start)) continue;
    // `self.x` where the class itself defines x: never a finding, so not worth sending to the main thread
    if (receiver === scope.selfName && scope.selfClass >= 0 && ownNames(scope.selfClass).has(attribute)) continue;
    const at = position(n.start + dot + 1);
    // one finding per receiver, attribute and line (`x.a.isoformat() if x.a else None` reads `a` once)
    const seen = `${scopeIndex} ${at.line} ${text}`;
    if (seenReads.has(seen)) continue;
    seenReads.add(seen);
    // the column of the attribute's name (the text is a dotted name on one line)
    reads.push({ receiver, attribute, ...at, scope: scopeIndex });
  }
  const fieldStores: FileSummary['fieldStores'][number][] = [];
  const fieldStoreKeys = new Set<string>();
  /** `….f.attr = …` on a receiver of unknown type: attr may land on whatever field f holds */
  const addFieldStore = (receiver: string, attribute: string): void => {
    const dot = receiver.lastIndexOf('.');
    if (dot < 0) return;
    const field = receiver.slice(dot + 1);
    const key = `${field}.${attribute}`;
    if (fieldStoreKeys.has(key)) return;
    fieldStoreKeys.add(key);
    fieldStores.push({ field, attribute });
  };
  const parameterStores: FileSummary['parameterStores'][number][] = [];
  const parameterStoreKeys = new Set<string>();
  const addParameterStore = (fn: string, attribute: string): void => {
    if (parameterStoreKeys.has(`${fn}.${attribute}`)) return;
    parameterStoreKeys.add(`${fn}.${attribute}`);
    parameterStores.push({ function: fn, attribute });
  };
  const writes: AttributeRead[] = [];
  for (const w of writeCandidates) {
    const scope = scopes[w.scope]!;
    const rootName = w.receiver.split('.')[0]!;
    if (scope.selfName !== null && rootName === scope.selfName) {
      writes.push(w);
      // `self._metrics.x = …`: were `self._metrics` of unknown type, this class's own reads of the path are silent
      if (w.receiver !== rootName) {
        addLooseStore(w.scope, w.receiver, w.attribute);
        addFieldStore(w.receiver, w.attribute);
      }
      continue;
    }
    const source = w.receiver.includes('.') ? null : sureType(w.scope, rootName);
    if (!source) {
      addLooseStore(w.scope, w.receiver, w.attribute);
      const owner = scope.selfClass >= 0 ? scope.selfClass : scope.ownerClass;
      if (owner >= 0) {
        let stored = storedByOwnMethods.get(owner);
        if (!stored) storedByOwnMethods.set(owner, (stored = new Set()));
        stored.add(w.attribute);
      }
      addFieldStore(w.receiver, w.attribute);
      if (scope.moduleFunctionParameters.has(w.receiver)) addParameterStore(scope.name, w.attribute);
      // `Cls.attr = …` sets a class attribute (`timezone.utc = …`): the model keeps it when the name is a class
      writes.push(w);
      continue;
    }
    noteReceiver(w.scope, rootName, source);
    writes.push(w);
  }
  if (looseStores.size > 0 || storedByOwnMethods.size > 0) {
    for (let k = reads.length - 1; k >= 0; k--) {
      const r = reads[k]!;
      if (silencedByLooseStore(r)) reads.splice(k, 1);
    }
  }

  const argumentCalls = handedToCalls(source, scopes, scopeAt, reads);
  const assignedAttributes = [
    ...new Set(
      writeCandidates
        .filter((w) => looseStores.has(looseKey(w.scope, w.receiver, w.attribute)))
        .map((w) => w.attribute),
    ),
  ];
  return {
    reads,
    writes,
    assignedAttributes,
    fieldStores,
    parameterStores,
    argumentCalls,
    qualifiedNames: [...qualifiedNames],
  };
}

/**
 * Receivers read in a scope (not `self`) that the scope also hands to a call as an argument (`se.get(root)`, then
 * `root._engine`): the function called may set attributes on them. One search per scope, for its read receivers.
 */
function handedToCalls(
  source: string,
  scopes: Scopes['scopes'],
  scopeAt: (index: number) => number,
  reads: readonly AttributeRead[],
): FileSummary['argumentCalls'][number][] {
  const byScope = new Map<number, Set<string>>();
  for (const r of reads) {
    if (r.receiver.includes('.') || r.receiver === scopes[r.scope]!.selfName) continue;
    let names = byScope.get(r.scope);
    if (!names) byScope.set(r.scope, (names = new Set()));
    names.add(r.receiver);
  }
  const calls: FileSummary['argumentCalls'][number][] = [];
  for (const [scopeIndex, names] of byScope) {
    const scope = scopes[scopeIndex]!;
    const start = Math.max(scope.start, 0);
    const text = source.slice(start, Math.min(scope.end, source.length));
    const seen = new Set<string>();
    for (const m of text.matchAll(new RegExp(`[(,]\\s*(${[...names].join('|')})\\s*(?=[,)])`, 'g'))) {
      const at = start + m.index + 1;
      if (scopeAt(at) !== scopeIndex) continue;
      const call = receivingCall(source, at);
      if (!call || call.nested || call.callee.startsWith('<')) continue;
      const key = `${m[1]} ${call.callee}`;
      if (seen.has(key)) continue;
      seen.add(key);
      calls.push({ scope: scopeIndex, name: m[1]!, callee: call.callee });
    }
  }
  return calls;
}
