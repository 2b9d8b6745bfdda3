/**
 * Python extraction with tree-sitter-python through node-tree-sitter (native). One native search collects the
 * nodes the extractor needs by kind (`descendantsOfType`, which hands them over in bulk); statement texts are read in
 * JavaScript.
 */
import Parser from 'tree-sitter';
import Python from 'tree-sitter-python';
import type {
  AttributeRead,
  ClassInfo,
  ClassKind,
  FieldInfo,
  FileSummary,
  FunctionInfo,
  ImportInfo,
  MethodInfo,
  ScopeInfo,
  TypeSource,
} from './summary.js';
import { failedSummary } from './summary.js';
import {
  assignmentParts,
  bracketsBalance,
  definitionHeader,
  forTarget,
  parameters,
  parseImport,
  singleCall,
  splitTopLevel,
  targetNames,
  withoutComments,
  unpackedCalls,
} from './python-text.js';
import type { DefinitionHeader } from './python-text.js';
import { escapingNames, passedToCall } from './python-escapes.js';
import { isGenerated } from './generated.js';
import { namesakeReferences } from './references.js';
import { countLines, findSuppressions } from './suppressions.js';

type SyntaxNode = Parser.SyntaxNode;

/**
 * node-tree-sitter registers every node it hands to JavaScript in a cache on its tree, each with a weak reference
 * and a finalizer, so that a node keeps one object across calls and follows edits. The extractor never edits a tree
 * nor compares nodes by identity, and those registrations cost about a tenth of a scan's CPU, so its own trees skip
 * them (`_cacheNode(s)` are node-tree-sitter 0.25's internal methods; were they renamed, this would only be slower).
 */
function skipNodeCache(tree: Parser.Tree): void {
  const noop = (): void => {};
  Object.assign(tree, { _cacheNode: noop, _cacheNodes: noop });
}

let parser: Parser | null = null;
/** one parser per thread, made on first use */
function pythonParser(): Parser {
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(Python as Parser.Language);
  }
  return parser;
}

const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
/** Decorators that keep a class's attributes as written. Any other decorator may replace the class. */
const PLAIN_CLASS_DECORATORS = new Set([
  'dataclass',
  'dataclasses.dataclass',
  'dataclass_transform',
  'total_ordering',
  'functools.total_ordering',
  'final',
  'typing.final',
  'runtime_checkable',
  'typing.runtime_checkable',
  'unique',
  'enum.unique',
  'attr.s',
  'attr.attrs',
  'attrs.define',
  'attr.define',
  'attrs.frozen',
  'attr.frozen',
  'define',
  'frozen',
]);
const PROPERTY_DECORATORS =
  /^(?:property|cached_property|functools\.cached_property|[A-Za-z_]\w*\.(?:setter|getter|deleter))$/;
/**
 * Decorators that leave a method a method, called with the instance first. Under any other decorator the function
 * may be replaced (`@jump_test(1, 3) def test(output)`), so its first parameter is not known to be `self`.
 */
const METHOD_DECORATORS = new Set([
  'staticmethod',
  'classmethod',
  'abstractmethod',
  'abc.abstractmethod',
  'overload',
  'typing.overload',
  'override',
  'typing.override',
  'typing_extensions.override',
  'final',
  'typing.final',
  'functools.cache',
  'cache',
  'lru_cache',
  'functools.lru_cache',
  'functools.wraps',
  'wraps',
  'contextmanager',
  'contextlib.contextmanager',
  'asynccontextmanager',
  'contextlib.asynccontextmanager',
  'unittest.skip',
  'unittest.skipIf',
  'unittest.skipUnless',
  'unittest.expectedFailure',
  'skip',
  'skipIf',
  'skipUnless',
  'expectedFailure',
  'deprecated',
  'typing_extensions.deprecated',
  'warnings.deprecated',
]);
/** `super().__new__(cls)`, `object.__new__(cls)`, `cls.__new__(cls)`: a new instance of the class */
const NEW_INSTANCE = /\.__new__\(\s*[A-Za-z_]\w*\s*[,)]/;
const PLAIN_METACLASSES = new Set(['ABCMeta', 'abc.ABCMeta', 'EnumMeta', 'enum.EnumMeta', 'type']);
const ENUM_BASES = /^(?:enum\.)?(?:Enum|IntEnum|StrEnum|Flag|IntFlag)$/;

