/**
 * The cross-file model: modules, the class-like definitions they hold, and name resolution the way the
 * language does it (Python packages and relative imports, ES module specifiers). Anything it cannot resolve
 * with certainty resolves to null, and the rules stay silent about it.
 */
import { posix } from 'node:path';
import type { ClassInfo, FileSummary, FunctionInfo, TypeSource } from '../parse/summary.js';

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

export interface AttributeSet {
  readonly names: ReadonlySet<string>;
  /** the definitions whose attributes make up the set, the class itself first */
  readonly consulted: readonly Definition[];
}

/** Attributes that instances of well-known bases have, beyond `object`'s dunders. Other external bases: unknown. */
const KNOWN_BASES: Record<string, readonly string[]> = {
  object: [],
  ABC: [],
  'abc.ABC': [],
  Generic: [],
  'typing.Generic': [],
  Protocol: [],
  'typing.Protocol': [],
  Enum: ['name', 'value', '_name_', '_value_'],
  'enum.Enum': ['name', 'value', '_name_', '_value_'],
  NamedTuple: ['_asdict', '_replace', '_fields', '_field_defaults', '_make', 'count', 'index'],
  'typing.NamedTuple': ['_asdict', '_replace', '_fields', '_field_defaults', '_make', 'count', 'index'],
  Exception: ['args', 'with_traceback', 'add_note'],
  BaseException: ['args', 'with_traceback', 'add_note'],
};
const JS_OBJECT = ['constructor', 'toString', 'toLocaleString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable'];

const SCRIPT_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.d.ts', '.js', '.jsx', '.mjs', '.cjs'];

export function pythonModuleName(path: string): string {
  let p = path.replace(/\.pyi?$/, '');
  if (p.endsWith('/__init__') || p === '__init__') p = p.slice(0, -'__init__'.length).replace(/\/$/, '');
  return p.split('/').join('.');
}

