/**
 * Small parsers for the text of single Python statements. The extractor asks the native tree for a node's
 * text once and reads its parts here: one crossing into native code instead of one per field.
 */

/** A dotted name: `a`, `a.b.c` */
export const DOTTED = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;

/** Index of each top-level occurrence of `char` (outside brackets and string literals). */
function topLevel(text: string, accept: (i: number) => boolean, first = false): number[] {
  const found: number[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const end = triple ? text.indexOf(c.repeat(3), i + 3) : findQuoteEnd(text, i, c);
      if (end < 0) return found;
      i = triple ? end + 2 : end;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return found;
      i = nl;
    } else if (depth === 0 && accept(i)) {
      found.push(i);
      if (first) return found;
    }
  }
  return found;
}

function findQuoteEnd(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === quote || c === '\n') return i;
  }
  return -1;
}

export function splitTopLevel(text: string, sep: string): string[] {
  const cuts = topLevel(text, (i) => text[i] === sep);
  const parts: string[] = [];
  let last = 0;
  for (const c of cuts) {
    parts.push(text.slice(last, c));
    last = c + 1;
  }
  parts.push(text.slice(last));
  return parts;
}

/** `a = b = value`, `x: T = value`, `x: T`: the targets, the annotation and the value. */
export function assignmentParts(text: string): { targets: string[]; type: string | null; value: string | null } {
  const eqs = topLevel(
    text,
    (i) => text[i] === '=' && text[i + 1] !== '=' && !'=<>!:+-*/%&|^@'.includes(text[i - 1] ?? ''),
  );
  const segments: string[] = [];
  let last = 0;
  for (const e of eqs) {
    segments.push(text.slice(last, e));
    last = e + 1;
  }
  segments.push(text.slice(last));
  const value = segments.length > 1 ? segments.pop()!.trim() : null;
  let type: string | null = null;
  const targets = segments.map((s, i) => {
    if (i !== 0) return s.trim();
    const colon = topLevel(s, (j) => s[j] === ':');
    if (colon.length === 0) return s.trim();
    type = s.slice(colon[0]! + 1).trim();
    return s.slice(0, colon[0]).trim();
  });
  return { targets, type, value };
}

const CALLEE = /^([A-Za-z_][\w.]*)\s*\(/;

/** The callee when `value` is exactly one call of a dotted name: `Foo(…)`, `pkg.make(…)`. */
export function singleCall(value: string): string | null {
  const m = CALLEE.exec(value);
  if (!m) return null;
  let depth = 0;
  const open = m[0].length - 1;
  for (let i = open; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"' || c === "'") {
      const triple = value.startsWith(c.repeat(3), i);
      const end = triple ? value.indexOf(c.repeat(3), i + 3) : findQuoteEnd(value, i, c);
      if (end < 0) return null;
      i = triple ? end + 2 : end;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return value.slice(i + 1).trim() === '' ? m[1]! : null;
    }
  }
  return null;
}

/** Names a target list binds: `a`, `a, b`, `(a, *b)`; attributes and subscripts bind nothing. */
/**
 * `a, b = X(), Y()` (brackets allowed on either side): the callee at each position when the target is a flat tuple of
 * names and the value a tuple of as many single calls; null otherwise.
 */
export function unpackedCalls(target: string, value: string | null): (string | null)[] | null {
  if (value === null) return null;
  const strip = (t: string): string => t.trim().replace(/^[([]\s*([\s\S]*?)\s*[)\]]$/, '$1');
  const names = splitTopLevel(strip(target), ',').map((t) => t.trim());
  if (names.length < 2 || !names.every((t) => /^[A-Za-z_]\w*$/.test(t))) return null;
  const values = splitTopLevel(strip(value), ',').map((v) => v.trim());
  if (values.length !== names.length) return null;
  return values.map(singleCall);
}

export function targetNames(text: string): string[] {
  const names: string[] = [];
  for (const part of text.replace(/[()[\]*]/g, ' ').split(',')) {
    const t = part.trim();
    if (/^[A-Za-z_]\w*$/.test(t)) names.push(t);
  }
  return names;
}

export interface Parameter {
  readonly name: string;
  readonly type: string | null;
}

