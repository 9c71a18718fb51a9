import type { TransformerCall } from '../condition/ast.js';
import type { Extractor, FieldKind, FieldValue, Scalar } from '../fields/types.js';
import { OperandError, asciiLower, asciiUpper, stringOf } from './operators.js';

/**
 * Field transformers, applied on the left of a check or inside `val(...)`:
 *
 * - `tolower(x)`, `toupper(x)`: ASCII case mapping;
 * - `b64(x)`: base64 decoding (padding optional); a value that is not base64
 *   makes the whole value missing;
 * - `basename(x)`: what follows the last `/` (`""` for `/a/b/`);
 * - `len(x)`: the length in bytes of a string, or the number of items of a list;
 * - `join(sep, list)`: the items joined with `sep`;
 * - `concat(a, b, ...)`: the strings one after the other;
 * - `getopt(args, optstring)`: parses an argument list the way getopt(3)
 *   would with that optstring, giving option letters each followed by its
 *   argument (`-u root -x` with `u:x` gives `u, root, x`); `getopt(...)[u]`
 *   gives the argument of `-u` alone (or `u` when it takes none).
 *
 * The single-value ones apply to each item of a list. A missing input makes
 * the result missing.
 */

/** A compiled field or transformer: how to extract it, and what it yields. */
export interface Operand<E> {
  readonly ex: Extractor<E>;
  readonly kind: FieldKind;
  /** Whether values are lists (an extractor may still return a scalar, which counts as one item). */
  readonly isList: boolean;
  /**
   * For a list: whether its items are alternatives, each tested on its own, as
   * Falco does for `proc.aname` without index (then `in` holds when any item is
   * in the set, where for a true list every item must be).
   */
  readonly anyElement: boolean;
  /** The text as written, for messages. */
  readonly text: string;
}

/** A transformer argument: a compiled operand or a literal (quoted string or number). */
export type TransformerInput<E> = Operand<E> | { readonly literal: string };

function isArray(v: FieldValue): v is readonly Scalar[] {
  return Array.isArray(v);
}

function isLiteral<E>(a: TransformerInput<E>): a is { readonly literal: string } {
  return 'literal' in a;
}

/**
 * Builds the operand for a transformer call from its compiled arguments.
 * Throws OperandError (with the index of the bad argument when there is one).
 */
export function applyTransformer<E>(call: TransformerCall, args: readonly TransformerInput<E>[]): Operand<E> {
  const text = call.name;
  if (call.arg !== undefined && call.name !== 'getopt') {
    throw new OperandError(`transformer '${call.name}' takes no '[...]' argument`);
  }
  switch (call.name) {
    case 'tolower':
      return stringMap(call, args, asciiLower);
    case 'toupper':
      return stringMap(call, args, asciiUpper);
    case 'basename':
      return stringMap(call, args, (s) => s.slice(s.lastIndexOf('/') + 1));
    case 'b64':
      return stringMap(call, args, decodeBase64);
    case 'len': {
      const input = single(call, args);
      if (!input.isList && input.kind !== 'string') {
        throw new OperandError(
          `transformer 'len' needs a string or a list, but ${input.text} is of type ${input.kind}`,
          0,
        );
      }
      const ex = input.ex;
      return {
        ex: (e) => {
          const v = ex(e);
          if (v === undefined) return undefined;
          if (isArray(v)) return v.length;
          return Buffer.byteLength(stringOf(v), 'utf8');
        },
        kind: 'number',
        isList: false,
        anyElement: false,
        text: `len(${input.text})`,
      };
    }
    case 'join': {
      if (args.length !== 2) throw new OperandError('join() takes 2 arguments: a separator and a list');
      const sep = scalarString(args[0]!, 0, 'join() separator');
      const list = args[1]!;
      if (isLiteral(list) || !list.isList) {
        throw new OperandError('the second argument of join() must be a list field', 1);
      }
      const ex = list.ex;
      return {
        ex: (e) => {
          const s = sep(e);
          const v = ex(e);
          if (s === undefined || v === undefined) return undefined;
          if (!isArray(v)) return stringOf(v);
          let out = '';
          for (let i = 0; i < v.length; i++) out += i === 0 ? stringOf(v[i]!) : s + stringOf(v[i]!);
          return out;
        },
        kind: 'string',
        isList: false,
        anyElement: false,
        text: `join(${list.text})`,
      };
    }
    case 'concat': {
      if (args.length < 2) throw new OperandError('concat() takes at least 2 arguments');
      const parts = args.map((a, i) => scalarString(a, i, 'concat() argument'));
      return {
        ex: (e) => {
          let out = '';
          for (let i = 0; i < parts.length; i++) {
            const p = parts[i]!(e);
            if (p === undefined) return undefined;
            out += p;
          }
          return out;
        },
        kind: 'string',
        isList: false,
        anyElement: false,
        text: `${text}(...)`,
      };
    }
    case 'getopt': {
      if (args.length !== 2)
        throw new OperandError('getopt() takes 2 arguments: an argument list and an optstring');
      const list = args[0]!;
      if (isLiteral(list) || !list.isList || list.kind !== 'string') {
        throw new OperandError(
          'the first argument of getopt() must be a list of strings (like proc.args)',
          0,
        );
      }
      const selector = call.arg;
      if (selector !== undefined && selector.length !== 1) {
        throw new OperandError(`getopt()[${selector}]: the argument must be a single option letter`);
      }
      const opt = args[1]!;
      const ex = list.ex;
      if (isLiteral(opt)) {
        const spec = parseOptstring(opt.literal);
        return getoptOperand(ex, () => spec, selector, list.text);
      }
      // The optstring comes from a field: parse it again only when it changes.
      const optEx = scalarStringEx(opt, 1, 'getopt() optstring');
      let lastText = '';
      let lastSpec = parseOptstring('');
      return getoptOperand(
        ex,
        (e) => {
          const t = optEx(e);
          if (t === undefined) return undefined;
          const s = stringOf(t as Scalar);
          if (s !== lastText) {
            lastText = s;
            lastSpec = parseOptstring(s);
          }
          return lastSpec;
        },
        selector,
        list.text,
      );
    }
  }
}

