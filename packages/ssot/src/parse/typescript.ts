/**
 * TypeScript/JavaScript extraction with oxc-parser: classes, interfaces (merged per module), object type
 * aliases and enums at module level; in JavaScript files, also reads on receivers built with `new`, which no
 * compiler checks.
 */
import { parseSync } from 'oxc-parser';
import type {
  AttributeRead,
  ClassInfo,
  ClassKind,
  FieldInfo,
  FileSummary,
  ImportInfo,
  Language,
  MethodInfo,
  ScopeInfo,
} from './summary.js';
import { failedSummary } from './summary.js';
import { countLines, findSuppressions } from './suppressions.js';
import { isGenerated } from './generated.js';
import { namesakeReferences } from './references.js';

/** The slice of an ESTree node this file reads; everything else stays opaque. */
interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [key: string]: unknown;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
function child(node: Node, key: string): Node | null {
  const v = node[key];
  return isNode(v) ? v : null;
}
function children(node: Node, key: string): Node[] {
  const v = node[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}
function nameOf(node: Node | null): string | null {
  if (!node) return null;
  if (node.type === 'Identifier' || node.type === 'PrivateIdentifier')
    return typeof node.name === 'string' ? node.name : null;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  return null;
}
/** `a.b.c` for identifiers and non-computed member chains, else null */
function dotted(node: Node | null): string | null {
  if (!node) return null;
  if (node.type === 'Identifier') return nameOf(node);
  if (node.type === 'MemberExpression' && node.computed !== true) {
    const left = dotted(child(node, 'object'));
    const right = nameOf(child(node, 'property'));
    return left && right ? `${left}.${right}` : null;
  }
  if (node.type === 'TSQualifiedName') {
    const left = dotted(child(node, 'left'));
    const right = nameOf(child(node, 'right'));
    return left && right ? `${left}.${right}` : null;
  }
  return null;
}

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(source: string) {
    let i = -1;
    while ((i = source.indexOf('\n', i + 1)) >= 0) this.starts.push(i + 1);
  }
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

function typeText(source: string, annotation: Node | null): string | null {
  if (!annotation) return null;
  const inner = annotation.type === 'TSTypeAnnotation' ? child(annotation, 'typeAnnotation') : annotation;
  return inner ? source.slice(inner.start, inner.end) : null;
}

interface Members {
  fields: FieldInfo[];
  methods: MethodInfo[];
  properties: string[];
  dynamic: boolean;
}

function typeMembers(source: string, members: Node[]): Members {
  const out: Members = { fields: [], methods: [], properties: [], dynamic: false };
  for (const m of members) {
    const key = nameOf(child(m, 'key'));
    if (m.type === 'TSIndexSignature') out.dynamic = true;
    else if (m.type === 'TSPropertySignature' && key)
      out.fields.push({ name: key, type: typeText(source, child(m, 'typeAnnotation')) });
    else if (m.type === 'TSMethodSignature' && key) {
      if (m.kind === 'get' || m.kind === 'set') out.properties.push(key);
      else out.methods.push({ name: key, async: false, returns: typeText(source, child(m, 'returnType')) });
    }
  }
  return out;
}

/** Walks every node below `node`, depth first. */
function walk(node: Node, visit: (n: Node, parent: Node | null) => void, parent: Node | null = null): void {
  visit(node, parent);
  for (const key in node) {
    if (key === 'type' || key === 'start' || key === 'end') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) walk(c, visit, node);
    } else if (isNode(v)) walk(v, visit, node);
  }
}