export function scriptModuleName(path: string): string {
  return path.replace(/(\.d)?\.(?:tsx?|mts|cts|jsx?|mjs|cjs)$/, '');
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

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

export class Model {
  readonly files: readonly FileSummary[];
  readonly definitions: Definition[] = [];
  private readonly pyModules = new Map<string, FileSummary>();
  private readonly scriptModules = new Map<string, FileSummary>();
  private readonly suffixes = new Map<string, string[]>();
  private readonly moduleOfFile = new Map<FileSummary, string>();
  private readonly defsByFile = new Map<FileSummary, Definition[]>();
  private readonly attributeCache = new Map<number, AttributeSet | null>();
  private subclassIndex: Map<number, Definition[]> | null = null;
  /** attributes added to a class from outside it (`x.attr = …` with x of that class) */
  private readonly addedAttributes = new Map<number, Set<string>>();
  /** attribute names assigned on receivers of unknown type anywhere: they may exist on any class */
  readonly looselyAssigned = new Set<string>();

  constructor(files: readonly FileSummary[]) {
    this.files = files;
    for (const file of files) {
      if (file.parseError !== null) continue;
      let module: string;
      if (file.language === 'python') {
        module = pythonModuleName(file.path);
        const existing = this.pyModules.get(module);
        // a stub beside its module: the module is what runs
        if (!existing || existing.path.endsWith('.pyi')) this.pyModules.set(module, file);
      } else {
        module = scriptModuleName(file.path);
        const existing = this.scriptModules.get(module);
        if (!existing || existing.path.includes('.d.')) this.scriptModules.set(module, file);
      }
      this.moduleOfFile.set(file, module);
      const defs: Definition[] = [];
      for (const cls of file.classes) {
        const def: Definition = { id: this.definitions.length, file, module, cls };
        this.definitions.push(def);
        defs.push(def);
      }
      this.defsByFile.set(file, defs);
      for (const name of file.assignedAttributes) this.looselyAssigned.add(name);
    }
    for (const module of this.pyModules.keys()) {
      const parts = module.split('.');
      for (let i = 0; i < parts.length; i++) {
        const suffix = parts.slice(i).join('.');
        const list = this.suffixes.get(suffix);
        if (list) list.push(module);
        else this.suffixes.set(suffix, [module]);
      }
    }
  }

  moduleOf(file: FileSummary): string {
    return this.moduleOfFile.get(file) ?? file.path;
  }

  definitionsIn(file: FileSummary): readonly Definition[] {
    return this.defsByFile.get(file) ?? [];
  }

  /** A module as imported from `file`; null when it is not in the scan or is ambiguous. */
  resolveModule(file: FileSummary, spec: string): string | null {
    if (file.language !== 'python') return this.resolveScriptModule(file, spec);
    const from = this.moduleOf(file);
    if (spec.startsWith('.')) {
      const level = /^\.+/.exec(spec)![0].length;
      const rest = spec.slice(level);
      const isPackage = /(^|\/)__init__\.pyi?$/.test(file.path);
      let parts = from.length > 0 ? from.split('.') : [];
      if (!isPackage) parts = parts.slice(0, -1);
      if (level - 1 > parts.length) return null;
      parts = parts.slice(0, parts.length - (level - 1));
      const target = [...parts, ...(rest ? rest.split('.') : [])].join('.');
      return this.pyModules.has(target) ? target : null;
    }
    if (this.pyModules.has(spec)) return spec;
    const candidates = this.suffixes.get(spec);
    if (!candidates || candidates.length === 0) return null;
    if (candidates.length === 1) return candidates[0]!;
    // several packages end the same way: the one that shares the importer's source root
    let best: string | null = null;
    let bestScore = -1;
    let tie = false;
    for (const c of candidates) {
      const score = commonPrefix(c, from);
      if (score > bestScore) {
        best = c;
        bestScore = score;
        tie = false;
      } else if (score === bestScore) tie = true;
    }
    return tie ? null : best;
  }

  private resolveScriptModule(file: FileSummary, spec: string): string | null {
    if (!spec.startsWith('.')) return null;
    const base = posix.normalize(posix.join(posix.dirname(file.path), spec));
    const stripped = base.replace(/\.(?:[mc]?js|jsx|tsx?|mts|cts)$/, '');
    for (const candidate of [stripped, `${stripped}/index`, base]) {
      if (this.scriptModules.has(candidate)) return candidate;
    }
    for (const ext of SCRIPT_EXTENSIONS) {
      if (this.scriptModules.has(scriptModuleName(base + ext))) return scriptModuleName(base + ext);
    }
    return null;
  }

  fileOfModule(module: string, language: 'python' | 'script'): FileSummary | null {
    return (language === 'python' ? this.pyModules : this.scriptModules).get(module) ?? null;
  }

  /** What `name` is at the top level of `module`, following imports and re-exports. */
  resolveExport(module: string, name: string, language: 'python' | 'script', depth = 0): PySymbol | null {
    if (depth > 12) return null;
    const file = this.fileOfModule(module, language);
    if (!file) return null;
    return this.resolveLocal(file, name, depth);
  }

  /** What a bare name means at the top level of `file`. */
  resolveLocal(file: FileSummary, name: string, depth = 0): PySymbol | null {
    const language = file.language === 'python' ? 'python' : 'script';
    const defs = this.definitionsIn(file).filter((d) => d.cls.topLevel && d.cls.name === name);
    const fns = file.functions.filter((f) => f.name === name);
    const imports = file.imports.filter((i) => i.local === name);
    if (defs.length + fns.length + (imports.length > 0 ? 1 : 0) > 1) return null;
    if (defs.length === 1) return { kind: 'class', def: defs[0]! };
    if (fns.length === 1) return { kind: 'function', file, fn: fns[0]! };
    if (imports.length > 0) {
      let found: PySymbol | null = null;
      for (const imp of imports) {
        const target = this.resolveModule(file, imp.module);
        let sym: PySymbol | null = null;
        if (imp.name === null) {
          // `import a.b as c` binds a.b; `import a.b` binds a
          const bound = imp.local === imp.module || !imp.module.startsWith(`${imp.local}.`) ? target : this.resolveModule(file, imp.local);
          sym = bound ? { kind: 'module', module: bound } : null;
        } else if (target) {
          sym = this.resolveExport(target, imp.name, language, depth + 1);
          if (!sym && language === 'python' && this.pyModules.has(`${target}.${imp.name}`)) sym = { kind: 'module', module: `${target}.${imp.name}` };
          if (!sym && language === 'script' && imp.name === null) sym = { kind: 'module', module: target };
        } else if (language === 'python' && imp.module.replace(/^\.+/, '') === '' && imp.name) {
          const pkg = this.resolveModule(file, `${imp.module}${imp.name}`);
          sym = pkg ? { kind: 'module', module: pkg } : null;
        }
        if (!sym) return null;
        if (found && !sameSymbol(found, sym)) return null;
        found = sym;
      }
      return found;
    }
    // `from x import *`
    for (const imp of file.imports) {
      if (imp.name !== '*') continue;
      const target = this.resolveModule(file, imp.module);
      const sym = target ? this.resolveExport(target, name, language, depth + 1) : null;
      if (sym) return sym;
    }
    if (language === 'python') {
      const sub = `${this.moduleOf(file)}.${name}`;
      if (/(^|\/)__init__\.pyi?$/.test(file.path) && this.pyModules.has(sub)) return { kind: 'module', module: sub };
    }
    return null;
  }

  /** `a.b.C` in the context of `file` (and of the class `within`, for nested names). */
  resolveDotted(file: FileSummary, text: string): PySymbol | null {
    const parts = text.split('.');
    const language = file.language === 'python' ? 'python' : 'script';
    let sym = this.resolveLocal(file, parts[0]!);
    for (let i = 1; sym && i < parts.length; i++) {
      const part = parts[i]!;
      if (sym.kind === 'module') {
        const next: PySymbol | null = this.resolveExport(sym.module, part, language);
        if (!next && language === 'python' && this.pyModules.has(`${sym.module}.${part}`)) sym = { kind: 'module', module: `${sym.module}.${part}` };
        else sym = next;
      } else if (sym.kind === 'class') {
        const qual = `${sym.def.cls.qualname}.${part}`;
        const nested = this.definitionsIn(sym.def.file).find((d) => d.cls.qualname === qual);
        sym = nested ? { kind: 'class', def: nested } : null;
      } else return null;
    }
    return sym;
  }

  /** The class an annotation or a call's result is an instance of, or null. */
  resolveType(file: FileSummary, source: TypeSource, selfDef: Definition | null = null, depth = 0): Definition | null {
    if (depth > 6) return null;
    if (source.kind === 'annotation') {
      const name = annotationName(source.text);
      if (!name) return null;
      if ((name === 'Self' || name === 'typing.Self') && selfDef) return selfDef;
      const sym = this.resolveDotted(file, name);
      if (sym?.kind !== 'class') return null;
      return sym.def.cls.kind === 'typeddict' ? null : sym.def;
    }
    const sym = this.resolveDotted(file, source.callee);
    if (sym?.kind === 'class') return sym.def.cls.kind === 'typeddict' ? null : sym.def;
    if (sym?.kind === 'function' && sym.fn.returns) return this.resolveType(sym.file, { kind: 'annotation', text: sym.fn.returns }, null, depth + 1);
    // `Cls.create()` with a return annotation
    const dot = source.callee.lastIndexOf('.');
    if (dot > 0) {
      const owner = this.resolveDotted(file, source.callee.slice(0, dot));
      if (owner?.kind === 'class') {
        const method = owner.def.cls.methods.find((m) => m.name === source.callee.slice(dot + 1));
        if (method?.returns) return this.resolveType(owner.def.file, { kind: 'annotation', text: method.returns }, owner.def, depth + 1);
      }
    }
    return null;
  }

  /** A class's bases resolved in its own module; null for a base that is not in the scan and not well known. */
  basesOf(def: Definition): { resolved: Definition[]; known: string[] } | null {
    const resolved: Definition[] = [];
    const known: string[] = [];
    for (const base of def.cls.bases) {
      const sym = base === '?' ? null : this.resolveDotted(def.file, base);
      if (sym?.kind === 'class') resolved.push(sym.def);
      else if (def.file.language === 'python' && base in KNOWN_BASES) known.push(base);
      else return null;
    }
    return { resolved, known };
  }

  addAttribute(def: Definition, name: string): void {
    let set = this.addedAttributes.get(def.id);
    if (!set) this.addedAttributes.set(def.id, (set = new Set()));
    set.add(name);
    this.attributeCache.clear();
  }

  /** Every attribute an instance of `def` has, with in-repo bases; null when that cannot be known. */
  attributesOf(def: Definition, seen: Set<number> = new Set()): AttributeSet | null {
    const cached = this.attributeCache.get(def.id);
    if (cached !== undefined) return cached;
    if (seen.has(def.id)) return null;
    seen.add(def.id);
    let result: AttributeSet | null = null;
    const cls = def.cls;
    const bases = cls.dynamic || cls.kind === 'typeddict' ? null : this.basesOf(def);
    if (bases) {
      const names = new Set<string>();
      const consulted: Definition[] = [def];
      for (const list of [cls.fields, cls.instanceAttributes]) for (const f of list) names.add(f.name);
      for (const m of cls.methods) names.add(m.name);
      for (const p of cls.properties) names.add(p);
      for (const n of cls.nested) names.add(n);
      for (const n of this.addedAttributes.get(def.id) ?? []) names.add(n);
      if (cls.kind === 'enum') for (const n of KNOWN_BASES.Enum!) names.add(n);
      if (cls.kind === 'namedtuple') for (const n of KNOWN_BASES.NamedTuple!) names.add(n);
      if (def.file.language !== 'python') for (const n of JS_OBJECT) names.add(n);
      for (const k of bases.known) for (const n of KNOWN_BASES[k]!) names.add(n);
      let ok = true;
      for (const base of bases.resolved) {
        const inherited = this.attributesOf(base, seen);
        if (!inherited) {
          ok = false;
          break;
        }
        for (const n of inherited.names) names.add(n);
        for (const c of inherited.consulted) if (!consulted.includes(c)) consulted.push(c);
      }
      if (ok) result = { names, consulted };
    }
    this.attributeCache.set(def.id, result);
    return result;
  }

  /** Classes in the scan that derive from `def`, directly or not. */
  subclassesOf(def: Definition): Definition[] {
    if (!this.subclassIndex) {
      const index = new Map<number, Definition[]>();
      for (const d of this.definitions) {
        for (const base of d.cls.bases) {
          const sym = base === '?' ? null : this.resolveDotted(d.file, base);
          if (sym?.kind !== 'class') continue;
          const list = index.get(sym.def.id);
          if (list) list.push(d);
          else index.set(sym.def.id, [d]);
        }
      }
      this.subclassIndex = index;
    }
    const out: Definition[] = [];
    const stack = [def];
    while (stack.length > 0) {
      for (const sub of this.subclassIndex.get(stack.pop()!.id) ?? []) {
        if (out.includes(sub)) continue;
        out.push(sub);
        stack.push(sub);
      }
    }
    return out;
  }
}

function sameSymbol(a: PySymbol, b: PySymbol): boolean {
  if (a.kind === 'class' && b.kind === 'class') return a.def.id === b.def.id;
  if (a.kind === 'module' && b.kind === 'module') return a.module === b.module;
  if (a.kind === 'function' && b.kind === 'function') return a.fn === b.fn;
  return false;
}