function single<E>(call: TransformerCall, args: readonly TransformerInput<E>[]): Operand<E> {
  if (args.length !== 1) throw new OperandError(`transformer '${call.name}' takes exactly one argument`);
  const a = args[0]!;
  if (isLiteral(a))
    throw new OperandError(`transformer '${call.name}' needs a field, not a literal value`, 0);
  return a;
}

function stringMap<E>(
  call: TransformerCall,
  args: readonly TransformerInput<E>[],
  f: (s: string) => string | undefined,
): Operand<E> {
  const input = single(call, args);
  if (input.kind !== 'string') {
    throw new OperandError(
      `transformer '${call.name}' needs a string field, but ${input.text} is of type ${input.kind}`,
      0,
    );
  }
  const ex = input.ex;
  return {
    ex: (e) => {
      const v = ex(e);
      if (v === undefined) return undefined;
      if (!isArray(v)) return f(stringOf(v));
      const out: string[] = new Array<string>(v.length);
      for (let i = 0; i < v.length; i++) {
        const r = f(stringOf(v[i]!));
        if (r === undefined) return undefined;
        out[i] = r;
      }
      return out;
    },
    kind: 'string',
    isList: input.isList,
    anyElement: input.anyElement,
    text: `${call.name}(${input.text})`,
  };
}

/** A scalar string argument (literal or non-list field) as a per-event getter. */
function scalarString<E>(a: TransformerInput<E>, index: number, what: string): (e: E) => string | undefined {
  if (isLiteral(a)) {
    const lit = a.literal;
    return () => lit;
  }
  const ex = scalarStringEx(a, index, what);
  return (e) => {
    const v = ex(e);
    return v === undefined ? undefined : isArray(v) ? undefined : stringOf(v);
  };
}

function scalarStringEx<E>(a: Operand<E>, index: number, what: string): Extractor<E> {
  if (a.isList) throw new OperandError(`${what} must be a single value, but ${a.text} is a list`, index);
  if (a.kind !== 'string')
    throw new OperandError(`${what} must be a string, but ${a.text} is of type ${a.kind}`, index);
  return a.ex;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: string): string | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  if (s.length !== body.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(body, 'base64').toString('utf8');
}

interface Optstring {
  readonly valid: ReadonlySet<string>;
  readonly withArg: ReadonlySet<string>;
}

function parseOptstring(text: string): Optstring {
  const valid = new Set<string>();
  const withArg = new Set<string>();
  for (let i = text.startsWith(':') ? 1 : 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ':') continue;
    valid.add(c);
    if (text[i + 1] === ':') {
      withArg.add(c);
      i++;
    }
  }
  return { valid, withArg };
}

function getoptOperand<E>(
  listEx: Extractor<E>,
  specOf: (e: E) => Optstring | undefined,
  selector: string | undefined,
  listText: string,
): Operand<E> {
  return {
    ex: (e) => {
      const spec = specOf(e);
      const v = listEx(e);
      if (spec === undefined || v === undefined) return undefined;
      return getopt(isArray(v) ? v : [v], spec, selector);
    },
    kind: 'string',
    isList: selector === undefined,
    anyElement: false,
    text: selector === undefined ? `getopt(${listText})` : `getopt(${listText})[${selector}]`,
  };
}

/**
 * Scans arguments like getopt(3): stops at `--` or at the first non-option,
 * skips long options, reports unknown letters as `?`. Without a selector it
 * gives every option letter followed by its argument when it takes one (an
 * empty string when that argument is missing); with one, the last value seen
 * for that letter, or missing when the letter is absent.
 */
function getopt(args: readonly Scalar[], spec: Optstring, selector: string | undefined): FieldValue {
  const out: string[] = [];
  let selected: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = stringOf(args[i]!);
    if (arg === '--') break;
    if (arg.startsWith('--') && arg.length > 2) continue;
    if (arg.length < 2 || arg[0] !== '-') break;
    for (let j = 1; j < arg.length; j++) {
      const opt = arg[j]!;
      if (opt === ':' || !spec.valid.has(opt)) {
        if (selector === undefined) out.push('?');
        continue;
      }
      const match = selector === undefined || selector === opt;
      if (!spec.withArg.has(opt)) {
        if (match) {
          if (selector === undefined) out.push(opt);
          else selected = opt;
        }
        continue;
      }
      let value: string | undefined;
      if (j + 1 < arg.length) value = arg.slice(j + 1);
      else if (i + 1 < args.length) value = stringOf(args[++i]!);
      if (match) {
        if (selector !== undefined) selected = value ?? '';
        else if (value === undefined) out.push('');
        else out.push(opt, value);
      }
      break;
    }
  }
  if (selector !== undefined) return selected;
  return out;
}
