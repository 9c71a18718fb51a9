import type { FalcoAlert, OutputFieldValue } from '@saker/rules';
import { PRIORITIES, parsePriority, priorityLabel, severity } from '@saker/rules';
/**
 * The alert store: one SQLite file (better-sqlite3), bounded in rows, bytes
 * and age, with FTS5 full-text search, and the counts and timelines computed
 * where the rows are.
 *
 * Bounds are enforced continuously: every insert batch is followed by
 * `enforce()`, which removes the oldest alerts (arrival order) past
 * `maxRows` or `maxBytes` and those stored longer than `maxAge` ago
 * (arrival, not the alert's own time: a replay of old events stays). Bytes are the
 * pages in use (page_count - freelist_count); freed pages are reused, and
 * the file gives them back through incremental vacuum. Memory is bounded
 * by SQLite's page cache (`cacheBytes`), a capped WAL, no mmap, and
 * exports that read page by page (`select`).
 *
 * Free text (`q`) is literal: an FTS5 index (unicode61) narrows the rows
 * to those holding q's whole words (store-sql.ts, ftsQuery), and instr()
 * checks the literal text, so no character can make a syntax error.
 * Counts and timelines come from per-minute counts (rollup.ts) when the
 * filters allow, else from the alerts.
 */
import Database from 'better-sqlite3';
import { type StoredAlert, type UiEvent, columnsOf, docOf, fieldText } from './event.js';
import { type Filters, isUnfiltered } from './filters.js';
import { MINUTE, Rollup, type RollupKey } from './rollup.js';
import { clause, where } from './store-sql.js';

export interface StoreLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

export interface StoreOptions extends StoreLimits {
  /** The SQLite file. */
  readonly path: string;
  readonly cacheBytes: number;
}

export interface StoreInfo {
  readonly rows: number;
  readonly bytes: number;
  /** RFC 3339 time of the oldest alert; null when empty. */
  readonly oldest: string | null;
  readonly limits: { readonly rows: number; readonly bytes: number; readonly age: number };
}

export const COUNT_BY = ['source', 'priority', 'rule', 'tag', 'hostname', 'namespace'] as const;
export type CountBy = (typeof COUNT_BY)[number];
export const TIMELINE_BY = ['priority', 'source'] as const;
export type TimelineBy = (typeof TIMELINE_BY)[number];

export interface Page {
  readonly events: UiEvent[];
  readonly next: string | null;
  readonly total: number;
}

export interface Timeline {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly series: { key: string; counts: number[] }[];
}

interface Row {
  id: number;
  time: string;
  prio: number;
  rule: string;
  source: string;
  hostname: string;
  tags: string;
  output: string;
  fields: string;
}

/** How many oldest rows one pass of enforce() removes at most (keeps a pass short). */
const DELETE_CHUNK = 5000;
const SELECT_COLUMNS = 'a.id, a.time, a.prio, a.rule, a.source, a.hostname, a.tags, a.output, a.fields';

function toEvent(r: Row): UiEvent {
  return {
    id: String(r.id),
    time: r.time,
    rule: r.rule,
    priority: priorityLabel(PRIORITIES[r.prio] ?? 'DEBUG'),
    source: r.source,
    hostname: r.hostname,
    tags: JSON.parse(r.tags) as string[],
    output: r.output,
    output_fields: JSON.parse(r.fields) as Record<string, OutputFieldValue>,
  };
}

export class AlertStore {
  readonly #db: Database.Database;
  readonly #limits: StoreLimits;
  readonly #insert: (a: StoredAlert) => boolean;
  readonly #insertMany: (batch: readonly StoredAlert[]) => number;
  readonly #rollup: Rollup;
  #rows: number;

