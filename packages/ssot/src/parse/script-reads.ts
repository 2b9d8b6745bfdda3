/** JavaScript reads on receivers built with `new`, which no compiler checks. */
import type { AttributeRead, ScopeInfo } from './summary.js';
import { child, children, nameOf, dotted, walk } from './script-ast.js';
import type { Node, LineIndex } from './script-ast.js';

/**
 * `const x = new Foo()` where `x` is bound nowhere else in the file: reads `x.y` are checked against `Foo`.
 * Reads that probe (`if (x.y)`, `x.y ?? d`, `typeof x.y`, `x?.y`) are left alone: in JavaScript that is how one
 * asks whether a property exists.
 */
export function collectConstructedReads(
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
      case 'CallExpression': {
        // properties defined by name: `Object.defineProperty(Foo.prototype, 'size', …)`,
        // `Object.defineProperties(Foo.prototype, { size: …, tail: … })`, `Object.assign(Foo.prototype, { push })`
        const callee = dotted(child(n, 'callee'));
        const args = children(n, 'arguments');
        if ((callee === 'Object.defineProperty' || callee === 'Reflect.defineProperty') && args.length >= 2) {
          const name = args[1]!.type === 'Literal' ? nameOf(args[1]!) : null;
          if (name) assigned.add(name);
        } else if (callee === 'Object.defineProperties' || callee === 'Object.assign') {
          for (const arg of args.slice(1)) {
            if (arg.type !== 'ObjectExpression') continue;
            for (const p of children(arg, 'properties')) {
              const keyNode = p.type === 'Property' ? child(p, 'key') : null;
              // `{ size: … }`, `{ 'size': … }`, `{ ['size']: … }`; a key computed from a variable is not known
              const key = keyNode && (p.computed !== true || keyNode.type === 'Literal') ? nameOf(keyNode) : null;
              if (key) assigned.add(key);
            }
          }
        }
        break;
      }
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
