import type { Expr, FieldOperand, Span, ValueLiteral, ValueOperand } from '../condition/ast.js';
import type { CollectedList } from './collect.js';
import { quoteItem } from './exceptions.js';

/**
 * Lists and macros, resolved the way Falco resolves them.
 *
 * Lists: a list's items may name lists defined before it (one level, as
 * written). In conditions, list names are substituted as text before the
 * condition is parsed: wherever a list name stands between delimiters
 * (blanks, `(`, `)`, `,`, `=`), it is replaced by its items, quoted where they
 * have spaces and joined with `, `. That is why `proc.name in (my_list)`,
 * `proc.name=my_list` and `proc.name= my_list` all work, and why
 * `(file_my_list)` does not match `my_list`.
 *
 * Macros: every bare identifier is a macro reference, replaced by the macro's
 * syntax tree. A macro sees the macros defined before it; a rule sees them all.
 */

export interface ResolvedList {
  readonly name: string;
  readonly items: readonly string[];
  used: boolean;
}

/** Falco's compile_list_infos: expand references to earlier lists, once, from their items as written. */
export function resolveLists(lists: ReadonlyMap<string, CollectedList>): Map<string, ResolvedList> {
  const out = new Map<string, ResolvedList>();
  const usedNames: string[] = [];
  for (const list of lists.values()) {
    const items: string[] = [];
    for (const item of list.items) {
      const ref = lists.get(item);
      if (ref && ref.index < list.visibility) {
        usedNames.push(ref.name);
        items.push(...ref.items);
      } else {
        items.push(item);
      }
    }
    out.set(list.name, { name: list.name, items, used: false });
  }
  for (const n of usedNames) {
    const l = out.get(n);
    if (l) l.used = true;
  }
  return out;
}

export interface Substituted {
  readonly text: string;
  /** Maps an offset of the substituted text to an offset of the original. */
  readonly origin: (offset: number) => number;
}

const BLANKS = ' \t\n\r';
const DELIMS = `${BLANKS}(),=`;
const DELIM_RUN = /[ \t\n\r(),=]+/;
const HAS_DELIM = /[ \t\n\r(),=]/;

/**
 * Substitutes every list in `text`, in list order, marking the lists used.
 * Replacement text maps back to the offset of the list name it replaced.
 */
export function substituteLists(text: string, lists: Iterable<ResolvedList>): Substituted {
  let cnd = text;
  let origin: number[] | undefined;
  // A name without delimiters can only match a whole token: skip lists whose
  // name is not a token of the text (the text grows only by substituted items).
  const tokens = new Set(text.split(DELIM_RUN));
  for (const list of lists) {
    const name = list.name;
    if (name === '') continue;
    if (!HAS_DELIM.test(name) && !tokens.has(name)) continue;
    let start = cnd.indexOf(name);
    while (start !== -1) {
      let end = start + name.length;
      if (
        (start === 0 || DELIMS.includes(cnd[start - 1] ?? '')) &&
        (end >= cnd.length || DELIMS.includes(cnd[end] ?? ''))
      ) {
        if (!origin) origin = Array.from({ length: cnd.length + 1 }, (_, i) => i);
        const at = origin[start] ?? start;
        while (start > 0 && BLANKS.includes(cnd[start - 1] ?? '')) start--;
        while (end < cnd.length && BLANKS.includes(cnd[end] ?? '')) end++;
        const sub = list.items.map(quoteItem).join(', ');
        for (const t of sub.split(DELIM_RUN)) tokens.add(t);
        if (sub === '') {
          if (start > 0 && cnd[start - 1] === ',') start--;
          else if (end < cnd.length && cnd[end] === ',') end++;
        }
        const head = start > 0 ? `${cnd.slice(0, start)} ` : '';
        const inserted = `${start > 0 ? ' ' : ''}${sub} `;
        cnd = `${head}${sub} ${cnd.slice(end)}`;
        origin = [
          ...origin.slice(0, start),
          ...new Array<number>(inserted.length).fill(at),
          ...origin.slice(end),
        ];
        start += sub.length + 1;
        list.used = true;
      }
      start = cnd.indexOf(name, start + 1);
    }
  }
  const map = origin;
  return {
    text: cnd,
    origin: map ? (o) => map[Math.max(0, Math.min(o, map.length - 1))] ?? o : (o) => o,
  };
}

function shiftSpan(s: Span, d: number): Span {
  return { start: s.start + d, end: s.end + d };
}

function shiftValue(v: ValueLiteral, d: number): ValueLiteral {
  return { ...v, span: shiftSpan(v.span, d) };
}

