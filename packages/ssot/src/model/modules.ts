/**
 * Module resolution: which file a module name or specifier means, the way the language finds it (Python packages,
 * relative imports, the scan root as a package; ES module specifiers), and which modules import each other.
 */
import { posix } from 'node:path';
import type { FileSummary } from '../parse/summary.js';

const SCRIPT_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.d.ts', '.js', '.jsx', '.mjs', '.cjs'];

export type LanguageFamily = 'python' | 'script';

export function familyOf(file: FileSummary): LanguageFamily {
  return file.language === 'python' ? 'python' : 'script';
}

/** `a/b/c.py` → `a.b.c`, `a/b/__init__.py` → `a.b`; inside a root package `pkg`, `pkg.a.b.c` and `pkg.a.b`. */
export function pythonModuleName(path: string, rootPackage: string | null = null): string {
  let p = path.replace(/\.pyi?$/, '');
  if (p.endsWith('/__init__') || p === '__init__') p = p.slice(0, -'__init__'.length).replace(/\/$/, '');
  const name = p.split('/').join('.');
  if (rootPackage === null || path.startsWith('../') || path.startsWith('/')) return name;
  return name === '' ? rootPackage : `${rootPackage}.${name}`;
}

export function scriptModuleName(path: string): string {
  return path.replace(/(\.d)?\.(?:tsx?|mts|cts|jsx?|mjs|cjs)$/, '');
}

export function isPackageInit(file: FileSummary): boolean {
  return /(^|\/)__init__\.pyi?$/.test(file.path);
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export class ModuleIndex {
  private readonly pyModules = new Map<string, FileSummary>();
  private readonly scriptModules = new Map<string, FileSummary>();
  private readonly suffixes = new Map<string, string[]>();
  private readonly moduleOfFile = new Map<FileSummary, string>();

  /** `files` parsed and not generated; `rootPackage`: the scan root's name when the root is a package itself */
  constructor(files: readonly FileSummary[], rootPackage: string | null) {
    for (const file of files) {
      let module: string;
      if (file.language === 'python') {
        module = pythonModuleName(file.path, rootPackage);
        const existing = this.pyModules.get(module);
        // a stub beside its module: the module is what runs
        if (!existing || existing.path.endsWith('.pyi')) this.pyModules.set(module, file);
      } else {
        module = scriptModuleName(file.path);
        const existing = this.scriptModules.get(module);
        if (!existing || existing.path.includes('.d.')) this.scriptModules.set(module, file);
      }
      this.moduleOfFile.set(file, module);
    }
    for (const module of this.pyModules.keys()) {
      const parts = module.split('.');
      for (let i = 0; i < parts.length; i++) {
        // a folder that is a regular package (it holds `__init__.py`) is no import root: Python never finds
        // `pkg/sub/datetime.py` as `datetime` (`from datetime import date` is the standard library's)
        if (i > 0 && this.isRegularPackage(parts.slice(0, i).join('.'))) continue;
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

  /** The package `file` belongs to (a Python package, or a script's folder); null at the top of the scan root. */
  packageOf(file: FileSummary): string | null {
    const module = this.moduleOf(file);
    if (file.language === 'python' && isPackageInit(file)) return module === '' ? null : module;
    const cut = module.lastIndexOf(file.language === 'python' ? '.' : '/');
    return cut > 0 ? module.slice(0, cut) : null;
  }

  fileOfModule(module: string, language: LanguageFamily): FileSummary | null {
    return (language === 'python' ? this.pyModules : this.scriptModules).get(module) ?? null;
  }

  /** Whether `module` is a folder holding `__init__.py` in the scan. */
  private isRegularPackage(module: string): boolean {
    const file = this.pyModules.get(module);
    return file !== undefined && isPackageInit(file);
  }

  hasPythonModule(module: string): boolean {
    return this.pyModules.has(module);
  }

  /** A module as imported from `file`; null when it is not in the scan or is ambiguous. */
  resolveModule(file: FileSummary, spec: string): string | null {
    if (file.language !== 'python') return this.resolveScriptModule(file, spec);
    const from = this.moduleOf(file);
    if (spec.startsWith('.')) {
      const level = /^\.+/.exec(spec)![0].length;
      const rest = spec.slice(level);
      let parts = from.length > 0 ? from.split('.') : [];
      if (!isPackageInit(file)) parts = parts.slice(0, -1);
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

  /**
   * The import graph, reversed: for each file, the files that import it directly (`import x`, `from x import y`,
   * `from pkg import sub` naming a submodule, and a package's `__init__` for each of its modules, which Python runs
   * first). Only modules in the scan count.
   */
  importers(files: readonly FileSummary[]): Map<FileSummary, FileSummary[]> {
    const out = new Map<FileSummary, FileSummary[]>();
    for (const file of files) {
      const family = familyOf(file);
      const targets = new Set<FileSummary>();
      const link = (module: string | null): void => {
        const target = module === null ? null : this.fileOfModule(module, family);
        if (target && target !== file) targets.add(target);
      };
      for (const imp of file.imports) {
        const target = this.resolveModule(file, imp.module);
        link(target);
        if (
          family === 'python' &&
          target &&
          imp.name !== null &&
          imp.name !== '*' &&
          this.pyModules.has(`${target}.${imp.name}`)
        ) {
          link(`${target}.${imp.name}`);
        }
      }
      if (family === 'python') {
        const module = this.moduleOf(file);
        const dot = module.lastIndexOf('.');
        if (dot > 0) link(module.slice(0, dot));
      }
      for (const t of targets) {
        const list = out.get(t);
        if (list) list.push(file);
        else out.set(t, [file]);
      }
    }
    return out;
  }
}