/** `(self, m: "Foo", *a, n: int = 2, **k)` → names with annotations. */
export function parameters(text: string): Parameter[] {
  const inner = text.trim().replace(/^\(/, '').replace(/\)$/, '');
  const out: Parameter[] = [];
  for (const raw of splitTopLevel(inner, ',')) {
    // a comment in the list (`def f(  # noqa: E501` then `self,` on the next line) belongs to no parameter
    const part = withoutComments(raw)
      .trim()
      .replace(/^\*{1,2}/, '');
    if (part === '' || part === '/') continue;
    const eq = topLevel(part, (i) => part[i] === '=');
    const head = eq.length > 0 ? part.slice(0, eq[0]) : part;
    const colon = topLevel(head, (i) => head[i] === ':');
    const name = (colon.length > 0 ? head.slice(0, colon[0]) : head).trim();
    if (!/^[A-Za-z_]\w*$/.test(name)) continue;
    out.push({ name, type: colon.length > 0 ? head.slice(colon[0]! + 1).trim() : null });
  }
  return out;
}

export interface ParsedImport {
  readonly module: string;
  readonly name: string | null;
  readonly local: string;
}

/** `import a.b as c, d` and `from .x import (Y as Z, W)`. */
export function parseImport(text: string): ParsedImport[] {
  const flat = text
    .replace(/#[^\n]*/g, '')
    .replace(/\\\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const out: ParsedImport[] = [];
  const from = /^from\s+(\S+)\s+import\s+(.*)$/.exec(flat);
  if (from) {
    const module = from[1]!;
    for (const item of from[2]!.replace(/[()]/g, '').split(',')) {
      const m = /^\s*([\w*]+)(?:\s+as\s+(\w+))?\s*$/.exec(item);
      if (m) out.push({ module, name: m[1]!, local: m[2] ?? m[1]! });
    }
    return out;
  }
  const plain = /^import\s+(.*)$/.exec(flat);
  if (plain) {
    for (const item of plain[1]!.split(',')) {
      const m = /^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$/.exec(item);
      if (m) out.push({ module: m[1]!, name: null, local: m[2] ?? m[1]!.split('.')[0]! });
    }
  }
  return out;
}

/** Index just past the bracket group that opens at `open`, skipping strings and comments; -1 when it does not close. */
function closeBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const end = triple ? text.indexOf(c.repeat(3), i + 3) : findQuoteEnd(text, i, c);
      if (end < 0) return -1;
      i = triple ? end + 2 : end;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    } else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return -1;
      i = nl;
    }
  }
  return -1;
}

/** whitespace and backslash continuations from `i` */
function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') i++;
    else if (c === '\\' && (text[i + 1] === '\n' || text[i + 1] === '\r')) i += 2;
    else return i;
  }
}

export interface DefinitionHeader {
  readonly name: string;
  readonly async: boolean;
  /** the parameter list with its parentheses (functions), or the superclass list without them (classes; null: none) */
  readonly list: string | null;
  /** the return annotation (functions) */
  readonly returns: string | null;
  /** characters from the start of the statement to the end of its header (its colon): the body comes after */
  readonly length: number;
}

const HEADER = /^(async[ \t]+)?(def|class)[ \t]+([^\s([:\\]+)/;

/**
 * The header of a `def` or `class` statement read from its text: name, parameter or superclass list and return
 * annotation. Null when the text has a shape this reader does not handle (the caller then asks the tree).
 */
export function definitionHeader(text: string): DefinitionHeader | null {
  const m = HEADER.exec(text);
  if (!m) return null;
  const isDef = m[2] === 'def';
  if (!isDef && m[1]) return null;
  let i = skipSpace(text, m[0].length);
  if (text[i] === '[') {
    const end = closeBracket(text, i);
    if (end < 0) return null;
    i = skipSpace(text, end);
  }
  let list: string | null = null;
  if (text[i] === '(') {
    const end = closeBracket(text, i);
    if (end < 0) return null;
    list = isDef ? text.slice(i, end) : text.slice(i + 1, end - 1);
    i = skipSpace(text, end);
  } else if (isDef) return null;
  let returns: string | null = null;
  if (isDef && text.startsWith('->', i)) {
    const rest = text.slice(i + 2);
    const colon = topLevel(rest, (j) => rest[j] === ':', true);
    if (colon.length === 0) return null;
    returns = rest.slice(0, colon[0]).trim();
    if (returns === '' || returns.includes('\n') || returns.includes('lambda')) return null;
    i = i + 2 + colon[0]!;
  }
  if (text[i] !== ':') return null;
  return { name: m[3]!, async: m[1] !== undefined, list, returns, length: i + 1 };
}

/** `x  # note` → `x`: comments removed, strings kept. */
export function withoutComments(text: string): string {
  if (!text.includes('#')) return text;
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const end = triple ? text.indexOf(c.repeat(3), i + 3) : findQuoteEnd(text, i, c);
      if (end < 0) break;
      i = triple ? end + 2 : end;
    } else if (c === '#') {
      out += text.slice(last, i);
      const nl = text.indexOf('\n', i);
      last = nl < 0 ? text.length : nl;
      i = last - 1;
    }
  }
  return out + text.slice(last);
}

