import { globMatcher } from './glob.js';

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
  const globbed: ((component: string) => boolean)[][] = [];
  for (const p of paths) {
    const comps = components(p);
    if (comps.some((c) => /[*?[]/.test(c))) {
      globbed.push(comps.map((c) => globMatcher(c, false)));
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

function globCovers(glob: readonly ((component: string) => boolean)[], comps: readonly string[]): boolean {
  if (glob.length > comps.length) return false;
  for (let i = 0; i < glob.length; i++) if (!glob[i]!(comps[i]!)) return false;
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
