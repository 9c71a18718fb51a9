import type {
  BinaryCheck,
  Expr,
  FieldOperand,
  FieldRef,
  FieldValueRef,
  Span,
  TransformerCall,
} from '../condition/ast.js';
import type { FieldRegistry } from '../fields/registry.js';
import { FieldArgumentError, type FieldDef, type FieldValue, type Scalar } from '../fields/types.js';
import { type Leaf, generatePredicates } from './codegen.js';
import {
  OperandError,
  type ScalarTest,
  constantTest,
  dynamicCompare,
  isListOperator,
  modifierTest,
  operatorSupported,
  toBool,
  toNumber,
} from './operators.js';
import type { SharedPlan } from './optimise.js';
import { type Operand, type TransformerInput, applyTransformer } from './transformers.js';

/**
 * Compiles a resolved condition (macros substituted, list names expanded) into
 * a predicate over events.
 *
 * All checking and all work that does not depend on the event happens here,
 * once; the predicate is a tree of small closures specialised per operator and
 * field kind, with `and`/`or` flattened into arrays and short-circuited.
 *
 * Semantics, as in libsinsp:
 * - a missing value (the extractor returns undefined) makes every comparison
 *   false, `!=` included; only `exists` looks at missingness. So
 *   `not proc.name = x` holds for an event without a name, `proc.name != x`
 *   does not;
 * - on a list value, a comparison holds when it holds for any item; `in`
 *   holds when every item is in the set (an empty list is in every set) and
 *   `intersects` when at least one is. Fields whose items are alternatives
 *   (`proc.aname` without index) use "any item" for `in` as well;
 * - `val(field)` compares with another field of the same event; when either
 *   side is missing the check is false.
 *
 * The predicate does not catch exceptions thrown by extractors; the caller
 * evaluating rules decides what an extractor failure means.
 */

export type Predicate<E> = (event: E) => boolean;

export type CompileResult<E> =
  | { ok: true; predicate: Predicate<E> }
  | { ok: false; message: string; span: Span };

