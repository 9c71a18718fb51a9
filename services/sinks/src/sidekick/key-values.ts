/** falcosidekick's list forms: `key:value,key:value` and `a, b` (its environment-variable spellings). */
import { SinksOptionsError } from '../errors.js';

/**
 * falcosidekick's `key:value,key:value` (environment-variable form) or a map,
 * as a map. The value is everything after the first `:`.
 */
export function parseKeyValues(
  path: string,
  v: string | Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  const entries: [string, string][] = [];
  if (typeof v === 'string') {
    for (const part of v.split(',')) {
      if (part.trim() === '') continue;
      const at = part.indexOf(':');
      if (at <= 0) throw new SinksOptionsError(path, `expected key:value, got ${JSON.stringify(part)}`);
      entries.push([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
    }
  } else {
    entries.push(...Object.entries(v));
  }
  for (const [k, val] of entries) {
    if (k === '') throw new SinksOptionsError(path, 'empty key');
    out[k] = val;
  }
  return out;
}

export function parseList(v: string | readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  const items = typeof v === 'string' ? v.split(',') : [...v];
  return items.map((t) => t.trim()).filter((t) => t !== '');
}
