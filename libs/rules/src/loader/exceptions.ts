import { BINARY_OPERATORS, LIST_MODIFIERS, PATTERN_OPERATORS } from '../condition/ast.js';
import type { AnySourceDef } from '../sources.js';
import type { ExceptionEntry, ExceptionInfo } from './collect.js';
import { LoadError } from './diagnostics.js';

/**
 * Rule exceptions: checked when collected (fields exist, comparison operators
 * are valid, defaults filled in) and turned into condition text when the rule
 * is compiled, the way Falco does:
 *
 *   (<condition>) and not ((f1 c1 v1 and f2 c2 v2) or (...)) and not (...)
 */

const LIST_OPERATORS = new Set(['in', 'intersects', 'pmatch']);
const OPERATORS = new Set<string>([...BINARY_OPERATORS, 'exists']);
/** The string operators that accept a list modifier (`startswith oneof`). */
const MODIFIABLE = new Set<string>(['=', '==', '!=', ...PATTERN_OPERATORS]);

function fail(message: string, ex: ExceptionInfo): never {
  throw new LoadError('LOAD_ERR_VALIDATE', message, ex.ctx);
}

function isOperatorWithModifier(op: string): boolean {
  const m = /^(\S+)\s+(\S+)$/.exec(op);
  return !!m && MODIFIABLE.has(m[1] ?? '') && (LIST_MODIFIERS as readonly string[]).includes(m[2] ?? '');
}

function isListOperator(op: string): boolean {
  return LIST_OPERATORS.has(op) || isOperatorWithModifier(op);
}

function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Whether `text` can stand on the left of a comparison: a known field, or a transformer of one. */
function isValidLhsField(source: AnySourceDef, text: string): boolean {
  const t = text.trim();
  const call = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)$/.exec(t);
  if (call) {
    const args = splitArgs(call[2] ?? '');
    let fields = 0;
    for (const a of args) {
      if (/^["']/.test(a) || /^-?\d+$/.test(a)) continue;
      if (!isValidLhsField(source, a)) return false;
      fields++;
    }
    return fields > 0;
  }
  const m = /^([A-Za-z0-9_.-]+)(?:\[([\s\S]*)\])?$/.exec(t);
  if (!m) return false;
  const arg = m[2];
  const name = m[1] ?? '';
  const lookup =
    arg === undefined
      ? source.fields.lookup(name)
      : source.fields.lookup(name, arg.replace(/^["']|["']$/g, ''));
  return lookup !== undefined;
}

function normalizeComp(e: ExceptionEntry): ExceptionEntry {
  return { ...e, item: e.item.trim() };
}

/** Fills default comparisons and checks fields and operators. Mutates `ex`. */
export function validateException(source: AnySourceDef | undefined, ex: ExceptionInfo): void {
  const compsValid = ex.comps.isList ? ex.comps.items.length > 0 : ex.comps.item.length > 0;
  if (ex.fields.isList) {
    if (!compsValid) {
      ex.comps = {
        isList: true,
        item: '',
        items: ex.fields.items.map(() => ({ isList: false, item: '=', items: [] })),
      };
    }
    if (ex.fields.items.length !== ex.comps.items.length)
      fail('Fields and comps lists must have equal length', ex);
    ex.comps = { ...ex.comps, items: ex.comps.items.map(normalizeComp) };
    for (const c of ex.comps.items) {
      if (!OPERATORS.has(c.item) && !isOperatorWithModifier(c.item)) {
        fail(`'${c.item}' is not a supported comparison operator`, ex);
      }
    }
    if (source) {
      for (const f of ex.fields.items) {
        if (f.isList || !isValidLhsField(source, f.item))
          fail(`'${f.item}' is not a supported filter field`, ex);
      }
    }
  } else {
    if (!compsValid) ex.comps = { isList: false, item: 'in', items: [] };
    if (ex.comps.isList) fail('Fields and comps must both be strings', ex);
    ex.comps = normalizeComp(ex.comps);
    const op = ex.comps.item;
    if (op !== 'in' && op !== 'pmatch' && op !== 'intersects' && !isOperatorWithModifier(op)) {
      fail(
        'When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)',
        ex,
      );
    }
    if (source && !isValidLhsField(source, ex.fields.item)) {
      fail(`'${ex.fields.item}' is not a supported filter field`, ex);
    }
  }
}

/** Falco quotes a value that has a space and is not quoted already (no escaping, as Falco). */
export function quoteItem(e: string): string {
  return e.includes(' ') && e[0] !== '"' && e[0] !== "'" ? `"${e}"` : e;
}

function parenItem(e: string): string {
  return e[0] === '(' ? e : `(${e})`;
}

/** The text appended to a rule's parenthesised condition: ` and not (...)` for each exception with values. */
export function exceptionConditionText(exceptions: readonly ExceptionInfo[]): string {
  let out = '';
  for (const ex of exceptions) {
    let icond = '';
    if (!ex.fields.isList) {
      for (const val of ex.values) {
        if (val.isList) fail('Expected values array to contain a list of strings', ex);
        icond += icond === '' ? `(${ex.fields.item} ${ex.comps.item} (` : ', ';
        icond += quoteItem(val.item);
      }
      if (icond !== '') icond += '))';
    } else {
      icond = '(';
      for (const values of ex.values) {
        if (ex.fields.items.length !== values.items.length)
          fail('Fields and values lists must have equal length', ex);
        icond += icond === '(' ? '' : ' or ';
        icond += '(';
        ex.fields.items.forEach((field, k) => {
          const v = values.items[k];
          const comp = ex.comps.items[k]?.item ?? '=';
          let istr: string;
          if (!v) istr = '';
          else if (v.isList) istr = `(${v.items.map((x) => quoteItem(x.item)).join(', ')})`;
          else istr = isListOperator(comp) ? parenItem(v.item) : quoteItem(v.item);
          icond += `${k === 0 ? '' : ' and '} ${field.item} ${comp} ${istr}`;
        });
        icond += ')';
      }
      icond += ')';
      if (icond === '()') icond = '';
    }
    if (icond !== '') out += ` and not ${icond}`;
  }
  return out;
}
