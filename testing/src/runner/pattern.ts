/**
 * `--pattern` as one case-insensitive RegExp, applied to test file paths (relative to the root, `/`-separated)
 * and to full test names ("describe > test" as Vitest spells them).
 *
 * - `*` matches any run of characters (`/` included), `?` exactly one;
 * - `_`, `-` and whitespace are alike, and a separator in the pattern may also match nothing, so
 *   `session_metrics` matches `session_metrics`, `session-metrics`, `session metrics` and `SessionMetrics`;
 * - a pattern with a wildcard must match the whole path or name; one without (`session_metrics`) matches
 *   anywhere in it, as if written `*session_metrics*`.
 */
export function compilePattern(pattern: string): RegExp {
  const anchored = /[*?]/.test(pattern);
  let source = '';
  let previousWasSeparator = false;
  for (const char of pattern) {
    const isSeparator = /[-_\s]/.test(char);
    if (isSeparator) {
      if (!previousWasSeparator) source += '[-_\\s]*';
    } else if (char === '*') {
      source += '.*';
    } else if (char === '?') {
      source += '.';
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
    previousWasSeparator = isSeparator;
  }
  return new RegExp(anchored ? `^${source}$` : source, 'is');
}
