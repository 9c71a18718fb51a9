import { BINARY_OPERATORS, type BinaryOperator, type ListModifier } from '../condition/ast.js';
import type { FieldKind, Scalar } from '../fields/types.js';
import { type Network, networkMatcher, parseNetwork } from './cidr.js';
import { globMatcher } from './glob.js';
import { pathMatcher } from './pmatch.js';
import { fullMatcher } from './regex.js';

/**
 * Operator semantics, per field kind. Everything that can be worked out from
 * the right-hand side is worked out here, once, at compile time: numbers are
 * parsed, sets built, regular expressions and globs compiled, networks parsed.
 * What is left is a small closure over one scalar value.
 *
 * Semantics follow libsinsp:
 * - string `=`, `<`, `>`... compare code units (byte order for ASCII, like strcmp);
 * - `contains`, `startswith`, `endswith` are case-sensitive; `icontains`
 *   ignores ASCII case only (strcasestr);
 * - `glob`/`iglob` are fnmatch(3) without flags: `*` and `?` also match `/`
 *   (linear time, see glob.ts);
 * - `regex` must match the whole value (RE2 full match, RE2's syntax and
 *   linear time, see regex.ts);
 * - `pmatch` matches whole path components (see pmatch.ts);
 * - `bcontains`/`bstartswith` take hex bytes and compare them with the value's
 *   UTF-8 bytes;
 * - ip fields: `=` / `in` hold when the address lies in the network written on
 *   the right (a plain address is a /32 or /128).
 */

/** A test of one extracted scalar against the precompiled right-hand side. */
export type ScalarTest = (value: Scalar) => boolean;

/** Thrown by the builders below; the compiler turns it into an error with a span. */
export class OperandError extends Error {
  override readonly name = 'OperandError';
  /** Index of the offending value in the right-hand list, when it is one item. */
  readonly item: number | undefined;

  constructor(message: string, item?: number) {
    super(message);
    this.item = item;
  }
}

/** Which operators each field kind supports (besides `exists`, which every kind supports). */
const SUPPORTED: Readonly<Record<FieldKind, ReadonlySet<BinaryOperator>>> = {
  // Strings take every operator.
  string: new Set<BinaryOperator>(BINARY_OPERATORS),
  number: new Set<BinaryOperator>(['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects']),
  bool: new Set<BinaryOperator>(['=', '==', '!=', 'in', 'intersects']),
  ip: new Set<BinaryOperator>(['=', '==', '!=', 'in', 'intersects']),
  ipnet: new Set<BinaryOperator>(['=', '==', '!=', 'in', 'intersects']),
};

export function operatorSupported(op: BinaryOperator, kind: FieldKind): boolean {
  return SUPPORTED[kind].has(op);
}

/** Operators whose right side is a list of values. */
export function isListOperator(op: BinaryOperator): boolean {
  return op === 'in' || op === 'intersects' || op === 'pmatch';
}

// ---------------------------------------------------------------------------
// Value conversion

const NUMBER_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|0[xX][0-9a-fA-F]+)$/;

/** A right-hand value as a number, or undefined. Accepts decimal and `0x` hex. */
export function toNumber(text: string): number | undefined {
  const t = text.trim();
  if (!NUMBER_RE.test(t)) return undefined;
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '');
  const n = /^0[xX]/.test(body) ? Number.parseInt(body.slice(2), 16) : Number(body);
  return neg ? -n : n;
}

/** A right-hand value as a boolean, or undefined. */
export function toBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return undefined;
}

/** Hex text (`7f454c46`, blanks allowed between bytes) as bytes, or undefined. */
function parseHexBytes(text: string): Uint8Array | undefined {
  const t = text.replace(/\s+/g, '');
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return undefined;
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A runtime value of a number field as a number (extractors should already return numbers). */
function numberOf(v: Scalar): number {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
}

function boolOf(v: Scalar): boolean {
  return v === true || v === 1 || v === 'true';
}

export function stringOf(v: Scalar): string {
  return typeof v === 'string' ? v : String(v);
}

// ---------------------------------------------------------------------------
// String helpers

/** ASCII-only lower case, like C tolower(3) in the C locale. */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return asciiMap(s, 65, 90, 32);
  }
  return s;
}

/** ASCII-only upper case, like C toupper(3) in the C locale. */
export function asciiUpper(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) return asciiMap(s, 97, 122, -32);
  }
  return s;
}

function asciiMap(s: string, lo: number, hi: number, delta: number): string {
  let out = '';
  let chunk = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= lo && c <= hi) {
      out += s.slice(chunk, i) + String.fromCharCode(c + delta);
      chunk = i + 1;
    }
  }
  return chunk === 0 ? s : out + s.slice(chunk);
}

