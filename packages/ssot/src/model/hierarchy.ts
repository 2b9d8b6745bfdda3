/**
 * The class hierarchy: each class's bases, the attributes its instances have, its subclasses in the scan, and
 * which classes are open (their attribute set cannot be known: dynamic classes, classes whose objects escape, and the
 * classes mixed with those).
 */
import type { Definition, Symbols } from './symbols.js';

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
const JS_OBJECT = [
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
];

export interface Bases {
  /** the bases in the scan */
  readonly resolved: readonly Definition[];
  /** well-known bases outside the scan */
  readonly known: readonly string[];
  /** false when some base is neither (its attributes cannot be known) */
  readonly complete: boolean;
}

/** Each class's bases, resolved where the class statement is (indexed by definition id). */
export function resolveBases(symbols: Symbols, definitions: readonly Definition[]): Bases[] {
  return definitions.map((def) => {
    const resolved: Definition[] = [];
    const known: string[] = [];
    let complete = true;
    for (const base of def.cls.bases) {
      const sym = base === '?' ? null : symbols.resolveDotted(def.file, base, Math.max(def.cls.scope, 0));
      if (sym?.kind === 'class') resolved.push(sym.def);
      else if (def.file.language === 'python' && base in KNOWN_BASES) known.push(base);
      else complete = false;
    }
    return { resolved, known, complete };
  });
}

/**
 * Open classes: those whose object escapes (`escaped`, by definition id), and, to a fixed point, every class that
 * shares a base list with an open class or with a base the scan cannot see (`class Temp(base, Mixin, TestCase)` with
 * `base` a variable): whatever the others lack, those may provide.
 */
export function openClasses(
  definitions: readonly Definition[],
  bases: readonly Bases[],
  escaped: ReadonlySet<number>,
): Set<number> {
  const open = new Set(escaped);
  const lists = definitions.filter((d) => d.cls.bases.length >= 2).map((d) => bases[d.id]!);
  for (let changed = true; changed;) {
    changed = false;
    for (const list of lists) {
      if (list.complete && !list.resolved.some((m) => open.has(m.id))) continue;
      for (const m of list.resolved) {
        if (open.has(m.id)) continue;
        open.add(m.id);
        changed = true;
      }
    }
  }
  return open;
}

export class Hierarchy {
  private readonly bases: readonly Bases[];
  private readonly open: ReadonlySet<number>;
  private readonly added: ReadonlyMap<number, ReadonlySet<string>>;
  private readonly attributeCache = new Map<number, AttributeSet | null>();
  private readonly subclassIndex = new Map<number, Definition[]>();

  constructor(
    definitions: readonly Definition[],
    bases: readonly Bases[],
    open: ReadonlySet<number>,
    added: ReadonlyMap<number, ReadonlySet<string>>,
  ) {
    this.bases = bases;
    this.open = open;
    this.added = added;
    for (const d of definitions) {
      for (const base of bases[d.id]!.resolved) {
        const list = this.subclassIndex.get(base.id);
        if (list) list.push(d);
        else this.subclassIndex.set(base.id, [d]);
      }
    }
  }

  /** the class's bases, or null when some base is unknown */
  basesOf(def: Definition): Bases | null {
    const bases = this.bases[def.id];
    return bases?.complete ? bases : null;
  }

  isOpen(def: Definition): boolean {
    return this.open.has(def.id);
  }

  /** Every attribute an instance of `def` has, with in-repo bases; null when that cannot be known. */
  attributesOf(def: Definition, seen: Set<number> = new Set()): AttributeSet | null {
    const cached = this.attributeCache.get(def.id);
    if (cached !== undefined) return cached;
    if (seen.has(def.id)) return null;
    seen.add(def.id);
    let result: AttributeSet | null = null;
    const cls = def.cls;
    const bases = cls.dynamic || cls.kind === 'typeddict' || this.open.has(def.id) ? null : this.basesOf(def);
    if (bases) {
      const names = new Set<string>();
      const consulted: Definition[] = [def];
      for (const list of [cls.fields, cls.instanceAttributes]) for (const f of list) names.add(f.name);
      for (const m of cls.methods) names.add(m.name);
      for (const p of cls.properties) names.add(p);
      for (const n of cls.nested) names.add(n);
      for (const n of this.added.get(def.id) ?? []) names.add(n);
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
