/**
 * Phase 4 of Python extraction: what each statement binds. Assignments, loops, `with`/`match` targets, walrus,
 * lambdas and imports bind names in their scope (typed by an annotation or a call, or not); assignments to
 * `self.x` (or to a new instance in a classmethod) make instance attributes; other attribute stores are kept for the
 * next phase, and so are the attribute nodes, which may be reads.
 */
import type { AttributeRead, FileSummary, ImportInfo } from '../summary.js';
import {
  assignmentParts,
  DOTTED,
  forTarget,
  parameters,
  parseImport,
  singleCall,
  targetNames,
  unpackedCalls,
} from '../python-text.js';
import { bindTyped, bindUntyped } from './scopes.js';
import type { Range, Scopes } from './scopes.js';
import type { Structure } from './structure.js';
import type { RawNode, SourceText } from './tree.js';

/** `super().__new__(cls)`, `object.__new__(cls)`, `cls.__new__(cls)`: a new instance of the class */
const NEW_INSTANCE = /\.__new__\(\s*[A-Za-z_]\w*\s*[,)]/;

export interface Bindings {
  /** attribute stores not on `self` (nor on a new instance in a classmethod), in source order */
  readonly writeCandidates: readonly AttributeRead[];
  readonly fieldValues: FileSummary['fieldValues'];
  /** where assignment targets are, in source order: attribute nodes inside them are stores, not reads */
  readonly storeRanges: readonly Range[];
  readonly imports: readonly ImportInfo[];
  readonly attributeNodes: readonly RawNode[];
}