/** Whether `hay` contains `needle` ignoring ASCII case; `needle` must be ASCII-lower-cased. No allocation. */
function includesIgnoreAsciiCase(hay: string, needle: string): boolean {
  const n = needle.length;
  if (n === 0) return true;
  const last = hay.length - n;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < n; j++) {
      let c = hay.charCodeAt(i + j);
      if (c >= 65 && c <= 90) c += 32;
      if (c !== needle.charCodeAt(j)) continue outer;
    }
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Tests over one right-hand value or a list of them

/** How a kind's right-hand text is parsed, for messages. */
function convertValues(
  kind: FieldKind,
  values: readonly string[],
  field: string,
): (string | number | boolean)[] {
  return values.map((v, i) => {
    switch (kind) {
      case 'number': {
        const n = toNumber(v);
        if (n === undefined) throw new OperandError(`'${v}' is not a number for field ${field}`, i);
        return n;
      }
      case 'bool': {
        const b = toBool(v);
        if (b === undefined)
          throw new OperandError(`'${v}' is not a boolean (true or false) for field ${field}`, i);
        return b;
      }
      default:
        return v;
    }
  });
}

function networksOf(values: readonly string[], field: string): Network[] {
  return values.map((v, i) => {
    const n = parseNetwork(v);
    if (n === undefined)
      throw new OperandError(`'${v}' is not an IP address or network for field ${field}`, i);
    return n;
  });
}

/**
 * The test for `op` against constant right-hand values. `values` has one item
 * for scalar operators and any number for `in`, `intersects` and `pmatch`.
 */
export function constantTest(
  op: BinaryOperator,
  kind: FieldKind,
  values: readonly string[],
  field: string,
): ScalarTest {
  if (kind === 'ip' || kind === 'ipnet') {
    const match = networkMatcher(networksOf(values, field));
    if (op === '!=') return (v) => !match(stringOf(v));
    return (v) => match(stringOf(v));
  }
  const rhs = convertValues(kind, values, field);
  if (op === 'in' || op === 'intersects') {
    if (kind === 'number') {
      const set = new Set(rhs as number[]);
      return (v) => set.has(numberOf(v));
    }
    if (kind === 'bool') {
      const set = new Set(rhs as boolean[]);
      return (v) => set.has(boolOf(v));
    }
    const set = new Set(rhs as string[]);
    return (v) => set.has(stringOf(v));
  }
  if (op === 'pmatch') {
    const match = pathMatcher(rhs as string[]);
    return (v) => match(stringOf(v));
  }
  const r = rhs[0];
  if (r === undefined || rhs.length !== 1) {
    throw new OperandError(`operator '${op}' takes exactly one value, got ${rhs.length}`);
  }
  if (kind === 'number') return numberTest(op, r as number);
  if (kind === 'bool') {
    const b = r as boolean;
    return op === '!=' ? (v) => boolOf(v) !== b : (v) => boolOf(v) === b;
  }
  return stringTest(op, r as string);
}

function numberTest(op: BinaryOperator, r: number): ScalarTest {
  switch (op) {
    case '=':
    case '==':
      return (v) => (typeof v === 'number' ? v : numberOf(v)) === r;
    case '!=':
      return (v) => (typeof v === 'number' ? v : numberOf(v)) !== r;
    case '<':
      return (v) => numberOf(v) < r;
    case '<=':
      return (v) => numberOf(v) <= r;
    case '>':
      return (v) => numberOf(v) > r;
    case '>=':
      return (v) => numberOf(v) >= r;
    default:
      throw new OperandError(`operator '${op}' is not supported for numbers`);
  }
}

