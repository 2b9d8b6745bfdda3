/**
 * What a worker thread extracts from one source file: plain data, cheap to send between threads.
 * Nothing here is resolved across files; that happens in model/ on the main thread.
 */

export type Language = 'python' | 'typescript' | 'javascript';

/** Where a receiver's type comes from, before resolution: an annotation's text or a call's callee. */
export type TypeSource =
  | { readonly kind: 'annotation'; readonly text: string }
  | { readonly kind: 'call'; readonly callee: string }
  /** a call of a value whose annotation is `text` (an instance: its `__call__`'s return type; `type[X]`: an X) */
  | { readonly kind: 'called'; readonly text: string };

export type ClassKind =
  | 'class'
  | 'dataclass'
  | 'pydantic'
  | 'typeddict'
  | 'namedtuple'
  | 'enum'
  | 'protocol'
  | 'interface'
  | 'type'
  | 'ts-enum';

export interface FieldInfo {
  readonly name: string;
  /** declared type's text, or null */
  readonly type: string | null;
}

export interface MethodInfo {
  readonly name: string;
  readonly async: boolean;
  /** return annotation's text, or null */
  readonly returns: string | null;
}

export interface ClassInfo {
  readonly name: string;
  /** dotted path inside the module, `Outer.Inner` for nested classes */
  readonly qualname: string;
  readonly kind: ClassKind;
  readonly line: number;
  readonly column: number;
  /** bases as written (dotted names, subscripts stripped) */
  readonly bases: readonly string[];
  readonly fields: readonly FieldInfo[];
  readonly methods: readonly MethodInfo[];
  readonly properties: readonly string[];
  readonly nested: readonly string[];
  /** instance attributes assigned on `self` in any method, with the constructor or annotation they come from */
  readonly instanceAttributes: readonly FieldInfo[];
  readonly instanceAttributeTypes: readonly { readonly name: string; readonly source: TypeSource }[];
  /** `__getattr__`, `setattr(self, …)`, index signatures, unknown decorators or metaclasses */
  readonly dynamic: boolean;
  /** a method passes `self` to a call (`self.blueprint.start(self)`): code the scanner does not follow may set
   *  attributes on its instances */
  readonly selfEscapes: boolean;
  /** its docstring calls it a mixin: the classes it is combined with complete it (Python) */
  readonly documentedMixin: boolean;
  /** top-level (Python) or exported (TypeScript/JavaScript) */
  readonly exported: boolean;
  readonly topLevel: boolean;
  /** the scope (index into FileSummary.scopes) whose name the class statement binds; -1 inside a class body */
  readonly scope: number;
  /** dotted names in the class body that may name a namesake: its own name, or a local alias of an import of it */
  readonly references: readonly string[];
}

/** One imported binding. `name` null means `import a.b [as c]`. */
export interface ImportInfo {
  /** module as written: dotted (Python, leading dots for relative) or a specifier (TS/JS) */
  readonly module: string;
  readonly name: string | null;
  /** local name it binds */
  readonly local: string;
  readonly line: number;
  readonly column: number;
  readonly typeOnly: boolean;
}

/** An attribute read `receiver.attribute` where the receiver's type may be known. */
export interface AttributeRead {
  /** `m`, `self`, `self.metrics` */
  readonly receiver: string;
  readonly attribute: string;
  readonly line: number;
  readonly column: number;
  /** index into FileSummary.scopes */
  readonly scope: number;
}

export interface ScopeInfo {
  /** qualified name of the function (`Class.method`) or `<module>` */
  readonly name: string;
  /** index into classes of the class whose `self`/`cls` this scope has, or -1 */
  readonly selfClass: number;
  readonly selfName: string | null;
  /** the enclosing function's scope (class bodies are skipped, as in Python), -1 for the module */
  readonly parent: number;
  /** receivers with one sure type in this scope */
  readonly receivers: readonly { readonly name: string; readonly source: TypeSource }[];
}

export interface FunctionInfo {
  readonly name: string;
  readonly returns: string | null;
}

export interface FileSummary {
  /** path relative to the scan root, with forward slashes */
  readonly path: string;
  readonly language: Language;
  readonly lines: number;
  readonly parseError: string | null;
  readonly classes: readonly ClassInfo[];
  readonly imports: readonly ImportInfo[];
  /** module-level functions (Python) or exported functions (TS/JS) */
  readonly functions: readonly FunctionInfo[];
  readonly scopes: readonly ScopeInfo[];
  readonly reads: readonly AttributeRead[];
  /** attribute assignments on receivers whose type may be known: they add the attribute to that class */
  readonly writes: readonly AttributeRead[];
  /** attribute names assigned on receivers of unknown type anywhere in the file: such names may be set from outside,
   *  on any class in JavaScript, on classes whose instances escape (`selfEscapes`) in Python */
  readonly assignedAttributes: readonly string[];
  /** attributes stored through a field on receivers of unknown type (`cls._dispatch_target.dispatch = …`): they may
   *  land on any class or instance stored in a field of that name */
  readonly fieldStores: readonly { readonly field: string; readonly attribute: string }[];
  /** classes (`_dispatch_target = Factory`) and instances (`self.policy = Policy()`) stored in a field, by dotted
   *  name as written, with the scope it is written in */
  readonly fieldValues: readonly {
    readonly field: string;
    readonly name: string;
    readonly instance: boolean;
    readonly scope: number;
  }[];
  /** attributes a module-level function stores on one of its parameters (`def get(root): root._engine = …`) */
  readonly parameterStores: readonly { readonly function: string; readonly attribute: string }[];
  /** receivers of a sure type handed to a call in their scope (`se.get(root)`), with the callee as written */
  readonly argumentCalls: readonly { readonly scope: number; readonly name: string; readonly callee: string }[];
  /** dotted names whose class object escapes (call argument, `type()` bases, `__bases__`, `setattr` with a computed
   *  name), each with the scope it appears in */
  readonly escapes: readonly { readonly name: string; readonly scope: number }[];
  /** the names written through an imported module, anywhere in the file: Python's dotted names rooted at an import
   *  (`rsf.SessionMetrics`, `pip._internal.resolution.legacy.resolver.Resolver`), TypeScript's and JavaScript's
   *  members of a namespace or default import (`models.User`): the classes it may name through a module */
  readonly qualifiedNames: readonly string[];
  /** a header says the file is generated (`@generated`, `DO NOT EDIT`, `Generated by …`) */
  readonly generated: boolean;
  /** line → rules suppressed there (empty list: every rule) */
  readonly suppressions: readonly (readonly [number, readonly string[]])[];
}

/** The summary of a file that could not be read or parsed: what is known about it, and nothing to analyse. */
export function failedSummary(
  file: Pick<FileSummary, 'path' | 'language' | 'lines' | 'parseError'> &
    Partial<Pick<FileSummary, 'generated' | 'suppressions'>>,
): FileSummary {
  return {
    classes: [],
    imports: [],
    functions: [],
    scopes: [],
    reads: [],
    writes: [],
    assignedAttributes: [],
    fieldStores: [],
    fieldValues: [],
    parameterStores: [],
    argumentCalls: [],
    escapes: [],
    qualifiedNames: [],
    generated: false,
    suppressions: [],
    ...file,
  };
}
