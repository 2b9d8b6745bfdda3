/**
 * Where a class mentions a namesake: `class User(ModelObjectType): class Meta: model = models.User`, a field typed
 * `models.User`, `UserModel(...)` after `from app.models import User as UserModel`. The model resolves each name
 * found here; one that resolves to another definition of the same name makes the two a projection, not a copy.
 */
const cache = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Dotted names in `text` that end with `name` or one of `aliases` (whole identifiers), deduplicated, in order. */
export function namesakeReferences(text: string, name: string, aliases: readonly string[]): string[] {
  const wanted = [name, ...aliases];
  const key = wanted.join('|');
  let pattern = cache.get(key);
  if (!pattern) {
    if (cache.size > 1000) cache.clear();
    pattern = new RegExp(`(?<![\\w$.])((?:[A-Za-z_$][\\w$]*\\s*\\.\\s*)*(?:${wanted.map(escapeRegExp).join('|')}))(?![\\w$])`, 'g');
    cache.set(key, pattern);
  }
  const found = new Set<string>();
  for (const m of text.matchAll(pattern)) found.add(m[1]!.replace(/\s+/g, ''));
  return [...found];
}
