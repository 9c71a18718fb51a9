import type { FieldRegistry } from '../fields/registry.js';
import { type Extractor, FieldArgumentError, type FieldValue, type Scalar } from '../fields/types.js';

/**
 * Falco's output syntax, compiled once per rule so rendering is a flat loop.
 *
 * A token is `%` followed by an optional width (`%20proc.name` pads or cuts
 * the value to 20 characters) and a field: `%proc.name`, `%proc.aname[2]`,
 * `%evt.arg.flags`, or one transformer around a field, `%toupper(proc.name)`.
 * A field name is the longest registered name that prefixes the text after
 * the `%` (as in libsinsp), so `%fd.name.` is `fd.name` followed by a dot.
 * There is no escape for a literal `%`: like Falco, `%%` is an error.
 *
 * A missing value prints as `<NA>` and is `null` in the fields. A list prints
 * as `(a,b,c)` and is an array in the fields.
 */

export type OutputFieldValue = string | number | boolean | null | readonly Scalar[];

export interface OutputTemplate<E> {
  /** The fields in order of appearance, keyed as written (`proc.aname[2]`), without duplicates. */
  readonly fields: readonly string[];
  render(event: E): { text: string; fields: Record<string, OutputFieldValue> };
}

export type CompileOutputResult<E> =
  | { readonly ok: true; readonly template: OutputTemplate<E> }
  | { readonly ok: false; readonly message: string; readonly offset: number };

const NA = '<NA>';

/** Transformers Falco accepts around one field in an output. */
const OUTPUT_TRANSFORMERS: Readonly<Record<string, (v: Scalar) => Scalar>> = {
  tolower: (v) => String(v).toLowerCase(),
  toupper: (v) => String(v).toUpperCase(),
  b64: (v) => Buffer.from(String(v), 'base64').toString('utf8'),
  basename: (v) => {
    const s = String(v);
    const i = s.lastIndexOf('/');
    return i < 0 ? s : s.slice(i + 1);
  },
  len: (v) => String(v).length,
};

function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e // .
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Text of a value as Falco prints it in the output line. */
function fieldValueText(v: FieldValue): string {
  if (v === undefined) return NA;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `(${v.join(',')})`;
}

function fieldValueJson(v: FieldValue): OutputFieldValue {
  return v === undefined ? null : v;
}

interface ParsedField<E> {
  readonly extract: Extractor<E>;
  /** Index just past the field (and its `[arg]`). */
  readonly end: number;
}

type FieldParse<E> = ParsedField<E> | { readonly error: string };

/**
 * Resolves the field that starts at `start`: the longest registered name that
 * prefixes the run of name characters there, with an optional `[arg]`.
 */
function parseField<E>(format: string, start: number, fields: FieldRegistry<E>): FieldParse<E> | undefined {
  let runEnd = start;
  while (runEnd < format.length && isNameChar(format.charCodeAt(runEnd))) runEnd++;
  for (let end = runEnd; end > start; end--) {
    if (format.charCodeAt(end - 1) === 0x2e) continue;
    const name = format.slice(start, end);
    let arg: string | undefined;
    let after = end;
    if (end === runEnd && format.charCodeAt(end) === 0x5b /* [ */) {
      const close = format.indexOf(']', end + 1);
      if (close > end) {
        arg = format.slice(end + 1, close);
        after = close + 1;
      }
    }
    let found = fields.lookup(name, arg);
    if (!found && arg !== undefined) {
      // `name[` where name takes no bracket: the bracket is literal text.
      found = fields.lookup(name);
      arg = undefined;
      after = end;
    }
    if (!found) continue;
    try {
      const extract = found.def.bind(found.arg);
      return { extract, end: after };
    } catch (err) {
      if (err instanceof FieldArgumentError) {
        return { error: `invalid formatting token ${format.slice(start, after)}: ${err.message}` };
      }
      throw err;
    }
  }
  return undefined;
}

/** Compiles an output format against a source's fields. Never throws. */
export function compileOutput<E>(format: string, fields: FieldRegistry<E>): CompileOutputResult<E> {
  try {
    return compile(format, fields);
  } catch (err) {
    return { ok: false, message: `invalid output format: ${(err as Error).message}`, offset: 0 };
  }
}

