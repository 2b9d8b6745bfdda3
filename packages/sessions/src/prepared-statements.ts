/**
 * Names for parameterized statements (none with `capacity` 0: behind a transaction-mode pooler, where a named
 * statement would outlive its transaction on a server connection other clients share), so that each distinct text is
 * planned once per connection (Row-Level
 * Security makes planning the larger part of a small statement's cost). A name is stable for a text (a hash of
 * it), so every connection of the pool agrees on it; past `capacity` distinct texts (each costs server memory
 * on every connection), and for the second text of a hash collision, statements go unnamed (planned each time).
 */
export class PreparedStatementRegistry {
  private readonly names = new Map<string, string>();
  private readonly taken = new Set<string>();

  constructor(private readonly capacity = 1_000) {}

  /** The prepared-statement name for `text`, or undefined to send it unnamed. */
  nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name !== undefined || this.names.size >= this.capacity) return name;
    name = `tether_${fnv1a(text)}`;
    if (this.taken.has(name)) return undefined; // a hash collision: the second text goes unnamed
    this.names.set(text, name);
    this.taken.add(name);
    return name;
  }
}

/** 32-bit FNV-1a of a statement's text, in base 36: a short, stable prepared-statement name. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}
