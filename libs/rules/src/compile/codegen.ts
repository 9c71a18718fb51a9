import type { Expr } from '../condition/ast.js';
import type { Extractor } from '../fields/types.js';
import type { ScalarTest } from './operators.js';
import type { SharedPlan } from './optimise.js';

/**
 * Turns a ruleset's conditions into generated JavaScript functions.
 *
 * A tree of closures is slow in V8 for a reason of its own: every closure
 * made by the same source line shares one set of call-site feedback, so the
 * calls inside `(ev) => a(ev) && b(ev)` see every rule's `a` and `b` and are
 * never inlined. Generated code has a call site per check: `and`, `or` and
 * `not` become `&&`, `||` and `!`, the common checks (`=` and `in` on a
 * string, number comparisons, booleans, `exists`) are written out around the
 * field's extractor, and each shared subtree (optimise.ts) becomes a function
 * of its own that keeps its result in the per-event cache.
 *
 * Only structure is generated: every value from the rules (strings, sets,
 * numbers, extractors, compiled tests) is passed in as a constant and named
 * `kN`; no rule text ever becomes source text. The generated code does
 * exactly what the closures of compile.ts do, check by check and in the same
 * order.
 */

/** A check as the generator sees it (built by the Compiler, which also validated it). */
export type Leaf<E> =
  | { readonly shape: 'exists'; readonly ex: Extractor<E> }
  | { readonly shape: 'strEq'; readonly ex: Extractor<E>; readonly r: string }
  | { readonly shape: 'strIn'; readonly ex: Extractor<E>; readonly set: ReadonlySet<string> }
  | {
      readonly shape: 'num';
      readonly ex: Extractor<E>;
      readonly op: '=' | '!=' | '<' | '<=' | '>' | '>=';
      readonly r: number;
      readonly test: ScalarTest;
      readonly whole: (event: E) => boolean;
    }
  | {
      readonly shape: 'bool';
      readonly ex: Extractor<E>;
      readonly negate: boolean;
      readonly r: boolean;
      readonly whole: (event: E) => boolean;
    }
  | {
      readonly shape: 'scalar';
      readonly ex: Extractor<E>;
      readonly test: ScalarTest;
      readonly whole: (event: E) => boolean;
    }
  | {
      /**
       * A list-valued field: a scalar value is tested on its own; of a list,
       * `any` item must pass, `every` item, or (`none`) no item passes and the
       * check holds.
       */
      readonly shape: 'list';
      readonly mode: 'any' | 'every' | 'none';
      readonly ex: Extractor<E>;
      readonly test: ScalarTest;
    }
  | { readonly shape: 'closure'; readonly whole: (event: E) => boolean };

type Items = readonly (string | number | boolean)[];

function anyItem(v: Items, test: ScalarTest): boolean {
  for (let i = 0; i < v.length; i++) if (test(v[i]!)) return true;
  return false;
}

function everyItem(v: Items, test: ScalarTest): boolean {
  for (let i = 0; i < v.length; i++) if (!test(v[i]!)) return false;
  return true;
}

function noItem(v: Items, test: ScalarTest): boolean {
  for (let i = 0; i < v.length; i++) if (test(v[i]!)) return false;
  return true;
}

/**
 * Fields whose extraction builds a new string or array (a slice, a join, the
 * list of ancestors): their value is extracted once per event and kept in the
 * cache, however many checks read it.
 */
const MEMOISED_FIELDS: ReadonlySet<string> = new Set([
  'fd.directory',
  'fd.filename',
  'fd.containerdirectory',
  'proc.cmdline',
  'proc.pcmdline',
  'proc.args',
  'proc.aname',
  'proc.aexe',
  'proc.aexepath',
  'proc.apid',
  'proc.acmdline',
]);

const JS_OPERATOR = { '=': '===', '!=': '!==', '<': '<', '<=': '<=', '>': '>', '>=': '>=' } as const;

class Generator<E> {
  readonly #consts: unknown[] = [];
  readonly #constIndex = new Map<unknown, number>();
  readonly #leaves = new Map<string, string>();
  readonly #functions: string[] = [];
  readonly #sharedDone = new Set<number>();
  /** Memoised extractors: the name of the generated function, by extractor. */
  readonly #memo = new Map<unknown, string>();
  readonly #leafOf: (e: Expr) => Leaf<E>;
  readonly #plan: SharedPlan;

  constructor(leafOf: (e: Expr) => Leaf<E>, plan: SharedPlan) {
    this.#leafOf = leafOf;
    this.#plan = plan;
  }

  /** The name of a constant. */
  k(value: unknown): string {
    let i = this.#constIndex.get(value);
    if (i === undefined) {
      i = this.#consts.length;
      this.#consts.push(value);
      this.#constIndex.set(value, i);
    }
    return `k${i}`;
  }

