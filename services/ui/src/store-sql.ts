/**
 * Filters as SQL over the `alerts a` table: conditions with bound
 * parameters (a value is never spliced into the text), and free text as an
 * FTS5 pre-filter plus a literal check.
 */
import { type Filters, asciiLower } from './filters.js';

export interface Where {
  readonly sql: string[];
  readonly params: (string | number)[];
}

export function clause(conds: readonly string[]): string {
  return conds.length === 0 ? '' : `WHERE ${conds.join(' AND ')}`;
}

function inList(col: string, values: readonly (string | number)[], w: Where): void {
  if (values.length === 0) return;
  w.sql.push(`${col} IN (${values.map(() => '?').join(', ')})`);
  w.params.push(...values);
}

/**
 * An FTS5 query that every row holding `q` (ASCII case folded) from the
 * start of a word matches, or null when no part of `q` can narrow the
 * search. FTS5's unicode61 tokenizer splits on every ASCII character other
 * than letters and digits, so an ASCII word of `q` bounded by such
 * characters (or by the start of `q`, which is taken as the start of a word)
 * is a whole token of the row, or a token's prefix when its right edge is
 * the end of `q`. Words next to a non-ASCII character are left out (where
 * the tokenizer splits there is not known here). Each word goes inside
 * double quotes, where nothing is syntax.
 */
export function ftsQuery(q: string): string | null {
  const parts: string[] = [];
  const word = /[A-Za-z0-9]+/g;
  for (let m = word.exec(q); m !== null; m = word.exec(q)) {
    const before = q[m.index - 1];
    const after = q[m.index + m[0].length];
    const ascii = (c: string | undefined): boolean => c !== undefined && c.charCodeAt(0) < 128;
    if (before !== undefined && !ascii(before)) continue;
    if (after !== undefined && !ascii(after)) continue;
    parts.push(after === undefined ? `"${m[0]}" *` : `"${m[0]}"`);
  }
  return parts.length === 0 ? null : parts.join(' AND ');
}

/** A condition over `alerts a` selecting the rows an FTS5 query matches (text-index.ts). */
export type TextMatch = (fts: string) => { readonly sql: string; readonly params: readonly string[] };

/**
 * The filters as conditions over `alerts a`, with their parameters. With
 * `timeIndex` false, the time bounds are written so SQLite cannot use the
 * time index (`+a.ts`): the caller wants the rows in id order.
 */
export function where(f: Filters, text: TextMatch, timeIndex = true): Where {
  const w: Where = { sql: [], params: [] };
  inList('a.source', f.sources, w);
  inList('a.prio', f.priorities, w);
  if (f.minPriority !== null) {
    w.sql.push('a.prio <= ?');
    w.params.push(f.minPriority);
  }
  inList('a.hostname', f.hostnames, w);
  inList('a.rule', f.rules, w);
  inList('a.namespace', f.namespaces, w);
  inList('a.pod', f.pods, w);
  inList('a.node', f.nodes, w);
  inList('a.image', f.images, w);
  if (f.tags.length > 0) {
    w.sql.push(`a.id IN (SELECT id FROM alert_tags WHERE tag IN (${f.tags.map(() => '?').join(', ')}))`);
    w.params.push(...f.tags);
  }
  for (const [name, values] of f.fields) {
    w.sql.push(`ui_field(a.fields, ?) IN (${values.map(() => '?').join(', ')})`);
    w.params.push(name, ...values);
  }
  if (f.from !== null) {
    w.sql.push(timeIndex ? 'a.ts >= ?' : '+a.ts >= ?');
    w.params.push(f.from);
  }
  if (f.to !== null) {
    w.sql.push(timeIndex ? 'a.ts <= ?' : '+a.ts <= ?');
    w.params.push(f.to);
  }
  if (f.q !== null) {
    const fts = ftsQuery(f.q);
    if (fts !== null) {
      const m = text(fts);
      w.sql.push(m.sql);
      w.params.push(...m.params);
    }
    // The literal check, over the text the index was built from (event.ts, docOf),
    // rebuilt from the row by the store's ui_doc function.
    w.sql.push('instr(lower(ui_doc(a.rule, a.output, a.fields)), ?) > 0');
    w.params.push(asciiLower(f.q));
  }
  return w;
}
