/**
 * The nodes of some types in a node-tree-sitter tree, with their type and string indices, found by its native search
 * (`descendantsOfType`) without a SyntaxNode object per node.
 *
 * node-tree-sitter hands a search's nodes over as a type id each and six numbers each in a shared transfer array
 * (the node's id, its start byte and point, its alias), then builds a SyntaxNode per node: two BigInts and a map entry
 * for its id, an object whose `tree` is set with `Object.defineProperty`; and each `startIndex`/`endIndex` asks the
 * native side again. Here the type comes from the id, the start from the transferred start byte (the tree was parsed
 * from a string, UTF-16: two bytes a code unit), one native call gives the end, and a SyntaxNode is made only for
 * nodes whose children the extractor asks for. These are node-tree-sitter 0.25's internals (the package is pinned):
 * where they are missing or differ, the public API is used, with the same results.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Parser from 'tree-sitter';

type SyntaxNode = Parser.SyntaxNode;

export interface FoundNode {
  readonly kind: string;
  /** string indices (UTF-16 code units) */
  readonly start: number;
  readonly end: number;
  /** the node itself, for its children and fields (made on first use) */
  readonly node: SyntaxNode;
}

interface NodeMethods {
  descendantsOfType(tree: Parser.Tree, types: readonly string[]): unknown[];
  startIndex(tree: Parser.Tree): number;
  endIndex(tree: Parser.Tree): number;
}
interface Binding {
  readonly NodeMethods: NodeMethods;
  readonly nodeTransferArray: Uint32Array;
  getNodeTypeNamesById(language: unknown): (string | null)[];
}
type NodeClass = new (tree: Parser.Tree) => SyntaxNode;

/** numbers per node in the transfer array */
const FIELDS = 6;
const ERROR_TYPE_ID = 0xffff;

function loadBinding(): Binding | null {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('tree-sitter/package.json'));
    // the module node-tree-sitter loaded itself (native modules load once per thread)
    const binding = (require(require.resolve('node-gyp-build', { paths: [root] })) as (dir: string) => unknown)(
      root,
    ) as Partial<Binding>;
    const methods = binding.NodeMethods;
    if (
      typeof methods?.descendantsOfType !== 'function' ||
      typeof methods.endIndex !== 'function' ||
      typeof methods.startIndex !== 'function' ||
      typeof binding.getNodeTypeNamesById !== 'function' ||
      !(binding.nodeTransferArray instanceof Uint32Array)
    )
      return null;
    return binding as Binding;
  } catch {
    return null;
  }
}

const BASE_NODE_CLASS = (Parser as unknown as { SyntaxNode: NodeClass }).SyntaxNode;
let binding: Binding | null | undefined;
const typeNames = new WeakMap<object, (string | null)[]>();

/** node-tree-sitter's own objects, for a node whose children are asked for */
class LazyNode implements FoundNode {
  private made: SyntaxNode | null = null;

  constructor(
    readonly kind: string,
    readonly start: number,
    readonly end: number,
    private readonly tree: Parser.Tree,
    private readonly typeId: number,
    private readonly fields: Uint32Array,
  ) {}

  get node(): SyntaxNode {
    if (!this.made) {
      const { language } = this.tree as unknown as { language: { nodeSubclasses: NodeClass[] } };
      const Class =
        this.typeId === ERROR_TYPE_ID ? BASE_NODE_CLASS : (language.nodeSubclasses[this.typeId] ?? BASE_NODE_CLASS);
      const node = new Class(this.tree) as unknown as Record<number, number>;
      for (let i = 0; i < FIELDS; i++) node[i] = this.fields[i]!;
      this.made = node as unknown as SyntaxNode;
    }
    return this.made;
  }
}

/** The public API: a SyntaxNode per node. */
function slowNodes(root: SyntaxNode, types: readonly string[]): FoundNode[] {
  return root
    .descendantsOfType(types as string[])
    .map((node) => ({ kind: node.type, start: node.startIndex, end: node.endIndex, node }));
}

/** Whether the searches go through node-tree-sitter's internals (false: its public API, slower; a test checks it). */
export function usesNodeInternals(): boolean {
  if (binding === undefined) binding = loadBinding();
  return binding !== null;
}

/** The nodes of `types` under `root` (the root node of `tree`, parsed from a string), in document order. */
export function nodesOfTypes(tree: Parser.Tree, root: SyntaxNode, types: readonly string[]): FoundNode[] {
  if (binding === undefined) binding = loadBinding();
  if (!binding) return slowNodes(root, types);
  try {
    return fastNodes(binding, tree, root, types);
  } catch {
    // not the module node-tree-sitter loaded (another copy does not know its trees): the public API from now on
    binding = null;
    return slowNodes(root, types);
  }
}

function fastNodes(binding: Binding, tree: Parser.Tree, root: SyntaxNode, types: readonly string[]): FoundNode[] {
  const { language } = tree as unknown as { language: object };
  const rootFields = root as unknown as Record<number, number>;
  if (typeof language !== 'object' || typeof rootFields[0] !== 'number') return slowNodes(root, types);
  const { NodeMethods } = binding;
  let names = typeNames.get(language);
  if (!names) typeNames.set(language, (names = binding.getNodeTypeNamesById(language)));
  let transfer = binding.nodeTransferArray;
  for (let i = 0; i < FIELDS; i++) transfer[i] = rootFields[i]!;
  const ids = NodeMethods.descendantsOfType(tree, types);
  transfer = binding.nodeTransferArray; // replaced when a search outgrows it
  const all = transfer.slice(0, ids.length * FIELDS);
  const found: FoundNode[] = new Array<FoundNode>(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    const at = k * FIELDS;
    const kind = typeof id === 'number' ? names[id] : null;
    if (typeof id !== 'number' || !kind) return slowNodes(root, types);
    for (let i = 0; i < FIELDS; i++) transfer[i] = all[at + i]!;
    // the start byte is twice the string index where the native side counts that way: checked once
    if (k === 0 && NodeMethods.startIndex(tree) * 2 !== all[at + 2]) return slowNodes(root, types);
    found[k] = new LazyNode(
      kind,
      all[at + 2]! / 2,
      NodeMethods.endIndex(tree),
      tree,
      id,
      all.subarray(at, at + FIELDS),
    );
  }
  return found;
}