  /** A JavaScript expression (using `ev` and a scratch `v`) for `e`. */
  expr(e: Expr): string {
    const slot = this.#plan.slot(this.#plan.key(e));
    if (slot < 0) return this.body(e);
    if (!this.#sharedDone.has(slot)) {
      this.#sharedDone.add(slot);
      const body = this.body(e);
      this.#functions.push(
        `function s${slot}(ev){let v;if(c.event===ev){if(st[${slot}]===c.epoch)return va[${slot}]===1;` +
          `const r=${body};st[${slot}]=c.epoch;va[${slot}]=r?1:0;return r;}return ${body};}`,
      );
    }
    return `s${slot}(ev)`;
  }

  body(e: Expr): string {
    switch (e.kind) {
      case 'and':
      case 'or': {
        const parts: string[] = [];
        this.#flattenInto(e.kind, e.children, parts);
        if (parts.length === 0) return e.kind === 'and' ? 'true' : 'false';
        return `(${parts.join(e.kind === 'and' ? '&&' : '||')})`;
      }
      case 'not':
        return `(!${this.expr(e.child)})`;
      case 'unary':
      case 'binary':
        return this.leaf(e);
      default:
        throw new Error(`cannot generate code for a ${e.kind} node`);
    }
  }

  /** The children of nested `and`s (or `or`s) as one list, except shared ones, which keep their function. */
  #flattenInto(kind: 'and' | 'or', children: readonly Expr[], out: string[]): void {
    for (const c of children) {
      if (c.kind === kind && this.#plan.slot(this.#plan.key(c)) < 0) this.#flattenInto(kind, c.children, out);
      else out.push(this.expr(c));
    }
  }

  leaf(e: Expr): string {
    const key = this.#plan.key(e);
    const known = this.#leaves.get(key);
    if (known !== undefined) return known;
    const leaf = this.#leafOf(e);
    const left = e.kind === 'binary' || e.kind === 'unary' ? e.left : undefined;
    const memo = left?.kind === 'field' && left.arg === undefined && MEMOISED_FIELDS.has(left.name);
    const code = this.#leafCode(leaf, memo ? `${this.#memoised(left.name, leaf)}(ev)` : undefined);
    this.#leaves.set(key, code);
    return code;
  }

  /** A generated function returning the field's value, extracted once per event. */
  #memoised(name: string, l: Leaf<E>): string {
    if (l.shape === 'closure') return '';
    let fn = this.#memo.get(name);
    if (fn === undefined) {
      const i = this.#memo.size;
      fn = `x${i}`;
      this.#memo.set(name, fn);
      const ex = this.k(l.ex);
      this.#functions.push(
        `function ${fn}(ev){if(c.event===ev){if(vs[${i}]===c.epoch)return fv[${i}];` +
          `const r=${ex}(ev);vs[${i}]=c.epoch;fv[${i}]=r;return r;}return ${ex}(ev);}`,
      );
    }
    return fn;
  }

  #leafCode(l: Leaf<E>, extract?: string): string {
    const x = (ex: Extractor<E>) => extract ?? `${this.k(ex)}(ev)`;
    switch (l.shape) {
      case 'exists':
        return `(${x(l.ex)}!==undefined)`;
      case 'strEq': {
        const r = this.k(l.r);
        return `((v=${x(l.ex)})===${r}||(v!==undefined&&typeof v!=='string'&&String(v)===${r}))`;
      }
      case 'strIn': {
        const set = this.k(l.set);
        return (
          `(typeof (v=${x(l.ex)})==='string'?${set}.has(v):` +
          `(v!==undefined&&!Array.isArray(v)&&${set}.has(String(v))))`
        );
      }
      case 'num': {
        const r = Number.isFinite(l.r) ? String(l.r) : this.k(l.r);
        return (
          `(typeof (v=${x(l.ex)})==='number'?v${JS_OPERATOR[l.op]}(${r}):` +
          `(v!==undefined&&(typeof v==='object'?${this.k(l.whole)}(ev):${this.k(l.test)}(v))))`
        );
      }
      case 'bool':
        return (
          `((v=${x(l.ex)})!==undefined&&(typeof v==='object'?${this.k(l.whole)}(ev):` +
          `((v===true||v===1||v==='true')${l.negate ? '!==' : '==='}${l.r})))`
        );
      case 'scalar':
        return (
          `((v=${x(l.ex)})!==undefined&&` +
          `(typeof v==='object'?${this.k(l.whole)}(ev):${this.k(l.test)}(v)))`
        );
      case 'list': {
        const helper = this.k(l.mode === 'any' ? anyItem : l.mode === 'every' ? everyItem : noItem);
        const test = this.k(l.test);
        const scalar = l.mode === 'none' ? `!${test}(v)` : `${test}(v)`;
        return `((v=${x(l.ex)})!==undefined&&` + `(typeof v==='object'?${helper}(v,${test}):${scalar}))`;
      }
      case 'closure':
        return `${this.k(l.whole)}(ev)`;
    }
  }

  /** Compiles the generated source; returns one predicate per tree. */
  finish(trees: readonly string[]): ((event: E) => boolean)[] {
    const consts = this.#consts.map((_, i) => `k${i}=k[${i}]`).join(',');
    const rules = trees.map((body, i) => `function r${i}(ev){let v;return ${body};}`);
    const source =
      `'use strict';${consts.length > 0 ? `const ${consts};` : ''}const st=c.stamps,va=c.values;let vs,fv;` +
      `${this.#functions.join('\n')}\n${rules.join('\n')}\nvs=c.valueStamps;fv=c.fieldValues;\nreturn [${trees.map((_, i) => `r${i}`).join(',')}];`;
    this.#plan.cache.resizeValues(this.#memo.size);
    const make = new Function('k', 'c', source) as (k: unknown[], c: unknown) => ((event: E) => boolean)[];
    return make(this.#consts, this.#plan.cache);
  }
}

/** One predicate per tree, generated together so they share subtrees and constants. */
export function generatePredicates<E>(
  trees: readonly Expr[],
  leafOf: (e: Expr) => Leaf<E>,
  plan: SharedPlan,
): ((event: E) => boolean)[] {
  const g = new Generator(leafOf, plan);
  const bodies = trees.map((t) => g.expr(t));
  return g.finish(bodies);
}
