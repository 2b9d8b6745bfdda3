import path from 'node:path';
import type { TestCase, TestModule, TestSpecification, Vitest } from 'vitest/node';
import type { Category } from './categories.js';

/** One test file chosen to run, in its category. */
export interface SelectedFile {
  readonly spec: TestSpecification;
  readonly category: Category;
  /** Relative to the root, `/`-separated: what `--pattern` and the JSON report see. */
  readonly file: string;
  /** The path matched `--pattern` (or there is none): every test in the file is selected. */
  readonly wholeFile: boolean;
}

export interface Selection {
  readonly categories: readonly Category[];
  readonly files: readonly SelectedFile[];
  readonly pattern: RegExp | undefined;
  /** Every test file of the chosen categories, selected or not. */
  readonly known: readonly TestSpecification[];
}

/** The name `--pattern` is matched against: Vitest's own full name, describe blocks and test joined by spaces. */
export function matchableName(test: TestCase): string {
  const names = [test.name];
  for (let parent = test.parent; parent.type === 'suite'; parent = parent.parent) names.unshift(parent.name);
  return names.join(' ');
}

/** Whether `--pattern` selects this test: its file's path matched, or its full name does. */
export function isSelected(test: TestCase, wholeFile: boolean, pattern: RegExp | undefined): boolean {
  return wholeFile || pattern === undefined || pattern.test(matchableName(test));
}

export function relativeFile(root: string, moduleId: string): string {
  return path.relative(root, moduleId).split(path.sep).join('/');
}

/**
 * The files to run: every test file of the chosen categories whose path matches the pattern, plus files whose
 * path does not match but which declare a test whose name might (read statically, without running the file).
 * Those run with the pattern as Vitest's test-name filter, so only the matching tests in them run.
 */
export async function selectFiles(
  vitest: Vitest,
  root: string,
  categories: readonly Category[],
  pattern: RegExp | undefined,
): Promise<Selection> {
  const byName = new Map(categories.map((category) => [category.name, category]));
  const candidates: SelectedFile[] = [];
  for (const spec of await vitest.globTestSpecifications()) {
    const category = byName.get(spec.project.name);
    if (!category) continue;
    const file = relativeFile(root, spec.moduleId);
    candidates.push({ spec, category, file, wholeFile: pattern === undefined || pattern.test(file) });
  }

  const byNameOnly = candidates.filter((candidate) => !candidate.wholeFile);
  const parsed =
    byNameOnly.length > 0
      ? await parseStatically(
          vitest,
          byNameOnly.map((candidate) => candidate.spec),
        )
      : new Map<string, TestModule>();
  const files = candidates.filter((candidate) => {
    if (candidate.wholeFile || !pattern) return true;
    const module = parsed.get(moduleKey(candidate.spec));
    if (!module || !mayMatchByName(module, pattern)) return false;
    candidate.spec.testNamePattern = pattern;
    return true;
  });
  // the categories' order is the config's, and so is the run's
  const order = new Map(categories.map((category, index) => [category.name, index]));
  files.sort(
    (a, b) => (order.get(a.category.name) ?? 0) - (order.get(b.category.name) ?? 0) || a.file.localeCompare(b.file),
  );
  return { categories, files, pattern, known: candidates.map((candidate) => candidate.spec) };
}

/** Test counts per category as `--list-categories` prints them: read statically, a `test.each` counts once. */
export async function countTests(
  vitest: Vitest,
  selection: Selection,
): Promise<Map<string, { files: number; tests: number }>> {
  const counts = new Map(selection.categories.map((category) => [category.name, { files: 0, tests: 0 }]));
  const parsed = await parseStatically(
    vitest,
    selection.files.map((file) => file.spec),
  );
  for (const file of selection.files) {
    const entry = counts.get(file.category.name);
    const module = parsed.get(moduleKey(file.spec));
    if (!entry || !module) continue;
    entry.files += 1;
    for (const test of module.children.allTests())
      if (isSelected(test, file.wholeFile, selection.pattern)) entry.tests += 1;
  }
  return counts;
}

async function parseStatically(vitest: Vitest, specs: TestSpecification[]): Promise<Map<string, TestModule>> {
  const modules = await vitest.experimental_parseSpecifications(specs);
  return new Map(modules.map((module) => [`${module.project.name}\0${module.moduleId}`, module]));
}

function moduleKey(spec: TestSpecification): string {
  return `${spec.project.name}\0${spec.moduleId}`;
}

/**
 * A statically read file may hold a matching test: one whose literal name matches, one whose name is only known
 * at run time (`test.each`, template literals, expressions), or the file could not be read statically at all.
 */
function mayMatchByName(module: TestModule, pattern: RegExp): boolean {
  if (module.state() === 'failed') return true;
  for (const test of module.children.allTests()) {
    if (pattern.test(matchableName(test))) return true;
    if (test.options.each || /\$\{|%[sdifjo#]/.test(test.name)) return true;
  }
  for (const suite of module.children.allSuites()) if (suite.options.each || suite.name.includes('${')) return true;
  return false;
}
