/**
 * Symbols: what a name means where it is written. Module-level names follow imports and re-exports; names inside
 * functions resolve lexically first (a class defined in the function, or in an enclosing one, shadows a module-level
 * class of the same name). Anything not resolvable with certainty is null.
 */
import type { ClassInfo, FileSummary, FunctionInfo, ImportInfo, TypeSource } from '../parse/summary.js';
import { familyOf, isPackageInit } from './modules.js';
import type { LanguageFamily, ModuleIndex } from './modules.js';

export interface Definition {
  readonly id: number;
  readonly file: FileSummary;
  readonly module: string;
  readonly cls: ClassInfo;
}

export type PySymbol =
  | { readonly kind: 'class'; readonly def: Definition }
  | { readonly kind: 'module'; readonly module: string }
  | { readonly kind: 'function'; readonly file: FileSummary; readonly fn: FunctionInfo };

/** `Optional[X]`, `X | None`, `"X"`, `Annotated[X, …]`, `X[T]` → `X`; anything else that is not one name → null */
export function annotationName(text: string): string | null {
  let t = text.trim();
  for (let i = 0; i < 5; i++) {
    if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) t = t.slice(1, -1).trim();
    const wrapped = /^(?:typing\.)?(?:Optional|Annotated|Final|ClassVar)\[(.*)\]$/s.exec(t);
    if (wrapped) {
      t = wrapped[1]!.split(',')[0]!.trim();
      continue;
    }
    const parts = t.split('|').map((p) => p.trim());
    if (parts.length === 2 && (parts.includes('None') || parts.includes('null') || parts.includes('undefined'))) {
      t = parts.find((p) => p !== 'None' && p !== 'null' && p !== 'undefined') ?? '';
      continue;
    }
    break;
  }
  const generic = /^([A-Za-z_][\w.]*)\[.*\]$/s.exec(t) ?? /^([A-Za-z_$][\w.$]*)<.*>$/s.exec(t);
  if (generic) t = generic[1]!;
  return /^[A-Za-z_$][\w.$]*$/.test(t) ? t : null;
}

