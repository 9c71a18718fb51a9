/**
 * Glob and path matching.
 *
 * `pmatch`: whether a path lies at or under any of a set of directories,
 * compared component by component, as Falco does. `/etc` matches `/etc` and
 * `/etc/passwd` but not `/etcx`; repeated and trailing slashes do not count
 * (`/etc//x/` is `/etc/x`); a component of a search path that holds a glob
 * character (`*`, `?`, `[`) is matched as a glob against one path component.
 */
export function pathMatcher(paths: readonly string[]): (path: string) => boolean {
  const literal: string[] = [];
  const globbed: RegExp[][] = [];
  for (const p of paths) {
    const comps = components(p);
    if (comps.some((c) => /[*?[]/.test(c))) {
      globbed.push(comps.map((c) => globToRegExp(c, false)));
    } else {
      literal.push(comps.length === 0 ? '' : `/${comps.join('/')}`);
    }
  }
  // A shorter search path covers every longer one below it.
  literal.sort((a, b) => a.length - b.length);
  const prefixes: string[] = [];
  for (const p of literal) {
    if (!prefixes.some((q) => covers(q, p))) prefixes.push(p);
  }
  const root = prefixes.includes('');
  const n = prefixes.length;
  return (path) => {
    if (root) return true;
    const norm = isNormal(path) ? path : normalize(path);
    for (let i = 0; i < n; i++) if (covers(prefixes[i]!, norm)) return true;
    if (globbed.length > 0) {
      const comps = components(path);
      for (const g of globbed) if (globCovers(g, comps)) return true;
    }
    return false;
  };
}

/** Whether normalized `prefix` is `path` or one of its parent directories. */
function covers(prefix: string, path: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}

function globCovers(glob: readonly RegExp[], comps: readonly string[]): boolean {
  if (glob.length > comps.length) return false;
  for (let i = 0; i < glob.length; i++) if (!glob[i]!.test(comps[i]!)) return false;
  return true;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

/** `/a/b` form: leading slash, no empty component, no trailing slash. */
function isNormal(path: string): boolean {
  if (path.charCodeAt(0) !== 47 || path.length < 2) return false;
  if (path.charCodeAt(path.length - 1) === 47) return false;
  return !path.includes('//');
}

function normalize(path: string): string {
  const comps = components(path);
  return comps.length === 0 ? '' : `/${comps.join('/')}`;
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

function escapeRegExp(s: string): string {
  return s.replace(REGEX_SPECIAL, '\\$&');
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

/**
 * fnmatch(3) pattern (no flags) as an anchored RegExp: `*` any run, `?` any
 * one character (both also match `/`), `[...]` a set with `!`/`^` negation,
 * ranges and `[:class:]`, and `\` quoting the next character.
 */
export function globToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  let re = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*') {
      re += '[\\s\\S]*';
      while (pattern[i + 1] === '*') i++;
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      re += escapeRegExp(pattern[i]!);
    } else if (c === '[') {
      const set = bracket(pattern, i);
      if (set === undefined) {
        re += '\\[';
      } else {
        re += set.re;
        i = set.end;
      }
    } else {
      re += escapeRegExp(c);
    }
    i++;
  }
  return new RegExp(`^(?:${re})$`, caseInsensitive ? 'i' : '');
}

/** A bracket expression starting at `start`; undefined when it never closes (then `[` is literal). */
function bracket(p: string, start: number): { re: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < p.length) {
    const c = p[i]!;
    if (c === ']' && !first) {
      return {
        re: body === '' ? (negate ? '[\\s\\S]' : '[^\\s\\S]') : `[${negate ? '^' : ''}${body}]`,
        end: i,
      };
    }
    first = false;
    if (c === '[' && p[i + 1] === ':') {
      const close = p.indexOf(':]', i + 2);
      const cls = close < 0 ? undefined : POSIX_CLASSES[p.slice(i + 2, close)];
      if (cls !== undefined) {
        body += cls;
        i = close + 2;
        continue;
      }
    }
    let lit = c;
    if (c === '\\' && i + 1 < p.length) {
      i++;
      lit = p[i]!;
    }
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      let hi = p[i + 2]!;
      let skip = 2;
      if (hi === '\\' && i + 3 < p.length) {
        hi = p[i + 3]!;
        skip = 3;
      }
      if (hi >= lit) body += `${classChar(lit)}-${classChar(hi)}`;
      i += skip + 1;
      continue;
    }
    body += classChar(lit);
    i++;
  }
  return undefined;
}

function classChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
