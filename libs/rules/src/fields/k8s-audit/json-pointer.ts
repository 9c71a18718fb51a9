import type { JsonValue } from '@saker/events';
import type { Slot } from './json.js';
import { child } from './json.js';

/**
 * A JSON pointer (RFC 6901), parsed once into its reference tokens.
 *
 * It is read as the json plugin reads `json.value[...]`/`jevt.value[...]`:
 * the leading `/` may be left out, `~1` stands for `/` and `~0` for `~`, and
 * a token selects an array element when it is a decimal number. A `~` before
 * anything else is kept as it is, and the empty pointer is the whole document.
 */
export interface JsonPointer {
  readonly text: string;
  /** The unescaped reference tokens; empty for the whole document. */
  readonly tokens: readonly string[];
}

export function parseJsonPointer(text: string): JsonPointer {
  if (text.length === 0) return { text, tokens: [] };
  const body = text.startsWith('/') ? text.slice(1) : text;
  const tokens = body.split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
  return { text, tokens };
}

/** The value the pointer selects, or undefined when any step is missing. */
export function resolveJsonPointer(doc: JsonValue, pointer: JsonPointer): Slot {
  let v: Slot = doc;
  for (const t of pointer.tokens) {
    v = child(v, t);
    if (v === undefined) return undefined;
  }
  return v;
}
