/**
 * Counts per minute, kept beside the alerts so the dashboard's counts and
 * timelines read thousands of rows, not millions. One row per (minute,
 * source, priority, rule, hostname, namespace) with tag '' counts alerts; one
 * more per tag counts the alerts carrying it. Inserts add to them (summed per
 * batch first), deletes subtract what they remove, in the same transaction.
 *
 * A query can use them when every filter is one of those dimensions (at most
 * one tag) and time; partial minutes at the edges of a range are counted
 * from the alerts themselves, so the answer is exact.
 */
import type Database from 'better-sqlite3';
import type { Filters } from './filters.js';
import { type Where, clause } from './store-sql.js';

export const MINUTE = 60_000;

const ROLLUP_SCHEMA = `
  CREATE TABLE IF NOT EXISTS rollup (
    minute INTEGER NOT NULL,
    source TEXT NOT NULL,
    prio INTEGER NOT NULL,
    rule TEXT NOT NULL,
    hostname TEXT NOT NULL,
    namespace TEXT NOT NULL,
    tag TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (minute, source, prio, rule, hostname, namespace, tag)
  ) WITHOUT ROWID;
`;

/** One alert's part in the counts. */
export interface RollupKey {
  readonly minute: number;
  readonly source: string;
  readonly prio: number;
  readonly rule: string;
  readonly hostname: string;
  readonly namespace: string;
  readonly tags: readonly string[];
}

type Tuple = [number, string, number, string, string, string, string];

export class Rollup {
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  readonly #prune: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(ROLLUP_SCHEMA);
    this.#upsert = db.prepare(
      `INSERT INTO rollup (minute, source, prio, rule, hostname, namespace, tag, n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    );
    this.#prune = db.prepare('DELETE FROM rollup WHERE n <= 0');
  }

  /** Adds a batch's alerts (inside the caller's transaction). */
  add(keys: readonly RollupKey[]): void {
    const sums = new Map<string, { t: Tuple; n: number }>();
    const bump = (t: Tuple): void => {
      const k = JSON.stringify(t);
      const e = sums.get(k);
      if (e) e.n++;
      else sums.set(k, { t, n: 1 });
    };
    for (const r of keys) {
      const base: Tuple = [r.minute, r.source, r.prio, r.rule, r.hostname, r.namespace, ''];
      bump(base);
      for (const tag of new Set(r.tags))
        bump([r.minute, r.source, r.prio, r.rule, r.hostname, r.namespace, tag]);
    }
    for (const { t, n } of sums.values()) this.#upsert.run(...t, n);
  }

  /** Subtracts the alerts `where` selects, before they are deleted (inside the caller's transaction). */
  subtract(whereSql: string, params: readonly (string | number)[]): void {
    const dims = `a.ts / ${MINUTE}, a.source, a.prio, a.rule, a.hostname, a.namespace`;
    const rows = [
      ...(this.#db
        .prepare(`SELECT ${dims}, '' AS tag, count(*) AS n FROM alerts a WHERE ${whereSql} GROUP BY ${dims}`)
        .raw()
        .all(...params) as (string | number)[][]),
      ...(this.#db
        .prepare(
          `SELECT ${dims}, t.tag, count(*) AS n FROM alerts a JOIN alert_tags t ON t.id = a.id WHERE ${whereSql} GROUP BY ${dims}, t.tag`,
        )
        .raw()
        .all(...params) as (string | number)[][]),
    ];
    for (const r of rows) {
      const n = r[7] as number;
      this.#upsert.run(...(r.slice(0, 7) as Tuple), -n);
    }
    this.#prune.run();
  }

  /** Whether `f` can be answered from the counts. */
  static covers(f: Filters): boolean {
    return (
      f.pods.length === 0 &&
      f.nodes.length === 0 &&
      f.images.length === 0 &&
      f.fields.size === 0 &&
      f.q === null &&
      f.tags.length <= 1
    );
  }

  /**
   * Conditions over `rollup r` for the filters other than time, and the
   * whole minutes [fromMinute, toMinute) to read; the caller counts the
   * partial minutes at the edges from the alerts.
   */
  static where(f: Filters, tagRows: boolean): Where {
    const w: Where = { sql: [], params: [] };
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
    if (f.tags.length === 1) {
      w.sql.push('r.tag = ?');
      w.params.push(f.tags[0] ?? '');
    } else if (!tagRows) {
      w.sql.push("r.tag = ''");
    }
    if (tagRows && f.tags.length === 0) w.sql.push("r.tag <> ''");
    return w;
  }

  /**
   * Sums of `n` grouped by `col` (a rollup column), for minutes in
   * [fromMinute, toMinute); with `bucket`, also by that expression of
   * `r.minute` (a timeline's buckets), whose parameters come first.
   */
  group(
    col: string,
    w: Where,
    fromMinute: number | null,
    toMinute: number | null,
    bucket?: { readonly sql: string; readonly params: readonly number[] },
  ): { k: string | number; b: number; n: number }[] {
    const sql = [...w.sql];
    const params: (string | number)[] = [...(bucket?.params ?? []), ...w.params];
    if (fromMinute !== null) {
      sql.push('r.minute >= ?');
      params.push(fromMinute);
    }
    if (toMinute !== null) {
      sql.push('r.minute < ?');
      params.push(toMinute);
    }
    const b = bucket?.sql ?? '0';
    return this.#db
      .prepare(`SELECT ${col} AS k, ${b} AS b, sum(r.n) AS n FROM rollup r ${clause(sql)} GROUP BY k, b`)
      .all(...params) as { k: string | number; b: number; n: number }[];
  }
}
