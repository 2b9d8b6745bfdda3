/**
 * The cross-file model, built once before any rule runs and read-only afterwards: modules (modules.ts), what names
 * mean (symbols.ts), the class hierarchy (hierarchy.ts), the receivers' classes, attributes added to classes from
 * outside them, which files can meet in one program, and which same-named definitions refer to each other. Anything
 * it cannot resolve with certainty resolves to null, and the rules stay silent about it.
 */
import type { FileSummary, ImportInfo, TypeSource } from '../parse/summary.js';
import { Hierarchy, openClasses, resolveBases } from './hierarchy.js';
import type { AttributeSet, Bases } from './hierarchy.js';
import { familyOf, ModuleIndex } from './modules.js';
import type { LanguageFamily } from './modules.js';
import { findNamesakeReferences } from './namesakes.js';
import { classObjectAnnotation, Symbols } from './symbols.js';
import type { Definition, PySymbol } from './symbols.js';

export type { AttributeSet } from './hierarchy.js';
export { pythonModuleName, scriptModuleName } from './modules.js';
export { annotationName } from './symbols.js';
export type { Definition, PySymbol } from './symbols.js';

/** An import that binds one name of a module: `from m import X`, `import { X } from 'm'`. */
export interface NamedImport {
  readonly file: FileSummary;
  readonly imp: ImportInfo;
}

export interface ModelOptions {
  /** the scan root's own name when the root is a Python package (`pip/` holding `__init__.py`): modules are
   *  `pip._internal…`, as `from pip._internal import x` names them */
  readonly rootPackage?: string | null;
}

export class Model {
  /** every file given, parse errors and generated files included */
  readonly files: readonly FileSummary[];
  /** the files the model holds: parsed, not generated */
  readonly sources: readonly FileSummary[];
  readonly definitions: readonly Definition[];
  private readonly modules: ModuleIndex;
  private readonly symbols: Symbols;
  private readonly hierarchy: Hierarchy;
  private readonly bases: readonly Bases[];
  /** who imports each file, built on first use (by canMeet) */
  private importersMap: ReadonlyMap<FileSummary, readonly FileSummary[]> | null = null;
  private readonly reachingCache = new Map<FileSummary, ReadonlySet<FileSummary>>();
  private readonly namedCache = new Map<FileSummary, ReadonlySet<string>>();
  /** which namesakes each definition is one design with, built on first use (by refersTo) */
  private namesakesMap: ReadonlyMap<number, readonly Definition[]> | null = null;
  private definitionsByNameMap: ReadonlyMap<string, readonly Definition[]> | null = null;
  private importsByNameMap: ReadonlyMap<LanguageFamily, ReadonlyMap<string, readonly NamedImport[]>> | null = null;
  /** attribute names assigned on receivers of unknown type (see mayBeSetFromOutside) */
  private readonly looselyAssigned: ReadonlySet<string>;
  /** field → the attributes stored through it on receivers of unknown type (`x.field.attribute = …`) */
  private readonly fieldStores: ReadonlyMap<string, ReadonlySet<string>>;
  /** field → the classes whose class object or instances are stored in it somewhere */
  private readonly fieldHolders: ReadonlyMap<string, ReadonlySet<number>>;

