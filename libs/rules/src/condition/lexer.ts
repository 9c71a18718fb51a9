/**
 * Character-level scanning for the condition language. The parser owns one
 * Scanner per call, so nothing here keeps state between conditions.
 *
 * The token shapes follow Falco's grammar:
 * - a name is `[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)*`; with a dot it is a
 *   field, without one a macro reference;
 * - a bare value is any run of characters other than blanks, parentheses,
 *   quotes, `=` and `,` (so `/etc`, `127.0.0.1`, `runc:[2:INIT]` need no quotes);
 * - a quoted value uses `'` or `"` with backslash escapes;
 * - a number is decimal (optionally signed, with fraction and exponent) or hex.
 */

/** A problem found while scanning or parsing, at an offset into the condition. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_VT = 11;
const CH_FF = 12;
const CH_CR = 13;
const CH_BS = 8;
const CH_SPACE = 32;
const CH_DQUOTE = 34;
const CH_SQUOTE = 39;
const CH_LPAREN = 40;
const CH_RPAREN = 41;
const CH_COMMA = 44;
const CH_DOT = 46;
const CH_EQ = 61;
const CH_BACKSLASH = 92;
const CH_UNDERSCORE = 95;

export function isBlank(c: number): boolean {
  return (
    c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR || c === CH_BS || c === CH_FF || c === CH_VT
  );
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Characters that may continue a name or keyword. */
export function isNameChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === CH_UNDERSCORE;
}

function isNameStart(c: number): boolean {
  return isAlpha(c) || c === CH_UNDERSCORE;
}

function isBareChar(c: number): boolean {
  return (
    c >= 0 &&
    !isBlank(c) &&
    c !== CH_LPAREN &&
    c !== CH_RPAREN &&
    c !== CH_DQUOTE &&
    c !== CH_SQUOTE &&
    c !== CH_EQ &&
    c !== CH_COMMA
  );
}

export class Scanner {
  readonly text: string;
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** The character code at pos + ahead, or -1 past the end. */
  peek(ahead = 0): number {
    const i = this.pos + ahead;
    return i < this.text.length ? this.text.charCodeAt(i) : -1;
  }

  /** Skips blanks; says whether there were any. */
  skipBlank(): boolean {
    const from = this.pos;
    while (this.pos < this.text.length && isBlank(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos > from;
  }

  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  /** Whether `word` is at pos and is not the start of a longer name. */
  atWord(word: string, at = this.pos): boolean {
    if (!this.text.startsWith(word, at)) return false;
    const next = at + word.length;
    return next >= this.text.length || !isNameChar(this.text.charCodeAt(next));
  }

  /** Reads `[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)*`, or returns undefined without moving. */
  readName(): string | undefined {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (i >= t.length || !isNameStart(t.charCodeAt(i))) return undefined;
    i++;
    while (i < t.length && isNameChar(t.charCodeAt(i))) i++;
    while (i + 1 < t.length && t.charCodeAt(i) === CH_DOT && isNameChar(t.charCodeAt(i + 1))) {
      i += 2;
      while (i < t.length && isNameChar(t.charCodeAt(i))) i++;
    }
    this.pos = i;
    return t.slice(start, i);
  }

  /** Reads a run of bare-value characters, or returns undefined without moving. */
  readBare(): string | undefined {
    const t = this.text;
    const start = this.pos;
    let i = start;
    while (i < t.length && isBareChar(t.charCodeAt(i))) i++;
    if (i === start) return undefined;
    this.pos = i;
    return t.slice(start, i);
  }

  /** Reads a decimal or hex number, or returns undefined without moving. */
  readNumber(): string | undefined {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (t.charCodeAt(i) === 48 && (t.charCodeAt(i + 1) | 32) === 120 && isHexDigit(t.charCodeAt(i + 2))) {
      i += 2;
      while (i < t.length && isHexDigit(t.charCodeAt(i))) i++;
      this.pos = i;
      return t.slice(start, i);
    }
    const sign = t.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(t.charCodeAt(i))) return undefined;
    while (isDigit(t.charCodeAt(i))) i++;
    if (t.charCodeAt(i) === CH_DOT) {
      i++;
      while (isDigit(t.charCodeAt(i))) i++;
    }
    const e = t.charCodeAt(i);
    if (e === 69 || e === 101) {
      let j = i + 1;
      const s = t.charCodeAt(j);
      if (s === 43 || s === 45) j++;
      if (isDigit(t.charCodeAt(j))) {
        while (isDigit(t.charCodeAt(j))) j++;
        i = j;
      }
    }
    this.pos = i;
    return t.slice(start, i);
  }

  /** Whether a quoted string starts at pos. */
  atQuote(): boolean {
    const c = this.peek();
    return c === CH_DQUOTE || c === CH_SQUOTE;
  }

  /**
   * Reads a quoted string at pos and returns it unescaped. Escapes: `\b \f \n
   * \r \t \\ \/ \" \'` and `\xHH`; `\ ` stands for a lone backslash, as Falco
   * reads it (falco_rules.yaml has `"\ "`).
   */
  readQuoted(): string {
    const t = this.text;
    const open = this.pos;
    const quote = t.charCodeAt(open);
    let out = '';
    let i = open + 1;
    let chunk = i;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === quote) {
        out += t.slice(chunk, i);
        this.pos = i + 1;
        return out;
      }
      if (c !== CH_BACKSLASH) {
        i++;
        continue;
      }
      out += t.slice(chunk, i);
      if (i + 1 >= t.length) break;
      const e = t[i + 1];
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case ' ':
        case '\\':
          out += '\\';
          break;
        case '/':
        case '"':
        case "'":
          out += e;
          break;
        case 'x': {
          const hex = t.slice(i + 2, i + 4);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
            throw new ParseError(`invalid escape sequence '\\x${hex}': expected two hex digits`, i);
          }
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 2;
          break;
        }
        default:
          throw new ParseError(`unsupported escape sequence '\\${e ?? ''}' in quoted string`, i);
      }
      i += 2;
      chunk = i;
    }
    throw new ParseError(`unterminated quoted string: no closing ${String.fromCharCode(quote)}`, open);
  }

  /** A short rendering of what is at `at`, for messages: `'equals'`, `end of condition`. */
  describe(at = this.pos): string {
    const t = this.text;
    if (at >= t.length) return 'end of condition';
    let end = at;
    const first = t.charCodeAt(at);
    if (isNameChar(first)) {
      while (end < t.length && end - at < 40 && isNameChar(t.charCodeAt(end))) end++;
    } else if (isBareChar(first)) {
      while (end < t.length && end - at < 40 && isBareChar(t.charCodeAt(end))) end++;
    } else {
      end = at + 1;
    }
    return `'${t.slice(at, end)}'`;
  }
}

export const LPAREN = CH_LPAREN;
export const RPAREN = CH_RPAREN;
export const COMMA = CH_COMMA;
export const LBRACKET = 91;
export const RBRACKET = 93;
