/**
 * Value schemas shared by Saker's sections and by the sections other
 * packages own (the sinks' `sinks.sidekick` outputs): falcosidekick's
 * spellings (key:value maps, comma lists, '' for "not set", caseless
 * enumerations), a concurrency bound, and `checked`, which runs a package's
 * own validator and reports its refusal at the key's file:line:col.
 */
import { ConfigError } from './errors.js';
import { type Schema, joinPath, list, map, number, oneOf, string } from './schema.js';
import type { CNode } from './tree.js';

/** `inner`, or the empty string (falcosidekick's "not set"). */
export function emptyOr(inner: Schema<string>): Schema<string> {
  return {
    expected: `${inner.expected} or ''`,
    read(node, path, ctx) {
      if (node.kind === 'scalar' && node.value === '') return '';
      return inner.read(node, path, ctx);
    },
  };
}

/**
 * A free-form map of strings (falcosidekick's `customfields`,
 * `customheaders`, …): a mapping, or falcosidekick's environment form
 * `key:value,key:value` (the value is what follows the first `:`).
 */
export function stringMap(): Schema<Readonly<Record<string, string>>> {
  const expected = 'a mapping of strings or key:value,key:value';
  const text = string();
  return {
    expected,
    read(node, path, ctx) {
      const out: Record<string, string> = {};
      if (node.kind === 'map') {
        for (const [key, entry] of node.entries) out[key] = text.read(entry.value, joinPath(path, key), ctx);
        return out;
      }
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        for (const part of node.value.split(',')) {
          if (part.trim() === '') continue;
          const at = part.indexOf(':');
          if (at <= 0) {
            throw new ConfigError(
              path,
              `expected key:value, got ${JSON.stringify(part.trim())}`,
              node.origin,
            );
          }
          out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
        }
        return out;
      }
      return fail(node, path, expected);
    },
  };
}

/** A list of strings, or falcosidekick's comma-separated form `a, b`. */
export function stringList(): Schema<readonly string[]> {
  return map(list(string()), (items) =>
    items
      .flatMap((t) => t.split(','))
      .map((t) => t.trim())
      .filter((t) => t !== ''),
  );
}

/** `concurrency` of an output: at most the alerts a consumer may hold unacked (maxAckPending, 1000). */
export function concurrency(): Schema<number> {
  return number({ integer: true, min: 1, max: 1000 });
}

/** falcosidekick's upper-case enumerations (`round_robin` stays lower): any case accepted, '' = `empty`. */
export function caseless<T extends string>(values: readonly T[], empty: T): Schema<T> {
  // '' is accepted (falcosidekick's "not set") but not listed in the error.
  return oneOf<T>(
    values.filter((v) => v !== ''),
    (t) => (t === '' ? empty : values.find((v) => v.toLowerCase() === t.toLowerCase())),
  );
}

function fail(node: CNode, path: string, expected: string): never {
  const got = node.kind === 'seq' ? 'a list' : node.kind === 'map' ? 'a mapping' : JSON.stringify(node.value);
  throw new ConfigError(path, `expected ${expected}, got ${got}`, node.origin);
}

/**
 * `inner`, then `check` over the value: a check that throws (any error with
 * a `reason`, or its message) becomes a ConfigError at the key, with where
 * it was written.
 */
export function checked<T>(inner: Schema<T>, check: (value: T) => void): Schema<T> {
  return map(inner, (value, node, path) => {
    try {
      check(value);
    } catch (err) {
      const reason =
        typeof err === 'object' && err !== null && 'reason' in err && typeof err.reason === 'string'
          ? err.reason
          : err instanceof Error
            ? err.message
            : String(err);
      throw new ConfigError(path, reason, node.origin, { cause: err });
    }
    return value;
  });
}
