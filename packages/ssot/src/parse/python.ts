/**
 * Python extraction with ast-grep (tree-sitter-python, native). Searches run in native code by node kind
 * (`findAll`); JavaScript only touches the nodes it needs, since every node crossing into JS costs time.
 */
import { createRequire } from 'node:module';
import { parse, registerDynamicLanguage } from '@ast-grep/napi';
import type { SgNode } from '@ast-grep/napi';
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
import { countLines, findSuppressions } from './suppressions.js';

interface LangPackage {
  libraryPath: string;
  extensions: string[];
  languageSymbol: string;
  expandoChar: string;
}

let registered = false;
function ensurePython(): void {
  if (registered) return;
  const require = createRequire(import.meta.url);
  const py = require('@ast-grep/lang-python') as LangPackage;
  registerDynamicLanguage({
    python: { libraryPath: py.libraryPath, extensions: py.extensions, languageSymbol: py.languageSymbol, expandoChar: py.expandoChar },
  });
  registered = true;
}

/** `except AttributeError:` or `except (KeyError, AttributeError) as e:` */
const HANDLES_ATTRIBUTE_ERROR = /except\s*\(?[\w.,\s]*\bAttributeError\b/;
const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
/** Decorators that keep a class's attributes as written. Any other decorator may replace the class. */
const PLAIN_CLASS_DECORATORS = new Set([
  'dataclass', 'dataclasses.dataclass', 'dataclass_transform', 'total_ordering', 'functools.total_ordering', 'final',
  'typing.final', 'runtime_checkable', 'typing.runtime_checkable', 'unique', 'enum.unique', 'attr.s', 'attr.attrs',
  'attrs.define', 'attr.define', 'attrs.frozen', 'attr.frozen', 'define', 'frozen',
]);
const PROPERTY_DECORATORS = /^(?:property|cached_property|functools\.cached_property|[A-Za-z_]\w*\.(?:setter|getter|deleter))$/;
const PLAIN_METACLASSES = new Set(['ABCMeta', 'abc.ABCMeta', 'EnumMeta', 'enum.EnumMeta', 'type']);
const ENUM_BASES = /^(?:enum\.)?(?:Enum|IntEnum|StrEnum|Flag|IntFlag)$/;

interface Range {
  start: number;
  end: number;
}

interface ScopeDraft extends Range {
  name: string;
  node: SgNode;
  selfClass: number;
  selfName: string | null;
  typed: Map<string, { source: TypeSource; at: number }[]>;
}

function decoratorNames(def: SgNode): string[] {
  const parent = def.parent();
  if (!parent || parent.kind() !== 'decorated_definition') return [];
  const names: string[] = [];
  for (const child of parent.children()) {
    if (child.kind() !== 'decorator') continue;
    let text = child.text().slice(1).trim();
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

/** Names an assignment target binds: `a`, `a, b`, `(a, *b)`; attributes and subscripts bind nothing. */
function targetNames(text: string): string[] {
  const names: string[] = [];
  for (const part of text.replace(/[()[\]*]/g, ' ').split(',')) {
    const t = part.trim();
    if (/^[A-Za-z_]\w*$/.test(t)) names.push(t);
  }
  return names;
}

function pos(node: SgNode): { line: number; column: number; index: number } {
  const start = node.range().start;
  return { line: start.line + 1, column: start.column + 1, index: start.index };
}

export function extractPython(path: string, source: string): FileSummary {
  ensurePython();
  const lines = countLines(source);
  const suppressions = findSuppressions(source, '#');
  const root = parse('python', source).root();
  if (root.has({ rule: { kind: 'ERROR' } })) {
    const err = root.find({ rule: { kind: 'ERROR' } });
    const at = err ? pos(err) : { line: 1, column: 1 };
    return {
      path, language: 'python', lines, parseError: `syntax error at ${at.line}:${at.column}`, classes: [], imports: [],
      functions: [], scopes: [], reads: [], writes: [], assignedAttributes: [], suppressions,
    };
  }

  // ---- classes -------------------------------------------------------------------------------------
  const classNodes = root.findAll({ rule: { kind: 'class_definition' } });
  const classRanges: (Range & { body: SgNode | null; index: number })[] = [];
  const classes: ClassInfo[] = [];
  const classDrafts: {
    info: Omit<ClassInfo, 'instanceAttributes' | 'instanceAttributeTypes' | 'methods' | 'qualname' | 'topLevel' | 'exported'>;
    methods: MethodInfo[];
    instanceAttributes: Map<string, string | null>;
    instanceAttributeTypes: { name: string; source: TypeSource }[];
    parentClass: number;
    dynamic: boolean;
  }[] = [];
  for (const node of classNodes) {
    const r = node.range();
    classRanges.push({ start: r.start.index, end: r.end.index, body: node.field('body'), index: classRanges.length });
  }
  const enclosingClass = (index: number, excludeSelf = -1): number => {
    let best = -1;
    for (const c of classRanges) {
      if (c.index !== excludeSelf && c.start < index && index < c.end && (best < 0 || c.start > classRanges[best]!.start)) best = c.index;
    }
    return best;
  };
  for (let i = 0; i < classNodes.length; i++) {
    const node = classNodes[i]!;
    const range = classRanges[i]!;
    const name = node.field('name')?.text() ?? '';
    const bases: string[] = [];
    let dynamic = false;
    const supers = node.field('superclasses');
    if (supers) {
      for (const arg of supers.namedChildren()) {
        if (arg.kind() === 'keyword_argument') {
          const key = arg.field('name')?.text();
          const value = arg.field('value')?.text() ?? '';
          if (key === 'metaclass' && !PLAIN_METACLASSES.has(value)) dynamic = true;
          continue;
        }
        if (arg.kind() === 'comment') continue;
        const text = stripSubscript(arg.text());
        bases.push(DOTTED.test(text) ? text : '?');
      }
    }
    const decorators = decoratorNames(node);
    if (decorators.some((d) => !PLAIN_CLASS_DECORATORS.has(d))) dynamic = true;
    const fields: FieldInfo[] = [];
    const properties: string[] = [];
    const nested: string[] = [];
    const methods: MethodInfo[] = [];
    const body = range.body;
    if (body) {
      for (let stmt of body.namedChildren()) {
        let kind = stmt.kind();
        if (kind === 'decorated_definition') {
          stmt = stmt.field('definition') ?? stmt;
          kind = stmt.kind();
        }
        if (kind === 'function_definition') {
          const mname = stmt.field('name')?.text() ?? '';
          const decos = decoratorNames(stmt);
          if (decos.some((d) => PROPERTY_DECORATORS.test(d))) properties.push(mname);
          else methods.push({ name: mname, async: stmt.text().startsWith('async'), returns: stmt.field('return_type')?.text() ?? null });
          if (mname === '__getattr__' || mname === '__getattribute__') dynamic = true;
        } else if (kind === 'class_definition') {
          nested.push(stmt.field('name')?.text() ?? '');
        } else if (kind === 'expression_statement') {
          const inner = stmt.namedChildren()[0];
          if (inner && inner.kind() === 'assignment') {
            const left = inner.field('left');
            const leftText = left?.text() ?? '';
            const type = inner.field('type')?.text() ?? null;
            for (const n of targetNames(leftText)) {
              if (n === '__slots__') {
                for (const m of (inner.field('right')?.text() ?? '').matchAll(/['"]([A-Za-z_]\w*)['"]/g)) fields.push({ name: m[1]!, type: null });
              } else fields.push({ name: n, type });
            }
          }
        } else if (kind !== 'comment' && kind !== 'pass_statement') {
          // if/try/with/for in a class body: whatever it binds is an attribute
          for (const a of stmt.findAll({ rule: { kind: 'assignment' } })) {
            for (const n of targetNames(a.field('left')?.text() ?? '')) fields.push({ name: n, type: null });
          }
          for (const d of stmt.findAll({ rule: { any: [{ kind: 'function_definition' }, { kind: 'class_definition' }] } })) {
            const n = d.field('name')?.text();
            if (n) methods.push({ name: n, async: false, returns: null });
          }
        }
      }
    }
    const text = body?.text() ?? '';
    if (/\bsetattr\(|__dict__|__getattr__|__getattribute__/.test(text)) dynamic = true;
    classDrafts.push({
      info: {
        name, kind: classKind(bases, decorators), line: pos(node).line, column: pos(node).column, bases, fields, properties, nested, dynamic,
      },
      methods,
      instanceAttributes: new Map(),
      instanceAttributeTypes: [],
      parentClass: enclosingClass(range.start, i),
      dynamic,
    });
  }

  // ---- functions and scopes --------------------------------------------------------------------------
  const scopes: ScopeDraft[] = [
    { name: '<module>', node: root, start: -1, end: Number.MAX_SAFE_INTEGER, selfClass: -1, selfName: null, typed: new Map() },
  ];
  const functions: FunctionInfo[] = [];
  for (const fn of root.findAll({ rule: { kind: 'function_definition' } })) {
    const r = fn.range();
    const name = fn.field('name')?.text() ?? '';
    const returns = fn.field('return_type')?.text() ?? null;
    // method iff the definition sits directly in a class body
    let holder = fn.parent();
    if (holder?.kind() === 'decorated_definition') holder = holder.parent();
    const owner = holder?.kind() === 'block' ? holder.parent() : null;
    let selfClass = -1;
    if (owner?.kind() === 'class_definition') {
      const start = owner.range().start.index;
      selfClass = classRanges.findIndex((c) => c.start === start);
    } else if (owner === null && holder?.kind() === 'module') {
      functions.push({ name, returns });
    }
    const decos = decoratorNames(fn);
    const params = fn.field('parameters');
    const typed = new Map<string, { source: TypeSource; at: number }[]>();
    let selfName: string | null = null;
    if (params) {
      let first = true;
      for (const p of params.namedChildren()) {
        const kind = p.kind();
        if (first && selfClass >= 0 && !decos.includes('staticmethod') && kind === 'identifier') {
          selfName = p.text();
        } else if (kind === 'typed_parameter' || kind === 'typed_default_parameter') {
          const pname = kind === 'typed_parameter' ? p.namedChildren()[0] : p.field('name');
          const type = p.field('type')?.text();
          if (pname?.kind() === 'identifier' && type) typed.set(pname.text(), [{ source: { kind: 'annotation', text: type }, at: -1 }]);
        }
        first = false;
      }
    }
    const qual = selfClass >= 0 ? `${classDrafts[selfClass]!.info.name}.${name}` : name;
    const isClassMethod = decos.includes('classmethod');
    scopes.push({
      name: qual, node: fn, start: r.start.index, end: r.end.index, selfClass: isClassMethod ? -1 : selfClass,
      selfName: isClassMethod ? null : selfName, typed,
    });
    if (selfClass >= 0) {
      const draft = classDrafts[selfClass]!;
      if (!draft.methods.some((m) => m.name === name) && !draft.info.properties.includes(name)) {
        draft.methods.push({ name, async: fn.text().startsWith('async'), returns });
      }
    }
  }
  // innermost scope containing a byte index
  const sortedScopes = scopes.map((s, i) => ({ s, i })).sort((a, b) => a.s.start - b.s.start);
  const scopeAt = (index: number): number => {
    let best = 0;
    for (const { s, i } of sortedScopes) {
      if (s.start > index) break;
      if (index < s.end && s.start >= scopes[best]!.start) best = i;
    }
    return best;
  };

  // ---- assignments: typed locals, instance attributes, attributes set from outside ------------------------
  const assignedAttributes = new Set<string>();
  const writeCandidates: AttributeRead[] = [];
  for (const a of root.findAll({ rule: { any: [{ kind: 'assignment' }, { kind: 'augmented_assignment' }] } })) {
    const left = a.field('left');
    if (!left) continue;
    const leftKind = left.kind();
    const at = a.range().start.index;
    if (leftKind === 'identifier') {
      if (a.kind() !== 'assignment') continue;
      const type = a.field('type')?.text();
      const right = a.field('right');
      let source: TypeSource | null = null;
      if (type) source = { kind: 'annotation', text: type };
      else if (right?.kind() === 'call') {
        const callee = right.field('function')?.text() ?? '';
        if (DOTTED.test(callee)) source = { kind: 'call', callee };
      }
      // class-body assignments are attributes, not variables of the surrounding scope
      const cls = enclosingClass(at);
      if (source && !(cls >= 0 && classRanges[cls]!.start > scopes[scopeAt(at)]!.start)) {
        const scope = scopes[scopeAt(at)]!;
        const list = scope.typed.get(left.text()) ?? [];
        list.push({ source, at });
        scope.typed.set(left.text(), list);
      }
      continue;
    }
    // attribute targets, alone or in tuples
    const leftText = left.text();
    if (!leftText.includes('.')) continue;
    const scope = scopes[scopeAt(at)]!;
    for (const m of leftText.matchAll(/([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)/g)) {
      const receiver = m[1]!;
      const attr = m[2]!;
      const owner = scope.selfName !== null && receiver === scope.selfName ? classDrafts[scope.selfClass] : undefined;
      if (owner) {
        const type = leftKind === 'attribute' && a.kind() === 'assignment' ? (a.field('type')?.text() ?? null) : null;
        if (!owner.instanceAttributes.has(attr) || type) owner.instanceAttributes.set(attr, type);
        if (leftKind === 'attribute' && a.kind() === 'assignment') {
          const right = a.field('right');
          if (type) owner.instanceAttributeTypes.push({ name: attr, source: { kind: 'annotation', text: type } });
          else if (right?.kind() === 'call') {
            const callee = right.field('function')?.text() ?? '';
            if (DOTTED.test(callee)) owner.instanceAttributeTypes.push({ name: attr, source: { kind: 'call', callee } });
          }
        }
      } else {
        writeCandidates.push({ receiver, attribute: attr, scope: scopes.indexOf(scope), line: pos(left).line, column: pos(left).column });
      }
    }
  }
  // other ways of binding an attribute: `for x.a in`, `with … as x.a`, `(x.a := …)` is invalid; `del` removes
  for (const n of root.findAll({ rule: { any: [{ kind: 'for_statement' }, { kind: 'as_pattern_target' }] } })) {
    const target = n.kind() === 'for_statement' ? n.field('left') : n;
    for (const m of (target?.text() ?? '').matchAll(/\.([A-Za-z_]\w*)/g)) assignedAttributes.add(m[1]!);
  }

  // ---- receivers with one sure type per scope ------------------------------------------------------
  const readNodes = root.findAll({
    rule: { kind: 'attribute', has: { field: 'object', any: [{ kind: 'identifier' }, { kind: 'attribute' }] } },
  });
  const candidates: { receiver: string; attribute: string; line: number; column: number; scope: number; node: SgNode }[] = [];
  for (const node of readNodes) {
    const text = node.text();
    if (!DOTTED.test(text)) continue;
    const dot = text.lastIndexOf('.');
    const receiver = text.slice(0, dot);
    const attribute = text.slice(dot + 1);
    if (attribute.startsWith('__') && attribute.endsWith('__')) continue;
    const rootName = receiver.includes('.') ? receiver.slice(0, receiver.indexOf('.')) : receiver;
    const p = pos(node);
    const scopeIndex = scopeAt(p.index);
    const scope = scopes[scopeIndex]!;
    const isSelf = scope.selfName !== null && rootName === scope.selfName;
    if (!isSelf && (receiver.includes('.') || !scope.typed.has(rootName))) continue;
    candidates.push({ receiver, attribute, line: p.line, column: p.column, scope: scopeIndex, node });
  }

  // a name is a sure receiver only when every binding of it in its scope is one of the typed ones
  const BINDING_PARENTS = new Set([
    'pattern_list', 'tuple_pattern', 'list_pattern', 'list_splat_pattern', 'dictionary_splat_pattern', 'for_statement',
    'for_in_clause', 'as_pattern_target', 'named_expression', 'global_statement', 'nonlocal_statement', 'parameters',
    'lambda_parameters', 'default_parameter', 'typed_parameter', 'typed_default_parameter', 'delete_statement',
    'augmented_assignment', 'aliased_import', 'dotted_name', 'case_pattern', 'keyword_pattern', 'class_pattern',
    'splat_pattern', 'as_pattern', 'except_clause', 'with_item',
  ]);
  const sureCache = new Map<string, TypeSource | null>();
  const sureType = (scopeIndex: number, name: string): TypeSource | null => {
    const key = `${scopeIndex}:${name}`;
    const cached = sureCache.get(key);
    if (cached !== undefined) return cached;
    const scope = scopes[scopeIndex]!;
    const typed = scope.typed.get(name) ?? [];
    let result: TypeSource | null = null;
    const first = typed[0];
    const agree = first !== undefined && typed.every((t) => JSON.stringify(t.source) === JSON.stringify(first.source));
    if (agree) {
      const scopeText = scope.node.text();
      const escaped = name.replace(/[$]/g, '\\$');
      // narrowing and guards make the type uncertain
      if (new RegExp(`isinstance\\(\\s*${escaped}\\b|hasattr\\(\\s*${escaped}\\b|getattr\\(\\s*${escaped}\\b|${HANDLES_ATTRIBUTE_ERROR.source}`).test(scopeText)) {
        result = null;
      } else {
        const typedStarts = new Set(typed.map((t) => t.at));
        let other = 0;
        for (const id of scope.node.findAll({ rule: { kind: 'identifier', regex: `^${escaped}$` } })) {
          const parent = id.parent();
          if (!parent) continue;
          const pk = String(parent.kind());
          if (pk === 'assignment') {
            const left = parent.field('left');
            if (left && left.range().start.index === id.range().start.index) {
              if (!typedStarts.has(parent.range().start.index)) other++;
            }
          } else if (pk === 'typed_parameter' || pk === 'typed_default_parameter') {
            if (!typedStarts.has(-1)) other++;
          } else if (pk === 'keyword_argument' || pk === 'attribute') {
            // a keyword's name or an attribute's name is not this variable
          } else if (BINDING_PARENTS.has(pk)) {
            other++;
          } else if (pk === 'function_definition' || pk === 'class_definition') {
            other++;
          }
        }
        if (other === 0) result = first.source;
      }
    }
    sureCache.set(key, result);
    return result;
  };

  const reads: AttributeRead[] = [];
  const receiverSources = new Map<number, Map<string, TypeSource>>();
  for (const c of candidates) {
    const scope = scopes[c.scope]!;
    const rootName = c.receiver.split('.')[0]!;
    if (!(scope.selfName !== null && rootName === scope.selfName)) {
      const source = sureType(c.scope, rootName);
      if (!source) continue;
      let map = receiverSources.get(c.scope);
      if (!map) receiverSources.set(c.scope, (map = new Map()));
      map.set(rootName, source);
    } else if (HANDLES_ATTRIBUTE_ERROR.test(scope.node.text()) || /hasattr\(|getattr\(/.test(scope.node.text())) {
      continue;
    }
    // stores are not reads
    const parent = c.node.parent();
    if (parent) {
      const pk = String(parent.kind());
      if ((pk === 'assignment' && parent.field('left')?.range().start.index === c.node.range().start.index) || pk === 'pattern_list' || pk === 'tuple_pattern' || pk === 'delete_statement') continue;
    }
    reads.push({ receiver: c.receiver, attribute: c.attribute, line: c.line, column: c.column, scope: c.scope });
  }

  const writes: AttributeRead[] = [];
  for (const w of writeCandidates) {
    const scope = scopes[w.scope]!;
    const rootName = w.receiver.split('.')[0]!;
    if (scope.selfName !== null && rootName === scope.selfName) {
      writes.push(w);
      continue;
    }
    const source = w.receiver.includes('.') ? null : sureType(w.scope, rootName);
    if (!source) {
      assignedAttributes.add(w.attribute);
      continue;
    }
    let map = receiverSources.get(w.scope);
    if (!map) receiverSources.set(w.scope, (map = new Map()));
    map.set(rootName, source);
    writes.push(w);
  }

  const outScopes: ScopeInfo[] = scopes.map((s, i) => ({
    name: s.name,
    selfClass: s.selfClass,
    selfName: s.selfName,
    receivers: [...(receiverSources.get(i) ?? new Map<string, TypeSource>()).entries()].map(([name, source]) => ({ name, source })),
  }));

  // ---- class results ---------------------------------------------------------------------------------
  const qualname = (i: number): string => {
    const d = classDrafts[i]!;
    return d.parentClass >= 0 ? `${qualname(d.parentClass)}.${d.info.name}` : d.info.name;
  };
  for (let i = 0; i < classDrafts.length; i++) {
    const d = classDrafts[i]!;
    const topLevel = d.parentClass < 0 && scopeAt(classRanges[i]!.start) === 0;
    classes.push({
      ...d.info,
      qualname: qualname(i),
      methods: d.methods,
      instanceAttributes: [...d.instanceAttributes.entries()].map(([name, type]) => ({ name, type })),
      instanceAttributeTypes: d.instanceAttributeTypes,
      topLevel,
      exported: topLevel && !d.info.name.startsWith('_'),
    });
  }

  return {
    path, language: 'python', lines, parseError: null, classes, imports: extractImports(root), functions, scopes: outScopes, reads, writes,
    assignedAttributes: [...assignedAttributes], suppressions,
  };
}

function extractImports(root: SgNode): ImportInfo[] {
  const imports: ImportInfo[] = [];
  for (const node of root.findAll({ rule: { any: [{ kind: 'import_statement' }, { kind: 'import_from_statement' }] } })) {
    const p = pos(node);
    const base = { line: p.line, column: p.column, typeOnly: false };
    if (node.kind() === 'import_statement') {
      for (const item of node.namedChildren()) {
        if (item.kind() === 'dotted_name') {
          const module = item.text();
          imports.push({ ...base, module, name: null, local: module.split('.')[0]! });
        } else if (item.kind() === 'aliased_import') {
          const module = item.field('name')?.text() ?? '';
          imports.push({ ...base, module, name: null, local: item.field('alias')?.text() ?? module });
        }
      }
      continue;
    }
    const moduleNode = node.field('module_name');
    const module = (moduleNode?.text() ?? '').replace(/\s+/g, '');
    for (const item of node.namedChildren()) {
      if (moduleNode && item.range().start.index === moduleNode.range().start.index) continue;
      if (item.kind() === 'dotted_name') {
        imports.push({ ...base, module, name: item.text(), local: item.text() });
      } else if (item.kind() === 'aliased_import') {
        const name = item.field('name')?.text() ?? '';
        imports.push({ ...base, module, name, local: item.field('alias')?.text() ?? name });
      } else if (item.kind() === 'wildcard_import') {
        imports.push({ ...base, module, name: '*', local: '*' });
      }
    }
  }
  return imports;
}