function classMembers(source: string, body: Node, thisAssigned: Map<string, string | null>): Members {
  const out: Members = { fields: [], methods: [], properties: [], dynamic: false };
  for (const m of children(body, 'body')) {
    const key = nameOf(child(m, 'key'));
    if (m.type === 'TSIndexSignature') out.dynamic = true;
    else if ((m.type === 'PropertyDefinition' || m.type === 'AccessorProperty') && key) {
      out.fields.push({ name: key, type: typeText(source, child(m, 'typeAnnotation')) });
    } else if (m.type === 'MethodDefinition') {
      const fn = child(m, 'value');
      if (m.kind === 'constructor' && fn) {
        for (const p of children(fn, 'params')) {
          if (p.type === 'TSParameterProperty') {
            const param = child(p, 'parameter');
            const target = param?.type === 'AssignmentPattern' ? child(param, 'left') : param;
            const pname = nameOf(target);
            if (pname && target)
              out.fields.push({ name: pname, type: typeText(source, child(target, 'typeAnnotation')) });
          }
        }
      } else if (key && (m.kind === 'get' || m.kind === 'set')) out.properties.push(key);
      else if (key)
        out.methods.push({
          name: key,
          async: fn?.async === true,
          returns: fn ? typeText(source, child(fn, 'returnType')) : null,
        });
      if (m.computed === true) out.dynamic = true;
    } else if (m.type === 'PropertyDefinition' && m.computed === true) out.dynamic = true;
  }
  walk(body, (n) => {
    if (n.type === 'AssignmentExpression') {
      const left = child(n, 'left');
      if (left?.type === 'MemberExpression' && child(left, 'object')?.type === 'ThisExpression') {
        const name = left.computed === true ? null : nameOf(child(left, 'property'));
        if (name) thisAssigned.set(name, null);
        else out.dynamic = true;
      }
    } else if (n.type === 'CallExpression') {
      // Object.assign(this, …) and friends add attributes no one can list
      const args = children(n, 'arguments');
      if (args.some((a) => a.type === 'ThisExpression')) out.dynamic = true;
    }
  });
  return out;
}

