/**
 * A small schema language for the configuration tree. Each schema reads a
 * node into a typed value or throws a ConfigError naming the path, the
 * expected type and where the value was written. Objects reject unknown keys
 * (with a suggestion) and tolerate a declared set of foreign keys (Falco's)
 * with a notice.
 */
import { ConfigError, type Origin } from './errors.js';
import type { CNode, Scalar } from './tree.js';

export interface ReadContext {
  /** A key that is recognised but not used (a Falco setting Saker ignores). */
  ignored(path: string, origin: Origin): void;
  notice(message: string): void;
}

export interface Schema<T> {
  /** What the value must be, for error messages: `a boolean`, `an integer >= 1`. */
  readonly expected: string;
  read(node: CNode, path: string, ctx: ReadContext): T;
}

function show(value: Scalar | undefined): string {
  return JSON.stringify(value);
}

function got(node: CNode): string {
  if (node.kind === 'seq') return 'a list';
  if (node.kind === 'map') return 'a mapping';
  return show(node.value);
}

function fail(node: CNode, path: string, expected: string): never {
  throw new ConfigError(path, `expected ${expected}, got ${got(node)}`, node.origin);
}

export function string(): Schema<string> {
  return {
    expected: 'a string',
    read(node, path) {
      if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
      // yaml-cpp hands Falco every scalar as text: `token: 12345` is a string there too.
      if (node.kind === 'scalar' && typeof node.value === 'number') return String(node.value);
      return fail(node, path, 'a string');
    },
  };
}

const YAML_CPP_TRUE = new Set(['y', 'yes', 'on', 'true']);
const YAML_CPP_FALSE = new Set(['n', 'no', 'off', 'false']);

export function boolean(): Schema<boolean> {
  return {
    expected: 'a boolean',
    read(node, path) {
      if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
      // falco.yaml files written for yaml-cpp may say yes/no/on/off.
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        const v = node.value.toLowerCase();
        if (YAML_CPP_TRUE.has(v)) return true;
        if (YAML_CPP_FALSE.has(v)) return false;
      }
      return fail(node, path, 'a boolean (true or false)');
    },
  };
}

export function number(opts: { integer?: boolean; min?: number; max?: number } = {}): Schema<number> {
  const kind = opts.integer ? 'an integer' : 'a number';
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` in ${opts.min}..${opts.max}`
      : opts.min !== undefined
        ? ` >= ${opts.min}`
        : opts.max !== undefined
          ? ` <= ${opts.max}`
          : '';
  const expected = kind + range;
  return {
    expected,
    read(node, path) {
      if (node.kind !== 'scalar') return fail(node, path, expected);
      const v = typeof node.value === 'string' && node.value.trim() !== '' ? Number(node.value) : node.value;
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(node, path, expected);
      if (opts.integer && !Number.isInteger(v)) return fail(node, path, expected);
      if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
        return fail(node, path, expected);
      }
      return v;
    },
  };
}

/** One of fixed words; `normalize` maps spellings (case, aliases) to the canonical one, or undefined. */
export function oneOf<T extends string>(
  values: readonly T[],
  normalize: (text: string) => T | undefined = (t) => values.find((v) => v === t),
): Schema<T> {
  const expected = `one of ${values.join(', ')}`;
  return {
    expected,
    read(node, path) {
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        const v = normalize(node.value);
        if (v !== undefined) return v;
      }
      return fail(node, path, expected);
    },
  };
}

/** A list; a single scalar is read as a list of one (as Falco reads `rules_file: x.yaml`). */
export function list<T>(item: Schema<T>): Schema<readonly T[]> {
  const expected = `a list of ${item.expected.replace(/^an? /, '')}s`;
  return {
    expected,
    read(node, path, ctx) {
      if (node.kind === 'scalar' && node.value !== null) return [item.read(node, `${path}[0]`, ctx)];
      if (node.kind !== 'seq') return fail(node, path, expected);
      return node.items.map((n, i) => item.read(n, `${path}[${i}]`, ctx));
    },
  };
}

/** The value, or null when the key holds null or an empty string. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    expected: `${inner.expected} or null`,
    read(node, path, ctx) {
      if (node.kind === 'scalar' && (node.value === null || node.value === '')) return null;
      return inner.read(node, path, ctx);
    },
  };
}

/** Adapts a schema's value: `transform` sees the node too (for its origin) and may throw a ConfigError. */
export function map<A, B>(
  inner: Schema<A>,
  transform: (value: A, node: CNode, path: string) => B,
): Schema<B> {
  return {
    expected: inner.expected,
    read(node, path, ctx) {
      return transform(inner.read(node, path, ctx), node, path);
    },
  };
}

export interface Field<T> {
  readonly schema: Schema<T>;
  /** The value when the key is absent or null; a function for defaults computed per load. */
  readonly default: T | (() => T);
}

export function field<T>(schema: Schema<T>, defaultValue: T | (() => T)): Field<T> {
  return { schema, default: defaultValue };
}

/** `json_include_output_property` → `jsonIncludeOutputProperty`. */
type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export type Fields = Readonly<Record<string, Field<unknown>>>;

export type ObjectOf<F extends Fields> = {
  readonly [K in keyof F as CamelCase<K & string>]: F[K] extends Field<infer T> ? T : never;
};

export interface ObjectOptions {
  /** Keys accepted and ignored with a notice: settings of Falco's that Saker has no use for. */
  readonly ignored?: readonly string[];
}

/** Edit distance counting a swap of two neighbours as one edit (`ulr` → `url`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest known key, when one is close enough to be a likely typo. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(key.length / 3));
  return bestDistance <= limit ? best : undefined;
}

export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** A mapping with known keys, each with a default; camelCase keys in the value. */
export function object<F extends Fields>(fields: F, opts: ObjectOptions = {}): Schema<ObjectOf<F>> {
  const known = Object.keys(fields);
  const ignored = new Set(opts.ignored ?? []);
  return {
    expected: 'a mapping',
    read(node, path, ctx) {
      if (node.kind === 'scalar' && node.value === null) {
        return defaults(fields) as ObjectOf<F>;
      }
      if (node.kind !== 'map') return fail(node, path, 'a mapping');
      for (const [key, entry] of node.entries) {
        if (Object.hasOwn(fields, key)) continue;
        if (ignored.has(key)) {
          ctx.ignored(joinPath(path, key), entry.keyOrigin);
          continue;
        }
        const hint = suggest(key, known);
        throw new ConfigError(
          joinPath(path, key),
          `unknown key${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
          entry.keyOrigin,
        );
      }
      const out: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(fields)) {
        const entry = node.entries.get(key);
        const absent = entry === undefined || (entry.value.kind === 'scalar' && entry.value.value === null);
        out[camelCase(key)] = absent ? defaultOf(f) : f.schema.read(entry.value, joinPath(path, key), ctx);
      }
      return out as ObjectOf<F>;
    },
  };
}

/** A nested mapping as a field: absent, it takes every one of its own defaults. */
export function section<F extends Fields>(fields: F, opts: ObjectOptions = {}): Field<ObjectOf<F>> {
  return { schema: object(fields, opts), default: () => defaults(fields) as ObjectOf<F> };
}

function defaultOf<T>(f: Field<T>): T {
  return typeof f.default === 'function' ? (f.default as () => T)() : f.default;
}

function defaults<F extends Fields>(fields: F): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) out[camelCase(key)] = defaultOf(f);
  return out;
}
