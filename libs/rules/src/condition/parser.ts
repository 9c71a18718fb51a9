import {
  BINARY_OPERATORS,
  type BinaryOperator,
  type Expr,
  type FieldOperand,
  type FieldRef,
  type FieldValueRef,
  LIST_MODIFIERS,
  type ListModifier,
  type Span,
  TRANSFORMERS,
  type TransformerCall,
  type TransformerName,
  type ValueList,
  type ValueLiteral,
  type ValueOperand,
} from './ast.js';
import {
  COMMA,
  LBRACKET,
  LPAREN,
  ParseError,
  RBRACKET,
  RPAREN,
  Scanner,
  isBlank,
  isNameChar,
} from './lexer.js';

/**
 * The parser of Falco conditions. Grammar, loosest binding first:
 *
 *   or        := and ('or' and)*
 *   and       := not ('and' not)*
 *   not       := ('not')* check
 *   check     := '(' or ')' | operand predicate | macro-name
 *   operand   := field | transformer '(' targ (',' targ)* ')' ['[' arg ']']
 *   field     := name-with-a-dot ['[' arg ']']
 *   predicate := 'exists'
 *              | ('<' | '<=' | '>' | '>=') (number | rhs-field)
 *              | string-op modifier (list | list-name)
 *              | string-op (quoted | bare | rhs-field)
 *              | ('in' | 'intersects' | 'pmatch') (list | list-name | rhs-field)
 *   rhs-field := 'val(' operand ')' | transformer '(' ... ')'
 *   modifier  := 'oneof' | 'anyof' | 'allof'
 *
 * Keywords (`and`, `or`, `not`, operators, modifiers) are case-sensitive.
 * `and`/`or`/`not` must be followed by a blank or `(`. Word operators must end
 * at a word boundary; `in (`, `in(` and `in list` all work.
 *
 * Modifiers are Falco's (libsinsp, 2026): `proc.name startswith anyof (a, b)`
 * is true when the name starts with at least one of the values; `oneof` wants
 * exactly one, `allof` every one. A modifier is recognised only after a blank,
 * and only when a list or list name follows that is not `and`/`or`/`not`, so
 * `proc.name = oneof` still compares with the word "oneof".
 */

export type ParseResult = { ok: true; expr: Expr } | { ok: false; message: string; offset: number };

