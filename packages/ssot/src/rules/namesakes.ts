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

/** Union-find over the indices 0…n−1: `join(i, j)` puts i's set under the root of j's, which stands for both. */
function disjointSets(n: number): { find: (i: number) => number; join: (i: number, j: number) => void } {
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const join = (i: number, j: number): void => {
    const [ri, rj] = [find(i), find(j)];
    if (ri !== rj) parent[ri] = rj;
  };
  return { find, join };
}

/** Each definition's representative: definitions linked by references (either way, transitively) share one. */
export function projectionRepresentatives(model: Model, defs: readonly Definition[]): Map<Definition, Definition> {
  const sets = disjointSets(defs.length);
  defs.forEach((a, i) =>
    defs.forEach((b, j) => {
      // the definition referred to stands for the pair
      if (i !== j && (model.refersTo(a, b) || declares(a, b))) sets.join(i, j);
    }),
  );
  return new Map(defs.map((d, i) => [d, defs[sets.find(i)]!]));
}

/** Same-named definitions split into groups that can meet in one program (all together when comparing across them). */
export function byMeetingPart(model: Model, items: readonly Definition[], acrossParts: boolean): Definition[][] {
  if (acrossParts) return [[...items]];
  const sets = disjointSets(items.length);
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const [a, b] = [items[i]!, items[j]!];
      if (sets.find(i) !== sets.find(j) && model.canMeet(a.file, b.file, a.cls.name)) sets.join(i, j);
    }
  }
  const parts = new Map<number, Definition[]>();
  items.forEach((item, i) => {
    const list = parts.get(sets.find(i));
    if (list) list.push(item);
    else parts.set(sets.find(i), [item]);
  });
  return [...parts.values()];
}