  constructor(files: readonly FileSummary[], options: ModelOptions = {}) {
    this.files = files;
    this.sources = files.filter((f) => f.parseError === null && !f.generated);
    this.modules = new ModuleIndex(this.sources, options.rootPackage ?? null);
    const definitions: Definition[] = [];
    const defsByFile = new Map<FileSummary, Definition[]>();
    const loose = new Set<string>();
    for (const file of this.sources) {
      const module = this.modules.moduleOf(file);
      const defs: Definition[] = [];
      for (const cls of file.classes) {
        const def: Definition = { id: definitions.length, file, module, cls };
        definitions.push(def);
        defs.push(def);
      }
      defsByFile.set(file, defs);
      for (const name of file.assignedAttributes) loose.add(name);
    }
    this.definitions = definitions;
    this.looselyAssigned = loose;
    this.symbols = new Symbols(this.modules, defsByFile);
    const bases = resolveBases(this.symbols, definitions);
    const escaped = new Set<number>();
    for (const file of this.sources) {
      for (const e of file.escapes) {
        if (e.name === '*') {
          for (const d of defsByFile.get(file) ?? []) escaped.add(d.id);
          continue;
        }
        // an instance whose attributes are set with computed names (`setattr(style, role, f)`) opens its class
        const instance = file.scopes[e.scope]?.receivers.find((r) => r.name === e.name);
        const instanceClass = instance ? this.symbols.resolveType(file, instance.source, null, e.scope) : null;
        if (instanceClass) {
          escaped.add(instanceClass.id);
          continue;
        }
        const sym = this.symbols.resolveDotted(file, e.name, e.scope);
        if (sym?.kind === 'class') escaped.add(sym.def.id);
        // a name two classes of the file share: whichever it meant escapes
        else if (!e.name.includes('.'))
          for (const d of defsByFile.get(file) ?? []) if (d.cls.name === e.name) escaped.add(d.id);
      }
    }
    const open = openClasses(definitions, bases, escaped);
    // attributes assigned from outside a class (`x.attr = …` with x of that class) are its attributes: resolved with
    // the hierarchy as declared (assignments add names, never types or bases), then the final hierarchy is built
    this.hierarchy = new Hierarchy(definitions, bases, open, new Map());
    const added = new Map<number, Set<string>>();
    for (const file of this.sources) {
      for (const w of file.writes) {
        let def = this.resolveReceiver(file, w.scope, w.receiver);
        if (!def && !file.scopes[w.scope]?.receivers.some((r) => r.name === w.receiver)) {
          // `Cls.attr = …`: an attribute set on the class object
          const sym = this.symbols.resolveDotted(file, w.receiver, w.scope);
          def = sym?.kind === 'class' ? sym.def : null;
        }
        if (!def) continue;
        let set = added.get(def.id);
        if (!set) added.set(def.id, (set = new Set()));
        set.add(w.attribute);
      }
    }
    this.hierarchy = new Hierarchy(definitions, bases, open, added);
    this.fieldStores = collectFieldStores(this.sources);
    this.fieldHolders = this.findFieldHolders();
    this.bases = bases;
  }

  // built on first use: an analysis limited to a few files (an editor's edit) often needs neither; what they are
  // built from is fixed once the constructor returns
  private get importers(): ReadonlyMap<FileSummary, readonly FileSummary[]> {
    return (this.importersMap ??= this.modules.importers(this.sources));
  }

  private get namesakes(): ReadonlyMap<number, readonly Definition[]> {
    return (this.namesakesMap ??= findNamesakeReferences(
      this.symbols,
      this.modules,
      this.definitions,
      this.sources,
      this.bases,
    ));
  }

  /**
   * Each class name's definitions, every language, in the order of `definitions`. Built on first use and kept with
   * the model: the language server runs the rules on one model for many edits.
   */
  get definitionsByName(): ReadonlyMap<string, readonly Definition[]> {
    if (this.definitionsByNameMap) return this.definitionsByNameMap;
    const byName = new Map<string, Definition[]>();
    for (const def of this.definitions) {
      const named = byName.get(def.cls.name);
      if (named) named.push(def);
      else byName.set(def.cls.name, [def]);
    }
    return (this.definitionsByNameMap = byName);
  }

  /** The imports of one name of a module, by language family, then name; built on first use. */
  get importsByName(): ReadonlyMap<LanguageFamily, ReadonlyMap<string, readonly NamedImport[]>> {
    if (this.importsByNameMap) return this.importsByNameMap;
    const byFamily = new Map<LanguageFamily, Map<string, NamedImport[]>>();
    for (const file of this.sources) {
      const family = familyOf(file);
      let byName = byFamily.get(family);
      if (!byName) byFamily.set(family, (byName = new Map()));
      for (const imp of file.imports) {
        if (imp.name === null || imp.name === '*' || imp.name === 'default') continue;
        const named = byName.get(imp.name);
        if (named) named.push({ file, imp });
        else byName.set(imp.name, [{ file, imp }]);
      }
    }
    return (this.importsByNameMap = byFamily);
  }

