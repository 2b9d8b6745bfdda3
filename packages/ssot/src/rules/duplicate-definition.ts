export const doc = `# duplicate-definition

## What it does
Reports a class-like name (class, dataclass, pydantic model, TypedDict, NamedTuple, Enum, interface, object
type alias, enum) defined at the top level of two or more modules of one language, and says how their shapes
differ: fields only in one, fields only in the other, fields whose declared types differ, methods.

## Why is this bad?
Two definitions under one name drift apart, and code that imports one while its author thinks of the other
reads fields that do not exist. The original bug: two \`SessionMetrics\` classes, one with
\`last_activity_at\` and \`error_count\`, the other with \`last_activity\` and \`errors\`.

## Severity
- error: the name matches a configured critical name (\`criticalNames\`, globs allowed);
- warning: the definitions' shapes diverge;
- note: identical copies.

## Not reported
Projections: two definitions where one refers to the other (a base class, so a subclass of its namesake; a
\`Meta.model = models.User\`-style reference; a field or annotation of that type; a constructor call in its body)
are a design, not a copy, and so is a class declared in a \`.d.ts\` file with the JavaScript class it types. So
are two that one module holds under distinct names, which only an author who knows
both writes: the module defining one imports the other (under any name, in any scope) or a module through which it
reaches it (a dialect's own \`TIMESTAMP\` written beside \`from ... import types as sqltypes\`), or another module
imports both by name (\`from .functions import Distance\` and \`from .measure import Distance as DistanceMeasure\`).
Two namespaces in a third module (\`billing.Stats\`, \`monitoring.Stats\`) show no more than that both exist: still
reported. Definitions in parts of the code base that never import each other, directly or through
other modules (separate packages of a monorepo, example apps, parallel version trees), cannot be confused in one
program and are not compared unless \`compareUnconnected\` is set; nor are two that meet only in modules that
gather both without naming the class (a compatibility module doing \`from ..dialects.mssql import base as mssql\`
beside \`mysql\` and reading neither \`BIT\`): confusing them takes code that names the class where both are loaded.
Generated, frozen and vendored code (migrations, \`_vendor/\`, \`vendor/\`, \`third_party/\`, \`*.gen.*\`,
\`*_pb2.py\`, files whose header says they are generated) is not scanned by default (\`generated\` in the config).
Names that repeat by convention: Django's \`Migration\` and \`Command\`, nested classes such as \`Meta\` and
\`Config\` (only top-level definitions count), test classes and anything in test files, private names
(\`_Name\`), TypeScript types that are not exported, stubs (\`.pyi\`, \`.d.ts\`). Extend the allowlist with
\`allowDuplicateNames\`. Interface declaration merging inside one module is one definition.

## Example
\`\`\`python
# netra_backend/app/database/request_scoped_session_factory.py
class RequestMetrics: ...   # last_activity_at, error_count
# shared/session_management/user_session_manager.py
class RequestMetrics: ...   # last_activity, operations_count, errors
\`\`\`

## Use instead
One definition, and a different name for a different concept (\`UserSessionStats\`).

## Options
\`criticalNames\`, \`allowDuplicateNames\`, \`compareUnconnected\`, \`generated\`, and the rule's severity in the config
file. Suppress a definition with \`# ssot: ignore[duplicate-definition]\` or
\`// ssot-ignore duplicate-definition\` on its line.
`;

import type { Definition } from '../model/model.js';
import { familyOf } from '../model/modules.js';
import { byMeetingPart, projectionRepresentatives } from './namesakes.js';
import { globToRegExp } from './types.js';
import type { RawFinding, Related, Rule, RuleContext, Severity } from './types.js';

export const DEFAULT_ALLOWED_DUPLICATES = [
  'Migration',
  'Command',
  'Meta',
  'Config',
  'Arguments',
  'Query',
  'Mutation',
  'Props',
  'State',
];
const TEST_PATH = new RegExp(
  [
    String.raw`(^|\/)(tests?|__tests__|testing|test_utils|spec)\/`,
    String.raw`(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$`,
    String.raw`\.(test|spec)\.[cm]?[jt]sx?$`,
  ].join('|'),
);

function isCandidate(def: Definition): boolean {
  const { cls, file } = def;
  if (!cls.topLevel || !cls.exported) return false;
  if (file.path.endsWith('.pyi') || /\.d\.[cm]?ts$/.test(file.path)) return false;
  if (TEST_PATH.test(file.path)) return false;
  if (file.language === 'python' && (/^Test/.test(cls.name) || /(Test|Tests|TestCase)$/.test(cls.name))) return false;
  return true;
}

interface Shape {
  readonly members: Map<string, string | null>;
  readonly methods: Set<string>;
}

function shapeOf(def: Definition): Shape {
  const members = new Map<string, string | null>();
  for (const f of def.cls.fields) members.set(f.name, f.type?.replace(/\s+/g, '') ?? null);
  for (const f of def.cls.instanceAttributes)
    if (!members.has(f.name)) members.set(f.name, f.type?.replace(/\s+/g, '') ?? null);
  for (const p of def.cls.properties) if (!members.has(p)) members.set(p, null);
  return {
    members,
    methods: new Set(def.cls.methods.map((m) => m.name).filter((m) => !(m.startsWith('__') && m.endsWith('__')))),
  };
}

