/**
 * Inline suppressions: `# ssot: ignore[rule, …]` (Python) and `// ssot-ignore rule …` (TypeScript/JavaScript).
 * A suppression on a line of its own applies to the next line; without rules it silences every rule.
 */

export function countLines(source: string): number {
  if (source.length === 0) return 0;
  let n = 1;
  let i = -1;
  while ((i = source.indexOf('\n', i + 1)) >= 0) n++;
  return source.endsWith('\n') ? n - 1 : n;
}

const PYTHON = /#\s*ssot:\s*ignore(?:\[([^\]]*)\])?/;
const SCRIPT = /\/\/\s*ssot-ignore\b([ \t\w,-]*)/;

export function findSuppressions(source: string, comment: '#' | '//'): (readonly [number, readonly string[]])[] {
  if (!source.includes('ssot')) return [];
  const found: (readonly [number, readonly string[]])[] = [];
  const pattern = comment === '#' ? PYTHON : SCRIPT;
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('ssot')) continue;
    const m = pattern.exec(line);
    if (!m) continue;
    const rules = (m[1] ?? '').split(/[\s,]+/).filter((r) => r.length > 0);
    const ownLine = line.trimStart().startsWith(comment);
    found.push([ownLine ? i + 2 : i + 1, rules]);
  }
  return found;
}