  moduleOf(file: FileSummary): string {
    return this.modules.moduleOf(file);
  }

  /**
   * Whether `def` is defined in the package of `file` (or below it): importing it is taking the package's own
   * definition of the name, the nearest one, as a name in a function means its nearest binding.
   */
  isInPackageOf(def: Definition, file: FileSummary): boolean {
    const pkg = this.modules.packageOf(file);
    if (pkg === null || familyOf(def.file) !== familyOf(file)) return false;
    const sep = file.language === 'python' ? '.' : '/';
    return def.module === pkg || def.module.startsWith(pkg + sep);
  }

  definitionsIn(file: FileSummary): readonly Definition[] {
    return this.symbols.definitionsIn(file);
  }

  /** A module as imported from `file`; null when it is not in the scan or is ambiguous. */
  resolveModule(file: FileSummary, spec: string): string | null {
    return this.modules.resolveModule(file, spec);
  }

  fileOfModule(module: string, language: LanguageFamily): FileSummary | null {
    return this.modules.fileOfModule(module, language);
  }

  resolveExport(module: string, name: string, language: LanguageFamily): PySymbol | null {
    return this.symbols.resolveExport(module, name, language);
  }

  resolveDotted(file: FileSummary, text: string, scope = 0): PySymbol | null {
    return this.symbols.resolveDotted(file, text, scope);
  }

  basesOf(def: Definition): Bases | null {
    return this.hierarchy.basesOf(def);
  }

  attributesOf(def: Definition): AttributeSet | null {
    return this.hierarchy.attributesOf(def);
  }

  subclassesOf(def: Definition): Definition[] {
    return this.hierarchy.subclassesOf(def);
  }

  isOpen(def: Definition): boolean {
    return this.hierarchy.isOpen(def);
  }

  /**
   * Whether code the scanner cannot follow may set `attribute` on instances of `def`: it is assigned somewhere on a
   * receiver of unknown type, and either the code is JavaScript or an instance of the class (of a base or subclass)
   * is handed to a call as `self`. An unrelated class's `self._m.last_activity = …` does not silence the name on
   * every class.
   */
  mayBeSetFromOutside(def: Definition, attribute: string): boolean {
    if (!this.looselyAssigned.has(attribute)) return false;
    if (def.file.language !== 'python') return true;
    const consulted = this.hierarchy.attributesOf(def)?.consulted ?? [def];
    const related = [...consulted, ...this.hierarchy.subclassesOf(def)];
    if (related.some((d) => d.cls.selfEscapes)) return true;
    // stored in a field through which code sets that attribute on whatever the field holds (`_dispatch_target =
    // Factory` in one class, `cls._dispatch_target.dispatch = …` elsewhere): what a field holds is not told apart by
    // the object holding it, as a field-based points-to analysis does
    for (const [field, attributes] of this.fieldStores) {
      if (!attributes.has(attribute)) continue;
      const holders = this.fieldHolders.get(field);
      if (holders && consulted.some((d) => holders.has(d.id))) return true;
    }
    return false;
  }

  /**
   * Whether `receiver`, read in scope `scope` of `file`, is handed there to a function of the scan that stores
   * `attribute` on one of its parameters (`se.get(root)` with `def get(root): root._searchengine = …`).
   */
  mayBeSetByCallee(file: FileSummary, scope: number, receiver: string, attribute: string): boolean {
    for (const call of file.argumentCalls) {
      if (call.scope !== scope || call.name !== receiver) continue;
      const sym = this.symbols.resolveDotted(file, call.callee, scope);
      if (sym?.kind !== 'function') continue;
      if (sym.file.parameterStores.some((p) => p.function === sym.fn.name && p.attribute === attribute)) return true;
    }
    return false;
  }

