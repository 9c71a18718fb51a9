/**
 * Counts per minute and per hour, kept beside the alerts so the dashboard's
 * counts and timelines read thousands of rows, not millions. Each level has
 * three tables: `rollup_<level>` with one row per (bucket, source, priority,
 * rule, hostname, namespace) counting alerts, `rollup_<level>_tag` with one
 * more column, a tag, counting the alerts carrying it, and
 * `rollup_<level>_sp`, by (bucket, source, priority) only, which answers the
 * dashboard's unfiltered timelines and pies from a few rows per bucket
 * whatever the number of rules and hosts. The store adds a
 * batch's alerts (summed per key first) and subtracts the alerts it removes,
 * in the same transaction as the rows; a bucket that no alert is left in is
 * dropped whole instead (eviction empties most of the minutes it touches).
 *
 * A query can use them when every filter is one of those dimensions (at most
 * one tag, and not when counting by tag) and time. A range is split by
 * `cover`: whole hours from the hour table, the whole minutes left at its
 * edges from the minute table, and the partial minutes left from the alerts
 * themselves, so the answer is exact.
 */
import type Database from 'better-sqlite3';
import type { Filters } from './filters.js';
import { type Where, clause } from './store-sql.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** The bucket sizes, finest first. */
export const LEVELS = [
  { name: 'm', ms: MINUTE },
  { name: 'h', ms: HOUR },
] as const;
export type Level = 0 | 1;

const DIMS =
  'source TEXT NOT NULL, prio INTEGER NOT NULL, rule TEXT NOT NULL, hostname TEXT NOT NULL, namespace TEXT NOT NULL';
const DIM_NAMES = 'source, prio, rule, hostname, namespace';

function schema(level: string): string {
  return `
    CREATE TABLE IF NOT EXISTS rollup_${level} (
      b INTEGER NOT NULL, ${DIMS}, n INTEGER NOT NULL,
      PRIMARY KEY (b, ${DIM_NAMES})
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS rollup_${level}_tag (
      b INTEGER NOT NULL, tag TEXT NOT NULL, ${DIMS}, n INTEGER NOT NULL,
      PRIMARY KEY (b, tag, ${DIM_NAMES})
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS rollup_${level}_sp (
      b INTEGER NOT NULL, source TEXT NOT NULL, prio INTEGER NOT NULL, n INTEGER NOT NULL,
      PRIMARY KEY (b, source, prio)
    ) WITHOUT ROWID;`;
}

/** One alert's part in the counts. */
export interface RollupKey {
  readonly ts: number;
  readonly source: string;
  readonly prio: number;
  readonly rule: string;
  readonly hostname: string;
  readonly namespace: string;
  /** Distinct. */
  readonly tags: readonly string[];
}

/** Part of a time range read from one level: buckets [from, to) (null: unbounded). */
export interface Piece {
  readonly level: Level;
  readonly from: number | null;
  readonly to: number | null;
}

/**
 * Splits [from, to] (epoch ms, inclusive; null: unbounded) into whole
 * buckets, the coarsest that fit first, and the partial minutes left
 * (`raw`, inclusive ranges) that only the alerts can count.
 */
export function cover(from: number | null, to: number | null): { pieces: Piece[]; raw: [number, number][] } {
  const pieces: Piece[] = [];
  const raw: [number, number][] = [];
  const span = (lo: number | null, hi: number | null, level: Level): void => {
    const size = LEVELS[level].ms;
    const bf = lo === null ? null : Math.ceil(lo / size);
    const bt = hi === null ? null : Math.floor((hi + 1) / size);
    const finer = (a: number, b: number): void => {
      if (level === 0) raw.push([a, b]);
      else span(a, b, (level - 1) as Level);
    };
    if (bf !== null && bt !== null && bf >= bt) {
      // lo and hi are finite here.
      finer(lo as number, hi as number);
      return;
    }
    pieces.push({ level, from: bf, to: bt });
    if (lo !== null && bf !== null && lo < bf * size) finer(lo, bf * size - 1);
    if (hi !== null && bt !== null && bt * size <= hi) finer(bt * size, hi);
  };
  span(from, to, 1);
  return { pieces, raw };
}

/** Which table of a level a query reads. */
export type Table = 'base' | 'tag' | 'sp';
const SUFFIX: Readonly<Record<Table, string>> = { base: '', tag: '_tag', sp: '_sp' };
const TABLES: readonly Table[] = ['base', 'tag', 'sp'];

