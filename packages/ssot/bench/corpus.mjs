// Deterministic synthetic Python corpus: packages of modules with dataclasses, enums, inheritance, imports
// (absolute, relative, aliased, module attributes), constructor calls, annotated parameters and attribute reads.
// Every module is generated from the seed, so no two files are the same; about 1 read in 400 is a typo.
import { mkdirSync, writeFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'account order invoice user session metric event record item price total count status created updated ' +
  'name label code region source target payload result error retry limit offset window bucket tenant owner ' +
  'channel message thread token scope role policy amount currency balance ledger entry batch job task queue worker ' +
  'node edge graph path route cache key value score rank weight level stage phase cycle shard replica host port'
).split(' ');
const TYPES = ['int', 'str', 'float', 'bool', 'Optional[str]', 'List[int]', 'Dict[str, int]'];
const DEFAULTS = {
  int: '0',
  str: '""',
  float: '0.0',
  bool: 'False',
  'Optional[str]': 'None',
  'List[int]': 'field(default_factory=list)',
  'Dict[str, int]': 'field(default_factory=dict)',
};

export function generateCorpus(dir, targetLines, seed) {
  const marker = join(dir, '.corpus.json');
  const spec = JSON.stringify({ targetLines, seed, version: 2 });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === spec)
    return JSON.parse(readFileSync(join(dir, '.stats.json'), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const rnd = prng(seed);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const registry = []; // classes defined so far: { module, name, fields, methods }
  let lines = 0;
  let files = 0;
  let typos = 0;
  let pkg = 0;
  while (lines < targetLines) {
    const pkgName = `svc_${seed}_${pkg++}`;
    const subCount = int(2, 5);
    mkdirSync(join(dir, pkgName), { recursive: true });
    writeFileSync(join(dir, pkgName, '__init__.py'), `"""Package ${pkgName}."""\n`);
    for (let s = 0; s < subCount && lines < targetLines; s++) {
      const sub = `${pick(WORDS)}_${s}`;
      mkdirSync(join(dir, pkgName, sub), { recursive: true });
      const modCount = int(4, 10);
      const exported = [];
      for (let m = 0; m < modCount && lines < targetLines; m++) {
        const modName = `${pick(WORDS)}_${m}`;
        const module = `${pkgName}.${sub}.${modName}`;
        const out = [];
        out.push(`"""${module}: ${pick(WORDS)} ${pick(WORDS)} handling."""`, 'from __future__ import annotations', '');
        out.push(
          'import logging',
          'from dataclasses import dataclass, field',
          'from enum import Enum',
          'from typing import Dict, List, Optional',
        );
        // imports of classes from earlier modules, in several styles
        const imported = [];
        const nImports = Math.min(registry.length, int(1, 5));
        for (let i = 0; i < nImports; i++) {
          const c = registry[registry.length - 1 - Math.floor(rnd() * Math.min(registry.length, 400))];
          if (imported.some((x) => x.cls === c)) continue;
          const style = rnd();
          if (style < 0.5 || c.module === module) {
            out.push(`from ${c.module} import ${c.name}`);
            imported.push({ cls: c, ref: c.name });
          } else if (style < 0.8) {
            const alias = `${c.name}Ref`;
            out.push(`from ${c.module} import ${c.name} as ${alias}`);
            imported.push({ cls: c, ref: alias });
          } else {
            const alias = `m_${imported.length}_${c.module.split('.').pop()}`;
            out.push(`import ${c.module} as ${alias}`);
            imported.push({ cls: c, ref: `${alias}.${c.name}` });
          }
        }
        out.push('', 'logger = logging.getLogger(__name__)', '');
        const local = [];
        const nClasses = int(2, 5);
        for (let k = 0; k < nClasses; k++) {
          const name = `${cap(pick(WORDS))}${cap(pick(WORDS))}${files}_${k}`;
          const kind = rnd();
          if (kind < 0.15) {
            out.push('', `class ${name}(Enum):`);
            const members = [...new Set(Array.from({ length: int(3, 7) }, () => pick(WORDS).toUpperCase()))];
            for (const mem of members) out.push(`    ${mem} = "${mem.toLowerCase()}"`);
            const cls = { module, name, fields: [...members, 'name', 'value'], methods: [] };
            local.push({ cls, ref: name });
            registry.push(cls);
            continue;
          }
          const base =
            local.length > 0 && rnd() < 0.3
              ? (pick(local.filter((l) => !l.cls.fields.includes('value'))) ?? null)
              : null;
          const fields = [...new Set(Array.from({ length: int(3, 10) }, () => `${pick(WORDS)}_${pick(WORDS)}`))];
          const methods = [];
          out.push(
            '',
            '@dataclass',
            `class ${name}${base ? `(${base.ref})` : ''}:`,
            `    """A ${pick(WORDS)} ${pick(WORDS)}."""`,
            '',
          );
          for (const f of fields) {
            const t = pick(TYPES);
            out.push(`    ${f}: ${t} = ${DEFAULTS[t]}`);
          }
          const allFields = [...fields, ...(base ? base.cls.fields : [])];
          const nMethods = int(1, 4);
          for (let j = 0; j < nMethods; j++) {
            const mname = `${pick(WORDS)}_${pick(WORDS)}_${j}`;
            methods.push(mname);
            const a = pick(allFields);
            const b = pick(allFields);
            out.push('', `    def ${mname}(self, factor: int = 1) -> int:`);
            out.push(`        """Compute ${mname.replace(/_/g, ' ')}."""`);
            out.push(
              `        total = 0`,
              `        for step in range(factor):`,
              `            if self.${a}:`,
              `                total += step`,
            );
            out.push(`        logger.debug("%s %s", self.${b}, total)`, '        return total');
          }
          if (rnd() < 0.4) {
            const pf = pick(allFields);
            out.push('', '    @property', `    def ${pf}_label(self) -> str:`, `        return f"{self.${pf}}"`);
            fields.push(`${pf}_label`);
          }
          const cls = {
            module,
            name,
            fields: allFields.concat(fields.filter((f) => !allFields.includes(f))),
            methods: methods.concat(base ? base.cls.methods : []),
          };
          local.push({ cls, ref: name });
          registry.push(cls);
          exported.push(cls);
        }
        // functions that use local and imported classes
        const usable = [...local, ...imported].filter((u) => !u.cls.fields.includes('value'));
        const nFunctions = int(3, 9);
        for (let j = 0; j < nFunctions && usable.length > 0; j++) {
          const u = pick(usable);
          const v = pick(usable);
          const fname = `${pick(WORDS)}_${pick(WORDS)}_${j}`;
          const attrs = [...u.cls.fields, ...u.cls.methods];
          const read = () => {
            if (rnd() < 0.0025) {
              typos++;
              return `${pick(u.cls.fields)}x`;
            }
            return pick(attrs);
          };
          out.push(
            '',
            '',
            `def ${fname}(item: ${u.ref}, other: Optional[${v.ref}] = None, limit: int = 10) -> Dict[str, object]:`,
          );
          out.push(`    """${cap(fname.replace(/_/g, ' '))}."""`);
          out.push('    result: Dict[str, object] = {}');
          out.push(`    result["a"] = item.${read()}`);
          out.push(`    result["b"] = item.${read()}`);
          out.push(
            '    for index in range(limit):',
            '        if index % 3 == 0:',
            '            continue',
            `        result[f"k{index}"] = index * 2`,
          );
          out.push(
            '    try:',
            `        value = item.${read()}`,
            '    except (KeyError, ValueError) as exc:',
            '        logger.warning("failed: %s", exc)',
            '        value = None',
          );
          out.push(
            '    if other is not None:',
            `        result["other"] = other.${pick([...v.cls.fields, ...v.cls.methods])}`,
          );
          out.push(`    created = ${u.ref}()`, `    result["created"] = created.${read()}`);
          out.push(
            '    values = [entry for entry in result.values() if entry is not None]',
            '    return {"value": value, "count": len(values), **result}',
          );
        }
        out.push('');
        const text = out.join('\n');
        writeFileSync(join(dir, pkgName, sub, `${modName}.py`), text);
        lines += out.length;
        files++;
      }
      writeFileSync(
        join(dir, pkgName, sub, '__init__.py'),
        exported.length && rnd() < 0.3
          ? `from .${
              registry
                .find((c) => exported.includes(c))
                ?.module.split('.')
                .pop() ?? 'x'
            } import *\n`
          : '',
      );
    }
  }
  const stats = { lines, files, typos };
  writeFileSync(join(dir, '.stats.json'), JSON.stringify(stats));
  writeFileSync(marker, spec);
  return stats;
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The benchmarks' corpus, generated where missing or stale: four parts of 500k lines (seeds 1–4) under
 * `<base>/corpus`, and a 200k-line slice (seed 99) under `<base>/slice`; base is $SSOT_BENCH_DIR or <tmp>/ssot-bench.
 * Each part and the slice come with their generation figures (lines, files, planted typos).
 */
export function benchCorpus() {
  const base = process.env.SSOT_BENCH_DIR ?? join(tmpdir(), 'ssot-bench');
  const parts = [1, 2, 3, 4].map((seed) => {
    const dir = join(base, 'corpus', `part${seed}`);
    return { dir, ...generateCorpus(dir, 500_000, seed) };
  });
  const slice = join(base, 'slice');
  return { base, corpus: join(base, 'corpus'), parts, slice: { dir: slice, ...generateCorpus(slice, 200_000, 99) } };
}