  /** For each field something is stored through: the classes stored in it (as class objects or instances). */
  private findFieldHolders(): Map<string, Set<number>> {
    const holders = new Map<string, Set<number>>();
    const hold = (field: string, def: Definition | null): void => {
      if (!def) return;
      let set = holders.get(field);
      if (!set) holders.set(field, (set = new Set()));
      set.add(def.id);
    };
    for (const file of this.sources) {
      for (const v of file.fieldValues) {
        if (!this.fieldStores.has(v.field)) continue;
        const sym = this.symbols.resolveDotted(file, v.name, v.scope);
        hold(v.field, sym?.kind === 'class' ? sym.def : null);
      }
    }
    for (const def of this.definitions) {
      for (const t of def.cls.instanceAttributeTypes) {
        if (this.fieldStores.has(t.name) && t.source.kind === 'call')
          hold(t.name, this.symbols.resolveType(def.file, t.source, def, Math.max(def.cls.scope, 0)));
      }
    }
    return holders;
  }

  /** The files whose import runs `file`: itself and every file importing it, directly or through others. */
  private reaching(file: FileSummary): ReadonlySet<FileSummary> {
    let set = this.reachingCache.get(file);
    if (!set) {
      const found = new Set<FileSummary>([file]);
      const stack = [file];
      while (stack.length > 0) {
        for (const importer of this.importers.get(stack.pop()!) ?? []) {
          if (found.has(importer)) continue;
          found.add(importer);
          stack.push(importer);
        }
      }
      this.reachingCache.set(file, (set = found));
    }
    return set;
  }

  /**
   * Whether two definitions of `name` can meet in one program: some module that imports both files, directly or
   * through others (one of them importing the other included), names `name` itself. Code that confuses the two has
   * to name one of them where both are loaded; a module that only gathers both modules (`from ..dialects.mssql
   * import base as mssql` beside `mysql`, and no `mssql.BIT`) names neither. Siblings that only share a dependency
   * never meet.
   */
  canMeet(a: FileSummary, b: FileSummary, name: string): boolean {
    if (a === b) return true;
    const ra = this.reaching(a);
    const rb = this.reaching(b);
    const [small, large] = ra.size <= rb.size ? [ra, rb] : [rb, ra];
    for (const f of small) if (large.has(f) && this.names(f, name)) return true;
    return false;
  }

  /**
   * Whether `file` names `name` where a class can be meant: a class statement, an import, a dotted name through an
   * imported module, a base, an annotation, a callee, a class object stored or handed on.
   */
  private names(file: FileSummary, name: string): boolean {
    let set = this.namedCache.get(file);
    if (!set) {
      const found = new Set<string>(file.qualifiedNames);
      const add = (text: string | null): void => {
        if (text) for (const word of text.split(/[^\p{L}\p{N}_]+/u)) if (word) found.add(word);
      };
      for (const imp of file.imports) {
        add(imp.name);
        add(imp.local);
      }
      for (const cls of file.classes) {
        found.add(cls.name);
        cls.bases.forEach(add);
        cls.references.forEach(add);
        for (const f of cls.fields) add(f.type);
        for (const t of cls.instanceAttributeTypes) add(sourceText(t.source));
      }
      for (const scope of file.scopes) for (const r of scope.receivers) add(sourceText(r.source));
      for (const v of file.fieldValues) add(v.name);
      for (const e of file.escapes) add(e.name);
      for (const c of file.argumentCalls) add(c.callee);
      this.namedCache.set(file, (set = found));
    }
    return set.has(name);
  }

  /** Whether `a` refers to its namesake `b` (a base, a field or annotation of its type, a `Meta.model`, a call). */
  refersTo(a: Definition, b: Definition): boolean {
    return (this.namesakes.get(a.id) ?? []).includes(b);
  }