export function extractScript(path: string, source: string, language: Exclude<Language, 'python'>): FileSummary {
  const lines = countLines(source);
  const suppressions = findSuppressions(source, '//');
  const result = parseSync(path, source);
  const fatal = result.errors.find((e) => (e.severity as string) === 'Error');
  if (fatal) {
    const label = fatal.labels[0];
    const at = label ? new LineIndex(source).at(label.start) : { line: 1, column: 1 };
    return failedSummary({
      path,
      language,
      lines,
      parseError: `${fatal.message} at ${at.line}:${at.column}`,
      generated: isGenerated(source),
      suppressions,
    });
  }
  const index = new LineIndex(source);
  const program = result.program as unknown as Node;

  const imports: ImportInfo[] = [];
  for (const imp of result.module.staticImports) {
    const at = index.at(imp.start);
    // `import './x.js'` binds nothing, but the modules meet
    if (imp.entries.length === 0)
      imports.push({
        module: imp.moduleRequest.value,
        name: null,
        local: '',
        line: at.line,
        column: at.column,
        typeOnly: false,
      });
    for (const e of imp.entries) {
      const name =
        e.importName.kind === 'Name' ? e.importName.name : e.importName.kind === 'Default' ? 'default' : null;
      imports.push({
        module: imp.moduleRequest.value,
        name,
        local: e.localName.value,
        line: at.line,
        column: at.column,
        typeOnly: e.isType,
      });
    }
  }
  // re-exports `export { X } from './y'` bind no local name but forward the definition
  for (const exp of result.module.staticExports) {
    for (const e of exp.entries) {
      if (e.moduleRequest && e.importName.kind === 'Name' && e.importName.name) {
        const at = index.at(exp.start);
        const exported = e.exportName.name ?? e.importName.name;
        imports.push({
          module: e.moduleRequest.value,
          name: e.importName.name,
          local: exported,
          line: at.line,
          column: at.column,
          typeOnly: false,
        });
      } else if (e.moduleRequest && e.importName.kind !== 'Name') {
        // `export * from './y'` forwards every name; `export * as ns from './y'` binds a namespace
        const at = index.at(exp.start);
        const star = e.exportName.name === null || e.exportName.name === undefined;
        imports.push({
          module: e.moduleRequest.value,
          name: star ? '*' : null,
          local: e.exportName.name ?? '',
          line: at.line,
          column: at.column,
          typeOnly: false,
        });
      }
    }
  }
  const aliasesOf = (name: string): string[] =>
    imports.filter((i) => i.name === name && i.local !== name).map((i) => i.local);
  const exportedLocals = new Set<string>();
  for (const exp of result.module.staticExports) {
    for (const e of exp.entries) if (!e.moduleRequest && e.localName.name) exportedLocals.add(e.localName.name);
  }

  // one definition per name and module: interface declaration merging makes one shape
  const byName = new Map<
    string,
    ClassInfo & { fields: FieldInfo[]; methods: MethodInfo[]; properties: string[]; bases: string[] }
  >();
  const classBodies = new Map<string, Node>();
  for (const statement of children(program, 'body')) {
    let decl: Node | null = statement;
    let exported = false;
    if (statement.type === 'ExportNamedDeclaration' || statement.type === 'ExportDefaultDeclaration') {
      decl = child(statement, 'declaration');
      exported = true;
    }
    if (!decl) continue;
    const name = nameOf(child(decl, 'id'));
    if (!name) continue;
    exported ||= exportedLocals.has(name);
    const at = index.at(decl.start);
    let kind: ClassKind;
    let members: Members;
    let bases: string[] = [];
    const thisAssigned = new Map<string, string | null>();
    if (decl.type === 'ClassDeclaration') {
      kind = 'class';
      const body = child(decl, 'body');
      members = body
        ? classMembers(source, body, thisAssigned)
        : { fields: [], methods: [], properties: [], dynamic: false };
      const sup = child(decl, 'superClass');
      if (sup) bases = [dotted(sup) ?? '?'];
      if (children(decl, 'decorators').length > 0) members.dynamic = true;
      if (body) classBodies.set(name, body);
    } else if (decl.type === 'TSInterfaceDeclaration') {
      kind = 'interface';
      members = typeMembers(source, children(child(decl, 'body') ?? decl, 'body'));
      bases = children(decl, 'extends').map((h) => dotted(child(h, 'expression')) ?? '?');
    } else if (decl.type === 'TSTypeAliasDeclaration') {
      const t = child(decl, 'typeAnnotation');
      if (t?.type !== 'TSTypeLiteral') continue;
      kind = 'type';
      members = typeMembers(source, children(t, 'members'));
    } else if (decl.type === 'TSEnumDeclaration') {
      kind = 'ts-enum';
      const body = child(decl, 'body');
      members = {
        fields: children(body ?? decl, 'members').map((m) => ({ name: nameOf(child(m, 'id')) ?? '?', type: null })),
        methods: [],
        properties: [],
        dynamic: false,
      };
    } else continue;
    const existing = byName.get(name);
    if (existing && (existing.kind === 'interface' || kind === 'interface' || existing.kind === 'ts-enum')) {
      existing.fields.push(...members.fields);
      existing.methods.push(...members.methods);
      existing.properties.push(...members.properties);
      existing.bases.push(...bases);
      continue;
    }
    byName.set(name, {
      name,
      qualname: name,
      kind,
      line: at.line,
      column: at.column,
      bases,
      fields: members.fields,
      methods: members.methods,
      properties: members.properties,
      nested: [],
      instanceAttributes: [...thisAssigned.keys()].map((n) => ({ name: n, type: null })),
      instanceAttributeTypes: [],
      dynamic: members.dynamic,
      exported,
      topLevel: true,
      scope: 0,
      selfEscapes: false,
      references: namesakeReferences(source.slice(decl.start, decl.end), name, aliasesOf(name)),
    });
  }

  const scopes: ScopeInfo[] = [{ name: '<module>', selfClass: -1, selfName: null, parent: -1, receivers: [] }];
  const reads: AttributeRead[] = [];
  const assignedAttributes = new Set<string>();
  if (language === 'javascript') collectConstructedReads(program, index, scopes, reads, assignedAttributes);

  return {
    path,
    language,
    lines,
    parseError: null,
    classes: [...byName.values()],
    imports,
    functions: [],
    scopes,
    reads,
    writes: [],
    assignedAttributes: [...assignedAttributes],
    fieldStores: [],
    fieldValues: [],
    escapes: [],
    generated: isGenerated(source),
    suppressions,
  };
}