function compile<E>(format: string, fields: FieldRegistry<E>): CompileOutputResult<E> {
  // literals[i] precedes token i; literals has one more entry than the tokens.
  const literals: string[] = [];
  const keys: string[] = [];
  const extractors: Extractor<E>[] = [];
  const widths: number[] = [];
  let litStart = 0;
  let i = 0;
  while (i < format.length) {
    if (format.charCodeAt(i) !== 0x25 /* % */) {
      i++;
      continue;
    }
    const pct = i;
    literals.push(format.slice(litStart, pct));
    let j = pct + 1;
    if (j >= format.length) {
      return { ok: false, message: 'invalid formatting syntax: formatting cannot end with a %', offset: pct };
    }
    let width = 0;
    while (j < format.length && isDigit(format.charCodeAt(j))) {
      width = width * 10 + (format.charCodeAt(j) - 0x30);
      j++;
    }
    if (j >= format.length) {
      return {
        ok: false,
        message: 'invalid formatting syntax: formatting cannot end with a number',
        offset: pct,
      };
    }
    const nameStart = j;
    let extract: Extractor<E> | undefined;
    let end = j;

    const transformed = parseTransformer(format, nameStart, fields);
    if (transformed && 'error' in transformed) return { ok: false, message: transformed.error, offset: pct };
    if (transformed) {
      extract = transformed.extract;
      end = transformed.end;
    } else {
      const parsed = parseField(format, nameStart, fields);
      if (parsed && 'error' in parsed) return { ok: false, message: parsed.error, offset: pct };
      if (!parsed) {
        return { ok: false, message: `invalid formatting token ${format.slice(nameStart)}`, offset: pct };
      }
      extract = parsed.extract;
      end = parsed.end;
    }
    keys.push(format.slice(nameStart, end));
    extractors.push(extract);
    widths.push(width);
    i = end;
    litStart = end;
  }
  literals.push(format.slice(litStart));
  return { ok: true, template: makeTemplate(literals, keys, extractors, widths) };
}

/** `tolower(proc.name)`: one transformer around one field. */
function parseTransformer<E>(
  format: string,
  start: number,
  fields: FieldRegistry<E>,
): FieldParse<E> | undefined {
  const open = format.indexOf('(', start);
  if (open <= start) return undefined;
  const name = format.slice(start, open);
  const fn = Object.hasOwn(OUTPUT_TRANSFORMERS, name) ? OUTPUT_TRANSFORMERS[name] : undefined;
  if (!fn) return undefined;
  const inner = parseField(format, open + 1, fields);
  if (!inner) {
    return { error: `invalid formatting token ${format.slice(start)}` };
  }
  if ('error' in inner) return inner;
  if (format.charCodeAt(inner.end) !== 0x29 /* ) */) {
    return { error: `invalid formatting token ${format.slice(start)}: expected ')' after the field` };
  }
  const get = inner.extract;
  const extract: Extractor<E> = (event) => {
    const v = get(event);
    if (v === undefined) return undefined;
    if (typeof v === 'object') return v.map(fn);
    return fn(v);
  };
  return { extract, end: inner.end + 1 };
}

function makeTemplate<E>(
  literals: readonly string[],
  keys: readonly string[],
  extractors: readonly Extractor<E>[],
  widths: readonly number[],
): OutputTemplate<E> {
  const n = extractors.length;
  const first = literals[0] ?? '';
  const unique = [...new Set(keys)];
  return {
    fields: unique,
    render(event: E) {
      let text = first;
      const fields: Record<string, OutputFieldValue> = {};
      for (let k = 0; k < n; k++) {
        const v = (extractors[k] as Extractor<E>)(event);
        const w = widths[k] as number;
        const t = fieldValueText(v);
        text += w === 0 ? t : t.length >= w ? t.slice(0, w) : t.padEnd(w, ' ');
        text += literals[k + 1] as string;
        fields[keys[k] as string] = fieldValueJson(v);
      }
      return { text, fields };
    },
  };
}
