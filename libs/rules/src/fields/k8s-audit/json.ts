import type { JsonValue } from '@saker/events';

/**
 * How the k8saudit plugin reads the audit object. Every `ka.*` field is a
 * string (or a list of strings) in Falco, whatever the JSON type underneath,
 * so rules compare `true`, `200` or `NodePort` as text. These helpers
 * reproduce the plugin's walk over the object so that lists, missing members
 * and odd shapes come out the same.
 */

/** One step of a walk: a JSON value, or `undefined` where the member was missing. */
export type Slot = JsonValue | undefined;

/** A string as it is; anything else (number, bool, null, object, array) as compact JSON text. */
export function jsonText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const DECIMAL = /^[0-9]+$/;

/**
 * One member: an object's own property, or an array's element when the key is
 * a decimal index. Anything else is missing. Own properties only, so a key such
 * as `constructor` never reaches the prototype.
 */
export function child(value: Slot, key: string): Slot {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return DECIMAL.test(key) ? value[Number(key)] : undefined;
  return Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Follows `keys` member by member; undefined as soon as one is missing. */
export function getPath(value: Slot, keys: readonly string[]): Slot {
  let v = value;
  for (const k of keys) {
    v = child(v, k);
    if (v === undefined) return undefined;
  }
  return v;
}

/**
 * Follows `keys`, fanning out over every array met on the way (or taking only
 * element `index` of it when an index is given). The result has one slot per
 * leaf reached; a branch whose member is missing leaves an `undefined` slot
 * (callers decide whether that skips the branch or voids the whole field).
 * An array reached by the *last* key is returned whole, as one slot: that is
 * why `ka.req.service.ports` yields the ports array as one JSON text.
 * Returns undefined when the walk dies before any fan-out, or when the index
 * is past the end of an array. An empty key stands for the value itself.
 */
export function collect(
  value: JsonValue,
  index: number | undefined,
  keys: readonly string[],
): Slot[] | undefined {
  return collectFrom(value, index, keys, 0);
}

function collectFrom(
  value: JsonValue,
  index: number | undefined,
  keys: readonly string[],
  from: number,
): Slot[] | undefined {
  let v: Slot = value;
  for (let i = from; i < keys.length; i++) {
    if (Array.isArray(v)) {
      if (index === undefined) {
        const out: Slot[] = [];
        for (const el of v) {
          const sub = collectFrom(el, index, keys, i);
          if (sub === undefined) out.push(undefined);
          else for (const s of sub) out.push(s);
        }
        return out;
      }
      v = v[index];
      if (v === undefined) return undefined;
    }
    const key = keys[i] as string;
    if (key.length > 0) v = child(v, key);
    if (v === undefined) return undefined;
  }
  return [v as JsonValue];
}

/** The slots as text, skipping missing ones; undefined when nothing is left (Falco's `<NA>`). */
export function textsSkipMissing(slots: readonly Slot[] | undefined): string[] | undefined {
  if (slots === undefined) return undefined;
  const out: string[] = [];
  for (const s of slots) if (s !== undefined) out.push(jsonText(s));
  return out.length > 0 ? out : undefined;
}

/** The slots as text; undefined when any slot is missing or none is left. */
export function textsStrict(slots: readonly Slot[] | undefined): string[] | undefined {
  if (slots === undefined || slots.length === 0) return undefined;
  const out: string[] = [];
  for (const s of slots) {
    if (s === undefined) return undefined;
    out.push(jsonText(s));
  }
  return out;
}

/** The elements of an array as text; undefined when the value is not a non-empty array. */
export function arrayTexts(value: Slot): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map(jsonText);
}
