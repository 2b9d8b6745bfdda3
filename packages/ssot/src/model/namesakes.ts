/**
 * Which same-named definitions are one design: one refers to the other (a base, a field or annotation of its type, a
 * `Meta.model`, a constructor call in its body), or a module holds both by name.
 */
import type { FileSummary } from '../parse/summary.js';
import type { Bases } from './hierarchy.js';
import { familyOf } from './modules.js';
import type { ModuleIndex } from './modules.js';
import type { Definition, Symbols } from './symbols.js';

/**
 * For each definition that shares its name with another: the namesakes it is one design with. It refers to them (a
 * base, a field or annotation of that type, a `Meta.model`, a constructor call in its body), or a module holds both,
 * which only an author who knows both writes: the defining module imports the other (under any name, in any scope)
 * or a module through which it reaches it (`from ... import types as sqltypes` beside its own `TIMESTAMP`), or
 * another module imports both by name (`Distance` and `Distance as DistanceMeasure`).
 */
export function findNamesakeReferences(
  symbols: Symbols,
  modules: ModuleIndex,
  definitions: readonly Definition[],
  sources: readonly FileSummary[],
  bases: readonly Bases[],
): Map<number, Definition[]> {
  const byName = new Map<string, Definition[]>();
  for (const d of definitions) {
    if (!d.cls.topLevel) continue;
    const key = `${familyOf(d.file)} ${d.cls.name}`;
    const list = byName.get(key);
    if (list) list.push(d);
    else byName.set(key, [d]);
  }
  const out = new Map<number, Set<Definition>>();
  const link = (from: Definition, to: Definition): void => {
    let set = out.get(from.id);
    if (!set) out.set(from.id, (set = new Set()));
    set.add(to);
  };
  for (const group of byName.values()) {
    if (group.length < 2) continue;
    for (const d of group) {
      for (const b of bases[d.id]!.resolved) if (b.cls.name === d.cls.name || group.includes(b)) link(d, b);
      for (const text of d.cls.references) {
        const sym = symbols.resolveDotted(d.file, text);
        if (sym?.kind === 'class' && sym.def !== d && group.includes(sym.def)) link(d, sym.def);
      }
      for (const other of importedNamesakes(symbols, d.file, d.cls.name, group)) if (other !== d) link(d, other);
    }
  }
  for (const file of sources) {
    for (const name of new Set(file.imports.map((i) => i.name))) {
      const group = name === null ? undefined : byName.get(`${familyOf(file)} ${name}`);
      if (!group || group.length < 2) continue;
      // a module that imports two namesakes by name (one of them, at least, under an alias)
      const held = importedByName(symbols, modules, file, name!, group);
      if (held.length < 2) continue;
      for (const a of held) for (const b of held) if (a !== b) link(a, b);
    }
  }
  return new Map([...out].map(([id, set]) => [id, [...set]]));
}

/**
 * The namesakes in `group` that `file` imports, under any name and in any scope (`from x import Jinja2` in a
 * method of its own `Jinja2`), or reaches as `module.name` through a module it imports.
 */
function importedNamesakes(
  symbols: Symbols,
  file: FileSummary,
  name: string,
  group: readonly Definition[],
): Definition[] {
  const found: Definition[] = [];
  for (const imp of file.imports) {
    if (imp.name === '*' || (imp.name !== null && imp.name !== name && imp.local === name)) continue;
    const sym = symbols.resolveImport(file, imp);
    const held = sym?.kind === 'module' ? symbols.resolveExport(sym.module, name, familyOf(file)) : sym;
    if (held?.kind === 'class' && held.def.cls.name === name && group.includes(held.def)) found.push(held.def);
  }
  return found;
}

/** The namesakes in `group` that `file` imports by their name `name`, under any local name. */
function importedByName(
  symbols: Symbols,
  modules: ModuleIndex,
  file: FileSummary,
  name: string,
  group: readonly Definition[],
): Definition[] {
  const found = new Set<Definition>();
  for (const imp of file.imports) {
    if (imp.name !== name) continue;
    const module = modules.resolveModule(file, imp.module);
    const sym = module ? symbols.resolveExport(module, name, familyOf(file)) : null;
    if (sym?.kind === 'class' && group.includes(sym.def)) found.add(sym.def);
  }
  return [...found];
}
