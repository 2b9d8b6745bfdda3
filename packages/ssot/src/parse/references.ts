/**
 * Where a class mentions a namesake: `class User(ModelObjectType): class Meta: model = models.User`, a field typed
 * `models.User`, `UserModel(...)` after `from app.models import User as UserModel`. The model resolves each name
 * found here; one that resolves to another definition of the same name makes the two a projection, not a copy.
 */
const isIdentifierChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36;

/** Dotted names in `text` that end with `name` or one of `aliases` (whole identifiers), deduplicated, in order. */
export function namesakeReferences(text: string, name: string, aliases: readonly string[]): string[] {
  const found = new Set<string>();
  for (const wanted of [name, ...aliases]) {
    for (let i = text.indexOf(wanted); i >= 0; i = text.indexOf(wanted, i + 1)) {
      const end = i + wanted.length;
      if (end < text.length && isIdentifierChar(text.charCodeAt(end))) continue;
      if (i > 0 && isIdentifierChar(text.charCodeAt(i - 1))) continue;
      // the qualifier before it: `models.User`, `a . b . User`
      let start = i;
      for (;;) {
        let j = start - 1;
        while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
        if (j < 0 || text[j] !== '.') break;
        j--;
        while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
        let k = j;
        while (k >= 0 && isIdentifierChar(text.charCodeAt(k))) k--;
        if (k === j || /^\d/.test(text[k + 1]!)) break;
        start = k + 1;
      }
      found.add(text.slice(start, end).replace(/\s+/g, ''));
    }
  }
  return [...found];
}