  /** The class an annotation or a call's result is an instance of, in scope `scope`, or null. */
  resolveType(
    file: FileSummary,
    source: TypeSource,
    selfDef: Definition | null = null,
    scope = 0,
    depth = 0,
  ): Definition | null {
    const selfName = file.scopes[scope]?.selfName;
    if (source.kind === 'call' && selfDef && selfName && source.callee.startsWith(`${selfName}.`)) {
      // `self.Helper()`: a class nested in the instance's class (or a base), found through the instance
      const nested = this.nestedClass(selfDef, source.callee.slice(selfName.length + 1));
      if (nested) return nested.cls.kind === 'typeddict' ? null : nested;
    }
    if (source.kind !== 'called') return this.symbols.resolveType(file, source, selfDef, scope);
    // a call of a value: `type[X]` makes an X; an instance gives what its `__call__` returns
    const classObject = classObjectAnnotation(source.text);
    if (classObject) return this.symbols.resolveType(file, { kind: 'annotation', text: classObject }, selfDef, scope);
    const callee = this.symbols.resolveType(file, { kind: 'annotation', text: source.text }, selfDef, scope);
    if (!callee || depth > 6) return null;
    const attrs = this.hierarchy.attributesOf(callee);
    for (const owner of attrs?.consulted ?? [callee]) {
      const call = owner.cls.methods.find((m) => m.name === '__call__');
      if (call) {
        if (!call.returns) return null;
        return this.resolveType(
          owner.file,
          { kind: 'annotation', text: call.returns },
          owner,
          Math.max(owner.cls.scope, 0),
          depth + 1,
        );
      }
    }
    return null;
  }

  /** The class `receiver` (`m`, `self`, `self.metrics`) holds in scope `scopeIndex` of `file`, or null. */
  resolveReceiver(file: FileSummary, scopeIndex: number, receiver: string): Definition | null {
    const scope = file.scopes[scopeIndex];
    if (!scope) return null;
    const parts = receiver.split('.');
    const defs = this.definitionsIn(file);
    const selfDef = scope.selfClass >= 0 ? (defs[scope.selfClass] ?? null) : null;
    let def: Definition | null = null;
    if (scope.selfName !== null && parts[0] === scope.selfName) def = selfDef;
    else {
      const source = scope.receivers.find((r) => r.name === parts[0])?.source;
      def = source ? this.resolveType(file, source, selfDef, scopeIndex) : null;
    }
    for (let i = 1; def && i < parts.length; i++) def = this.attributeType(def, parts[i]!);
    return def;
  }

  /** The class `def.name` names through an instance of `def`: a class nested in it or in a base, unless shadowed. */
  private nestedClass(def: Definition, name: string): Definition | null {
    if (!/^[A-Za-z_]\w*$/.test(name)) return null;
    for (const owner of this.hierarchy.attributesOf(def)?.consulted ?? [def]) {
      if (owner.cls.instanceAttributes.some((a) => a.name === name)) return null;
      const qualname = `${owner.cls.qualname}.${name}`;
      const nested = this.definitionsIn(owner.file).find((d) => d.cls.qualname === qualname);
      if (nested) return nested;
      if (owner.cls.fields.some((f) => f.name === name) || owner.cls.methods.some((m) => m.name === name)) return null;
    }
    return null;
  }

  /** The class of an instance attribute, when its class and bases agree on one. */
  private attributeType(def: Definition, name: string): Definition | null {
    const attrs = this.hierarchy.attributesOf(def);
    if (!attrs) return null;
    let found: Definition | null = null;
    for (const owner of attrs.consulted) {
      const scope = Math.max(owner.cls.scope, 0);
      const sources: TypeSource[] = [];
      for (const f of owner.cls.fields)
        if (f.name === name && f.type) sources.push({ kind: 'annotation', text: f.type });
      for (const t of owner.cls.instanceAttributeTypes) if (t.name === name) sources.push(t.source);
      for (const source of sources) {
        const t = this.resolveType(owner.file, source, owner, scope);
        if (!t || (found && found.id !== t.id)) return null;
        found = t;
      }
    }
    return found;
  }
}

function collectFieldStores(files: readonly FileSummary[]): Map<string, Set<string>> {
  const stores = new Map<string, Set<string>>();
  for (const file of files) {
    for (const { field, attribute } of file.fieldStores) {
      let set = stores.get(field);
      if (!set) stores.set(field, (set = new Set()));
      set.add(attribute);
    }
  }
  return stores;
}

function sourceText(source: TypeSource): string {
  return source.kind === 'call' ? source.callee : source.text;
}
