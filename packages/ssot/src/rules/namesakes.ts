/**
 * What duplicate-definition and inconsistent-import share: same-named definitions that refer to each other are one
 * design (a projection, such as an API type mirroring its model, or a specialization of its namesake), and only
 * definitions in parts of the code base that can meet in one program are compared.
 */
import type { Definition, Model } from '../model/model.js';

const DECLARATION_FILE = /\.d\.[cm]?ts$/;

/** Whether `a`, in a declaration file, describes `b`, a JavaScript definition (`types/logger.d.ts`, `lib/log.js`). */
function declares(a: Definition, b: Definition): boolean {
  return DECLARATION_FILE.test(a.file.path) && b.file.language === 'javascript';
}

/** Each definition's representative: definitions linked by references (either way, transitively) share one. */
export function projectionRepresentatives(model: Model, defs: readonly Definition[]): Map<Definition, Definition> {
  const parent = new Map<Definition, Definition>(defs.map((d) => [d, d]));
  const find = (d: Definition): Definition => {
    let r = d;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(d, r);
    return r;
  };
  for (const a of defs) {
    for (const b of defs) {
      if (a === b || !(model.refersTo(a, b) || declares(a, b))) continue;
      const ra = find(a);
      const rb = find(b);
      // the definition referred to stands for the pair
      if (ra !== rb) parent.set(ra, rb);
    }
  }
  const out = new Map<Definition, Definition>();
  for (const d of defs) out.set(d, find(d));
  return out;
}

/** Same-named definitions split into groups that can meet in one program (all together when comparing across them). */
export function byMeetingPart(model: Model, items: readonly Definition[], acrossParts: boolean): Definition[][] {
  if (acrossParts) return [[...items]];
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const [a, b] = [items[i]!, items[j]!];
      if (find(i) !== find(j) && model.canMeet(a.file, b.file, a.cls.name)) parent[find(i)] = find(j);
    }
  }
  const parts = new Map<number, Definition[]>();
  items.forEach((item, i) => {
    const list = parts.get(find(i));
    if (list) list.push(item);
    else parts.set(find(i), [item]);
  });
  return [...parts.values()];
}