function shiftOperand(o: FieldOperand, d: number): FieldOperand {
  if (o.kind === 'field') return { ...o, span: shiftSpan(o.span, d) };
  return {
    ...o,
    args: o.args.map((a) => (a.kind === 'value' ? shiftValue(a, d) : shiftOperand(a, d))),
    span: shiftSpan(o.span, d),
  };
}

function shiftRight(v: ValueOperand, d: number): ValueOperand {
  if (v.kind === 'value') return shiftValue(v, d);
  if (v.kind === 'list')
    return { ...v, items: v.items.map((i) => shiftValue(i, d)), span: shiftSpan(v.span, d) };
  return { ...v, field: shiftOperand(v.field, d), span: shiftSpan(v.span, d) };
}

/**
 * Moves every span of a tree by `d`. Macro bodies are parsed from their own
 * text; shifting each into its own range lets an error found after macro
 * substitution be traced back to the macro it came from.
 */
export function shiftExpr(e: Expr, d: number): Expr {
  if (d === 0) return e;
  switch (e.kind) {
    case 'and':
    case 'or':
      return { ...e, children: e.children.map((c) => shiftExpr(c, d)), span: shiftSpan(e.span, d) };
    case 'not':
      return { ...e, child: shiftExpr(e.child, d), span: shiftSpan(e.span, d) };
    case 'identifier':
      return { ...e, span: shiftSpan(e.span, d) };
    case 'unary':
      return { ...e, left: shiftOperand(e.left, d), span: shiftSpan(e.span, d) };
    case 'binary':
      return {
        ...e,
        left: shiftOperand(e.left, d),
        right: shiftRight(e.right, d),
        span: shiftSpan(e.span, d),
      };
  }
}

interface MacroProblem {
  readonly message: string;
  readonly span: Span;
}

export interface MacroResolution {
  readonly expr: Expr;
  /** Names of the macros substituted, directly or through other macros. */
  readonly resolved: readonly string[];
  /** The first problem, as Falco reports it: a reference loop first, else the first unknown macro. */
  readonly problem: MacroProblem | undefined;
}

/**
 * How many syntax-tree nodes one condition may hold once its macros are
 * expanded. A macro used twice in the next one doubles the tree at each level
 * (20 levels: a million nodes, seconds of CPU and a gigabyte); Falco's own
 * rules stay below 1,000.
 */
export const MAX_CONDITION_NODES = 10_000;

/** Replaces macro references in `expr` with the bodies in `macros`. */
export function resolveMacros(expr: Expr, macros: (name: string) => Expr | undefined): MacroResolution {
  const errors: MacroProblem[] = [];
  const unknown: MacroProblem[] = [];
  const resolved: string[] = [];
  const path: string[] = [];
  let nodes = 0;
  /** The outermost macro reference being expanded, where an error over the limit points. */
  let top: Span | undefined;

  const visit = (e: Expr): Expr => {
    if (++nodes > MAX_CONDITION_NODES) throw new ConditionSizeError(top ?? e.span);
    switch (e.kind) {
      case 'and':
      case 'or': {
        let changed = false;
        const children = e.children.map((c) => {
          const n = visit(c);
          if (n !== c) changed = true;
          return n;
        });
        return changed ? { ...e, children } : e;
      }
      case 'not': {
        const child = visit(e.child);
        return child === e.child ? e : { ...e, child };
      }
      case 'identifier': {
        const body = macros(e.name);
        if (body === undefined) {
          unknown.push({ message: `Undefined macro '${e.name}' used in filter.`, span: e.span });
          return e;
        }
        if (path.includes(e.name)) {
          errors.push({ message: `reference loop in macro '${e.name}'`, span: e.span });
          return e;
        }
        path.push(e.name);
        const outer = top;
        top ??= e.span;
        const out = visit(body);
        top = outer;
        path.pop();
        resolved.push(e.name);
        return out;
      }
      default:
        return e;
    }
  };
  try {
    const out = visit(expr);
    return { expr: out, resolved, problem: errors[0] ?? unknown[0] };
  } catch (e) {
    if (!(e instanceof ConditionSizeError)) throw e;
    return { expr, resolved, problem: { message: e.message, span: e.span } };
  }
}

/** Ends a macro expansion that grew past MAX_CONDITION_NODES. */
class ConditionSizeError extends Error {
  override readonly name = 'ConditionSizeError';
  readonly span: Span;

  constructor(span: Span) {
    super(
      `condition too large: with its macros expanded it has more than ${MAX_CONDITION_NODES} nodes (the limit)`,
    );
    this.span = span;
  }
}