export function collectBindings(
  { textOf, position }: SourceText,
  raw: readonly RawNode[],
  { classDrafts, containerOf }: Structure,
  { scopes, scopeAt }: Scopes,
): Bindings {
  const writeCandidates: AttributeRead[] = [];
  /** `for x.a in …`, `with … as x.a`: attribute stores of values of unknown type */
  const addTargetStores = (target: string, scopeIndex: number, at: number): void => {
    for (const m of target.matchAll(/([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)/g)) {
      writeCandidates.push({ receiver: m[1]!, attribute: m[2]!, scope: scopeIndex, ...position(at) });
    }
  };
  /**
   * `f = Factory` in a class body, `x.f = Policy()`: a class, or an instance of it, stored in field f (`self.f = C()`
   * is in the class's instanceAttributeTypes already; calls in a class body are mostly field declarations)
   */
  const fieldValues: FileSummary['fieldValues'][number][] = [];
  const heldVariables: { field: string; name: string; scopeIndex: number }[] = [];
  const addFieldValue = (field: string, value: string | null, scopeIndex: number, calls: boolean): void => {
    if (value === null) return;
    const callee = calls ? singleCall(value) : null;
    const name = callee ?? (DOTTED.test(value) ? value : null);
    if (name !== null) fieldValues.push({ field, name, instance: callee !== null, scope: scopeIndex });
    // a variable (`self._policy = policy`): also whatever constructor calls it is assigned in its scope (below)
    if (callee === null && name !== null && !name.includes('.')) heldVariables.push({ field, name, scopeIndex });
  };
  const storeRanges: Range[] = [];
  const imports: ImportInfo[] = [];
  const attributeNodes: RawNode[] = [];
  for (const n of raw) {
    switch (n.kind) {
      case 'attribute':
        attributeNodes.push(n);
        break;
      case 'assignment':
      case 'augmented_assignment': {
        const text = textOf(n);
        const scopeIndex = scopeAt(n.start);
        const scope = scopes[scopeIndex]!;
        const inClassBody = (() => {
          const c = containerOf(n.start);
          return c?.kind === 'class';
        })();
        let targets: string[];
        let type: string | null = null;
        let value: string | null = null;
        if (n.kind === 'assignment') {
          ({ targets, type, value } = assignmentParts(text));
          // the leftmost target's text ends where the first `=` (or `:`) is
          storeRanges.push({ start: n.start, end: n.start + targets[0]!.length });
        } else {
          targets = [text.slice(0, text.search(/\s*(?:\/\/|>>|<<|\*\*|[-+*/%&|^@])=/)).trim()];
        }
        for (const target of targets) {
          if (/^[A-Za-z_]\w*$/.test(target)) {
            if (inClassBody) {
              addFieldValue(target, value, scopeIndex, false);
              continue;
            }
            if (scope.clsName !== null && value !== null && NEW_INSTANCE.test(value)) scope.newInstances.add(target);
            const callee = value !== null && targets.length === 1 ? singleCall(value) : null;
            if (n.kind === 'assignment' && type) bindTyped(scope, target, { kind: 'annotation', text: type });
            else if (n.kind === 'assignment' && callee) bindTyped(scope, target, { kind: 'call', callee });
            else bindUntyped(scope, target);
            continue;
          }
          if (!inClassBody) {
            // `c1, c2 = C(), C()`: each name gets the call at its position, as Python unpacks the tuple
            const calls = n.kind === 'assignment' && targets.length === 1 ? unpackedCalls(target, value) : null;
            for (const [i, name] of targetNames(target).entries()) {
              const callee = calls?.[i];
              if (callee) bindTyped(scope, name, { kind: 'call', callee });
              else bindUntyped(scope, name);
            }
          }
          if (!target.includes('.')) continue;
          for (const m of target.matchAll(/([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)/g)) {
            const receiver = m[1]!;
            const attr = m[2]!;
            const owner =
              scope.selfName !== null && receiver === scope.selfName
                ? classDrafts[scope.selfClass]
                : scope.clsName !== null && (receiver === scope.clsName || scope.newInstances.has(receiver))
                  ? classDrafts[scope.ownerClass]
                  : undefined;
            if (target === m[0] && n.kind === 'assignment') addFieldValue(attr, value, scopeIndex, !owner);
            if (owner) {
              const single = target === m[0] && n.kind === 'assignment';
              if (!owner.instanceAttributes.has(attr) || (single && type))
                owner.instanceAttributes.set(attr, single ? type : null);
              if (single) {
                const callee = value !== null ? singleCall(value) : null;
                if (type) owner.instanceAttributeTypes.push({ name: attr, source: { kind: 'annotation', text: type } });
                else if (callee) owner.instanceAttributeTypes.push({ name: attr, source: { kind: 'call', callee } });
              }
            } else {
              writeCandidates.push({ receiver, attribute: attr, scope: scopeIndex, ...position(n.start) });
            }
          }
        }
        break;
      }
      case 'for_statement':
      case 'for_in_clause': {
        const target = forTarget(textOf(n)) ?? n.node.childForFieldName('left')?.text ?? '';
        for (const name of targetNames(target)) bindUntyped(scopes[scopeAt(n.start)]!, name);
        addTargetStores(target, scopeAt(n.start), n.start);
        break;
      }
      // `del x` unbinds x without giving it another value: no binding
      case 'as_pattern_target':
      case 'global_statement':
      case 'nonlocal_statement':
      case 'lambda_parameters': {
        const text = textOf(n).replace(/^(?:global|nonlocal)\s+/, '');
        const names = n.kind === 'lambda_parameters' ? parameters(text).map((p) => p.name) : targetNames(text);
        for (const name of names) bindUntyped(scopes[scopeAt(n.start)]!, name);
        if (n.kind === 'as_pattern_target') addTargetStores(text, scopeAt(n.start), n.start);
        break;
      }
      case 'named_expression': {
        const text = textOf(n);
        const name = /^[^\s:=]+/.exec(text)?.[0];
        if (name) bindUntyped(scopes[scopeAt(n.start)]!, name);
        break;
      }
      case 'import_statement':
      case 'import_from_statement': {
        const scope = scopes[scopeAt(n.start)]!;
        for (const imp of parseImport(textOf(n))) {
          imports.push({ ...imp, ...position(n.start), typeOnly: false });
          bindUntyped(scope, imp.local);
        }
        break;
      }
    }
  }

  for (const { field, name, scopeIndex } of heldVariables) {
    for (const source of scopes[scopeIndex]!.typed.get(name) ?? []) {
      if (source.kind === 'call') fieldValues.push({ field, name: source.callee, instance: true, scope: scopeIndex });
    }
  }
  return { writeCandidates, fieldValues, storeRanges, imports, attributeNodes };
}