  constructor(options: StoreOptions) {
    this.#limits = options;
    const db = new Database(options.path);
    this.#db = db;
    // auto_vacuum must be set before the first table exists.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = ${-Math.max(1024, Math.floor(options.cacheBytes / 1024))}`);
    db.pragma('mmap_size = 0');
    db.pragma('temp_store = FILE');
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        arrived INTEGER NOT NULL,
        time TEXT NOT NULL,
        prio INTEGER NOT NULL,
        rule TEXT NOT NULL,
        source TEXT NOT NULL,
        hostname TEXT NOT NULL,
        namespace TEXT NOT NULL,
        pod TEXT,
        node TEXT NOT NULL,
        image TEXT,
        tags TEXT NOT NULL,
        output TEXT NOT NULL,
        fields TEXT NOT NULL,
        text TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
      CREATE TABLE IF NOT EXISTS alert_tags (
        tag TEXT NOT NULL,
        id INTEGER NOT NULL,
        PRIMARY KEY (tag, id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS alert_tags_id ON alert_tags (id);
      CREATE VIRTUAL TABLE IF NOT EXISTS alert_text USING fts5 (
        doc, content = '', contentless_delete = 1, tokenize = 'unicode61'
      );
    `);
    this.#rollup = new Rollup(db);
    db.function('ui_field', { deterministic: true }, (json: unknown, name: unknown) => {
      if (typeof json !== 'string' || typeof name !== 'string') return null;
      return fieldText(JSON.parse(json) as Record<string, OutputFieldValue>, name);
    });
    const insertAlert = db.prepare(`
      INSERT OR IGNORE INTO alerts (id, ts, arrived, time, prio, rule, source, hostname, namespace, pod, node, image, tags, output, fields, text)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const insertTag = db.prepare('INSERT OR IGNORE INTO alert_tags (tag, id) VALUES (?, ?)');
    const insertText = db.prepare('INSERT INTO alert_text (rowid, doc) VALUES (?, ?)');
    this.#insert = (s) => {
      const a = s.alert;
      const c = columnsOf(a);
      const prio = severity(parsePriority(a.priority) ?? 'DEBUG');
      const doc = docOf(a);
      const r = insertAlert.run(
        s.seq,
        s.ts,
        arrived,
        a.time,
        prio,
        a.rule,
        a.source,
        a.hostname,
        c.namespace ?? '',
        c.pod,
        c.node,
        c.image,
        JSON.stringify(a.tags),
        a.output,
        JSON.stringify(a.output_fields),
        doc,
      );
      if (r.changes === 0) return false;
      for (const t of new Set(a.tags)) insertTag.run(t, s.seq);
      insertText.run(s.seq, doc);
      keys.push({
        minute: Math.floor(s.ts / MINUTE),
        source: a.source,
        prio,
        rule: a.rule,
        hostname: a.hostname,
        namespace: c.namespace ?? '',
        tags: a.tags,
      });
      return true;
    };
    const keys: RollupKey[] = [];
    let arrived = 0;
    this.#insertMany = db.transaction((batch: readonly StoredAlert[]) => {
      arrived = Date.now();
      keys.length = 0;
      let n = 0;
      for (const s of batch) if (this.#insert(s)) n++;
      this.#rollup.add(keys);
      return n;
    });
    this.#rows = (db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n;
  }

  /** Stores a batch in one transaction (an id already stored is skipped), then enforces the limits. Returns how many were new. */
  add(batch: readonly StoredAlert[]): number {
    if (batch.length === 0) return 0;
    const n = this.#insertMany(batch);
    this.#rows += n;
    this.enforce();
    return n;
  }

  get rows(): number {
    return this.#rows;
  }

  /** Bytes in use: pages holding data (freed pages excluded). */
  bytes(): number {
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Removes what is past the limits, oldest first. Returns the rows removed. */
  enforce(now = Date.now()): number {
    let removed = 0;
    const cutoff = now - this.#limits.maxAgeMs;
    const old = this.#db.prepare(
      // Arrival follows the ids (stream sequences), so the scan stops at the first young alert.
      'SELECT max(id) AS id FROM (SELECT id FROM alerts WHERE arrived < ? ORDER BY id LIMIT ?)',
    );
    for (;;) {
      const r = old.get(cutoff, DELETE_CHUNK) as { id: number | null };
      if (r.id === null) break;
      const n = this.#deleteWhere('a.arrived < ? AND a.id <= ?', [cutoff, r.id]);
      removed += n;
      if (n < DELETE_CHUNK) break;
    }
    if (this.#rows > this.#limits.maxRows) removed += this.#deleteOldest(this.#rows - this.#limits.maxRows);
    let bytes = this.bytes();
    for (let pass = 0; bytes > this.#limits.maxBytes && this.#rows > 0 && pass < 20; pass++) {
      // Remove the share of rows the excess stands for, and 1% more, so the next batches fit.
      const share = (bytes - this.#limits.maxBytes) / bytes + 0.01;
      removed += this.#deleteOldest(Math.max(1, Math.ceil(this.#rows * share)));
      bytes = this.bytes();
    }
    if (removed > 0) {
      const free = this.#db.pragma('freelist_count', { simple: true }) as number;
      // Give a large free list back to the file system, a little at a time.
      if (free > 4096) this.#db.pragma('incremental_vacuum(1024)');
    }
    return removed;
  }

  #deleteOldest(count: number): number {
    let removed = 0;
    const cut = this.#db.prepare('SELECT id FROM alerts ORDER BY id LIMIT 1 OFFSET ?');
    while (removed < count) {
      const n = Math.min(DELETE_CHUNK, count - removed);
      const r = cut.get(n - 1) as { id: number } | undefined;
      if (r === undefined) {
        removed += this.#deleteWhere('1', []);
        break;
      }
      removed += this.#deleteWhere('a.id <= ?', [r.id]);
    }
    return removed;
  }

  /** Deletes the alerts `cond` (over `alerts a`) selects, with their tags, text and counts. */
  #deleteWhere(cond: string, params: readonly number[]): number {
    const db = this.#db;
    const run = db.transaction(() => {
      this.#rollup.subtract(cond, params);
      const ids = `SELECT a.id FROM alerts a WHERE ${cond}`;
      db.prepare(`DELETE FROM alert_text WHERE rowid IN (${ids})`).run(...params);
      db.prepare(`DELETE FROM alert_tags WHERE id IN (${ids})`).run(...params);
      return db.prepare(`DELETE FROM alerts AS a WHERE ${cond}`).run(...params).changes;
    });
    const n = run();
    this.#rows -= n;
    return n;
  }

