import { EventValidationError } from './errors.js';

/**
 * Small, allocation-light checks used by the event validators. Each names the
 * JSON path it was checking, so a bad event says exactly what was wrong.
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

export function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `expected an object, got ${describe(value)}`);
  }
  return value as Obj;
}

export function optObject(o: Obj, key: string, path: string): Obj | undefined {
  const v = o[key];
  return v === undefined ? undefined : object(v, `${path}.${key}`);
}

export function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}.${key}`, `expected a string, got ${describe(v)}`);
  return v;
}

export function optStr(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== 'string')
    fail(`${path}.${key}`, `expected a string, got ${describe(v)}`);
}

export function int(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(`${path}.${key}`, `expected an integer, got ${describe(v)}`);
  }
  return v;
}

export function optInt(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v))) {
    fail(`${path}.${key}`, `expected an integer, got ${describe(v)}`);
  }
}

export function optBool(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean')
    fail(`${path}.${key}`, `expected a boolean, got ${describe(v)}`);
}

const NS_TIME = /^\d{1,20}$/;

/** Nanosecond timestamps travel as decimal strings. */
export function nsTime(o: Obj, key: string, path: string, required: boolean): void {
  const v = o[key];
  if (v === undefined && !required) return;
  if (typeof v !== 'string' || !NS_TIME.test(v)) {
    fail(`${path}.${key}`, `expected nanoseconds since the epoch as a decimal string, got ${describe(v)}`);
  }
}

export function strArray(o: Obj, key: string, path: string, required: boolean): void {
  const v = o[key];
  if (v === undefined && !required) return;
  if (!Array.isArray(v)) fail(`${path}.${key}`, `expected an array of strings, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') fail(`${path}.${key}[${i}]`, `expected a string, got ${describe(v[i])}`);
  }
}

export function oneOf<T extends string>(o: Obj, key: string, path: string, allowed: readonly T[]): void {
  const v = o[key];
  if (v !== undefined && !allowed.includes(v as T)) {
    fail(`${path}.${key}`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
}

export function scalarRecord(o: Obj, key: string, path: string, required: boolean): void {
  const v = o[key];
  if (v === undefined && !required) return;
  const rec = object(v, `${path}.${key}`);
  for (const k in rec) {
    const t = typeof rec[k];
    if (t !== 'string' && t !== 'number') {
      fail(`${path}.${key}.${k}`, `expected a string or number, got ${describe(rec[k])}`);
    }
  }
}

export function stringRecord(o: Obj, key: string, path: string): void {
  const v = o[key];
  if (v === undefined) return;
  const rec = object(v, `${path}.${key}`);
  for (const k in rec) {
    if (typeof rec[k] !== 'string') fail(`${path}.${key}.${k}`, `expected a string, got ${describe(rec[k])}`);
  }
}
