/**
 * Phase 1 of Python extraction: the source parsed with tree-sitter-python through node-tree-sitter (native), whether
 * it has a syntax error, and the nodes the later phases read, collected by kind in one native search
 * (`descendantsOfType`, which hands them over in bulk; see tree-nodes.ts). Also the source's positions and texts.
 */
import Parser from 'tree-sitter';
import Python from 'tree-sitter-python';
import { bracketsBalance, joinBracketedLines } from '../python-text.js';
import { nodesOfTypes } from '../tree-nodes.js';
import { partitionPoint } from '../sorted.js';

export type SyntaxNode = Parser.SyntaxNode;

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
export interface RawNode {
  kind: string;
  start: number;
  end: number;
  node: SyntaxNode;
}

/** 1-based line and column (UTF-16 code units, as tree-sitter counts them here) of string indices in `source` */
function lineIndex(source: string): (index: number) => { line: number; column: number } {
  let newlines: number[] | null = null;
  return (index) => {
    if (!newlines) {
      newlines = [];
      for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) newlines.push(i);
    }
    const lo = partitionPoint(newlines, (n) => n < index);
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

export type ParsedPython = { readonly error: string } | { readonly error: null; readonly raw: readonly RawNode[] };

function parseTree(text: string): Parser.Tree {
  // positions are string indices (UTF-16 code units), as JavaScript slices strings
  const tree = pythonParser().parse(text, undefined, { bufferSize: Math.max(text.length, 1) });
  skipNodeCache(tree);
  return tree;
}

/**
 * Parses `source`: its syntax error (as a message), or the nodes of the kinds the extractor reads, in source order.
 * A tree with an error is parsed again with the lines inside brackets joined, as Python reads them
 * (joinBracketedLines: same string indices); that tree is taken when it has no error, the first one's error otherwise.
 */
export function parsePython(source: string): ParsedPython {
  let tree = parseTree(source);
  if (tree.rootNode.hasError) {
    const joined = joinBracketedLines(source);
    if (joined !== source) {
      const again = parseTree(joined);
      if (!again.rootNode.hasError) tree = again;
    }
  }
  const root = tree.rootNode;
  const error = root.hasError || !bracketsBalance(source) ? syntaxError(root, source) : null;
  if (error) {
    const kind = error.type;
    const what = kind === 'ERROR' ? '' : ` (missing ${/^[A-Za-z_]/.test(kind) ? kind : `'${kind}'`})`;
    return { error: `syntax error at ${error.startPosition.row + 1}:${error.startPosition.column + 1}${what}` };
  }
  return { error: null, raw: nodesOfTypes(tree, root, KINDS) };
}

/** The source's text and positions, as every phase reads them. */
export interface SourceText {
  readonly source: string;
  /** 1-based line and column of a string index */
  readonly position: (index: number) => { line: number; column: number };
  readonly slice: (start: number, end: number) => string;
  readonly textOf: (n: RawNode) => string;
}

export function sourceText(source: string): SourceText {
  return {
    source,
    position: lineIndex(source),
    slice: (start, end) => source.slice(start, end),
    textOf: (n) => source.slice(n.start, n.end),
  };
}
