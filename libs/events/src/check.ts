import { EventValidationError } from './errors.js';

/**
 * The checks behind the event validators. They are split in two halves so the
 * common case costs nothing but the test: the `is*` predicates take the value
 * and allocate nothing; the `bad*` functions build the path and the message
 * and throw, and run only on the error path. Each names the JSON path it was
 * checking, so a bad event says exactly what was wrong.
 */
export type Obj = Record<string, unknown>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function fail(path: string, reason: string): never {
  throw new EventValidationError(path, reason);
}

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object(value: unknown, path: string): Obj {
  if (!isObject(value)) badObject(path, value);
  return value;
}

export function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** Nanosecond timestamps travel as decimal strings of 1 to 20 ASCII digits. */
export function isNsTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const n = value.length;
  if (n === 0 || n > 20) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function badObject(path: string, value: unknown): never {
  fail(path, `expected an object, got ${describe(value)}`);
}

export function badStr(path: string, key: string, value: unknown): never {
  fail(`${path}.${key}`, `expected a string, got ${describe(value)}`);
}

export function badInt(path: string, key: string, value: unknown): never {
  fail(`${path}.${key}`, `expected an integer, got ${describe(value)}`);
}

export function badBool(path: string, key: string, value: unknown): never {
  fail(`${path}.${key}`, `expected a boolean, got ${describe(value)}`);
}

export function badNsTime(path: string, key: string, value: unknown): never {
  fail(`${path}.${key}`, `expected nanoseconds since the epoch as a decimal string, got ${describe(value)}`);
}

export function badOneOf(path: string, key: string, value: unknown, allowed: readonly string[]): never {
  fail(`${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

/** A required string. */
export function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') badStr(path, key, v);
  return v;
}

/** An optional array of strings (`required`: not optional). */
export function strArray(v: unknown, key: string, path: string, required: boolean): void {
  if (v === undefined && !required) return;
  if (!Array.isArray(v)) fail(`${path}.${key}`, `expected an array of strings, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') fail(`${path}.${key}[${i}]`, `expected a string, got ${describe(v[i])}`);
  }
}

/** An object whose values are strings or numbers (`required`: not optional). */
export function scalarRecord(v: unknown, key: string, path: string, required: boolean): void {
  if (v === undefined && !required) return;
  if (!isObject(v)) badObject(`${path}.${key}`, v);
  for (const k in v) {
    const t = typeof v[k];
    if (t !== 'string' && t !== 'number') {
      fail(`${path}.${key}.${k}`, `expected a string or number, got ${describe(v[k])}`);
    }
  }
}

/** An optional object whose values are strings. */
export function stringRecord(v: unknown, key: string, path: string): void {
  if (v === undefined) return;
  if (!isObject(v)) badObject(`${path}.${key}`, v);
  for (const k in v) {
    if (typeof v[k] !== 'string') fail(`${path}.${key}.${k}`, `expected a string, got ${describe(v[k])}`);
  }
}
