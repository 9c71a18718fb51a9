/**
 * fnmatch(3) without flags, in linear time per star: `*` any run, `?` any one
 * character (both also match `/`), `[...]` a set with `!`/`^` negation,
 * ranges and `[:class:]`, and `\` quoting the next character.
 *
 * Globs used to become backtracking regular expressions, where
 * `*a*a*a*a*a*b` over a 200-character path ran for minutes; attackers write
 * the paths. Here a failed match resumes after the last star only (a star
 * matches anything, so an earlier one never needs to take more), which bounds
 * a match at pattern length × value length steps.
 */

type CharTest = (code: number) => boolean;

/** One step of a compiled glob: a star, or a test of exactly one character. */
type Token = { readonly star: true } | { readonly star: false; readonly test: CharTest };

const STAR: Token = { star: true };

/** POSIX classes as inclusive code ranges. */
const POSIX_CLASSES: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  alpha: [range('a', 'z'), range('A', 'Z')],
  digit: [range('0', '9')],
  alnum: [range('a', 'z'), range('A', 'Z'), range('0', '9')],
  upper: [range('A', 'Z')],
  lower: [range('a', 'z')],
  space: [
    [32, 32],
    [9, 13],
  ],
  blank: [
    [32, 32],
    [9, 9],
  ],
  punct: [range('!', '/'), range(':', '@'), range('[', '`'), range('{', '~')],
  xdigit: [range('0', '9'), range('A', 'F'), range('a', 'f')],
  cntrl: [
    [0, 31],
    [127, 127],
  ],
  print: [[32, 126]],
  graph: [[33, 126]],
};

function range(lo: string, hi: string): readonly [number, number] {
  return [lo.charCodeAt(0), hi.charCodeAt(0)];
}

/** The other ASCII case of a letter, else the code itself. */
function otherCase(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  if (c >= 97 && c <= 122) return c - 32;
  return c;
}

function caseless(test: CharTest, ci: boolean): CharTest {
  return ci ? (c) => test(c) || test(otherCase(c)) : test;
}

/** A bracket expression starting at `start`; undefined when it never closes (then `[` is literal). */
function bracket(p: string, start: number, ci: boolean): { test: CharTest; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: (readonly [number, number])[] = [];
  let first = true;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === ']' && !first) {
      const inSet = caseless((code) => {
        for (const [lo, hi] of ranges) if (code >= lo && code <= hi) return true;
        return false;
      }, ci);
      return { test: negate ? (code) => !inSet(code) : inSet, end: i };
    }
    first = false;
    if (c === '[' && p[i + 1] === ':') {
      const close = p.indexOf(':]', i + 2);
      const cls = close < 0 ? undefined : POSIX_CLASSES[p.slice(i + 2, close)];
      if (cls !== undefined) {
        ranges.push(...cls);
        i = close + 2;
        continue;
      }
    }
    let lit = c;
    if (c === '\\' && i + 1 < p.length) {
      i++;
      lit = p[i] as string;
    }
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      let hi = p[i + 2] as string;
      let skip = 2;
      if (hi === '\\' && i + 3 < p.length) {
        hi = p[i + 3] as string;
        skip = 3;
      }
      if (hi >= lit) ranges.push([lit.charCodeAt(0), hi.charCodeAt(0)]);
      i += skip + 1;
      continue;
    }
    const code = lit.charCodeAt(0);
    ranges.push([code, code]);
    i++;
  }
  return undefined;
}

function literal(code: number, ci: boolean): Token {
  const other = ci ? otherCase(code) : code;
  return { star: false, test: other === code ? (c) => c === code : (c) => c === code || c === other };
}

const ANY: Token = { star: false, test: () => true };

function compileGlob(pattern: string, ci: boolean): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR);
    } else if (c === '?') {
      tokens.push(ANY);
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      tokens.push(literal(pattern.charCodeAt(i), ci));
    } else if (c === '[') {
      const set = bracket(pattern, i, ci);
      if (set === undefined) {
        tokens.push(literal(91, ci));
      } else {
        tokens.push({ star: false, test: set.test });
        i = set.end;
      }
    } else {
      tokens.push(literal(pattern.charCodeAt(i), ci));
    }
    i++;
  }
  return tokens;
}

/** Compiles `pattern` once; the matcher tests a whole value (characters are UTF-16 code units). */
export function globMatcher(pattern: string, caseInsensitive: boolean): (value: string) => boolean {
  const tokens = compileGlob(pattern, caseInsensitive);
  const m = tokens.length;
  return (value) => {
    const n = value.length;
    let p = 0;
    let s = 0;
    let starP = -1;
    let starS = 0;
    while (s < n) {
      const t = tokens[p];
      if (t !== undefined && !t.star && t.test(value.charCodeAt(s))) {
        p++;
        s++;
      } else if (t?.star) {
        starP = p++;
        starS = s;
      } else if (starP >= 0) {
        // Let the last star take one more character and retry what follows it.
        p = starP + 1;
        s = ++starS;
      } else {
        return false;
      }
    }
    while (p < m && tokens[p]?.star) p++;
    return p === m;
  };
}
