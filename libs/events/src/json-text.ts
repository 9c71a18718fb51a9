/**
 * JSON from the network with a cap on nesting. V8's JSON.parse takes any
 * depth, but the code that walks the value afterwards recurses: JSON nested
 * ~4,500 deep overflowed the stack in the audit webhook, which then never
 * answered. Depth is counted in one pass over the text, outside strings,
 * before parsing.
 */

/** Most nested arrays and objects a body from the network may hold (Kubernetes objects stay far below). */
const MAX_JSON_DEPTH = 400;

/** The text nests deeper than the limit. */
export class JsonDepthError extends Error {
  override readonly name = 'JsonDepthError';
  /** Offset of the bracket that went past the limit. */
  readonly offset: number;
  readonly limit: number;

  constructor(offset: number, limit: number) {
    super(`JSON nests deeper than ${limit} levels (the limit) at offset ${offset}`);
    this.offset = offset;
    this.limit = limit;
  }
}

/** Throws JsonDepthError when `text` nests deeper than `limit`. Linear; never parses. */
function checkJsonDepth(text: string, limit: number = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > limit) throw new JsonDepthError(i, limit);
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
}

/**
 * True when `text` holds at most `limit` opening brackets, so it cannot nest
 * deeper than `limit` (brackets inside strings only over-count). indexOf is
 * far cheaper per character than checkJsonDepth's loop, and an alert or an
 * event holds a handful of brackets.
 */
function fewBrackets(text: string, limit: number): boolean {
  let n = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i !== -1; i = text.indexOf(open, i + 1)) {
      if (++n > limit) return false;
    }
  }
  return true;
}

/** JSON.parse after checkJsonDepth: throws JsonDepthError or SyntaxError. */
export function parseJsonBounded(text: string, limit: number = MAX_JSON_DEPTH): unknown {
  if (!fewBrackets(text, limit)) checkJsonDepth(text, limit);
  return JSON.parse(text);
}

/**
 * `text` (valid JSON) on one line: the line breaks between tokens dropped,
 * everything else byte for byte (Falco's `, "output_fields": ` spacing,
 * numbers past 2^53, unknown keys). JSON strings cannot hold a raw line
 * break, so the result holds none: a body spread over several lines cannot
 * become several alerts in a line-based output.
 */
export function oneLineJson(text: string): string {
  if (!text.includes('\n') && !text.includes('\r')) return text;
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 10 || c === 13) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}