interface Range {
  start: number;
  end: number;
}

interface ScopeDraft extends Range {
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
  newInstances: Set<string>;
}

/** A definition's decorators asked from the tree (the slow path, for headers the text reader does not handle). */
function decoratorNamesOfNode(def: SyntaxNode): string[] {
  const parent = def.parent;
  if (!parent || parent.type !== 'decorated_definition') return [];
  const names: string[] = [];
  for (const child of parent.children) {
    if (child.type !== 'decorator') continue;
    let text = child.text.slice(1).trim();
    const paren = text.indexOf('(');
    if (paren >= 0) text = text.slice(0, paren);
    names.push(text.trim());
  }
  return names;
}

function stripSubscript(text: string): string {
  const i = text.indexOf('[');
  return (i >= 0 ? text.slice(0, i) : text).trim();
}

function classKind(bases: readonly string[], decorators: readonly string[]): ClassKind {
  if (decorators.some((d) => d === 'dataclass' || d === 'dataclasses.dataclass')) return 'dataclass';
  for (const base of bases) {
    if (ENUM_BASES.test(base)) return 'enum';
    const last = base.slice(base.lastIndexOf('.') + 1);
    if (last === 'BaseModel') return 'pydantic';
    if (last === 'TypedDict') return 'typeddict';
    if (last === 'NamedTuple') return 'namedtuple';
    if (last === 'Protocol') return 'protocol';
  }
  return 'class';
}

/**
 * Every node kind the extractor needs, found in one native walk. Nodes cost little to hand over in bulk, so the
 * extraction skips what it does not need (identifier targets in a class body bind nothing, and non-dotted attribute
 * text is no read) rather than asking the search to test relations.
 */
