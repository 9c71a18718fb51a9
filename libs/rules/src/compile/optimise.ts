import {
  type Expr,
  type FieldOperand,
  PATTERN_OPERATORS,
  type ValueLiteral,
  type ValueOperand,
} from '../condition/ast.js';

/**
 * Rewrites and bookkeeping that make a whole ruleset cheaper to evaluate
 * without changing what any rule matches:
 *
 * - `foldEventType` specialises a condition for one event type. The engine
 *   only evaluates a rule against the events of the types it is indexed
 *   under, so inside the bucket of type T, `evt.type = T` is true and
 *   `evt.type in (open, openat)` is a constant; the checks disappear and
 *   `and`/`or` around them simplify.
 * - `exprKey` gives every subtree a structural key (field, operator and
 *   values; not the text span), so that the same macro or check used by many
 *   rules is recognised as one.
 * - `EvalCache` holds, for the event being evaluated, the result of each
 *   shared subtree, so `open_read` or `sensitive_files` is worked out once per
 *   event for all the rules that use it. Results are valid only while
 *   `begin(event)` is in force; outside (a predicate called directly), the
 *   cached predicates evaluate normally.
 */

/** Replaces the `evt.type` checks of `e` by what they are for events of `type`, and simplifies. */
export function foldEventType(e: Expr, type: string): Expr | boolean {
  switch (e.kind) {
    case 'and':
    case 'or': {
      const neutral = e.kind === 'and';
      const out: Expr[] = [];
      let changed = false;
      for (const c of e.children) {
        const f = foldEventType(c, type);
        if (f !== c) changed = true;
        if (typeof f === 'boolean') {
          if (f !== neutral) return f; // `false` in an `and`, `true` in an `or`
          continue;
        }
        // Nested `and`s stay nested: a macro body keeps its identity, so it can be shared.
        out.push(f);
      }
      if (!changed) return e;
      if (out.length === 0) return neutral;
      if (out.length === 1) return out[0] as Expr;
      return { kind: e.kind, children: out, span: e.span };
    }
    case 'not': {
      const f = foldEventType(e.child, type);
      if (typeof f === 'boolean') return !f;
      return f === e.child ? e : { kind: 'not', child: f, span: e.span };
    }
    case 'binary': {
      const { left, right } = e;
      if (left.kind !== 'field' || left.name !== 'evt.type' || left.arg !== undefined) return e;
      if (e.modifier !== undefined || right.kind === 'val') return e;
      const values = right.kind === 'list' ? right.items.map((i) => i.value) : [right.value];
      switch (e.op) {
        case '=':
        case '==':
          return values.length === 1 ? values[0] === type : e;
        case '!=':
          return values.length === 1 ? values[0] !== type : e;
        case 'in':
        case 'intersects':
          return values.includes(type);
        default:
          return e;
      }
    }
    default:
      return e;
  }
}

function valueKey(v: ValueLiteral): string {
  return JSON.stringify(v.value);
}

function operandKey(o: FieldOperand | ValueOperand | ValueLiteral): string {
  switch (o.kind) {
    case 'field':
      return o.arg === undefined ? o.name : `${o.name}[${JSON.stringify(o.arg)}]`;
    case 'transform':
      return `${o.name}(${o.args.map(operandKey).join(',')})${o.arg === undefined ? '' : `[${JSON.stringify(o.arg)}]`}`;
    case 'value':
      return valueKey(o);
    case 'list':
      return `(${o.items.map(valueKey).join(',')})`;
    case 'val':
      return `val(${operandKey(o.field)})`;
  }
}

/** A structural key: equal keys mean equal conditions (over the same fields). */
function exprKey(e: Expr, memo: Map<Expr, string>): string {
  const known = memo.get(e);
  if (known !== undefined) return known;
  let key: string;
  switch (e.kind) {
    case 'and':
    case 'or':
      key = `${e.kind}(${e.children.map((c) => exprKey(c, memo)).join(' ')})`;
      break;
    case 'not':
      key = `not(${exprKey(e.child, memo)})`;
      break;
    case 'identifier':
      key = `macro:${e.name}`;
      break;
    case 'unary':
      key = `${operandKey(e.left)} ${e.op}`;
      break;
    case 'binary':
      key = `${operandKey(e.left)} ${e.op}${e.modifier === undefined ? '' : ` ${e.modifier}`} ${operandKey(e.right)}`;
      break;
  }
  memo.set(e, key);
  return key;
}

/** Operators whose test costs more than a lookup in the cache. */
const COSTLY_OPERATORS: ReadonlySet<string> = new Set([...PATTERN_OPERATORS, 'pmatch']);

/** Whether a shared subtree is worth a cache slot: `and`/`or`, and the checks that scan strings. */
function worthCaching(e: Expr): boolean {
  if (e.kind === 'and' || e.kind === 'or') return true;
  if (e.kind === 'binary') return COSTLY_OPERATORS.has(e.op) || e.left.kind === 'transform';
  return false;
}

/** Per-event results of shared subtrees. One per compiled ruleset (per source). */
export class EvalCache {
  /** The event being evaluated, or undefined between evaluations. */
  event: unknown = undefined;
  /** Stamps equal to `epoch` mark the results computed for the current event. */
  epoch = 0;
  stamps: Uint32Array = new Uint32Array(0);
  /** 1 for true, 0 for false, where the stamp is current. */
  values: Uint8Array = new Uint8Array(0);

  /** The same for field values (codegen.ts memoises the fields that cost something to extract). */
  valueStamps: Uint32Array = new Uint32Array(0);
  fieldValues: unknown[] = [];

  /** Starts the evaluation of `event`: every cached result is forgotten. */
  begin(event: unknown): void {
    this.event = event;
    if (this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.valueStamps.fill(0);
      this.epoch = 0;
    }
    this.epoch++;
  }

  /** Ends it: predicates called from now on evaluate without the cache. */
  end(): void {
    this.event = undefined;
  }

  resizeValues(slots: number): void {
    this.valueStamps = new Uint32Array(slots);
    this.fieldValues = new Array<unknown>(slots).fill(undefined);
  }

  resize(slots: number): void {
    this.stamps = new Uint32Array(slots);
    this.values = new Uint8Array(slots);
  }
}

/**
 * What the conditions of one source share: the key of each subtree, how often
 * each key occurs, and the cache slots of the keys worth caching.
 */
export class SharedPlan {
  readonly cache = new EvalCache();
  readonly #keys = new Map<Expr, string>();
  readonly #counts = new Map<string, number>();
  readonly #slots = new Map<string, number>();
  #sealed = false;

  key(e: Expr): string {
    return exprKey(e, this.#keys);
  }

  /** Counts the subtrees of a condition that will be compiled. Call before `seal`. */
  count(e: Expr): void {
    if (worthCaching(e)) {
      const k = this.key(e);
      this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
    }
    if (e.kind === 'and' || e.kind === 'or') for (const c of e.children) this.count(c);
    else if (e.kind === 'not') this.count(e.child);
  }

  /** Gives a slot to every key counted more than once. */
  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    for (const [k, n] of this.#counts) if (n > 1) this.#slots.set(k, this.#slots.size);
    this.cache.resize(this.#slots.size);
  }

  /** The cache slot of a key, or -1 when its result is not shared. */
  slot(key: string): number {
    return this.#slots.get(key) ?? -1;
  }
}
