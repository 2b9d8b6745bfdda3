/**
 * Phase 2 of Python extraction: the file's definitions and how they nest. Each `def` and `class` header is read
 * from the source text (from the tree when it has an unusual shape), each class's members are drafted, and any
 * index in the source can be asked for its innermost enclosing class or function.
 */
import { BETWEEN_DECORATORS, definitionOfNode, extractClass } from './classes.js';
import type { ClassDraft, DefinitionText } from './classes.js';
import { definitionHeader } from '../python-text.js';
import type { RawNode, SourceText, SyntaxNode } from './tree.js';
import { partitionPoint } from '../sorted.js';

export interface Container {
  readonly kind: 'class' | 'function';
  /** index into the file's classes or functions, in source order */
  readonly index: number;
}

export interface Structure {
  readonly classRaw: readonly RawNode[];
  readonly functionRaw: readonly RawNode[];
  readonly classRanges: readonly { readonly start: number; readonly end: number; readonly index: number }[];
  readonly classDrafts: readonly ClassDraft[];
  /** a def's or class's header and decorators */
  readonly definitionAt: (n: RawNode) => DefinitionText;
  /** the innermost class or function around a string index, skipping `exclude` */
  readonly containerOf: (index: number, exclude?: Container | null) => Container | null;
}

export function readStructure({ slice, textOf, position }: SourceText, raw: readonly RawNode[]): Structure {
  const decoratorRaw = raw.filter((n) => n.kind === 'decorator');
  /** the decorators right before a definition starting at `start` (only blank lines and comments between) */
  const decoratorsBefore = (start: number): string[] => {
    const names: string[] = [];
    const lo = partitionPoint(decoratorRaw, (d) => d.end <= start);
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
  const containerOf = (index: number, exclude: Container | null = null): Container | null => {
    // the last container starting at or before `index`, then outwards until one contains it
    let k = partitionPoint(containers, (c) => c.start <= index) - 1;
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

  return { classRaw, functionRaw, classRanges, classDrafts, definitionAt, containerOf };
}