interface Sum {
  readonly b: number;
  readonly table: Table;
  readonly tag: string;
  readonly k: RollupKey;
  n: number;
}

export class Rollup {
  readonly #db: Database.Database;
  readonly #upsert: Record<Table, Database.Statement>[];
  readonly #prune: Record<Table, Database.Statement>[];
  readonly #drop: Record<Table, Database.Statement>[];

  constructor(db: Database.Database) {
    this.#db = db;
    for (const l of LEVELS) db.exec(schema(l.name));
    this.#upsert = LEVELS.map((l) => ({
      base: db.prepare(
        `INSERT INTO rollup_${l.name} (b, ${DIM_NAMES}, n) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET n = n + excluded.n`,
      ),
      tag: db.prepare(
        `INSERT INTO rollup_${l.name}_tag (b, tag, ${DIM_NAMES}, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET n = n + excluded.n`,
      ),
      sp: db.prepare(
        `INSERT INTO rollup_${l.name}_sp (b, source, prio, n) VALUES (?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET n = n + excluded.n`,
      ),
    }));
    this.#prune = LEVELS.map((l) => ({
      base: db.prepare(`DELETE FROM rollup_${l.name} WHERE b >= ? AND b <= ? AND n <= 0`),
      tag: db.prepare(`DELETE FROM rollup_${l.name}_tag WHERE b >= ? AND b <= ? AND n <= 0`),
      sp: db.prepare(`DELETE FROM rollup_${l.name}_sp WHERE b >= ? AND b <= ? AND n <= 0`),
    }));
    this.#drop = LEVELS.map((l) => ({
      base: db.prepare(`DELETE FROM rollup_${l.name} WHERE b = ?`),
      tag: db.prepare(`DELETE FROM rollup_${l.name}_tag WHERE b = ?`),
      sp: db.prepare(`DELETE FROM rollup_${l.name}_sp WHERE b = ?`),
    }));
  }

  /** Adds alerts (inside the caller's transaction). */
  add(keys: readonly RollupKey[]): void {
    this.#apply(keys, 1);
  }

  /**
   * Subtracts deleted alerts (inside the caller's transaction, after their
   * rows are gone). A bucket that `holds` says no alert is left in is
   * dropped whole, with no per-key subtraction; the others are subtracted
   * key by key, and the keys left at zero removed.
   */
  subtract(keys: readonly RollupKey[], holds: (from: number, to: number) => boolean): void {
    this.#apply(keys, -1, (level, b) => {
      const size = LEVELS[level]?.ms ?? MINUTE;
      if (holds(b * size, (b + 1) * size)) return false;
      const drop = this.#drop[level];
      if (drop !== undefined) for (const t of TABLES) drop[t].run(b);
      return true;
    });
  }

  /** `dropped(level, b)`: whether the bucket was dropped whole, so its keys are skipped. */
  #apply(keys: readonly RollupKey[], sign: 1 | -1, dropped?: (level: number, b: number) => boolean): void {
    if (keys.length === 0) return;
    // One map per level; each alert's key strings are built once for both levels.
    const sums = LEVELS.map(() => new Map<string, Sum>());
    const lo = LEVELS.map(() => Number.POSITIVE_INFINITY);
    const hi = LEVELS.map(() => Number.NEGATIVE_INFINITY);
    const bump = (
      m: Map<string, Sum>,
      key: string,
      b: number,
      table: Table,
      tag: string,
      k: RollupKey,
    ): void => {
      const e = m.get(key);
      if (e === undefined) m.set(key, { b, table, tag, k, n: 1 });
      else e.n++;
    };
    for (const k of keys) {
      // JSON keeps the key injective whatever the strings hold.
      const dims = JSON.stringify([k.source, k.prio, k.rule, k.hostname, k.namespace]);
      const sp = `(${JSON.stringify([k.source, k.prio])}`;
      // A tag's JSON starts with a quote, dims with a bracket, sp with a parenthesis:
      // no key of one kind is one of another.
      const tagKeys = k.tags.map((tag) => `${JSON.stringify(tag)}${dims}`);
      for (let level = 0; level < LEVELS.length; level++) {
        const m = sums[level] as Map<string, Sum>;
        const b = Math.floor(k.ts / (LEVELS[level]?.ms ?? MINUTE));
        if (b < (lo[level] as number)) lo[level] = b;
        if (b > (hi[level] as number)) hi[level] = b;
        bump(m, `${b}|${dims}`, b, 'base', '', k);
        bump(m, `${b}|${sp}`, b, 'sp', '', k);
        for (let i = 0; i < tagKeys.length; i++)
          bump(m, `${b}|${tagKeys[i] as string}`, b, 'tag', k.tags[i] as string, k);
      }
    }
    for (let level = 0; level < LEVELS.length; level++) {
      const up = this.#upsert[level];
      const prune = this.#prune[level];
      const m = sums[level];
      if (up === undefined || prune === undefined || m === undefined) continue;
      const gone = new Map<number, boolean>();
      for (const s of m.values()) {
        if (dropped !== undefined) {
          let g = gone.get(s.b);
          if (g === undefined) {
            g = dropped(level, s.b);
            gone.set(s.b, g);
          }
          if (g) continue;
        }
        const k = s.k;
        if (s.table === 'base')
          up.base.run(s.b, k.source, k.prio, k.rule, k.hostname, k.namespace, sign * s.n);
        else if (s.table === 'sp') up.sp.run(s.b, k.source, k.prio, sign * s.n);
        else up.tag.run(s.b, s.tag, k.source, k.prio, k.rule, k.hostname, k.namespace, sign * s.n);
      }
      if (sign < 0) {
        prune.base.run(lo[level], hi[level]);
        prune.tag.run(lo[level], hi[level]);
        prune.sp.run(lo[level], hi[level]);
      }
    }
  }

  /** Whether `f` can be answered from the counts (counting by tag when `byTag`). */
  static covers(f: Filters, byTag: boolean): boolean {
    return (
      f.pods.length === 0 &&
      f.nodes.length === 0 &&
      f.images.length === 0 &&
      f.fields.size === 0 &&
      f.q === null &&
      (f.tags.length === 0 || (f.tags.length === 1 && !byTag))
    );
  }

  /**
   * Conditions over `rollup_<level><suffix> r` for the filters other than
   * time, and the table that answers them: the tag table when counting by
   * tag or filtering by one, the (source, priority) table when `col` and the
   * filters need nothing else, else the base table.
   */
  static where(f: Filters, col: string): Where & { readonly table: Table } {
    const narrow =
      ['r.source', 'r.prio', "''"].includes(col) &&
      f.hostnames.length === 0 &&
      f.rules.length === 0 &&
      f.namespaces.length === 0 &&
      f.tags.length === 0;
    const table: Table = col === 'r.tag' || f.tags.length > 0 ? 'tag' : narrow ? 'sp' : 'base';
    const w = { sql: [] as string[], params: [] as (string | number)[], table };
    const inList = (col: string, values: readonly (string | number)[]): void => {
      if (values.length === 0) return;
      w.sql.push(`${col} IN (${values.map(() => '?').join(', ')})`);
      w.params.push(...values);
    };
    inList('r.source', f.sources);
    inList('r.prio', f.priorities);
    if (f.minPriority !== null) {
      w.sql.push('r.prio <= ?');
      w.params.push(f.minPriority);
    }
    inList('r.hostname', f.hostnames);
    inList('r.rule', f.rules);
    inList('r.namespace', f.namespaces);
    inList('r.tag', f.tags);
    return w;
  }

  /**
   * Sums of `n` grouped by `col` (a rollup column, or a constant), for one
   * level's buckets in [from, to); with `bucket`, also by that expression of
   * `r.b` (a timeline's buckets), whose parameters come first.
   */
  group(
    piece: Piece,
    col: string,
    w: Where & { readonly table: Table },
    bucket?: { readonly sql: string; readonly params: readonly number[] },
  ): { k: string | number; b: number; n: number }[] {
    const sql = [...w.sql];
    const params: (string | number)[] = [...(bucket?.params ?? []), ...w.params];
    if (piece.from !== null) {
      sql.push('r.b >= ?');
      params.push(piece.from);
    }
    if (piece.to !== null) {
      sql.push('r.b < ?');
      params.push(piece.to);
    }
    const table = `rollup_${LEVELS[piece.level].name}${SUFFIX[w.table]}`;
    const b = bucket?.sql ?? '0';
    return this.#db
      .prepare(`SELECT ${col} AS k, ${b} AS b, sum(r.n) AS n FROM ${table} r ${clause(sql)} GROUP BY k, b`)
      .all(...params) as { k: string | number; b: number; n: number }[];
  }
}