function stringTest(op: BinaryOperator, r: string): ScalarTest {
  switch (op) {
    case '=':
    case '==':
      return (v) => (typeof v === 'string' ? v : String(v)) === r;
    case '!=':
      return (v) => (typeof v === 'string' ? v : String(v)) !== r;
    case '<':
      return (v) => stringOf(v) < r;
    case '<=':
      return (v) => stringOf(v) <= r;
    case '>':
      return (v) => stringOf(v) > r;
    case '>=':
      return (v) => stringOf(v) >= r;
    case 'contains':
      return (v) => stringOf(v).includes(r);
    case 'icontains': {
      const lower = asciiLower(r);
      return (v) => includesIgnoreAsciiCase(stringOf(v), lower);
    }
    case 'startswith':
      return (v) => stringOf(v).startsWith(r);
    case 'endswith':
      return (v) => stringOf(v).endsWith(r);
    case 'glob':
    case 'iglob': {
      const match = globMatcher(r, op === 'iglob');
      return (v) => match(stringOf(v));
    }
    case 'regex': {
      let match: (value: string) => boolean;
      try {
        match = fullMatcher(r);
      } catch (err) {
        throw new OperandError(
          `invalid regular expression '${r}' (RE2 syntax): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return (v) => match(stringOf(v));
    }
    case 'bcontains':
    case 'bstartswith':
      return bytesTest(op, r);
    default:
      throw new OperandError(`operator '${op}' is not supported for strings`);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function bytesTest(op: 'bcontains' | 'bstartswith', hex: string): ScalarTest {
  const bytes = parseHexBytes(hex);
  if (bytes === undefined) {
    throw new OperandError(`'${hex}' is not a hex byte string (like 7f454c46) for '${op}'`);
  }
  let text: string | undefined;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = undefined;
  }
  // UTF-8 is self-synchronising: when the needle is valid UTF-8, a byte match
  // in the value's UTF-8 encoding is exactly a string match, with no encoding.
  if (text !== undefined) {
    const t = text;
    return op === 'bcontains' ? (v) => stringOf(v).includes(t) : (v) => stringOf(v).startsWith(t);
  }
  const needle = Buffer.from(bytes);
  return op === 'bcontains'
    ? (v) => Buffer.from(stringOf(v), 'utf8').includes(needle)
    : (v) => {
        const b = Buffer.from(stringOf(v), 'utf8');
        return b.length >= needle.length && b.subarray(0, needle.length).equals(needle);
      };
}

/**
 * The test for `op` with a list modifier: `oneof` holds when exactly one of
 * the values matches, `anyof` when at least one does, `allof` when all do.
 */
export function modifierTest(
  op: BinaryOperator,
  modifier: ListModifier,
  kind: FieldKind,
  values: readonly string[],
  field: string,
): ScalarTest {
  if (values.length === 0) return () => false;
  // `= anyof` is set membership and `!= allof` its negation; both are common.
  if (modifier === 'anyof' && (op === '=' || op === '==')) return constantTest('in', kind, values, field);
  if (modifier === 'allof' && op === '!=') {
    const inSet = constantTest('in', kind, values, field);
    return (v) => !inSet(v);
  }
  const tests = values.map((_, i) => {
    try {
      return constantTest(op, kind, values.slice(i, i + 1), field);
    } catch (err) {
      if (err instanceof OperandError) throw new OperandError(err.message, i);
      throw err;
    }
  });
  const n = tests.length;
  switch (modifier) {
    case 'anyof':
      return (v) => {
        for (let i = 0; i < n; i++) if (tests[i]!(v)) return true;
        return false;
      };
    case 'allof':
      return (v) => {
        for (let i = 0; i < n; i++) if (!tests[i]!(v)) return false;
        return true;
      };
    case 'oneof':
      return (v) => {
        let hits = 0;
        for (let i = 0; i < n; i++) if (tests[i]!(v) && ++hits > 1) return false;
        return hits === 1;
      };
  }
}

/** Equality and ordering of two values of one type; undefined for every other operator. */
function compareOrdered<T extends number | string>(op: BinaryOperator, a: T, b: T): boolean | undefined {
  switch (op) {
    case '=':
    case '==':
    case 'in':
    case 'intersects':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return undefined;
  }
}

/**
 * Compares two runtime values, for `val(...)` on the right. Slower than the
 * constant tests (the right side is only known per event), and rare.
 */
export function dynamicCompare(op: BinaryOperator, kind: FieldKind, left: Scalar, right: Scalar): boolean {
  switch (kind) {
    case 'number': {
      return compareOrdered(op, numberOf(left), numberOf(right)) ?? false;
    }
    case 'bool':
      return op === '!=' ? boolOf(left) !== boolOf(right) : boolOf(left) === boolOf(right);
    case 'ip':
    case 'ipnet': {
      const net = parseNetwork(stringOf(right));
      if (net === undefined) return false;
      const hit = networkMatcher([net])(stringOf(left));
      return op === '!=' ? !hit : hit;
    }
    default: {
      const a = stringOf(left);
      const b = stringOf(right);
      const ordered = compareOrdered(op, a, b);
      if (ordered !== undefined) return ordered;
      switch (op) {
        case 'contains':
        case 'bcontains':
          return a.includes(b);
        case 'icontains':
          return includesIgnoreAsciiCase(a, asciiLower(b));
        case 'startswith':
        case 'bstartswith':
          return a.startsWith(b);
        case 'endswith':
          return a.endsWith(b);
        case 'glob':
        case 'iglob':
          return globMatcher(b, op === 'iglob')(a);
        default:
          return false;
      }
    }
  }
}
