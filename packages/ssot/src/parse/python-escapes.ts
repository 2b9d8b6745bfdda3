/**
 * Where a class object escapes, read from the source text: handed to a call, a base in `type()`, an element of a
 * literal, `__bases__`, `setattr` with a computed name (see escapingNames).
 */

/** Calls that only look at a class object they are given: it does not escape through them. */
/** (`setattr` only with a literal name: a computed one is an escape of its own, below) */
const INSPECTING_CALLEES = new Set([
  'isinstance',
  'issubclass',
  'super',
  'cast',
  'typing.cast',
  'type',
  'repr',
  'str',
  'id',
  'hash',
  'vars',
  'dir',
  'callable',
  'getattr',
  'hasattr',
  'setattr',
  'print',
  'len',
  'NewType',
  'typing.NewType',
  'TypeVar',
  'typing.TypeVar',
]);
/** Calls that build a class from a tuple of bases: every class in the tuple escapes into the new class. */
const CLASS_BUILDERS = new Set(['type', 'types.new_class', 'new_class']);
const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'is',
  'if',
  'elif',
  'else',
  'while',
  'for',
  'return',
  'yield',
  'await',
  'assert',
  'del',
  'lambda',
  'with',
  'except',
  'raise',
  'from',
  'import',
  'print',
  'exec',
]);
const SEARCH_BACK = 2000;

interface Opener {
  readonly index: number;
  readonly char: string;
  /** the dotted name right before the bracket (`f` in `f(`), or null */
  readonly before: string | null;
}

const isNameChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 46;

/** The index of the last character before `end` that is not a space or a tab (-1: none). */
function lastNonBlank(source: string, end: number): number {
  let j = end - 1;
  while (j >= 0 && (source[j] === ' ' || source[j] === '\t')) j--;
  return j;
}

/** The dotted name right before index `end` (spaces between allowed): `<definition>` for `def f`/`class C`, null for
 *  none or a keyword. Read backwards by character codes: this runs for every candidate argument. */
function nameBefore(source: string, end: number): string | null {
  const j = lastNonBlank(source, end);
  let k = j;
  while (k >= 0 && isNameChar(source.charCodeAt(k))) k--;
  const word = source.slice(k + 1, j + 1);
  if (word === '' || !/^[A-Za-z_]/.test(word)) return null;
  const m = lastNonBlank(source, k + 1);
  if (m < k && m >= 2) {
    const previous = source.slice(Math.max(0, m - 4), m + 1);
    if (/(?:^|[^\w])(?:def|class)$/.test(previous)) return '<definition>';
  }
  return KEYWORDS.has(word) ? null : word;
}

