export const doc = `# unknown-attribute

## What it does
Reports a read of an attribute on a receiver whose class is known when that class, with its bases in the
scan, does not define the attribute. A receiver's class is known from:
- a parameter or variable annotation (\`def f(m: SessionMetrics)\`, \`m: SessionMetrics = …\`),
- a constructor call (\`m = SessionMetrics(…)\`; in JavaScript, \`const m = new SessionMetrics()\`),
- a function or classmethod with a return annotation (\`m = make_metrics()\`, \`m = SessionMetrics.create()\`),
- \`self\` in a method, and instance attributes assigned from a constructor (\`self.metrics = SessionMetrics()\`).
Names resolve to the definition the file actually imports, through packages, relative imports, aliases and
module attributes (\`import pkg.mod as m\`, \`m.SessionMetrics\`).

A class's attributes are its fields, class variables, methods, properties, nested classes, attributes
assigned on \`self\` in any of its methods, \`__slots__\`, Enum members, and everything from its bases in the scan.

## Why is this bad?
In Python the read raises \`AttributeError\` at run time, often on a path tests do not reach: the original bug
was an error handler reading \`metrics.last_activity\` from a \`SessionMetrics\` that only had
\`last_activity_at\`, so every database failure raised a second error that hid the first. In JavaScript the
read yields \`undefined\` silently.

## When it stays silent
Precision matters more than recall. Nothing is reported when the class is dynamic (\`__getattr__\`,
\`setattr(self, …)\`, \`__dict__\`, a metaclass or a decorator it does not know, index signatures), when a base
is outside the scan and not well known, when a subclass in the scan defines the attribute, when the
variable has any other binding in its scope, is narrowed with \`isinstance\`, guarded with \`hasattr\` or read
with \`getattr\`, when the scope handles \`AttributeError\`, or when the same path (\`self._m.x\` in the same
class, or the same variable in the same or a nested function) is assigned on a receiver of unknown type, or the
name is assigned on such a receiver anywhere and the class hands its instances to other code (\`start(self)\`) or is
stored in a field through which code sets it (\`_dispatch_target = Factory\` in one class,
\`cls._dispatch_target.dispatch = …\` elsewhere; \`self._policy = policy\` holds whatever constructor calls \`policy\`
is assigned: what a field holds is not told apart by its holder, as in a field-based points-to analysis), or the
variable read is handed in its function to a module-level function that stores the attribute on its parameter
(\`se.get(root)\`, then \`root._searchengine\`). Tuple
unpacking of calls types each name (\`c1, c2 = C(), C()\`), \`del x\` gives x no other value, and \`self.Helper()\`
makes an instance of the class nested in the instance's class. A truthiness test is a
read (\`x.a.isoformat() if x.a else None\` raises just the same). Classes are open, and silent, when their object
escapes: passed to a call (\`make_tests(Mixin)\`), a base in \`type(name, (Mixin, TestCase), {})\`, held in a
tuple assigned to a name (\`bases = (_TestCommon, _TestSlicing)\`), assigned \`__bases__\`, the target of \`setattr\`
with a computed name, or mixed into one base list with such a class or with a base the scan cannot see (a class of
the file is recognised by its name even when it is not capitalized: \`type('matrix', (_matrix,), {})\`). An attribute
a class's own method stores on an object of unknown type (\`request.cls.type = …\` in a pytest fixture) may be stored
on the class itself: its \`self\` reads of it are silent. A method under a decorator it does not know, or whose first
parameter is not called \`self\` (a function kept in a class as in a namespace), has no \`self\` (the decorator may
replace it), and \`self\` reads are not checked in a class meant to be completed by the classes it is combined with:
named \`…Mixin\`, \`Abstract…\`, \`Base…\`, \`…Base\` or \`…Interface\`, a \`Protocol\`, based on \`ABC\`, or called a
mixin by its docstring ("A mixin class to add … to unittest.TestCase classes"). A def's parameter annotations and
defaults are read where the def is, as Python evaluates them (\`def f(ns: t.Any)\` with a local \`t\` in the body).
Imports in a class body are class attributes; a class defined in a function shadows a module-level one. A call of an
instance gives its \`__call__\`'s return type, or nothing known. In TypeScript files the compiler
checks reads, so only JavaScript is checked; there a property assigned anywhere (\`x.size = …\`, on a prototype) or
defined by name (\`Object.defineProperty(Foo.prototype, 'size', …)\`, \`Object.defineProperties\` or \`Object.assign\`
with an object literal) may belong to any class.

## Example
\`\`\`python
@dataclass
class RequestMetrics:
    last_activity_at: datetime | None = None
    error_count: int = 0

def log_context(metrics: RequestMetrics) -> dict:
    return {"last_activity": metrics.last_activity, "errors": metrics.errors}
\`\`\`

## Use instead
\`\`\`python
def log_context(metrics: RequestMetrics) -> dict:
    return {"last_activity": metrics.last_activity_at, "errors": metrics.error_count}
\`\`\`

## Options
Severity through \`rules\` in the config file. Suppress one line with \`# ssot: ignore[unknown-attribute]\` or
\`// ssot-ignore unknown-attribute\`.
`;