const KINDS = [
  'class_definition',
  'function_definition',
  'augmented_assignment',
  'for_statement',
  'for_in_clause',
  'as_pattern_target',
  'named_expression',
  'global_statement',
  'nonlocal_statement',
  'lambda_parameters',
  'import_statement',
  'import_from_statement',
  'decorator',
  'assignment',
  'attribute',
];
const GUARD = /\b(isinstance|hasattr|getattr)\(\s*([A-Za-z_]\w*)\b|except\s*\(?[\w.,\s]*\bAttributeError\b/g;

interface RawNode {
  kind: string;
  start: number;
  end: number;
  node: SyntaxNode;
}

/**
 * A node's type without a native call: node-tree-sitter gives each named node type its own class, so the type is
 * asked once per class. Nodes of the base class (types without one) are asked every time.
 */
const typeOfClass = new Map<unknown, string>();
const BASE_NODE_CLASS = (Parser as unknown as { SyntaxNode: unknown }).SyntaxNode;
function typeOf(node: SyntaxNode): string {
  const cls: unknown = node.constructor;
  let type = typeOfClass.get(cls);
  if (type === undefined) {
    type = node.type;
    if (cls !== BASE_NODE_CLASS) typeOfClass.set(cls, type);
  }
  return type;
}

/** 1-based line and column (UTF-16 code units, as tree-sitter counts them here) of string indices in `source` */
function lineIndex(source: string): (index: number) => { line: number; column: number } {
  let newlines: number[] | null = null;
  return (index) => {
    if (!newlines) {
      newlines = [];
      for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) newlines.push(i);
    }
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    return { line: lo + 1, column: index - (lo > 0 ? newlines[lo - 1]! + 1 : 0) + 1 };
  };
}

/**
 * Where a file fails to parse: the first ERROR node or identifier tree-sitter inserted (`(lambda: )`), in source
 * order; failing those, when brackets or strings do not balance (where inserted punctuation comes from, as in
 * `def f(:`), the first inserted token of any kind. Inserted tokens are the only zero-width nodes besides an empty
 * module. Walks the whole tree, so it runs only for trees that have errors or files that do not balance.
 */
function syntaxError(root: SyntaxNode, source: string): SyntaxNode | null {
  const hasError = root.hasError;
  let missing: SyntaxNode | null = null;
  const cursor = root.walk();
  for (;;) {
    const node = cursor.currentNode;
    const empty = node.startIndex === node.endIndex;
    if (hasError && (node.type === 'ERROR' || (empty && node.type === 'identifier'))) return node;
    if (empty && !missing && node.type !== 'module') missing = node;
    if (cursor.gotoFirstChild() || cursor.gotoNextSibling()) continue;
    for (;;) {
      if (!cursor.gotoParent()) return missing && !bracketsBalance(source) ? missing : null;
      if (cursor.gotoNextSibling()) break;
    }
  }
}

export function extractPython(path: string, source: string): FileSummary {
  const lines = countLines(source);
  const suppressions = findSuppressions(source, '#');
  // positions are string indices (UTF-16 code units), as JavaScript slices strings
  const tree = pythonParser().parse(source, undefined, { bufferSize: Math.max(source.length, 1) });
  skipNodeCache(tree);
  const root = tree.rootNode;
  const error = root.hasError || !bracketsBalance(source) ? syntaxError(root, source) : null;
  if (error) {
    const kind = error.type;
    const what = kind === 'ERROR' ? '' : ` (missing ${/^[A-Za-z_]/.test(kind) ? kind : `'${kind}'`})`;
    return failedSummary({
      path,
      language: 'python',
      lines,
      parseError: `syntax error at ${error.startPosition.row + 1}:${error.startPosition.column + 1}${what}`,
      generated: isGenerated(source),
      suppressions,
    });
  }
  const raw: RawNode[] = root
    .descendantsOfType(KINDS)
    .map((node) => ({ kind: typeOf(node), start: node.startIndex, end: node.endIndex, node }));
  const position = lineIndex(source);
  const slice = (start: number, end: number): string => source.slice(start, end);
  const textOf = (n: RawNode): string => source.slice(n.start, n.end);
  // ---- definitions' headers and decorators, read from the source ---------------------------------------
  const decoratorRaw = raw.filter((n) => n.kind === 'decorator');
  /** the decorators right before a definition starting at `start` (only blank lines and comments between) */
  const decoratorsBefore = (start: number): string[] => {
    const names: string[] = [];
    let lo = 0;
    let hi = decoratorRaw.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (decoratorRaw[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo - 1; k >= 0; k--) {
      const d = decoratorRaw[k]!;
      if (!BETWEEN_DECORATORS.test(slice(d.end, start))) break;
      let text = textOf(d).slice(1).trim();
      const paren = text.indexOf('(');
      if (paren >= 0) text = text.slice(0, paren);
      names.unshift(text.trim());
      start = d.start;
    }
    return names;
  };
  const headers = new Map<number, DefinitionText | null>();
  /** a def's or class's header, from its text when it has a usual shape, else from the tree */
  const definitionAt = (n: RawNode): DefinitionText => {
    let found = headers.get(n.start);
    if (found === undefined) {
      const header = definitionHeader(textOf(n));
      found = header ? { header, decorators: decoratorsBefore(n.start) } : null;
      headers.set(n.start, found);
    }
    return found ?? definitionOfNode(n.node);
  };
  const rawAt = new Map<number, RawNode>();
  // ---- classes -------------------------------------------------------------------------------------
  const classRaw = raw.filter((n) => n.kind === 'class_definition');
  const functionRaw = raw.filter((n) => n.kind === 'function_definition');
  for (const n of classRaw) rawAt.set(n.start, n);
  for (const n of functionRaw) rawAt.set(n.start, n);
  const definitionStarting = (node: SyntaxNode): DefinitionText => {
    const n = rawAt.get(node.startIndex);
    return n ? definitionAt(n) : definitionOfNode(node);
  };
  const classRanges = classRaw.map((n, index) => ({ start: n.start, end: n.end, index }));
  const classDrafts = classRaw.map((n) =>
    extractClass(n.node, position(n.start), definitionAt(n), definitionStarting, slice),
  );
  /** innermost class or function around a byte index: ['class' | 'function', index] */
  const containers = [
    ...classRaw.map((n, i) => ({ start: n.start, end: n.end, kind: 'class' as const, index: i })),
    ...functionRaw.map((n, i) => ({ start: n.start, end: n.end, kind: 'function' as const, index: i })),
  ].sort((a, b) => a.start - b.start);
  // each container's innermost enclosing container (definitions nest or are disjoint)
  const enclosing: number[] = [];
  const open: number[] = [];
  for (let k = 0; k < containers.length; k++) {
    while (open.length > 0 && containers[open[open.length - 1]!]!.end <= containers[k]!.start) open.pop();
    enclosing.push(open.length > 0 ? open[open.length - 1]! : -1);
    open.push(k);
  }
  const containerOf = (
    index: number,
    exclude: { kind: string; index: number } | null = null,
  ): { kind: 'class' | 'function'; index: number } | null => {
    // the last container starting at or before `index`, then outwards until one contains it
    let lo = 0;
    let hi = containers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (containers[mid]!.start <= index) lo = mid + 1;
      else hi = mid;
    }
    let k = lo - 1;
    while (k >= 0) {
      const c = containers[k]!;
      if (index < c.end && !(exclude && c.kind === exclude.kind && c.index === exclude.index)) return c;
      k = enclosing[k]!;
    }
    return null;
  };
  for (let i = 0; i < classDrafts.length; i++) {
    const outer = containerOf(classRanges[i]!.start, { kind: 'class', index: i });
    classDrafts[i]!.parentClass = outer?.kind === 'class' ? outer.index : -1;
    classDrafts[i]!.insideFunction = outer?.kind === 'function';
  }

  // ---- functions and scopes --------------------------------------------------------------------------
  const newScope = (
    name: string,
    start: number,
    end: number,
    selfClass: number,
    selfName: string | null,
  ): ScopeDraft => ({
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
    newInstances: new Set(),
  });
  const scopes: ScopeDraft[] = [newScope('<module>', -1, Number.MAX_SAFE_INTEGER, -1, null)];
  const functions: FunctionInfo[] = [];
  const scopeOfFunction: number[] = [];
  const bindUntyped = (scope: ScopeDraft, name: string): void => {
    scope.untyped.set(name, (scope.untyped.get(name) ?? 0) + 1);
  };
  const bindTyped = (scope: ScopeDraft, name: string, source: TypeSource): void => {
    const list = scope.typed.get(name);
    if (list) list.push(source);
    else scope.typed.set(name, [source]);
  };
  // innermost scope containing a byte index
  const scopeAt = (index: number): number => {
    const c = containerOf(index);
    if (!c) return 0;
    if (c.kind === 'function') return scopeOfFunction[c.index] ?? 0;
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
    scope.parent = enclosingFunctionScope(f.start, i);
    if (selfClass >= 0 && (isClassMethod || name === '__new__') && params.length > 0) {
      scope.ownerClass = selfClass;
      scope.clsName = params[0]!.name;
    }
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

  // ---- guards --------------------------------------------------------------------------------------
  if (/isinstance|hasattr|getattr|AttributeError/.test(source)) {
    for (const m of source.matchAll(GUARD)) {
      const scope = scopes[scopeAt(m.index)]!;
      if (m[2]) scope.guarded.add(m[2]);
      else scope.catchesAttributeError = true;
    }
  }

  // ---- bindings, instance attributes, attribute stores ------------------------------------------------
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
  const addFieldValue = (field: string, value: string | null, scopeIndex: number, calls: boolean): void => {
    if (value === null) return;
    const callee = calls ? singleCall(value) : null;
    const name = callee ?? (DOTTED.test(value) ? value : null);
    if (name !== null) fieldValues.push({ field, name, instance: callee !== null, scope: scopeIndex });
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

  // ---- receivers with one sure type per scope ------------------------------------------------------
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
  // store ranges are in source order and disjoint (targets do not nest): the last one starting at or before wins
  const isStore = (start: number): boolean => {
    let lo = 0;
    let hi = storeRanges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (storeRanges[mid]!.start <= start) lo = mid + 1;
      else hi = mid;
    }
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
  const silencedByLooseStore = (r: AttributeRead): boolean => {
    const key = looseKey(r.scope, r.receiver, r.attribute);
    const stores = looseStores.get(key);
    if (!stores) return false;
    return key.startsWith('class ') || stores.some((s) => encloses(s, r.scope) || encloses(r.scope, s));
  };
  const reads: AttributeRead[] = [];
  const seenReads = new Set<string>();
  for (const n of attributeNodes) {
    const text = textOf(n);
    if (!DOTTED.test(text)) continue;
    const dot = text.lastIndexOf('.');
    const receiver = text.slice(0, dot);
    const attribute = text.slice(dot + 1);
    if (attribute.startsWith('__') && attribute.endsWith('__')) continue;
    const firstDot = receiver.indexOf('.');
    const rootName = firstDot >= 0 ? receiver.slice(0, firstDot) : receiver;
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
      addFieldStore(w.receiver, w.attribute);
      // `Cls.attr = …` sets a class attribute (`timezone.utc = …`): the model keeps it when the name is a class
      writes.push(w);
      continue;
    }
    noteReceiver(w.scope, rootName, source);
    writes.push(w);
  }
  if (looseStores.size > 0) {
    for (let k = reads.length - 1; k >= 0; k--) {
      const r = reads[k]!;
      if (silencedByLooseStore(r)) reads.splice(k, 1);
    }
  }

  // ---- class objects that escape ----------------------------------------------------------------------
  const escapeKeys = new Set<string>();
  const escapes: { name: string; scope: number }[] = [];
  for (const e of escapingNames(source)) {
    const scope = scopeAt(e.index);
    const key = `${scope} ${e.name}`;
    if (escapeKeys.has(key)) continue;
    escapeKeys.add(key);
    escapes.push({ name: e.name, scope });
    // `setattr(style, role, f)` on an instance: the model opens the instance's class
    const source = /^[A-Za-z_]\w*$/.test(e.name) ? sureType(scope, e.name) : null;
    if (source) noteReceiver(scope, e.name, source);
  }

  const outScopes: ScopeInfo[] = scopes.map((s, i) => ({
    name: s.name,
    selfClass: s.selfClass,
    selfName: s.selfName,
    parent: s.parent,
    receivers: [...(receiverSources.get(i) ?? new Map<string, TypeSource>()).entries()].map(([name, source]) => ({
      name,
      source,
    })),
  }));

  // ---- class results ---------------------------------------------------------------------------------
  const qualname = (i: number): string => {
    const d = classDrafts[i]!;
    return d.parentClass >= 0 ? `${qualname(d.parentClass)}.${d.info.name}` : d.info.name;
  };
  const classes: ClassInfo[] = classDrafts.map((d, i) => {
    const topLevel = d.parentClass < 0 && !d.insideFunction;
    const name = d.info.name;
    const aliases = topLevel
      ? imports.filter((imp) => imp.name === name && imp.local !== name).map((imp) => imp.local)
      : [];
    return {
      scope: d.parentClass >= 0 ? -1 : scopeAt(classRanges[i]!.start),
      // only top-level classes are compared with their namesakes
      references: topLevel ? namesakeReferences(slice(classRanges[i]!.start, classRanges[i]!.end), name, aliases) : [],
      ...d.info,
      qualname: qualname(i),
      methods: d.methods,
      instanceAttributes: [...d.instanceAttributes.entries()].map(([name, type]) => ({ name, type })),
      instanceAttributeTypes: d.instanceAttributeTypes,
      topLevel,
      exported: topLevel && !d.info.name.startsWith('_'),
    };
  });

  return {
    path,
    language: 'python',
    lines,
    parseError: null,
    classes,
    imports,
    functions,
    scopes: outScopes,
    reads,
    writes,
    assignedAttributes: [
      ...new Set(
        writeCandidates
          .filter((w) => looseStores.has(looseKey(w.scope, w.receiver, w.attribute)))
          .map((w) => w.attribute),
      ),
    ],
    fieldStores,
    fieldValues,
    escapes,
    generated: isGenerated(source),
    suppressions,
  };
}

interface ClassDraft {
  info: Omit<
    ClassInfo,
    | 'instanceAttributes'
    | 'instanceAttributeTypes'
    | 'methods'
    | 'qualname'
    | 'topLevel'
    | 'exported'
    | 'scope'
    | 'references'
  >;
  methods: MethodInfo[];
  instanceAttributes: Map<string, string | null>;
  instanceAttributeTypes: { name: string; source: TypeSource }[];
  parentClass: number;
  insideFunction: boolean;
}

/** What the extractor reads from a `def` or `class` header. */
interface DefinitionText {
  readonly header: DefinitionHeader;
  readonly decorators: readonly string[];
}

/** only blank space and comments between a decorator and what it decorates */
const BETWEEN_DECORATORS = /^(?:\s|#[^\n]*|\\\r?\n)*$/;

/** A definition's header asked from the tree: the slow path, for headers `definitionHeader` does not read. */
function definitionOfNode(node: SyntaxNode): DefinitionText {
  const isClass = node.type === 'class_definition';
  const list = node.childForFieldName(isClass ? 'superclasses' : 'parameters')?.text ?? null;
  return {
    header: {
      name: node.childForFieldName('name')?.text ?? '',
      async: !isClass && /^async\b/.test(node.text.slice(0, 6)),
      list: isClass && list !== null ? list.slice(1, -1) : list,
      returns: isClass ? null : (node.childForFieldName('return_type')?.text ?? null),
    },
    decorators: decoratorNamesOfNode(node),
  };
}

function extractClass(
  node: SyntaxNode,
  { line, column }: { line: number; column: number },
  definition: DefinitionText,
  definitionStarting: (node: SyntaxNode) => DefinitionText,
  slice: (start: number, end: number) => string,
): ClassDraft {
  const name = definition.header.name;
  const bases: string[] = [];
  let dynamic = false;
  if (definition.header.list !== null) {
    for (const part of splitTopLevel(definition.header.list, ',')) {
      const arg = withoutComments(part).trim();
      if (arg === '') continue;
      const keyword = /^([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(arg);
      if (keyword) {
        if (keyword[1] === 'metaclass' && !PLAIN_METACLASSES.has(keyword[2]!.trim())) dynamic = true;
        continue;
      }
      const text = stripSubscript(arg);
      bases.push(DOTTED.test(text) ? text : '?');
    }
  }
  const decorators = definition.decorators;
  if (decorators.some((d) => !PLAIN_CLASS_DECORATORS.has(d))) dynamic = true;
  const fields: FieldInfo[] = [];
  const properties: string[] = [];
  const nested: string[] = [];
  const methods: MethodInfo[] = [];
  const body = node.childForFieldName('body');
  if (body) {
    for (let stmt of body.namedChildren) {
      let kind = stmt.type;
      if (kind === 'decorated_definition') {
        stmt = stmt.childForFieldName('definition') ?? stmt;
        kind = stmt.type;
      }
      if (kind === 'function_definition') {
        const { header, decorators: decos } = definitionStarting(stmt);
        const mname = header.name;
        if (decos.some((d) => PROPERTY_DECORATORS.test(d))) properties.push(mname);
        else methods.push({ name: mname, async: header.async, returns: header.returns });
        if (mname === '__getattr__' || mname === '__getattribute__') dynamic = true;
      } else if (kind === 'class_definition') {
        nested.push(definitionStarting(stmt).header.name);
      } else if (kind === 'import_statement' || kind === 'import_from_statement') {
        // an import in a class body binds a class attribute (`from idlelib.percolator import Percolator`)
        for (const imp of parseImport(slice(stmt.startIndex, stmt.endIndex)))
          if (imp.name !== '*') fields.push({ name: imp.local, type: null });
      } else if (kind === 'expression_statement') {
        const text = slice(stmt.startIndex, stmt.endIndex);
        if (!text.includes('=') && !text.includes(':')) continue;
        const { targets, type, value } = assignmentParts(text);
        for (const target of targets) {
          for (const n of targetNames(target)) {
            if (n === '__slots__') {
              for (const m of (value ?? '').matchAll(/['"]([A-Za-z_]\w*)['"]/g))
                fields.push({ name: m[1]!, type: null });
            } else fields.push({ name: n, type: targets.length === 1 ? type : null });
          }
        }
      } else if (kind !== 'comment' && kind !== 'pass_statement') {
        // if/try/with/for in a class body: whatever it binds is an attribute
        for (const a of stmt.descendantsOfType('assignment')) {
          for (const n of targetNames(a.childForFieldName('left')?.text ?? '')) fields.push({ name: n, type: null });
        }
        for (const d of stmt.descendantsOfType(['function_definition', 'class_definition'])) {
          const n = d.childForFieldName('name')?.text;
          if (n) methods.push({ name: n, async: false, returns: null });
        }
      }
    }
  }
  const text = body ? slice(body.startIndex, body.endIndex) : '';
  if (/\bsetattr\(|__dict__|__getattr__|__getattribute__/.test(text)) dynamic = true;
  const selfEscapes = passedToCall(text, 'self');
  return {
    info: {
      name,
      kind: classKind(bases, decorators),
      line,
      column,
      bases,
      fields,
      properties,
      nested,
      dynamic,
      selfEscapes,
    },
    methods,
    instanceAttributes: new Map(),
    instanceAttributeTypes: [],
    parentClass: -1,
    insideFunction: false,
  };
}