/** Compiles a condition. Never throws. */
export function compileCondition<E>(expr: Expr, fields: FieldRegistry<E>): CompileResult<E> {
  try {
    return { ok: true, predicate: new Compiler(fields).expr(expr) };
  } catch (err) {
    if (err instanceof CompileError) return { ok: false, message: err.message, span: err.span };
    const message =
      err instanceof RangeError
        ? 'condition is too deeply nested to compile'
        : `internal compiler error: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, message, span: spanOf(expr) };
  }
}

/**
 * Compiles the conditions of a ruleset together into generated JavaScript
 * (see codegen.ts): the same sharing and caching as `compileShared`, with
 * `and`/`or`/`not` as native operators and the common checks inlined, so the
 * engine can optimise each condition as one function. Undefined when any
 * condition fails to compile (the caller keeps the separate predicates).
 */
export function compileAll<E>(
  trees: readonly Expr[],
  fields: FieldRegistry<E>,
  plan: SharedPlan,
): Predicate<E>[] | undefined {
  plan.seal();
  const compiler = new Compiler(fields);
  try {
    return generatePredicates(trees, (e) => compiler.leaf(e), plan);
  } catch {
    return undefined;
  }
}

/**
 * Fields whose list items are alternatives rather than members of one set:
 * Falco tests each ancestor on its own when no index is given. A field
 * definition can say the same with `anyElement: true`.
 */
const ANCESTOR_FIELDS: ReadonlySet<string> = new Set([
  'proc.apid',
  'proc.aname',
  'proc.aexe',
  'proc.aexepath',
  'proc.acmdline',
  'proc.aenv',
]);

class CompileError extends Error {
  override readonly name = 'CompileError';
  readonly span: Span;

  constructor(message: string, span: Span) {
    super(message);
    this.span = span;
  }
}

function spanOf(node: unknown): Span {
  if (typeof node === 'object' && node !== null && 'span' in node) {
    const s = (node as { span: unknown }).span;
    if (typeof s === 'object' && s !== null && 'start' in s && 'end' in s) {
      const { start, end } = s as { start: unknown; end: unknown };
      if (typeof start === 'number' && typeof end === 'number') return { start, end };
    }
  }
  return { start: 0, end: 0 };
}

function isArray(v: FieldValue): v is readonly Scalar[] {
  return Array.isArray(v);
}

function anyElementOf<E>(def: FieldDef<E>): boolean {
  return def.anyElement ?? ANCESTOR_FIELDS.has(def.name);
}

class Compiler<E> {
  readonly #fields: FieldRegistry<E>;

  constructor(fields: FieldRegistry<E>) {
    this.#fields = fields;
  }

  expr(e: Expr): Predicate<E> {
    return this.#node(e);
  }

  #node(e: Expr): Predicate<E> {
    switch (e.kind) {
      case 'and':
      case 'or': {
        const preds = flatten(e.kind, e.children).map((c) => this.expr(c));
        return e.kind === 'and' ? allOf(preds) : anyOf(preds);
      }
      case 'not': {
        const p = this.expr(e.child);
        return (ev) => !p(ev);
      }
      case 'identifier':
        throw new CompileError(`undefined macro '${e.name}'`, e.span);
      case 'unary': {
        const ex = this.operand(e.left).ex;
        return (ev) => ex(ev) !== undefined;
      }
      case 'binary':
        return this.binary(e);
      default:
        throw new CompileError(
          `unexpected node in condition: ${String((e as { kind: unknown }).kind)}`,
          spanOf(e),
        );
    }
  }

  operand(op: FieldOperand): Operand<E> {
    if (op.kind === 'field') return this.field(op);
    if (op.kind === 'transform') return this.transformer(op);
    throw new CompileError('expected a field or a transformer', spanOf(op));
  }

  field(ref: FieldRef): Operand<E> {
    const lookup = this.#fields.lookup(ref.name, ref.arg);
    const text = ref.raw || ref.name;
    if (lookup === undefined) throw new CompileError(`unknown field '${text}'`, ref.span);
    const { def, arg } = lookup;
    let ex: Operand<E>['ex'];
    try {
      ex = def.bind(arg);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new CompileError(
        err instanceof FieldArgumentError
          ? `${detail} (field '${text}')`
          : `cannot use field '${text}': ${detail}`,
        ref.span,
      );
    }
    return {
      ex,
      kind: def.kind,
      isList: def.isList,
      anyElement: def.isList && anyElementOf(def),
      text,
    };
  }

  transformer(call: TransformerCall): Operand<E> {
    const args: TransformerInput<E>[] = call.args.map((a) =>
      a.kind === 'value' ? { literal: a.value } : this.operand(a),
    );
    try {
      return applyTransformer(call, args);
    } catch (err) {
      if (!(err instanceof OperandError)) throw err;
      const arg = err.item === undefined ? undefined : call.args[err.item];
      throw new CompileError(err.message, arg?.span ?? call.span);
    }
  }

  /**
   * A check, described for the code generator: the common shapes with their
   * extractor and constants, anything else as its compiled closure (`whole`).
   */
  leaf(e: Expr): Leaf<E> {
    const whole = this.#node(e);
    if (e.kind === 'unary') return { shape: 'exists', ex: this.operand(e.left).ex };
    if (e.kind !== 'binary' || e.right.kind === 'val') return { shape: 'closure', whole };
    const left = this.operand(e.left);
    const { op, right } = e;
    const values = right.kind === 'list' ? right.items.map((i) => i.value) : [right.value];
    const ex = left.ex;
    if (left.isList) {
      // The same three cases as `binary`, in the same order.
      if (op === '!=' && left.anyElement && e.modifier === undefined) {
        return { shape: 'list', mode: 'none', ex, test: constantTest('=', left.kind, values, left.text) };
      }
      const test =
        e.modifier === undefined
          ? constantTest(op, left.kind, values, left.text)
          : modifierTest(op, e.modifier, left.kind, values, left.text);
      const every = op === 'in' && !left.anyElement;
      return { shape: 'list', mode: every ? 'every' : 'any', ex, test };
    }
    if (e.modifier !== undefined) {
      const test = modifierTest(op, e.modifier, left.kind, values, left.text);
      return { shape: 'scalar', ex, test, whole };
    }
    if (left.kind === 'string') {
      if ((op === '=' || op === '==') && values.length === 1) return { shape: 'strEq', ex, r: values[0]! };
      if (op === 'in' || op === 'intersects') return { shape: 'strIn', ex, set: new Set(values) };
    }
    const test = constantTest(op, left.kind, values, left.text);
    if (left.kind === 'number' && values.length === 1 && isNumberComparison(op)) {
      const r = toNumber(values[0]!);
      if (r !== undefined) return { shape: 'num', ex, op: op === '==' ? '=' : op, r, test, whole };
    }
    if (left.kind === 'bool' && values.length === 1 && (op === '=' || op === '==' || op === '!=')) {
      const r = toBool(values[0]!);
      if (r !== undefined) return { shape: 'bool', ex, negate: op === '!=', r, whole };
    }
    return { shape: 'scalar', ex, test, whole };
  }

  binary(check: BinaryCheck): Predicate<E> {
    const left = this.operand(check.left);
    const { op, right } = check;
    if (!operatorSupported(op, left.kind)) {
      throw new CompileError(
        `operator '${op}' is not supported for field '${left.text}' (type ${left.kind})`,
        check.span,
      );
    }
    if (right.kind === 'val') return this.fieldComparison(check, left, right);

    if (right.kind === 'list' && check.modifier === undefined && !isListOperator(op)) {
      throw new CompileError(`operator '${op}' takes a single value, not a list`, right.span);
    }
    const values = right.kind === 'list' ? right.items.map((i) => i.value) : [right.value];
    let test: ScalarTest;
    try {
      test =
        check.modifier === undefined
          ? constantTest(op, left.kind, values, left.text)
          : modifierTest(op, check.modifier, left.kind, values, left.text);
    } catch (err) {
      if (!(err instanceof OperandError)) throw err;
      const item = right.kind === 'list' && err.item !== undefined ? right.items[err.item] : undefined;
      throw new CompileError(err.message, item?.span ?? right.span);
    }

    const ex = left.ex;
    if (!left.isList) {
      // The commonest checks get a closure of their own, without the extra call.
      if (check.modifier === undefined && left.kind === 'string') {
        if ((op === '=' || op === '==') && values.length === 1) {
          const r = values[0]!;
          return (ev) => {
            const v = ex(ev);
            return v === r || (v !== undefined && typeof v !== 'string' && String(v) === r);
          };
        }
        if (op === 'in' || op === 'intersects') {
          const set = new Set(values);
          return (ev) => {
            const v = ex(ev);
            return typeof v === 'string' ? set.has(v) : v !== undefined && !isArray(v) && set.has(String(v));
          };
        }
      }
      return (ev) => {
        const v = ex(ev);
        if (v === undefined) return false;
        if (!isArray(v)) return test(v);
        for (let i = 0; i < v.length; i++) if (test(v[i]!)) return true;
        return false;
      };
    }
    if (op === '!=' && left.anyElement && check.modifier === undefined) {
      // Alternatives (either end of a socket, any ancestor): `!=` means none of them equals.
      const equal = constantTest('=', left.kind, values, left.text);
      return (ev) => {
        const v = ex(ev);
        if (v === undefined) return false;
        if (!isArray(v)) return !equal(v);
        for (let i = 0; i < v.length; i++) if (equal(v[i]!)) return false;
        return true;
      };
    }
    if (op === 'in' && !left.anyElement) {
      return (ev) => {
        const v = ex(ev);
        if (v === undefined) return false;
        if (!isArray(v)) return test(v);
        for (let i = 0; i < v.length; i++) if (!test(v[i]!)) return false;
        return true;
      };
    }
    return (ev) => {
      const v = ex(ev);
      if (v === undefined) return false;
      if (!isArray(v)) return test(v);
      for (let i = 0; i < v.length; i++) if (test(v[i]!)) return true;
      return false;
    };
  }

  /** `field OP val(other)`: both sides are extracted per event. */
  fieldComparison(check: BinaryCheck, left: Operand<E>, right: FieldValueRef): Predicate<E> {
    const { op } = check;
    if (op === 'pmatch' || op === 'regex') {
      throw new CompileError(
        `operator '${op}' cannot compare with a field: it needs constant values`,
        right.span,
      );
    }
    if (check.modifier !== undefined) {
      throw new CompileError(`modifier '${check.modifier}' needs a list of values, not a field`, right.span);
    }
    const other = this.operand(right.field);
    const ipLike = (k: string) => k === 'ip' || k === 'ipnet';
    if (other.kind !== left.kind && !(ipLike(other.kind) && ipLike(left.kind))) {
      throw new CompileError(
        `cannot compare '${left.text}' (type ${left.kind}) with '${other.text}' (type ${other.kind})`,
        check.span,
      );
    }
    const kind = left.kind;
    const lex = left.ex;
    const rex = other.ex;
    const every = op === 'in' && left.isList && !left.anyElement;
    const matchRight = (a: Scalar, b: FieldValue & {}): boolean => {
      if (!isArray(b)) return dynamicCompare(op, kind, a, b);
      for (let i = 0; i < b.length; i++) if (dynamicCompare(op, kind, a, b[i]!)) return true;
      return false;
    };
    return (ev) => {
      const a = lex(ev);
      if (a === undefined) return false;
      const b = rex(ev);
      if (b === undefined) return false;
      if (!isArray(a)) return matchRight(a, b);
      if (every) {
        for (let i = 0; i < a.length; i++) if (!matchRight(a[i]!, b)) return false;
        return true;
      }
      for (let i = 0; i < a.length; i++) if (matchRight(a[i]!, b)) return true;
      return false;
    };
  }
}

type NumberComparison = '=' | '==' | '!=' | '<' | '<=' | '>' | '>=';

function isNumberComparison(op: string): op is NumberComparison {
  return op === '=' || op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=';
}

/** Children of nested `and`s (or `or`s) pulled up into one list. */
function flatten(kind: 'and' | 'or', children: readonly Expr[]): Expr[] {
  const out: Expr[] = [];
  for (const c of children) {
    if (c.kind === kind) out.push(...flatten(kind, c.children));
    else out.push(c);
  }
  return out;
}

function allOf<E>(preds: readonly Predicate<E>[]): Predicate<E> {
  const [a, b, c] = preds;
  if (preds.length === 0 || a === undefined) return () => true;
  if (preds.length === 1) return a;
  if (preds.length === 2 && b !== undefined) return (ev) => a(ev) && b(ev);
  if (preds.length === 3 && b !== undefined && c !== undefined) return (ev) => a(ev) && b(ev) && c(ev);
  const n = preds.length;
  return (ev) => {
    for (let i = 0; i < n; i++) if (!preds[i]!(ev)) return false;
    return true;
  };
}

function anyOf<E>(preds: readonly Predicate<E>[]): Predicate<E> {
  const [a, b, c] = preds;
  if (preds.length === 0 || a === undefined) return () => false;
  if (preds.length === 1) return a;
  if (preds.length === 2 && b !== undefined) return (ev) => a(ev) || b(ev);
  if (preds.length === 3 && b !== undefined && c !== undefined) return (ev) => a(ev) || b(ev) || c(ev);
  const n = preds.length;
  return (ev) => {
    for (let i = 0; i < n; i++) if (preds[i]!(ev)) return true;
    return false;
  };
}
