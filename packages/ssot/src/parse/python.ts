/**
 * Python extraction, one phase per module under python/: parse and collect nodes (tree), definitions and their
 * nesting (structure), scopes and their bindings' kinds (scopes), what each statement binds (bindings), sure types
 * and escapes (receivers), reads and stores (reads); then the classes as the summary gives them (here).
 */
import type { ClassInfo, FileSummary, ImportInfo } from './summary.js';
import { failedSummary } from './summary.js';
import { isGenerated } from './generated.js';
import { namesakeReferences } from './references.js';
import { countLines, findSuppressions } from './suppressions.js';
import { collectBindings } from './python/bindings.js';
import { collectAccesses } from './python/reads.js';
import { collectEscapes, typedReceivers } from './python/receivers.js';
import { buildScopes } from './python/scopes.js';
import { readStructure } from './python/structure.js';
import type { Structure } from './python/structure.js';
import { parsePython, sourceText } from './python/tree.js';

export function extractPython(path: string, source: string): FileSummary {
  const lines = countLines(source);
  const suppressions = findSuppressions(source, '#');
  const parsed = parsePython(source);
  if (parsed.error !== null) {
    return failedSummary({
      path,
      language: 'python',
      lines,
      parseError: parsed.error,
      generated: isGenerated(source),
      suppressions,
    });
  }
  const text = sourceText(source);
  const structure = readStructure(text, parsed.raw);
  const scopes = buildScopes(text, structure);
  const bindings = collectBindings(text, parsed.raw, structure, scopes);
  const receivers = typedReceivers(scopes.scopes);
  const { reads, writes, assignedAttributes, fieldStores, parameterStores, argumentCalls, qualifiedNames } =
    collectAccesses(text, structure, scopes, bindings, receivers);
  // escapes note receivers too, so the scopes are read after them
  const escapes = collectEscapes(
    source,
    scopes.scopeAt,
    receivers,
    structure.classDrafts.map((d) => d.info.name),
  );
  return {
    path,
    language: 'python',
    lines,
    parseError: null,
    classes: classResults(source, structure, scopes.scopeAt, bindings.imports),
    imports: [...bindings.imports],
    functions: [...scopes.functions],
    scopes: receivers.scopeInfos(),
    reads,
    writes,
    assignedAttributes,
    fieldStores,
    fieldValues: bindings.fieldValues,
    parameterStores,
    argumentCalls,
    escapes,
    qualifiedNames,
    generated: isGenerated(source),
    suppressions,
  };
}

/** The class drafts as the summary gives them: qualified names, scopes, and references to namesakes. */
function classResults(
  source: string,
  { classDrafts, classRanges }: Structure,
  scopeAt: (index: number) => number,
  imports: readonly ImportInfo[],
): ClassInfo[] {
  const slice = (start: number, end: number): string => source.slice(start, end);
  const qualname = (i: number): string => {
    const d = classDrafts[i]!;
    return d.parentClass >= 0 ? `${qualname(d.parentClass)}.${d.info.name}` : d.info.name;
  };
  return classDrafts.map((d, i) => {
    const topLevel = d.parentClass < 0 && !d.insideFunction;
    const name = d.info.name;
    const aliases = topLevel
      ? imports.filter((imp) => imp.name === name && imp.local !== name).map((imp) => imp.local)
      : [];
    return {
      scope: d.parentClass >= 0 ? -1 : scopeAt(classRanges[i]!.start),
      // only top-level classes are compared with their namesakes
      references: topLevel ? namesakeReferences(slice(classRanges[i]!.start, classRanges[i]!.end), name, aliases) : [],
      ...d.info,
      qualname: qualname(i),
      methods: d.methods,
      instanceAttributes: [...d.instanceAttributes.entries()].map(([name, type]) => ({ name, type })),
      instanceAttributeTypes: d.instanceAttributeTypes,
      topLevel,
      exported: topLevel && !d.info.name.startsWith('_'),
    };
  });
}
