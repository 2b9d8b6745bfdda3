/**
 * TypeScript/JavaScript extraction with oxc-parser: classes, interfaces (merged per module), object type
 * aliases and enums at module level; in JavaScript files, also reads on receivers built with `new`, which no
 * compiler checks.
 */
import { parseScript } from './oxc.js';
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
import { child, children, nameOf, dotted, LineIndex, typeMembers, classMembers } from './script-ast.js';
import type { Members, Node } from './script-ast.js';
import { collectConstructedReads } from './script-reads.js';

export function extractScript(path: string, source: string, language: Exclude<Language, 'python'>): FileSummary {
  const lines = countLines(source);
  const suppressions = findSuppressions(source, '//');
  const result = parseScript(path, source);
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
  if (language === 'javascript') imports.push(...requires(program, index));
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
      documentedMixin: false,
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
    parameterStores: [],
    argumentCalls: [],
    escapes: [],
    qualifiedNames: namespaceMembers(source, imports),
    generated: isGenerated(source),
    suppressions,
  };
}

/**
 * CommonJS imports at the top level of a script, as the ES imports they amount to: `const m = require('./m')` binds
 * the module, `const { A, B: C } = require('./m')` and `const A = require('./m').A` bind what it exports under those
 * names (a class the module defines at its top level, as `module.exports = { A }` exports it).
 */
function requires(program: Node, index: LineIndex): ImportInfo[] {
  const found: ImportInfo[] = [];
  const requiredModule = (call: Node | null): string | null => {
    if (call?.type !== 'CallExpression' || dotted(child(call, 'callee')) !== 'require') return null;
    const [arg, ...rest] = children(call, 'arguments');
    return arg?.type === 'Literal' && typeof arg.value === 'string' && rest.length === 0 ? arg.value : null;
  };
  for (const statement of children(program, 'body')) {
    if (statement.type !== 'VariableDeclaration') continue;
    for (const declarator of children(statement, 'declarations')) {
      const id = child(declarator, 'id');
      const init = child(declarator, 'init');
      const at = index.at(declarator.start);
      const add = (module: string, name: string | null, local: string | null): void => {
        if (local) found.push({ module, name, local, line: at.line, column: at.column, typeOnly: false });
      };
      const whole = requiredModule(init);
      if (whole !== null && id?.type === 'Identifier') add(whole, null, nameOf(id));
      else if (whole !== null && id?.type === 'ObjectPattern') {
        for (const p of children(id, 'properties')) {
          const value = child(p, 'value');
          if (p.type === 'Property' && p.computed !== true && value?.type === 'Identifier')
            add(whole, nameOf(child(p, 'key')), nameOf(value));
        }
      } else if (init?.type === 'MemberExpression' && init.computed !== true && id?.type === 'Identifier') {
        const module = requiredModule(child(init, 'object'));
        if (module !== null) add(module, nameOf(child(init, 'property')), nameOf(id));
      }
    }
  }
  return found;
}

/**
 * The names written through a namespace or default import (`ns.User`, `models . User`, `z.ZodType` as a type): the
 * classes the file may name through a module. Read from the text, so a comment or string can add a name, which only
 * makes two namesakes meet where they otherwise might not.
 */
function namespaceMembers(source: string, imports: readonly ImportInfo[]): string[] {
  const namespaces = imports.filter((i) => i.name === null || i.name === 'default').map((i) => i.local);
  if (namespaces.length === 0) return [];
  const alternatives = namespaces.map((n) => n.replace(/\$/g, '\\$')).join('|');
  const found = new Set<string>();
  for (const m of source.matchAll(new RegExp(`(?<![\\w$.])(?:${alternatives})\\s*\\.\\s*([A-Za-z_$][\\w$]*)`, 'g')))
    found.add(m[1]!);
  return [...found];
}
