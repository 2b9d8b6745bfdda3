/** The slice of oxc-parser's ESTree that the TypeScript/JavaScript extractor reads, and its class members. */
import type { FieldInfo, MethodInfo } from './summary.js';

/** The slice of an ESTree node the extractor reads; everything else stays opaque. */
export interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [key: string]: unknown;
}

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
export function child(node: Node, key: string): Node | null {
  const v = node[key];
  return isNode(v) ? v : null;
}
export function children(node: Node, key: string): Node[] {
  const v = node[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}
export function nameOf(node: Node | null): string | null {
  if (!node) return null;
  if (node.type === 'Identifier' || node.type === 'PrivateIdentifier')
    return typeof node.name === 'string' ? node.name : null;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  return null;
}
/** `a.b.c` for identifiers and non-computed member chains, else null */
export function dotted(node: Node | null): string | null {
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

export class LineIndex {
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

export function typeText(source: string, annotation: Node | null): string | null {
  if (!annotation) return null;
  const inner = annotation.type === 'TSTypeAnnotation' ? child(annotation, 'typeAnnotation') : annotation;
  return inner ? source.slice(inner.start, inner.end) : null;
}

export interface Members {
  fields: FieldInfo[];
  methods: MethodInfo[];
  properties: string[];
  dynamic: boolean;
}

export function typeMembers(source: string, members: Node[]): Members {
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
export function walk(node: Node, visit: (n: Node, parent: Node | null) => void, parent: Node | null = null): void {
  visit(node, parent);
  for (const key in node) {
    if (key === 'type' || key === 'start' || key === 'end') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (isNode(c)) walk(c, visit, node);
    } else if (isNode(v)) walk(v, visit, node);
  }
}

export function classMembers(source: string, body: Node, thisAssigned: Map<string, string | null>): Members {
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