import type { Definition, Model } from '../model/model.js';
import { suggest } from './suggest.js';
import type { RawFinding, Rule, RuleContext } from './types.js';

/** Classes whose `self` reads are meant to be satisfied by the classes that use them. */
const ABSTRACT_NAME = /Mixin$|^Abstract|^Base[A-Z]|Base$|Interface$/;

function definedBySubclass(model: Model, def: Definition, attribute: string): boolean {
  for (const sub of model.subclassesOf(def)) {
    const attrs = model.attributesOf(sub);
    if (!attrs || attrs.names.has(attribute)) return true;
  }
  return false;
}

export const unknownAttribute: Rule = {
  id: 'unknown-attribute',
  summary: 'An attribute read on a receiver of a known class that does not define it.',
  doc,
  run(context: RuleContext): RawFinding[] {
    const { model } = context;
    const findings: RawFinding[] = [];
    for (const file of model.sources) {
      if (!context.reports(file)) continue;
      // a receiver is usually read several times in one scope (`self.a`, `self.b`)
      const receivers = new Map<string, Definition | null>();
      for (const read of file.reads) {
        const key = `${read.scope} ${read.receiver}`;
        let def = receivers.get(key);
        if (def === undefined) receivers.set(key, (def = model.resolveReceiver(file, read.scope, read.receiver)));
        if (!def) continue;
        const attrs = model.attributesOf(def);
        if (!attrs || attrs.names.has(read.attribute) || model.mayBeSetFromOutside(def, read.attribute)) continue;
        const scope = file.scopes[read.scope]!;
        const viaSelf = scope.selfName !== null && read.receiver === scope.selfName;
        if (!viaSelf && model.mayBeSetByCallee(file, read.scope, read.receiver, read.attribute)) continue;
        if (
          viaSelf &&
          (ABSTRACT_NAME.test(def.cls.name) ||
            def.cls.documentedMixin ||
            def.cls.kind === 'protocol' ||
            def.cls.bases.some((b) => /(^|\.)ABC$/.test(b)))
        )
          continue;
        if (definedBySubclass(model, def, read.attribute)) continue;
        const suggestion = suggest(read.attribute, attrs.names);
        const twin = (model.definitionsByName.get(def.cls.name) ?? []).find(
          (d) => d.id !== def.id && model.attributesOf(d)?.names.has(read.attribute),
        );
        let message = `${def.cls.name} has no attribute '${read.attribute}'`;
        if (suggestion) message += `; did you mean '${suggestion}'?`;
        if (twin)
          message +=
            ` '${read.attribute}' belongs to the other ${def.cls.name} in ${twin.file.path}:${twin.cls.line}; ` +
            `this one is ${def.module}.${def.cls.qualname}`;
        const related = [
          {
            file: def.file.path,
            line: def.cls.line,
            message: `${def.cls.name} consulted here (${def.module}.${def.cls.qualname})`,
          },
        ];
        for (const base of attrs.consulted.slice(1))
          related.push({ file: base.file.path, line: base.cls.line, message: `base ${base.cls.name} consulted here` });
        if (twin)
          related.push({
            file: twin.file.path,
            line: twin.cls.line,
            message: `the other ${def.cls.name}, which defines '${read.attribute}'`,
          });
        findings.push({
          rule: 'unknown-attribute',
          severity: file.language === 'python' ? 'error' : 'warning',
          file: file.path,
          line: read.line,
          column: read.column,
          message,
          symbol: def.cls.name,
          attribute: read.attribute,
          ...(suggestion ? { suggestion } : {}),
          related,
          identity: [model.moduleOf(file), scope.name, read.receiver, read.attribute],
        });
      }
    }
    return findings;
  },
};