/**
 * `const x = new Foo()` where `x` is bound nowhere else in the file: reads `x.y` are checked against `Foo`.
 * Reads that probe (`if (x.y)`, `x.y ?? d`, `typeof x.y`, `x?.y`) are left alone: in JavaScript that is how one
 * asks whether a property exists.
 */
function collectConstructedReads(
  program: Node,
  index: LineIndex,
  scopes: ScopeInfo[],
  reads: AttributeRead[],
  assigned: Set<string>,
): void {
  const bindings = new Map<string, number>();
  const constructed = new Map<string, string>();
  const memberReads: { object: string; property: string; start: number }[] = [];
  const bind = (name: string | null): void => {
    if (name) bindings.set(name, (bindings.get(name) ?? 0) + 1);
  };
  const bindPattern = (p: Node | null): void => {
    if (!p) return;
    walk(p, (n, parent) => {
      if (n.type !== 'Identifier') return;
      // `{ a: b }` binds b, not a; default values are expressions
      if (parent?.type === 'Property' && child(parent, 'key') === n && parent.shorthand !== true) return;
      if (parent?.type === 'AssignmentPattern' && child(parent, 'right') === n) return;
      bind(nameOf(n));
    });
  };
  const probing = new Set([
    'UnaryExpression',
    'LogicalExpression',
    'IfStatement',
    'ConditionalExpression',
    'ChainExpression',
    'WhileStatement',
    'UpdateExpression',
  ]);
  walk(program, (n, parent) => {
    switch (n.type) {
      case 'VariableDeclarator': {
        const id = child(n, 'id');
        bindPattern(id);
        const init = child(n, 'init');
        if (id?.type === 'Identifier' && init?.type === 'NewExpression' && parent?.kind === 'const') {
          const callee = dotted(child(init, 'callee'));
          const name = nameOf(id);
          if (callee && name) constructed.set(name, callee);
        }
        break;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        bind(nameOf(child(n, 'id')));
        for (const p of children(n, 'params')) bindPattern(p);
        break;
      case 'ClassDeclaration':
        bind(nameOf(child(n, 'id')));
        break;
      case 'CatchClause':
        bindPattern(child(n, 'param'));
        break;
      case 'ImportSpecifier':
      case 'ImportDefaultSpecifier':
      case 'ImportNamespaceSpecifier':
        bind(nameOf(child(n, 'local')));
        break;
      case 'AssignmentExpression': {
        const left = child(n, 'left');
        if (left?.type === 'MemberExpression' && left.computed !== true) {
          const prop = nameOf(child(left, 'property'));
          if (prop) assigned.add(prop);
        } else if (left?.type === 'Identifier') bind(nameOf(left));
        break;
      }
      case 'MemberExpression': {
        const object = child(n, 'object');
        const prop = nameOf(child(n, 'property'));
        if (n.computed === true || n.optional === true || object?.type !== 'Identifier' || !prop) break;
        if (parent && probing.has(parent.type)) break;
        if (parent?.type === 'AssignmentExpression' && child(parent, 'left') === n) break;
        if (
          parent?.type === 'BinaryExpression' &&
          (parent.operator === 'in' ||
            parent.operator === '===' ||
            parent.operator === '!==' ||
            parent.operator === '==' ||
            parent.operator === '!=')
        )
          break;
        // reported at the property's name
        memberReads.push({
          object: nameOf(object) ?? '',
          property: prop,
          start: child(n, 'property')?.start ?? n.start,
        });
        break;
      }
    }
  });
  const receivers = new Map<string, string>();
  for (const [name, callee] of constructed) if (bindings.get(name) === 1) receivers.set(name, callee);
  if (receivers.size === 0) return;
  scopes[0] = {
    name: '<module>',
    selfClass: -1,
    selfName: null,
    parent: -1,
    receivers: [...receivers].map(([name, callee]) => ({ name, source: { kind: 'call', callee } })),
  };
  for (const r of memberReads) {
    if (!receivers.has(r.object)) continue;
    const at = index.at(r.start);
    reads.push({ receiver: r.object, attribute: r.property, line: at.line, column: at.column, scope: 0 });
  }
}
