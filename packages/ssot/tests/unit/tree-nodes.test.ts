import Parser from 'tree-sitter';
import Python from 'tree-sitter-python';
import { describe, expect, it } from 'vitest';
import { nodesOfTypes, usesNodeInternals } from '../../src/parse/tree-nodes.js';

const SOURCE = `# é, ü and 😀 before the code: string indices are UTF-16 code units
import os.path as p
from .models import User as UserModel

@dataclass
class Ünïcode(Base):
    naïve: str = "😀😀"

    def métier(self, x: "UserModel") -> int:
        self.total += len(p.sep) + x.ïd
        for a.b in items:
            del a.b
        return (y := self.naïve.count("😀"))
`;

const KINDS = [
  'class_definition',
  'function_definition',
  'decorator',
  'assignment',
  'attribute',
  'import_from_statement',
  'augmented_assignment',
  'for_statement',
  'named_expression',
  'delete_statement',
  'import_statement',
];

describe('nodesOfTypes', () => {
  it('finds what the public API finds: the same kinds, string indices and nodes', () => {
    const parser = new Parser();
    parser.setLanguage(Python as Parser.Language);
    const tree = parser.parse(SOURCE, undefined, { bufferSize: SOURCE.length });
    const expected = tree.rootNode
      .descendantsOfType(KINDS)
      .map((n) => ({ kind: n.type, start: n.startIndex, end: n.endIndex, text: n.text }));
    const found = nodesOfTypes(tree, tree.rootNode, KINDS);
    // node-tree-sitter's internals were found and used (an upgrade that changes them falls back, slower: update then)
    expect(usesNodeInternals()).toBe(true);
    expect(expected.length).toBeGreaterThan(15);
    expect(
      found.map((n) => ({ kind: n.kind, start: n.start, end: n.end, text: SOURCE.slice(n.start, n.end) })),
    ).toEqual(expected);
    // the node itself, for its fields and children, where the extractor asks for it
    const cls = found.find((n) => n.kind === 'class_definition')!;
    expect(cls.node.type).toBe('class_definition');
    expect(cls.node.childForFieldName('name')?.text).toBe('Ünïcode');
    expect(cls.node.childForFieldName('body')?.namedChildren.map((c) => c.type)).toEqual([
      'expression_statement',
      'function_definition',
    ]);
  });
});