/** `type[X]`, `Type[X]`, `typing.Type[X]` → `X` (the annotation of a class object), else null */
export function classObjectAnnotation(text: string): string | null {
  const m = /^(?:typing\.)?[Tt]ype\[(.*)\]$/s.exec(text.trim().replace(/^["']|["']$/g, ''));
  return m ? annotationName(m[1]!) : null;
}

function sameSymbol(a: PySymbol, b: PySymbol): boolean {
  if (a.kind === 'class' && b.kind === 'class') return a.def.id === b.def.id;
  if (a.kind === 'module' && b.kind === 'module') return a.module === b.module;
  if (a.kind === 'function' && b.kind === 'function') return a.fn === b.fn;
  return false;
}

export class Symbols {
  private readonly modules: ModuleIndex;
  private readonly defsByFile: ReadonlyMap<FileSummary, readonly Definition[]>;
  /** resolveLocal's answers at depth 0 (deeper ones may be cut short by the depth limit); the files do not change */
  private readonly locals = new Map<FileSummary, Map<string, PySymbol | null>>();
  /** annotationName of each annotation text met */
  private readonly annotationNames = new Map<string, string | null>();

  constructor(modules: ModuleIndex, defsByFile: ReadonlyMap<FileSummary, readonly Definition[]>) {
    this.modules = modules;
    this.defsByFile = defsByFile;
  }

  definitionsIn(file: FileSummary): readonly Definition[] {
    return this.defsByFile.get(file) ?? [];
  }

  /** What `name` is at the top level of `module`, following imports and re-exports. */
  resolveExport(module: string, name: string, language: LanguageFamily, depth = 0): PySymbol | null {
    if (depth > 12) return null;
    const file = this.modules.fileOfModule(module, language);
    if (!file) return null;
    return this.resolveLocal(file, name, depth);
  }

  /** What one import binds: a module, or what the module it names exports under that name. */
  resolveImport(file: FileSummary, imp: ImportInfo, depth = 0): PySymbol | null {
    const language = familyOf(file);
    const target = this.modules.resolveModule(file, imp.module);
    if (imp.name === null) {
      // `import a.b as c` binds a.b; `import a.b` binds a
      const bound =
        imp.local === imp.module || !imp.module.startsWith(`${imp.local}.`)
          ? target
          : this.modules.resolveModule(file, imp.local);
      return bound ? { kind: 'module', module: bound } : null;
    }
    if (target) {
      const sym = this.resolveExport(target, imp.name, language, depth + 1);
      if (!sym && language === 'python' && this.modules.hasPythonModule(`${target}.${imp.name}`))
        return { kind: 'module', module: `${target}.${imp.name}` };
      return sym;
    }
    if (language === 'python' && imp.module.replace(/^\.+/, '') === '' && imp.name) {
      const pkg = this.modules.resolveModule(file, `${imp.module}${imp.name}`);
      return pkg ? { kind: 'module', module: pkg } : null;
    }
    return null;
  }

  /** What a bare name means at the top level of `file`. */
  resolveLocal(file: FileSummary, name: string, depth = 0): PySymbol | null {
    if (depth > 0) return this.findLocal(file, name, depth);
    let known = this.locals.get(file);
    if (!known) this.locals.set(file, (known = new Map()));
    let sym = known.get(name);
    if (sym === undefined) known.set(name, (sym = this.findLocal(file, name, 0)));
    return sym;
  }

  private findLocal(file: FileSummary, name: string, depth: number): PySymbol | null {
    const language = familyOf(file);
    const defs = this.definitionsIn(file).filter((d) => d.cls.topLevel && d.cls.name === name);
    const fns = file.functions.filter((f) => f.name === name);
    const imports = file.imports.filter((i) => i.local === name);
    if (defs.length + fns.length + (imports.length > 0 ? 1 : 0) > 1) return null;
    if (defs.length === 1) return { kind: 'class', def: defs[0]! };
    if (fns.length === 1) return { kind: 'function', file, fn: fns[0]! };
    if (imports.length > 0) {
      let found: PySymbol | null = null;
      for (const imp of imports) {
        const sym = this.resolveImport(file, imp, depth);
        if (!sym) return null;
        if (found && !sameSymbol(found, sym)) return null;
        found = sym;
      }
      return found;
    }
    // `from x import *`
    for (const imp of file.imports) {
      if (imp.name !== '*') continue;
      const target = this.modules.resolveModule(file, imp.module);
      const sym = target ? this.resolveExport(target, name, language, depth + 1) : null;
      if (sym) return sym;
    }
    if (language === 'python') {
      const sub = `${this.modules.moduleOf(file)}.${name}`;
      if (isPackageInit(file) && this.modules.hasPythonModule(sub)) return { kind: 'module', module: sub };
    }
    return null;
  }

  /** A bare name in scope `scope` of `file`: classes defined in that function or an enclosing one first. */
  resolveName(file: FileSummary, name: string, scope = 0): PySymbol | null {
    for (let s = scope; s > 0; s = file.scopes[s]?.parent ?? -1) {
      let found: Definition | null = null;
      for (const d of this.definitionsIn(file)) {
        if (d.cls.scope !== s || d.cls.name !== name) continue;
        if (found) return null;
        found = d;
      }
      if (found) return { kind: 'class', def: found };
    }
    return this.resolveLocal(file, name);
  }

  /** `a.b.C` written in scope `scope` of `file`. */
  resolveDotted(file: FileSummary, text: string, scope = 0): PySymbol | null {
    const parts = text.split('.');
    const language = familyOf(file);
    let sym = this.resolveName(file, parts[0]!, scope);
    for (let i = 1; sym && i < parts.length; i++) {
      const part = parts[i]!;
      if (sym.kind === 'module') {
        const next: PySymbol | null = this.resolveExport(sym.module, part, language);
        if (!next && language === 'python' && this.modules.hasPythonModule(`${sym.module}.${part}`))
          sym = { kind: 'module', module: `${sym.module}.${part}` };
        else sym = next;
      } else if (sym.kind === 'class') {
        const qual = `${sym.def.cls.qualname}.${part}`;
        const nested = this.definitionsIn(sym.def.file).find((d) => d.cls.qualname === qual);
        sym = nested ? { kind: 'class', def: nested } : null;
      } else return null;
    }
    return sym;
  }

  /** The class an annotation or a call's result is an instance of, or null (calls of instances: see the model). */
  resolveType(
    file: FileSummary,
    source: TypeSource,
    selfDef: Definition | null,
    scope: number,
    depth = 0,
  ): Definition | null {
    if (depth > 6 || source.kind === 'called') return null;
    if (source.kind === 'annotation') {
      let name = this.annotationNames.get(source.text);
      if (name === undefined) this.annotationNames.set(source.text, (name = annotationName(source.text)));
      if (!name) return null;
      if ((name === 'Self' || name === 'typing.Self') && selfDef) return selfDef;
      const sym = this.resolveDotted(file, name, scope);
      if (sym?.kind !== 'class') return null;
      return sym.def.cls.kind === 'typeddict' ? null : sym.def;
    }
    const sym = this.resolveDotted(file, source.callee, scope);
    if (sym?.kind === 'class') return sym.def.cls.kind === 'typeddict' ? null : sym.def;
    if (sym?.kind === 'function' && sym.fn.returns)
      return this.resolveType(sym.file, { kind: 'annotation', text: sym.fn.returns }, null, 0, depth + 1);
    // `Cls.create()` with a return annotation
    const dot = source.callee.lastIndexOf('.');
    if (dot > 0) {
      const owner = this.resolveDotted(file, source.callee.slice(0, dot), scope);
      if (owner?.kind === 'class') {
        const method = owner.def.cls.methods.find((m) => m.name === source.callee.slice(dot + 1));
        if (method?.returns)
          return this.resolveType(
            owner.def.file,
            { kind: 'annotation', text: method.returns },
            owner.def,
            Math.max(owner.def.cls.scope, 0),
            depth + 1,
          );
      }
    }
    return null;
  }
}
