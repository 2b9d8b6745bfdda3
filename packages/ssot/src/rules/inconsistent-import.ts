export const doc = `# inconsistent-import

## What it does
Reports an import of a class-like name from a module path whose definition differs from the one that the
rest of the code base imports under the same name. Imports are followed through re-exports
(\`from .factory import SessionMetrics\` in a package's \`__init__.py\`, \`export { X } from './x.js'\`), so two
paths to the same definition are consistent. When one definition is imported more often, the imports of
the others are reported; when they are imported equally often, all of them are.

## Why is this bad?
Code that imports \`SessionMetrics\` from \`shared.session_management\` while the rest imports it from
\`netra_backend.app.database\` holds a different class than its readers expect, and reads fields that are
not there.

## Example
\`\`\`python
from netra_backend.app.database import SessionMetrics                        # most files
from shared.session_management.user_session_manager import SessionMetrics    # this one
\`\`\`

## Use instead
Import the one definition everywhere; give the other concept its own name.

## Not reported
Imports of two namesakes where one refers to the other (a projection: an API type mirroring its model, a test
double deriving from the real class imported under another name, a class declared in a \`.d.ts\` file and the
JavaScript class it types) are imports of one design, and so are imports of
two that one module holds by name (see duplicate-definition). An import of the definition in the importer's own
package or below it (\`from .base import BIT\` in \`dialects/mssql/__init__.py\`) takes the package's own, the
nearest one, as a name in a function means its nearest binding: it is never reported, and counted only from the
package's \`__init__\`, which publishes the name; the mix-up is a module reaching into another package for a name
the rest of the code base imports from elsewhere. Imports of definitions that never meet (no module loads both and
names the class) are not compared unless \`compareUnconnected\` is set.

## Options
Names in \`allowDuplicateNames\` are not reported. Suppress one import with
\`# ssot: ignore[inconsistent-import]\` or \`// ssot-ignore inconsistent-import\`.
`;

import type { Definition } from '../model/model.js';
import { isPackageInit } from '../model/modules.js';
import type { FileSummary, ImportInfo } from '../parse/summary.js';
import { DEFAULT_ALLOWED_DUPLICATES } from './duplicate-definition.js';
import { byMeetingPart, projectionRepresentatives } from './namesakes.js';
import { globToRegExp } from './types.js';
import type { RawFinding, Rule, RuleContext } from './types.js';

interface Site {
  readonly file: FileSummary;
  readonly imp: ImportInfo;
  readonly def: Definition;
}

export const inconsistentImport: Rule = {
  id: 'inconsistent-import',
  summary: 'One name imported from module paths that define different things.',
  doc,
  run(context: RuleContext): RawFinding[] {
    const { model, options } = context;
    const allowed = new Set([...DEFAULT_ALLOWED_DUPLICATES, ...options.allowDuplicateNames]);
    const allowedGlobs = options.allowDuplicateNames.filter((n) => n.includes('*')).map(globToRegExp);
    // imports grouped by name first: findings are at import sites, so a name imported in no file whose findings are
    // wanted needs no resolving
    const sitesByName: Site[][] = [];
    for (const [language, imports] of model.importsByName) {
      for (const [name, named] of imports) {
        if (named.length < 2 || !named.some((n) => context.reports(n.file))) continue;
        if (allowed.has(name) || allowedGlobs.some((g) => g.test(name))) continue;
        const sites: Site[] = [];
        for (const { file, imp } of named) {
          const module = model.resolveModule(file, imp.module);
          const sym = module ? model.resolveExport(module, name, language) : null;
          if (sym?.kind !== 'class') continue;
          // a package's modules importing its own definition of the name take the nearest one: no mix-up, and no say
          // in what the name means to the rest of the code base, except its `__init__`, which publishes it
          if (model.isInPackageOf(sym.def, file) && !isPackageInit(file)) continue;
          sites.push({ file, imp, def: sym.def });
        }
        sitesByName.push(sites);
      }
    }
    const findings: RawFinding[] = [];
    const comparable: Site[][] = [];
    for (const sites of sitesByName) {
      if (new Set(sites.map((s) => s.def.id)).size < 2) continue;
      // the definitions imported must be able to meet in one program
      const parts = byMeetingPart(model, [...new Set(sites.map((s) => s.def))], options.compareUnconnected);
      for (const part of parts) comparable.push(sites.filter((s) => part.includes(s.def)));
    }
    for (const sites of comparable) {
      // imports of namesakes that refer to each other are imports of one design
      const representative = projectionRepresentatives(model, [...new Set(sites.map((s) => s.def))]);
      const counts = new Map<number, Site[]>();
      for (const s of sites) {
        const id = representative.get(s.def)!.id;
        const list = counts.get(id);
        if (list) list.push(s);
        else counts.set(id, [s]);
      }
      if (counts.size < 2) continue;
      const max = Math.max(...[...counts.values()].map((l) => l.length));
      const tie = [...counts.values()].every((l) => l.length === max);
      for (const [id, group] of counts) {
        if (!tie && group.length === max) continue;
        const others = [...counts.entries()].filter(([other]) => other !== id);
        for (const site of group) {
          const { def, imp, file } = site;
          if (model.isInPackageOf(def, file)) continue;
          const otherText = others
            .map(
              ([, l]) =>
                `${l.length} import${l.length === 1 ? '' : 's'} of ${l[0]!.def.module}.${l[0]!.def.cls.qualname}`,
            )
            .join(', ');
          findings.push({
            rule: 'inconsistent-import',
            severity: 'warning',
            file: file.path,
            line: imp.line,
            column: imp.column,
            message:
              `${imp.name} imported from ${imp.module} is ${def.module}.${def.cls.qualname} ` +
              `(${def.file.path}:${def.cls.line}); elsewhere the same name is a different definition: ${otherText}`,
            symbol: imp.name ?? def.cls.name,
            related: [
              { file: def.file.path, line: def.cls.line, message: `the ${def.cls.name} imported here` },
              ...others.map(([, l]) => ({
                file: l[0]!.file.path,
                line: l[0]!.imp.line,
                message:
                  `imports ${l[0]!.def.cls.name} from ${l[0]!.imp.module} ` +
                  `(${l[0]!.def.file.path}:${l[0]!.def.cls.line})`,
              })),
            ],
            identity: [model.moduleOf(file), imp.name ?? '', imp.module],
          });
        }
      }
    }
    return findings;
  },
};