function list(names: readonly string[], max = 6): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** How `b` differs from `a`, in words; empty when the shapes are the same. */
export function describeDifference(a: Shape, b: Shape): string[] {
  const onlyA = [...a.members.keys()].filter((k) => !b.members.has(k));
  const onlyB = [...b.members.keys()].filter((k) => !a.members.has(k));
  const mismatched = [...a.members.entries()]
    .filter(([k, t]) => b.members.has(k) && t !== null && b.members.get(k) !== null && b.members.get(k) !== t)
    .map(([k, t]) => `${k} (${t} vs ${b.members.get(k)})`);
  const methodsA = [...a.methods].filter((m) => !b.methods.has(m));
  const methodsB = [...b.methods].filter((m) => !a.methods.has(m));
  const parts: string[] = [];
  if (onlyA.length) parts.push(`fields only here: ${list(onlyA)}`);
  if (onlyB.length) parts.push(`fields only there: ${list(onlyB)}`);
  if (mismatched.length) parts.push(`type mismatches: ${list(mismatched)}`);
  if (methodsA.length) parts.push(`methods only here: ${list(methodsA)}`);
  if (methodsB.length) parts.push(`methods only there: ${list(methodsB)}`);
  return parts;
}

/** Same-named definitions by language family: Python's namesakes and the scripts' are never one name. */
function byFamily(named: readonly Definition[]): (readonly Definition[])[] {
  const family = familyOf(named[0]!.file);
  if (named.every((d) => familyOf(d.file) === family)) return [named];
  return [named.filter((d) => familyOf(d.file) === family), named.filter((d) => familyOf(d.file) !== family)];
}

export const duplicateDefinition: Rule = {
  id: 'duplicate-definition',
  summary: 'One class-like name defined in several modules.',
  doc,
  run(context: RuleContext): RawFinding[] {
    const { model, options } = context;
    const allowed = new Set([
      ...DEFAULT_ALLOWED_DUPLICATES,
      ...options.allowDuplicateNames.filter((n) => !n.includes('*')),
    ]);
    const allowedGlobs = options.allowDuplicateNames.filter((n) => n.includes('*')).map(globToRegExp);
    const critical = options.criticalNames.map(globToRegExp);
    const compared = (def: Definition): boolean =>
      isCandidate(def) &&
      !allowed.has(def.cls.name) &&
      !allowedGlobs.some((g) => g.test(def.cls.name)) &&
      !context.isSuppressed(def.file, def.cls.line, 'duplicate-definition');
    // grouped by name first: each definition is checked only where its name is defined twice and the group's
    // finding, which is in one of its files, is wanted
    const findings: RawFinding[] = [];
    const comparable: Definition[][] = [];
    for (const all of model.definitionsByName.values()) {
      if (all.length < 2) continue;
      for (const named of byFamily(all)) {
        if (named.length < 2 || !named.some((d) => context.reports(d.file))) continue;
        const group = named.filter(compared);
        if (new Set(group.map((d) => d.module)).size < 2) continue;
        // namesakes that refer to each other are one design: the one referred to stands for them
        const representative = projectionRepresentatives(model, group);
        const distinct = group.filter((d) => representative.get(d) === d);
        comparable.push(...byMeetingPart(model, distinct, options.compareUnconnected));
      }
    }
    for (const group of comparable) {
      const modules = new Set(group.map((d) => d.module));
      if (modules.size < 2) continue;
      // one definition per module: the first in the file
      const defs = [...new Map(group.map((d) => [d.module, d] as const)).values()].sort((a, b) =>
        a.file.path < b.file.path ? -1 : 1,
      );
      const first = defs[0]!;
      const shapes = defs.map(shapeOf);
      const related: Related[] = [];
      const differences: string[] = [];
      for (let i = 1; i < defs.length; i++) {
        const diff = describeDifference(shapes[0]!, shapes[i]!);
        const d = defs[i]!;
        if (diff.length) differences.push(`vs ${d.file.path}: ${diff.join('; ')}`);
        related.push({
          file: d.file.path,
          line: d.cls.line,
          message:
            `${d.cls.name} also defined here (${d.module}.${d.cls.qualname})` +
            (diff.length ? `: ${diff.join('; ')}` : ', same shape'),
        });
      }
      const name = first.cls.name;
      const isCritical = critical.some((c) => c.test(name));
      const severity: Severity = isCritical ? 'error' : differences.length ? 'warning' : 'note';
      const where = `${defs.length} modules (${defs.map((d) => d.module).join(', ')})`;
      const message = differences.length
        ? `${name} is defined in ${where} with different shapes: ${differences.join(' | ')}`
        : `${name} is defined in ${where} with the same shape`;
      findings.push({
        rule: 'duplicate-definition',
        severity,
        file: first.file.path,
        line: first.cls.line,
        column: first.cls.column,
        message: isCritical ? `critical name: ${message}` : message,
        symbol: name,
        related,
        identity: [name, ...defs.map((d) => d.module)],
      });
    }
    return findings;
  },
};