/** The target of `for TARGET in …` (a for statement or comprehension clause), or null. */
export function forTarget(text: string): string | null {
  const m = /^(?:async\s+)?for\b/.exec(text);
  if (!m) return null;
  const rest = text.slice(m[0].length);
  const isWord = (c: string | undefined): boolean => c !== undefined && /[\w\u0080-\uffff]/.test(c);
  const cut = topLevel(
    rest,
    (i) => rest[i] === 'i' && rest[i + 1] === 'n' && !isWord(rest[i - 1]) && !isWord(rest[i + 2]),
    true,
  );
  if (cut.length === 0) return null;
  return rest.slice(0, cut[0]).trim();
}

const OPENERS = '([{';
const CLOSERS = ')]}';

/**
 * Walks a Python source's brackets, skipping string literals and comments. `blank(start, end)`, when given, is called
 * for what Python's tokenizer ignores inside brackets: comments, line breaks and the backslashes that continue a
 * line. Returns whether every bracket closes in order and every string literal ends.
 */
function walkBrackets(source: string, blank: ((start: number, end: number) => void) | null): boolean {
  const stack: number[] = [];
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source.charCodeAt(i);
    if (c === 34 || c === 39) {
      // " or '
      const triple = source.charCodeAt(i + 1) === c && source.charCodeAt(i + 2) === c;
      let j = triple ? i + 3 : i + 1;
      for (;;) {
        if (j >= n) return false;
        const d = source.charCodeAt(j);
        if (d === 92)
          j += 2; // backslash
        else if (d === c && (!triple || (source.charCodeAt(j + 1) === c && source.charCodeAt(j + 2) === c))) break;
        else if (d === 10 && !triple) return false;
        else j++;
      }
      i = triple ? j + 2 : j;
    } else if (c === 35) {
      // #
      const nl = source.indexOf('\n', i);
      if (blank && stack.length > 0) blank(i, nl < 0 ? n : nl);
      if (nl < 0) break;
      i = nl - 1; // the line break is looked at next
    } else if (c === 40 || c === 91 || c === 123) stack.push(OPENERS.indexOf(source[i]!));
    else if (c === 41 || c === 93 || c === 125) {
      if (stack.pop() !== CLOSERS.indexOf(source[i]!)) return false;
    } else if (blank && (c === 10 || c === 13) && stack.length > 0) {
      // a backslash before the break continues the line: redundant inside brackets, and alone it would be an error
      blank(source.charCodeAt(i - 1) === 92 ? i - 1 : i, i + 1);
    }
  }
  return stack.length === 0;
}

/**
 * Whether every bracket in a Python source closes in order and every string literal ends (comments and string
 * contents are skipped). Cheap; used to decide whether to search the tree for tokens tree-sitter inserted.
 */
export function bracketsBalance(source: string): boolean {
  return walkBrackets(source, null);
}

/**
 * The source as Python's tokenizer reads it inside brackets (implicit line joining): comments, line breaks and line
 * continuations there become spaces, so every string index stays where it was. A line continued inside brackets may
 * be indented less than its block (`(bar.` then `baz)` at the left margin), which Python ignores and
 * tree-sitter-python's scanner takes for a dedent; the source is the same when nothing is to be joined.
 */
export function joinBracketedLines(source: string): string {
  const parts: string[] = [];
  let last = 0;
  walkBrackets(source, (start, end) => {
    const from = Math.max(start, last); // a comment's trailing backslash is blanked with the comment already
    parts.push(source.slice(last, from), ' '.repeat(end - from));
    last = end;
  });
  if (parts.length === 0) return source;
  parts.push(source.slice(last));
  return parts.join('');
}
