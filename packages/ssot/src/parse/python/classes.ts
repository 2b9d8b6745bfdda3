/**
 * What a `class` statement says about the class: its header (bases, metaclass, decorators) and the members its body
 * binds, read from the tree and the source text; and the headers of `def` and `class` statements.
 */
import type { ClassKind, ClassInfo, FieldInfo, MethodInfo, TypeSource } from '../summary.js';
import { assignmentParts, DOTTED, parseImport, splitTopLevel, targetNames, withoutComments } from '../python-text.js';
import type { DefinitionHeader } from '../python-text.js';
import { passedToCall } from '../python-escapes.js';
import type { SyntaxNode } from './tree.js';

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
export const PROPERTY_DECORATORS =
  /^(?:property|cached_property|functools\.cached_property|[A-Za-z_]\w*\.(?:setter|getter|deleter))$/;
/**
 * Decorators that leave a method a method, called with the instance first. Under any other decorator the function
 * may be replaced (`@jump_test(1, 3) def test(output)`), so its first parameter is not known to be `self`.
 */
export const METHOD_DECORATORS = new Set([
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
const PLAIN_METACLASSES = new Set(['ABCMeta', 'abc.ABCMeta', 'EnumMeta', 'enum.EnumMeta', 'type']);
const ENUM_BASES = /^(?:enum\.)?(?:Enum|IntEnum|StrEnum|Flag|IntFlag)$/;

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

export interface ClassDraft {
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
export interface DefinitionText {
  readonly header: DefinitionHeader;
  readonly decorators: readonly string[];
}

/** a string literal statement (a docstring when it comes first in a body) */
const DOCSTRING = /^[rRuU]?("""|'''|"|')/;

/** only blank space and comments between a decorator and what it decorates */
export const BETWEEN_DECORATORS = /^(?:\s|#[^\n]*|\\\r?\n)*$/;

/** A definition's header asked from the tree: the slow path, for headers `definitionHeader` does not read. */
export function definitionOfNode(node: SyntaxNode): DefinitionText {
  const isClass = node.type === 'class_definition';
  const list = node.childForFieldName(isClass ? 'superclasses' : 'parameters')?.text ?? null;
  return {
    header: {
      name: node.childForFieldName('name')?.text ?? '',
      async: !isClass && /^async\b/.test(node.text.slice(0, 6)),
      list: isClass && list !== null ? list.slice(1, -1) : list,
      returns: isClass ? null : (node.childForFieldName('return_type')?.text ?? null),
      length: (node.childForFieldName('body')?.startIndex ?? node.endIndex) - node.startIndex,
    },
    decorators: decoratorNamesOfNode(node),
  };
}

export function extractClass(
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
  let docstring: string | null = null;
  if (body) {
    for (let stmt of body.namedChildren) {
      let kind = stmt.type;
      if (docstring === null && kind !== 'comment') {
        // the body's first statement, when it is a string literal
        const first = slice(stmt.startIndex, stmt.endIndex);
        docstring = kind === 'expression_statement' && DOCSTRING.test(first) ? first : '';
      }
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
      documentedMixin: docstring !== null && /\bmix-?ins?\b/i.test(docstring),
    },
    methods,
    instanceAttributes: new Map(),
    instanceAttributeTypes: [],
    parentClass: -1,
    insideFunction: false,
  };
}