  info(): StoreInfo {
    const r = this.#db.prepare('SELECT time FROM alerts ORDER BY ts LIMIT 1').get() as
      | { time: string }
      | undefined;
    return {
      rows: this.#rows,
      bytes: this.bytes(),
      oldest: r?.time ?? null,
      limits: { rows: this.#limits.maxRows, bytes: this.#limits.maxBytes, age: this.#limits.maxAgeMs },
    };
  }

  /** The highest stream sequence stored; 0 when empty. */
  lastSequence(): number {
    return (this.#db.prepare('SELECT max(id) AS id FROM alerts').get() as { id: number | null }).id ?? 0;
  }

  get(id: number): UiEvent | null {
    const r = this.#db.prepare(`SELECT ${SELECT_COLUMNS} FROM alerts a WHERE a.id = ?`).get(id) as
      | Row
      | undefined;
    return r === undefined ? null : toEvent(r);
  }

  /** Newest first; `cursor` is the `next` of the previous page. */
  page(f: Filters, limit: number, cursor: number | null): Page {
    const rows = this.select(f, limit + 1, cursor);
    const more = rows.length > limit;
    const events = rows.slice(0, limit);
    const total = isUnfiltered(f) ? this.#rows : this.#total(f);
    return { events, next: more ? (events[events.length - 1]?.id ?? null) : null, total };
  }

  /**
   * Up to `limit` matching alerts with an id below `cursor`, newest first.
   * Callers that stream everything (export) call it page after page: no
   * statement stays open across an await, so ingestion never waits on it.
   */
  select(f: Filters, limit: number, cursor: number | null): UiEvent[] {
    const w = where(f);
    const conds = cursor === null ? w.sql : [...w.sql, 'a.id < ?'];
    const params = cursor === null ? w.params : [...w.params, cursor];
    const rows = this.#db
      .prepare(`SELECT ${SELECT_COLUMNS} FROM alerts a ${clause(conds)} ORDER BY a.id DESC LIMIT ?`)
      .all(...params, limit) as Row[];
    return rows.map(toEvent);
  }

  /** How many alerts match. */
  #total(f: Filters): number {
    if (!Rollup.covers(f)) {
      const w = where(f);
      return (
        this.#db.prepare(`SELECT count(*) AS n FROM alerts a ${clause(w.sql)}`).get(...w.params) as {
          n: number;
        }
      ).n;
    }
    let n = 0;
    for (const r of this.#rolled(f, "''", false)) n += r.n;
    return n;
  }

  /**
   * Sums by `col` from the per-minute counts for the whole minutes of f's
   * range, plus the partial minutes at its edges counted from the alerts.
   */
  #rolled(f: Filters, col: string, tagRows: boolean): { k: string | number; n: number }[] {
    const fromMinute = f.from === null ? null : Math.ceil(f.from / MINUTE);
    const toMinute = f.to === null ? null : Math.floor((f.to + 1) / MINUTE);
    if (fromMinute !== null && toMinute !== null && fromMinute >= toMinute) return this.#raw(f, col, tagRows);
    const out = this.#rollup.group(col, Rollup.where(f, tagRows), fromMinute, toMinute);
    if (f.from !== null && fromMinute !== null && f.from < fromMinute * MINUTE) {
      out.push(
        ...this.#raw({ ...f, to: fromMinute * MINUTE - 1 }, col, tagRows).map((r) => ({ ...r, b: 0 })),
      );
    }
    if (f.to !== null && toMinute !== null && toMinute * MINUTE <= f.to) {
      out.push(...this.#raw({ ...f, from: toMinute * MINUTE }, col, tagRows).map((r) => ({ ...r, b: 0 })));
    }
    return out;
  }

  /** Counts by `col` (named as in the rollup, `r.x`) from the alerts themselves. */
  #raw(f: Filters, col: string, tagRows: boolean): { k: string | number; n: number }[] {
    const w = where(f);
    const rawCol = col === "''" ? col : col === 'r.tag' ? 't.tag' : col.replace(/^r\./, 'a.');
    const from = tagRows ? 'alert_tags t JOIN alerts a ON a.id = t.id' : 'alerts a';
    return this.#db
      .prepare(`SELECT ${rawCol} AS k, count(*) AS n FROM ${from} ${clause(w.sql)} GROUP BY k`)
      .all(...w.params) as { k: string | number; n: number }[];
  }

