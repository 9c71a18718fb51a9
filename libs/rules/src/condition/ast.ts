/**
 * The syntax tree of a Falco condition. Every node carries the span of text it
 * came from, as offsets into the condition string, so later stages (macro and
 * list resolution, field checks, compilation) can report where a problem is.
 *
 * Macro references stay as `identifier` nodes until the resolver replaces them;
 * list names inside `(...)` stay as plain values until list expansion.
 */
export interface Span {
  /** Offset of the first character, 0-based, into the condition text. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
}

export type Expr = AndExpr | OrExpr | NotExpr | IdentifierExpr | BinaryCheck | UnaryCheck;

interface AndExpr {
  readonly kind: 'and';
  readonly children: readonly Expr[];
  readonly span: Span;
}

interface OrExpr {
  readonly kind: 'or';
  readonly children: readonly Expr[];
  readonly span: Span;
}

interface NotExpr {
  readonly kind: 'not';
  readonly child: Expr;
  readonly span: Span;
}

/** A bare word in boolean position: a macro reference, resolved later. */
interface IdentifierExpr {
  readonly kind: 'identifier';
  readonly name: string;
  readonly span: Span;
}

/** The operators that test a string against a string pattern (a substring, prefix, glob or regex). */
export const PATTERN_OPERATORS = [
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
] as const;

export const BINARY_OPERATORS = [
  '=',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  ...PATTERN_OPERATORS,
  'in',
  'intersects',
  'pmatch',
] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

const UNARY_OPERATORS = ['exists'] as const;
type UnaryOperator = (typeof UNARY_OPERATORS)[number];

export interface BinaryCheck {
  readonly kind: 'binary';
  readonly left: FieldOperand;
  readonly op: BinaryOperator;
  /**
   * Set when the operator carries a list modifier (`oneof`, `anyof`, `allof`),
   * written after the operator: `proc.name startswith anyof (a, b)`. It says how
   * many of the right side's values the left value must match (exactly one, at
   * least one, every one); the right side is then a list.
   */
  readonly modifier?: ListModifier;
  readonly right: ValueOperand;
  readonly span: Span;
}

export const LIST_MODIFIERS = ['oneof', 'anyof', 'allof'] as const;
export type ListModifier = (typeof LIST_MODIFIERS)[number];

interface UnaryCheck {
  readonly kind: 'unary';
  readonly left: FieldOperand;
  readonly op: UnaryOperator;
  readonly span: Span;
}

export type FieldOperand = FieldRef | TransformerCall;

/** `proc.aname[2]`, `evt.arg.flags`, `ka.req.pod.volumes.hostpath[/etc]`. */
export interface FieldRef {
  readonly kind: 'field';
  /** The field's name without its argument: `proc.aname`, `evt.arg`. */
  readonly name: string;
  /** The argument, unquoted, from `[arg]` or from the dotted form `evt.arg.flags`. */
  readonly arg?: string;
  /** The text as written, for messages and output keys: `proc.aname[2]`. */
  readonly raw: string;
  readonly span: Span;
}

export const TRANSFORMERS = [
  'tolower',
  'toupper',
  'b64',
  'basename',
  'len',
  'join',
  'concat',
  'getopt',
] as const;
export type TransformerName = (typeof TRANSFORMERS)[number];

/** `tolower(proc.name)`, `concat(proc.name, "-", proc.pname)`. */
export interface TransformerCall {
  readonly kind: 'transform';
  readonly name: TransformerName;
  /** Fields, further transformer calls, or (for join/concat/getopt) literal values. */
  readonly args: readonly (FieldOperand | ValueLiteral)[];
  /**
   * The argument written after the call, as in `getopt(proc.args, "u:")[u]`
   * (only `getopt` takes one).
   */
  readonly arg?: string;
  readonly span: Span;
}

export type ValueOperand = ValueLiteral | ValueList | FieldValueRef;

export interface ValueLiteral {
  readonly kind: 'value';
  /** The value with quotes removed and escapes applied. */
  readonly value: string;
  /** Whether it was written in quotes: a quoted word is never a list name. */
  readonly quoted: boolean;
  readonly span: Span;
}

/** `(a, b, "c d")`, the right side of `in`, `intersects` and `pmatch`. */
export interface ValueList {
  readonly kind: 'list';
  readonly items: readonly ValueLiteral[];
  readonly span: Span;
}

/** `val(proc.pname)`: compare against another field of the same event. */
export interface FieldValueRef {
  readonly kind: 'val';
  readonly field: FieldOperand;
  readonly span: Span;
}