/** Parses a condition. Never throws: any problem becomes `ok: false` with the offset where it is. */
export function parseCondition(text: string): ParseResult {
  if (typeof text !== 'string') return { ok: false, message: 'condition is not a string', offset: 0 };
  try {
    return { ok: true, expr: new Parser(text).parseAll() };
  } catch (err) {
    const offset = err instanceof ParseError ? Math.max(0, Math.min(err.offset, text.length)) : 0;
    const message =
      err instanceof ParseError
        ? err.message
        : err instanceof RangeError
          ? 'condition is too deeply nested'
          : `internal parser error: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, message, offset };
  }
}

/** How deep parentheses and transformer calls may nest; keeps the recursion far from the stack limit. */
const MAX_DEPTH = 200;

const SYMBOL_OPERATORS = ['==', '=', '!=', '<=', '<', '>=', '>'] as const;
const NUMERIC_OPERATORS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);
const LIST_OPERATORS: ReadonlySet<string> = new Set(['in', 'intersects', 'pmatch']);
/** Word operators, longest first where one is a prefix of another. */
const WORD_OPERATORS: readonly BinaryOperator[] = BINARY_OPERATORS.filter(
  (op) => /^[a-z]/.test(op) && op !== 'in',
).concat('in');
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not']);

type Operator = { op: BinaryOperator | 'exists'; start: number; end: number };

class Parser {
  readonly #s: Scanner;
  #depth = 0;

  constructor(text: string) {
    this.#s = new Scanner(text);
  }

  parseAll(): Expr {
    const s = this.#s;
    s.skipBlank();
    if (s.done) throw new ParseError('empty condition', 0);
    const expr = this.#parseOr('');
    s.skipBlank();
    if (!s.done) {
      if (s.peek() === RPAREN) throw new ParseError("unbalanced parenthesis: ')' has no matching '('", s.pos);
      // libsinsp's wording, which Falco users and its test-suite know.
      throw new ParseError(
        `unexpected token after '${lastToken(s.text, s.pos)}', expecting 'or', 'and'`,
        s.pos,
      );
    }
    return expr;
  }

  #enter(at: number): void {
    if (++this.#depth > MAX_DEPTH) {
      throw new ParseError(`condition nests more than ${MAX_DEPTH} levels deep`, at);
    }
  }

  /** Consumes `and`/`or` when it is there as a keyword. */
  #keyword(word: 'and' | 'or'): boolean {
    const s = this.#s;
    if (!s.startsWith(word)) return false;
    const next = s.peek(word.length);
    if (next !== -1 && isNameChar(next)) return false;
    const at = s.pos;
    s.pos += word.length;
    if (!s.skipBlank() && s.peek() !== LPAREN) {
      throw new ParseError(
        s.done
          ? `unexpected end of condition, expected a condition after '${word}'`
          : `expected a blank or '(' after '${word}'`,
        s.done ? s.pos : at,
      );
    }
    return true;
  }

  #parseOr(after: string): Expr {
    const s = this.#s;
    const children: Expr[] = [this.#parseAnd(after)];
    s.skipBlank();
    while (this.#keyword('or')) {
      children.push(this.#parseAnd('or'));
      s.skipBlank();
    }
    if (children.length === 1) return children[0]!;
    return { kind: 'or', children, span: spanOf(children) };
  }

  #parseAnd(after: string): Expr {
    const s = this.#s;
    const children: Expr[] = [this.#parseNot(after)];
    s.skipBlank();
    while (this.#keyword('and')) {
      children.push(this.#parseNot('and'));
      s.skipBlank();
    }
    if (children.length === 1) return children[0]!;
    return { kind: 'and', children, span: spanOf(children) };
  }

  #parseNot(after: string): Expr {
    const s = this.#s;
    s.skipBlank();
    // Repeated `not`s cancel in pairs, as in Falco; this also keeps the tree
    // shallow whatever the input.
    let negated = false;
    let notStart = -1;
    let context = after;
    while (s.startsWith('not')) {
      const next = s.peek(3);
      if (next !== LPAREN && !isBlank(next)) break;
      if (!negated) notStart = s.pos;
      negated = !negated;
      s.pos += 3;
      s.skipBlank();
      context = 'not';
    }
    const child = this.#parseCheck(context);
    if (!negated) return child;
    return { kind: 'not', child, span: { start: notStart, end: child.span.end } };
  }

  #parseCheck(after: string): Expr {
    const s = this.#s;
    s.skipBlank();
    if (s.done) {
      throw new ParseError(
        after === ''
          ? 'unexpected end of condition, expected a condition'
          : `unexpected end of condition, expected a condition after '${after}'`,
        s.pos,
      );
    }
    const start = s.pos;
    const c = s.peek();
    if (c === LPAREN) {
      this.#enter(start);
      s.pos++;
      const inner = this.#parseOr('(');
      s.skipBlank();
      if (s.peek() !== RPAREN) {
        throw new ParseError(
          s.done
            ? `unbalanced parenthesis: '(' at offset ${start} is never closed`
            : `expected ')' to close the '(' at offset ${start}, found ${s.describe()}`,
          s.pos,
        );
      }
      s.pos++;
      this.#depth--;
      return inner;
    }
    if (c === RPAREN) {
      throw new ParseError(
        after === '' || after === '('
          ? `unexpected ')', expected a condition`
          : `unexpected ')', expected a condition after '${after}'`,
        start,
      );
    }

    const transformer = this.#transformerAt();
    if (transformer !== undefined) {
      const left = this.#parseTransformer(transformer);
      return this.#parsePredicate(left);
    }

    const name = s.readName();
    if (name === undefined) {
      throw new ParseError(
        `unexpected ${s.describe()}, expected a field, a macro name, 'not' or '('` +
          (after === '' || after === '(' ? '' : ` after '${after}'`),
        start,
      );
    }
    if (name.includes('.')) {
      const field = this.#parseFieldRest(name, start);
      return this.#parsePredicate(field);
    }
    if (KEYWORDS.has(name)) {
      throw new ParseError(`unexpected keyword '${name}', expected a condition`, start);
    }
    if (s.peek() === LBRACKET) {
      throw new ParseError(`'${name}' is not a field name (fields look like 'class.name[arg]')`, start);
    }
    const save = s.pos;
    s.skipBlank();
    const op = this.#peekOperator();
    s.pos = save;
    if (op !== undefined) {
      throw new ParseError(
        `'${name}' is not a field name (fields look like 'class.name'), so it cannot be used with '${op.op}'`,
        start,
      );
    }
    return { kind: 'identifier', name, span: { start, end: s.pos } };
  }

  /** The transformer whose `name(` is at pos, if any (no blank allowed before the parenthesis). */
  #transformerAt(): TransformerName | undefined {
    const s = this.#s;
    for (const name of TRANSFORMERS) {
      if (s.startsWith(name) && s.peek(name.length) === LPAREN) return name;
    }
    return undefined;
  }

  #parseFieldRest(name: string, start: number): FieldRef {
    const s = this.#s;
    const arg = this.#parseOptionalArg(name);
    return arg === undefined
      ? { kind: 'field', name, raw: s.text.slice(start, s.pos), span: { start, end: s.pos } }
      : { kind: 'field', name, arg, raw: s.text.slice(start, s.pos), span: { start, end: s.pos } };
  }

  /** `[arg]`, `["arg"]` or `['arg']` right after a field or transformer call. */
  #parseOptionalArg(owner: string): string | undefined {
    const s = this.#s;
    if (s.peek() !== LBRACKET) return undefined;
    const open = s.pos;
    s.pos++;
    let arg: string;
    if (s.atQuote()) {
      arg = s.readQuoted();
      if (s.peek() !== RBRACKET) {
        throw new ParseError(`expected ']' after the quoted argument of '${owner}'`, s.pos);
      }
    } else {
      const close = s.text.indexOf(']', s.pos);
      if (close < 0) throw new ParseError(`unclosed argument of '${owner}': expected ']'`, open);
      arg = s.text.slice(s.pos, close);
      s.pos = close;
    }
    if (arg === '') throw new ParseError(`empty argument '[]' for '${owner}'`, open);
    s.pos++;
    return arg;
  }

  #parseTransformer(name: TransformerName): TransformerCall {
    const s = this.#s;
    const start = s.pos;
    this.#enter(start);
    s.pos += name.length + 1;
    const args: (FieldOperand | ValueLiteral)[] = [];
    s.skipBlank();
    if (s.peek() === RPAREN) {
      throw new ParseError(`transformer '${name}' needs at least one argument`, s.pos);
    }
    for (;;) {
      s.skipBlank();
      args.push(this.#parseTransformerArg(name));
      s.skipBlank();
      const c = s.peek();
      if (c === COMMA) {
        s.pos++;
        continue;
      }
      if (c === RPAREN) break;
      throw new ParseError(
        s.done
          ? `unbalanced parenthesis: '${name}(' at offset ${start} is never closed`
          : `expected ',' or ')' in the arguments of '${name}', found ${s.describe()}`,
        s.pos,
      );
    }
    s.pos++;
    const arg = this.#parseOptionalArg(`${name}(...)`);
    this.#depth--;
    const span = { start, end: s.pos };
    return arg === undefined
      ? { kind: 'transform', name, args, span }
      : { kind: 'transform', name, args, arg, span };
  }

  #parseTransformerArg(owner: TransformerName): FieldOperand | ValueLiteral {
    const s = this.#s;
    const start = s.pos;
    const transformer = this.#transformerAt();
    if (transformer !== undefined) return this.#parseTransformer(transformer);
    if (s.atQuote()) {
      const value = s.readQuoted();
      return { kind: 'value', value, quoted: true, span: { start, end: s.pos } };
    }
    const num = s.readNumber();
    if (num !== undefined) return { kind: 'value', value: num, quoted: false, span: { start, end: s.pos } };
    const name = s.readName();
    if (name?.includes('.')) return this.#parseFieldRest(name, start);
    s.pos = start;
    throw new ParseError(
      s.done
        ? `unexpected end of condition, expected an argument for '${owner}'`
        : `expected a field, a transformer, a quoted string or a number as argument of '${owner}', found ${s.describe()}`,
      start,
    );
  }

  /** Reads the operator at pos without committing to it; undefined when there is none. */
  #peekOperator(): Operator | undefined {
    const s = this.#s;
    const start = s.pos;
    for (const op of SYMBOL_OPERATORS) {
      if (s.startsWith(op)) return { op, start, end: start + op.length };
    }
    if (s.atWord('exists')) return { op: 'exists', start, end: start + 6 };
    for (const op of WORD_OPERATORS) {
      if (s.atWord(op)) return { op, start, end: start + op.length };
    }
    return undefined;
  }

  #parsePredicate(left: FieldOperand): Expr {
    const s = this.#s;
    const leftText = s.text.slice(left.span.start, left.span.end);
    s.skipBlank();
    const op = this.#peekOperator();
    if (op === undefined) {
      throw new ParseError(
        s.done
          ? `unexpected end of condition, expected an operator after '${leftText}'`
          : `unknown operator ${s.describe()} after '${leftText}'`,
        s.pos,
      );
    }
    s.pos = op.end;
    if (op.op === 'exists') {
      return { kind: 'unary', left, op: 'exists', span: { start: left.span.start, end: op.end } };
    }
    const binary = op.op;
    let modifier: ListModifier | undefined;
    let right: ValueOperand;
    if (NUMERIC_OPERATORS.has(binary)) {
      s.skipBlank();
      right = this.#parseNumberOrField(binary);
    } else if (LIST_OPERATORS.has(binary)) {
      s.skipBlank();
      right = this.#parseListOperand(binary);
    } else {
      const hadBlank = s.skipBlank() || /^[a-z]/.test(binary);
      modifier = hadBlank ? this.#parseModifier() : undefined;
      right =
        modifier === undefined ? this.#parseScalarOperand(binary) : this.#parseListOrName(binary, modifier);
    }
    const span = { start: left.span.start, end: right.span.end };
    return modifier === undefined
      ? { kind: 'binary', left, op: binary, right, span }
      : { kind: 'binary', left, op: binary, modifier, right, span };
  }

  /** A modifier word, when a list or list name (not a boolean keyword) follows it. */
  #parseModifier(): ListModifier | undefined {
    const s = this.#s;
    const save = s.pos;
    for (const m of LIST_MODIFIERS) {
      if (!s.atWord(m)) continue;
      s.pos += m.length;
      if (!s.skipBlank()) break;
      if (s.peek() === LPAREN) return m;
      const at = s.pos;
      const name = s.readName();
      s.pos = at;
      if (name !== undefined && !name.includes('.') && !KEYWORDS.has(name)) return m;
      break;
    }
    s.pos = save;
    return undefined;
  }

  #parseNumberOrField(op: BinaryOperator): ValueOperand {
    const s = this.#s;
    const start = s.pos;
    const field = this.#parseRhsField();
    if (field !== undefined) return field;
    const num = s.readNumber();
    if (num !== undefined) return { kind: 'value', value: num, quoted: false, span: { start, end: s.pos } };
    throw new ParseError(
      s.done
        ? `unexpected end of condition, expected a number after '${op}'`
        : `expected a number after '${op}', found ${s.describe()}`,
      start,
    );
  }

  #parseScalarOperand(op: BinaryOperator): ValueOperand {
    const s = this.#s;
    const start = s.pos;
    const field = this.#parseRhsField();
    if (field !== undefined) return field;
    if (s.atQuote()) {
      const value = s.readQuoted();
      return { kind: 'value', value, quoted: true, span: { start, end: s.pos } };
    }
    const bare = s.readBare();
    if (bare !== undefined) return { kind: 'value', value: bare, quoted: false, span: { start, end: s.pos } };
    throw new ParseError(
      s.done
        ? `unexpected end of condition, expected a value after '${op}'`
        : `expected a value after '${op}', found ${s.describe()}`,
      start,
    );
  }

  #parseListOperand(op: BinaryOperator): ValueOperand {
    const s = this.#s;
    const start = s.pos;
    if (s.peek() === LPAREN) return this.#parseList(op);
    const field = this.#parseRhsField();
    if (field !== undefined) return field;
    const name = s.readName();
    if (name !== undefined && !name.includes('.')) {
      if ((LIST_MODIFIERS as readonly string[]).includes(name)) {
        const save = s.pos;
        s.skipBlank();
        const paren = s.peek() === LPAREN;
        s.pos = save;
        if (paren) {
          throw new ParseError(
            `modifier '${name}' cannot follow '${op}': modifiers go with comparison operators such as '=' or 'startswith'`,
            start,
          );
        }
      }
      return { kind: 'value', value: name, quoted: false, span: { start, end: s.pos } };
    }
    s.pos = start;
    throw new ParseError(
      s.done
        ? `unexpected end of condition, expected a value after '${op}'`
        : `expected a list '(...)' or a list name after '${op}', found ${s.describe()}`,
      start,
    );
  }

  #parseListOrName(op: BinaryOperator, modifier: ListModifier): ValueOperand {
    const s = this.#s;
    const start = s.pos;
    if (s.peek() === LPAREN) return this.#parseList(`${op} ${modifier}`);
    const name = s.readName();
    // #parseModifier only accepts a modifier when one of these follows.
    return { kind: 'value', value: name ?? '', quoted: false, span: { start, end: s.pos } };
  }

  #parseList(after: string): ValueList {
    const s = this.#s;
    const open = s.pos;
    s.pos++;
    const items: ValueLiteral[] = [];
    s.skipBlank();
    if (s.peek() === RPAREN) {
      s.pos++;
      return { kind: 'list', items, span: { start: open, end: s.pos } };
    }
    for (;;) {
      s.skipBlank();
      const start = s.pos;
      if (s.atQuote()) {
        const value = s.readQuoted();
        items.push({ kind: 'value', value, quoted: true, span: { start, end: s.pos } });
      } else {
        const bare = s.readBare();
        if (bare === undefined) {
          throw new ParseError(
            s.done
              ? `unbalanced parenthesis: the list opened at offset ${open} after '${after}' is never closed`
              : `expected a value in the list after '${after}', found ${s.describe()}`,
            start,
          );
        }
        items.push({ kind: 'value', value: bare, quoted: false, span: { start, end: s.pos } });
      }
      s.skipBlank();
      const c = s.peek();
      if (c === COMMA) {
        s.pos++;
        continue;
      }
      if (c === RPAREN) {
        s.pos++;
        return { kind: 'list', items, span: { start: open, end: s.pos } };
      }
      throw new ParseError(
        s.done
          ? `unbalanced parenthesis: the list opened at offset ${open} after '${after}' is never closed`
          : `expected ',' or ')' in the list after '${after}', found ${s.describe()}`,
        s.pos,
      );
    }
  }

  /** `val(field)` or a transformer call on the right side; undefined when neither is there. */
  #parseRhsField(): FieldValueRef | undefined {
    const s = this.#s;
    const start = s.pos;
    const transformer = this.#transformerAt();
    if (transformer !== undefined) {
      const field = this.#parseTransformer(transformer);
      return { kind: 'val', field, span: field.span };
    }
    if (!s.startsWith('val(')) return undefined;
    this.#enter(start);
    s.pos += 4;
    s.skipBlank();
    const inner = s.pos;
    let field: FieldOperand;
    const t = this.#transformerAt();
    if (t !== undefined) {
      field = this.#parseTransformer(t);
    } else {
      const name = s.readName();
      if (name === undefined || !name.includes('.')) {
        s.pos = inner;
        throw new ParseError(
          s.done
            ? "unexpected end of condition, expected a field inside 'val(...)'"
            : `expected a field inside 'val(...)', found ${s.describe()}`,
          inner,
        );
      }
      field = this.#parseFieldRest(name, inner);
    }
    s.skipBlank();
    if (s.peek() !== RPAREN) {
      throw new ParseError(
        s.done
          ? `unbalanced parenthesis: 'val(' at offset ${start} is never closed`
          : `expected ')' to close 'val(', found ${s.describe()}`,
        s.pos,
      );
    }
    s.pos++;
    this.#depth--;
    return { kind: 'val', field, span: { start, end: s.pos } };
  }
}

function spanOf(children: readonly Expr[]): Span {
  return { start: children[0]!.span.start, end: children[children.length - 1]!.span.end };
}

/** The token that ends just before `pos`: a word, a quoted string or a parenthesis. */
function lastToken(text: string, pos: number): string {
  const before = text.slice(0, pos).trimEnd();
  const m = /("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[()]|[^\s=!<>()"',]+)$/.exec(before);
  return m?.[1] ?? before.slice(-1);
}
