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

/** Alerts that share a minute and every dimension: their part in the counts. */
export interface RollupGroup {
  /** A time within the minute. */
  readonly ts: number;
  readonly source: string;
  readonly prio: number;
  readonly rule: string;
  readonly hostname: string;
  readonly namespace: string;
  /** Distinct. */
  readonly tags: readonly string[];
  /** How many alerts. */
  n: number;
}

/**
 * A batch's alerts grouped by minute and dimensions, so the counts are
 * written per group, not per alert. Two alerts are in one group when their
 * tag lists have the same JSON text (a list with a duplicate is its own
 * group: still counted right). The key spells each string with its length
 * first, so no two groups share one whatever the strings hold.
 */
export class RollupBatch {
  readonly #groups = new Map<string, RollupGroup>();

  /** `tagsJson`: the alert's tag list as JSON; `tags`: its distinct tags. */
  add(
    ts: number,
    source: string,
    prio: number,
    rule: string,
    hostname: string,
    namespace: string,
    tagsJson: string,
    tags: readonly string[],
  ): void {
    const minute = Math.floor(ts / MINUTE);
    const key = `${minute}:${prio}:${source.length}:${source}${rule.length}:${rule}${hostname.length}:${hostname}${namespace.length}:${namespace}${tagsJson}`;
    const g = this.#groups.get(key);
    if (g === undefined) this.#groups.set(key, { ts, source, prio, rule, hostname, namespace, tags, n: 1 });
    else g.n++;
  }

  groups(): Iterable<RollupGroup> {
    return this.#groups.values();
  }
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
  readonly k: RollupGroup;
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
  add(groups: Iterable<RollupGroup>): void {
    this.#apply(groups, 1);
  }

  /**
   * Subtracts deleted alerts (inside the caller's transaction, after their
   * rows are gone). A bucket that `holds` says no alert is left in is
   * dropped whole, with no per-key subtraction; the others are subtracted
   * key by key, and the keys left at zero removed.
   */
  subtract(groups: Iterable<RollupGroup>, holds: (from: number, to: number) => boolean): void {
    this.#apply(groups, -1, (level, b) => {
      const size = LEVELS[level]?.ms ?? MINUTE;
      if (holds(b * size, (b + 1) * size)) return false;
      const drop = this.#drop[level];
      if (drop !== undefined) for (const t of TABLES) drop[t].run(b);
      return true;
    });
  }

  /** `dropped(level, b)`: whether the bucket was dropped whole, so its keys are skipped. */
  #apply(groups: Iterable<RollupGroup>, sign: 1 | -1, dropped?: (level: number, b: number) => boolean): void {
    // One map per level; each group's key strings are built once for both levels.
    const sums = LEVELS.map(() => new Map<string, Sum>());
    const lo = LEVELS.map(() => Number.POSITIVE_INFINITY);
    const hi = LEVELS.map(() => Number.NEGATIVE_INFINITY);
    const bump = (
      m: Map<string, Sum>,
      key: string,
      b: number,
      table: Table,
      tag: string,
      k: RollupGroup,
    ): void => {
      const e = m.get(key);
      if (e === undefined) m.set(key, { b, table, tag, k, n: k.n });
      else e.n += k.n;
    };
    // Whether a bucket was dropped whole, asked once per bucket, before any key of it is built.
    const gone = LEVELS.map(() => new Map<number, boolean>());
    const isGone = (level: number, b: number): boolean => {
      if (dropped === undefined) return false;
      const seen = gone[level] as Map<number, boolean>;
      let g = seen.get(b);
      if (g === undefined) {
        g = dropped(level, b);
        seen.set(b, g);
      }
      return g;
    };
    let any = false;
    for (const k of groups) {
      let dims: string | undefined;
      let sp = '';
      let tagKeys: string[] = [];
      for (let level = 0; level < LEVELS.length; level++) {
        const b = Math.floor(k.ts / (LEVELS[level]?.ms ?? MINUTE));
        if (isGone(level, b)) continue;
        if (dims === undefined) {
          // JSON keeps the key injective whatever the strings hold.
          dims = JSON.stringify([k.source, k.prio, k.rule, k.hostname, k.namespace]);
          sp = `(${JSON.stringify([k.source, k.prio])}`;
          // A tag's JSON starts with a quote, dims with a bracket, sp with a parenthesis:
          // no key of one kind is one of another.
          const d = dims;
          tagKeys = k.tags.map((tag) => `${JSON.stringify(tag)}${d}`);
        }
        any = true;
        const m = sums[level] as Map<string, Sum>;
        if (b < (lo[level] as number)) lo[level] = b;
        if (b > (hi[level] as number)) hi[level] = b;
        bump(m, `${b}|${dims}`, b, 'base', '', k);
        bump(m, `${b}|${sp}`, b, 'sp', '', k);
        for (let i = 0; i < tagKeys.length; i++)
          bump(m, `${b}|${tagKeys[i] as string}`, b, 'tag', k.tags[i] as string, k);
      }
    }
    if (!any) return;
    for (let level = 0; level < LEVELS.length; level++) {
      const up = this.#upsert[level];
      const prune = this.#prune[level];
      const m = sums[level];
      if (up === undefined || prune === undefined || m === undefined || m.size === 0) continue;
      for (const s of m.values()) {
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