/** The innermost unclosed bracket before `index` (a bounded search that does not skip strings), or null. */
function openerBefore(source: string, index: number): Opener | null {
  let depth = 0;
  for (let i = index - 1; i >= 0 && i >= index - SEARCH_BACK; i--) {
    const c = source[i]!;
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[' || c === '{') {
      if (depth === 0) return { index: i, char: c, before: nameBefore(source, i) };
      depth--;
    }
  }
  return null;
}

/** a dotted name whose last part is capitalized, as class names are (leading underscores allowed: `_TestSlicing`) */
const CLASS_NAME = '(?:[A-Za-z_]\\w*\\.)*_*[A-Z]\\w*';
/** a name right after `(`, `[`, `{`, `,` or `:` and right before `,`, `)`, `]` or `}` */
const argumentPattern = (name: string): RegExp => new RegExp(`[([{,:]\\s*(${name})\\s*(?=[,)\\]}])`, 'g');
const CLASS_ARGUMENT = argumentPattern(CLASS_NAME);

/** Whether the bracket at `index` is the first thing after an assignment's `=` (not `==`, `<=`, `>=`, `!=`). */
function assignedAt(source: string, index: number): boolean {
  const j = lastNonBlank(source, index);
  return source[j] === '=' && !'=<>!'.includes(source[j - 1] ?? '');
}

/**
 * The call that receives the value at `index` (just after a `(`, `[` or `,`): its callee, whether the value sits
 * in a tuple or list that is itself the argument, or null when the value is not an argument of a call (a def's
 * parameters, class bases, a subscript, a literal outside any call).
 */
export function receivingCall(source: string, index: number): { callee: string; nested: boolean } | null {
  const opener = openerBefore(source, index);
  if (!opener) return null;
  // an element of a list, set or dict literal: stored where the scanner does not follow it
  if (opener.char === '{' || (opener.char === '[' && opener.before === null))
    return { callee: '<container>', nested: false };
  if (opener.before !== null)
    return opener.char === '(' && opener.before !== '<definition>' ? { callee: opener.before, nested: false } : null;
  // a tuple assigned to a name (`bases = (_TestCommon, _TestSlicing)`): stored where the scanner does not follow it
  if (opener.char === '(' && assignedAt(source, opener.index)) return { callee: '<container>', nested: false };
  // a bare tuple or list: the call it is passed to, if any
  const outer = openerBefore(source, opener.index);
  if (!outer || outer.char !== '(' || outer.before === null || outer.before === '<definition>') return null;
  return { callee: outer.before, nested: true };
}

/**
 * Class objects that escape where the scanner cannot follow them, each with its string index: a positional
 * argument of a call (`make_tests(Mixin)`, `type(name, (Mixin, TestCase), {})`), an element of a list, set or dict
 * literal (`{'subject': SubjectHeader}`, a registry), the receiver of a `__bases__`
 * assignment and the classes in its new bases, the target of `setattr` with a computed name, and every class of the
 * module (`*`) when its `globals()` are taken. Only names whose last part is capitalized, as class names
 * are; calls that only inspect a class (`isinstance`, `super`, …) are not escapes. A text-level search: names inside
 * strings count too, which can only make the scanner quieter.
 */
export function escapingNames(source: string, classNames: readonly string[] = []): { name: string; index: number }[] {
  const out: { name: string; index: number }[] = [];
  // the file's classes whose names are not capitalized (`_matrix`, `ivmpf`) are looked for by name
  const lower = classNames.filter((n) => !/^_*[A-Z]/.test(n) && /^[A-Za-z_]\w*$/.test(n));
  const pattern = lower.length > 0 ? argumentPattern(`${CLASS_NAME}|${lower.join('|')}`) : CLASS_ARGUMENT;
  for (const m of source.matchAll(pattern)) {
    // `'key': Type` in a dict; `name: Type` is taken for an annotation (cheaper than finding its bracket)
    if (
      source[m.index] === ':' &&
      (!/['"\])\d]\s*$/.test(source.slice(Math.max(0, m.index - 8), m.index)) ||
        openerBefore(source, m.index)?.char !== '{')
    ) {
      continue;
    }
    const call = receivingCall(source, m.index + 1);
    if (!call) continue;
    if (INSPECTING_CALLEES.has(call.callee) && !(call.nested && CLASS_BUILDERS.has(call.callee))) continue;
    out.push({ name: m[1]!, index: m.index });
  }
  if (source.includes('__bases__')) {
    // `X.__bases__ = (Base, Mixin)`, `X.__bases__ += (Mixin,)`: X and every class in the new bases
    for (const m of source.matchAll(/([A-Za-z_][\w.]*)\.__bases__\s*\+?=(?!=)([^\n]*)/g)) {
      out.push({ name: m[1]!, index: m.index });
      for (const b of m[2]!.matchAll(/(?<![\w.])((?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?![\w.(])/g))
        out.push({ name: b[1]!, index: m.index });
    }
  }
  // `globals()` hands the module's namespace, every class in it, to code the scanner does not follow
  if (/\bglobals\(\)/.test(source)) out.push({ name: '*', index: 0 });
  if (source.includes('setattr')) {
    for (const m of source.matchAll(/\bsetattr\(\s*([A-Za-z_][\w.]*)\s*,\s*(?!['"\s])/g))
      out.push({ name: m[1]!, index: m.index });
  }
  return out;
}

/** Whether `name` (a method's `self`) is passed as a positional argument of a call that does not only inspect it. */
export function passedToCall(text: string, name: string): boolean {
  if (!text.includes(name)) return false;
  const pattern = new RegExp(`[(,]\\s*${name}\\s*(?=[,)])`, 'g');
  for (const m of text.matchAll(pattern)) {
    const call = receivingCall(text, m.index + 1);
    if (call && !INSPECTING_CALLEES.has(call.callee)) return true;
  }
  return false;
}