  counts(f: Filters, by: CountBy, top = 1000): { key: string; count: number }[] {
    const col = by === 'tag' ? 'r.tag' : by === 'priority' ? 'r.prio' : `r.${by}`;
    const rows = Rollup.covers(f) ? this.#rolled(f, col, by === 'tag') : this.#raw(f, col, by === 'tag');
    const sums = new Map<string, number>();
    for (const r of rows) {
      const key = keyText(by, r.k);
      sums.set(key, (sums.get(key) ?? 0) + r.n);
    }
    return [...sums]
      .filter(([, count]) => count > 0)
      .map(([key, count]) => ({ key, count }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, top);
  }

  /**
   * Counts per bucket. With a step of a minute or more (and filters the
   * per-minute counts cover), buckets are whole minutes: `from` is moved
   * back to the start of its minute and the step rounded up to minutes.
   */
  timeline(f: Filters, by: TimelineBy, points: number, now = Date.now()): Timeline {
    const to = f.to ?? now;
    let from = f.from;
    if (from === null) {
      const r = this.#db.prepare('SELECT min(ts) AS ts FROM alerts').get() as { ts: number | null };
      from = Math.min(r.ts ?? to - 3_600_000, to - MINUTE);
    }
    const series = new Map<string, number[]>();
    const add = (k: string | number, b: number, n: number): void => {
      const key = keyText(by, k);
      let counts = series.get(key);
      if (counts === undefined) {
        counts = new Array<number>(points).fill(0);
        series.set(key, counts);
      }
      const i = Math.min(points - 1, Math.max(0, Math.floor(b)));
      counts[i] = (counts[i] ?? 0) + n;
    };
    const col = by === 'priority' ? 'prio' : 'source';
    let step = Math.max(1, Math.ceil((to - from + 1) / points));
    if (Rollup.covers(f) && step >= MINUTE) {
      from = Math.floor(from / MINUTE) * MINUTE;
      step = Math.ceil(Math.ceil((to - from + 1) / points) / MINUTE) * MINUTE;
      const rows = this.#rollup.group(
        `r.${col}`,
        Rollup.where(f, false),
        from / MINUTE,
        Math.floor(to / MINUTE) + 1,
        { sql: `(r.minute * ${MINUTE} - ?) / ?`, params: [from, step] },
      );
      for (const r of rows) add(r.k, r.b, r.n);
    } else {
      const w = where({ ...f, from, to });
      const rows = this.#db
        .prepare(
          `SELECT (a.ts - ?) / ? AS b, a.${col} AS k, count(*) AS n FROM alerts a ${clause(w.sql)} GROUP BY b, k`,
        )
        .all(from, step, ...w.params) as { b: number; k: string | number; n: number }[];
      for (const r of rows) add(r.k, r.b, r.n);
    }
    return {
      from,
      to,
      step,
      series: [...series].map(([key, counts]) => ({ key, counts })).sort((a, b) => (a.key < b.key ? -1 : 1)),
    };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function keyText(by: string, k: string | number | null): string {
  if (by === 'priority' && typeof k === 'number') return priorityLabel(PRIORITIES[k] ?? 'DEBUG');
  return k === null ? '' : String(k);
}
