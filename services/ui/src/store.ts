import type { FalcoAlert, OutputFieldValue } from '@saker/rules';
import { PRIORITIES, parsePriority, priorityLabel, severity } from '@saker/rules';
/**
 * The alert store: one SQLite file (better-sqlite3), bounded in rows, bytes
 * and age, with FTS5 full-text search, and the counts and timelines computed
 * where the rows are.
 *
 * Bounds are enforced continuously: every insert batch ends, in the same
 * transaction, by removing the oldest alerts (arrival order, which is id
 * order: ids are stream sequences) past `maxRows` or `maxBytes`, and those
 * stored longer than `maxAge` ago (arrival, not the alert's own time: a
 * replay of old events stays). Removal always takes a run of the oldest ids
 * (`id <= cut`), so it reads and deletes ranges, never scans. The row count
 * is kept as a counter; bytes are the pages in use (page_count -
 * freelist_count); freed pages are reused, and the file gives them back
 * through incremental vacuum. Memory is bounded
 * by SQLite's page cache (`cacheBytes`), a capped WAL, no mmap, and
 * exports that read page by page (`select`).
 *
 * Free text (`q`) is literal: an FTS5 index (unicode61) narrows the rows
 * to those holding q's whole words (store-sql.ts, ftsQuery), and instr()
 * checks the literal text, so no character can make a syntax error.
 * Counts and timelines come from per-minute and per-hour counts
 * (rollup.ts) when the filters allow, else from the alerts.
 */
import Database from 'better-sqlite3';
import { type StoredAlert, type UiEvent, columnsOf, docOf, docText, fieldText } from './event.js';
import { type Filters, isUnfiltered, parseFilters } from './filters.js';
import { HOUR, LEVELS, type Level, MINUTE, Rollup, RollupBatch, type RollupGroup, cover } from './rollup.js';
import { type TextMatch, clause, where } from './store-sql.js';
import { TextIndex } from './text-index.js';

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

const UNFILTERED = parseFilters(new URLSearchParams());

/** How many oldest rows one removal takes at most (keeps a statement's work bounded). */
const DELETE_CHUNK = 10_000;
/** Tag rows per insert statement. */
const TAG_ROWS = 128;
/**
 * The layout's version (PRAGMA user_version). A file written by another
 * layout is refused with the reason: the store is a view of SAKER_ALERTS and
 * is rebuilt by removing the file.
 */
const LAYOUT = 3;

export class StoreLayoutError extends Error {
  override readonly name = 'StoreLayoutError';
  readonly path: string;

  constructor(path: string, found: number) {
    super(`${path}: the UI store has layout ${found}, this version uses ${LAYOUT}`);
    this.path = path;
  }
}
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

/** Removed alerts of one minute and the same dimensions (tags as stored, JSON). */
interface EvictGroup {
  ts: number;
  source: string;
  prio: number;
  rule: string;
  hostname: string;
  namespace: string;
  tags: string;
  n: number;
}

/** A tag list's distinct tags (most lists have none twice: returned as they are). */
function distinct(tags: readonly string[]): readonly string[] {
  for (let i = 1; i < tags.length; i++) {
    for (let j = 0; j < i; j++) if (tags[i] === tags[j]) return [...new Set(tags)];
  }
  return tags;
}

export class AlertStore {
  readonly #db: Database.Database;
  readonly #limits: StoreLimits;
  readonly #addBatch: (batch: readonly StoredAlert[], now: number) => { added: number; removed: number };
  readonly #enforce: (now: number) => number;
  readonly #rollup: Rollup;
  readonly #textIndex: TextIndex;
  readonly #text: TextMatch;
  readonly #s: {
    readonly oldest: Database.Statement;
    readonly nth: Database.Statement;
    readonly agedRun: Database.Statement;
    readonly evictGroups: Database.Statement;
    readonly deleteTag: Database.Statement;
    readonly deleteAlerts: Database.Statement;
    readonly holds: Database.Statement;
  };
  #rows: number;

  constructor(options: StoreOptions) {
    this.#limits = options;
    const db = new Database(options.path);
    this.#db = db;
    const layout = db.pragma('user_version', { simple: true }) as number;
    const fresh = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'alerts'").get() as {
      n: number;
    };
    if (fresh.n > 0 && layout !== LAYOUT) {
      db.close();
      throw new StoreLayoutError(options.path, layout);
    }
    // auto_vacuum must be set before the first table exists.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = ${-Math.max(1024, Math.floor(options.cacheBytes / 1024))}`);
    db.pragma('mmap_size = 0');
    db.pragma('temp_store = FILE');
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    // Alerts are deleted by id range: tags are found by (tag, id), never by id
    // alone. The free-text index is text-index.ts.
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
        fields TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
      CREATE TABLE IF NOT EXISTS alert_tags (
        tag TEXT NOT NULL,
        id INTEGER NOT NULL,
        PRIMARY KEY (tag, id)
      ) WITHOUT ROWID;
      PRAGMA user_version = ${LAYOUT};
    `);
    this.#rollup = new Rollup(db);
    const text = new TextIndex(db);
    this.#textIndex = text;
    this.#text = (fts) => text.match(fts);
    db.function('ui_field', { deterministic: true }, (json: unknown, name: unknown) => {
      if (typeof json !== 'string' || typeof name !== 'string') return null;
      return fieldText(JSON.parse(json) as Record<string, OutputFieldValue>, name);
    });
    // The free text's literal check reads the text the index was built from
    // (docOf), rebuilt from the row: only rows the index matched get here,
    // and not keeping a copy makes each row about a third smaller.
    db.function('ui_doc', { deterministic: true }, (rule: unknown, output: unknown, json: unknown) => {
      if (typeof rule !== 'string' || typeof output !== 'string' || typeof json !== 'string') return null;
      return docText(rule, output, JSON.parse(json) as Record<string, OutputFieldValue>);
    });
    this.#s = {
      oldest: db.prepare('SELECT id, arrived FROM alerts ORDER BY id LIMIT 1'),
      nth: db.prepare('SELECT id FROM alerts ORDER BY id LIMIT 1 OFFSET ?'),
      // The oldest run of alerts that arrived before a time, at most ? of them.
      agedRun: db.prepare('SELECT id, arrived < ? AS aged FROM alerts ORDER BY id LIMIT ?'),
      // Grouped by minute (floored, as the rollups' buckets are) and every counted dimension.
      evictGroups: db.prepare(
        `SELECT min(ts) AS ts, source, prio, rule, hostname, namespace, tags, count(*) AS n FROM alerts
         WHERE id <= ? GROUP BY CASE WHEN ts >= 0 THEN ts / ${MINUTE} ELSE (ts - ${MINUTE - 1}) / ${MINUTE} END,
         source, prio, rule, hostname, namespace, tags`,
      ),
      deleteTag: db.prepare('DELETE FROM alert_tags WHERE tag = ? AND id <= ?'),
      deleteAlerts: db.prepare('DELETE FROM alerts WHERE id <= ?'),
      holds: db.prepare('SELECT 1 FROM alerts WHERE ts >= ? AND ts < ? LIMIT 1'),
    };
    const insertAlert = db.prepare(`
      INSERT OR IGNORE INTO alerts (id, ts, arrived, time, prio, rule, source, hostname, namespace, pod, node, image, tags, output, fields)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const insertTag = db.prepare('INSERT OR IGNORE INTO alert_tags (tag, id) VALUES (?, ?)');
    // A batch's tags go in TAG_ROWS rows per statement (fewer calls into SQLite).
    const insertTags = db.prepare(
      `INSERT OR IGNORE INTO alert_tags (tag, id) VALUES ${new Array(TAG_ROWS).fill('(?, ?)').join(', ')}`,
    );
    const writeTags = (pairs: (string | number)[]): void => {
      const whole = pairs.length - (pairs.length % (2 * TAG_ROWS));
      for (let i = 0; i < whole; i += 2 * TAG_ROWS) insertTags.run(pairs.slice(i, i + 2 * TAG_ROWS));
      for (let i = whole; i < pairs.length; i += 2) insertTag.run(pairs[i], pairs[i + 1]);
    };
    const insert = (
      s: StoredAlert,
      arrived: number,
      counts: RollupBatch,
      docs: { id: number; doc: string }[],
      tagPairs: (string | number)[],
    ): boolean => {
      const a = s.alert;
      const c = columnsOf(a);
      const prio = severity(parsePriority(a.priority) ?? 'DEBUG');
      const doc = docOf(a);
      const tagsJson = JSON.stringify(a.tags);
      const namespace = c.namespace ?? '';
      const r = insertAlert.run(
        s.seq,
        s.ts,
        arrived,
        a.time,
        prio,
        a.rule,
        a.source,
        a.hostname,
        namespace,
        c.pod,
        c.node,
        c.image,
        tagsJson,
        a.output,
        JSON.stringify(a.output_fields),
      );
      if (r.changes === 0) return false;
      const tags = distinct(a.tags);
      for (const t of tags) tagPairs.push(t, s.seq);
      docs.push({ id: s.seq, doc });
      counts.add(s.ts, a.source, prio, a.rule, a.hostname, namespace, tagsJson, tags);
      return true;
    };
    this.#enforce = db.transaction((now: number) => this.#evict(now));
    this.#addBatch = db.transaction((batch: readonly StoredAlert[], now: number) => {
      const counts = new RollupBatch();
      const docs: { id: number; doc: string }[] = [];
      const tagPairs: (string | number)[] = [];
      for (const s of batch) insert(s, now, counts, docs, tagPairs);
      writeTags(tagPairs);
      this.#rollup.add(counts.groups());
      text.add(docs, this.#rows);
      this.#rows += docs.length;
      return { added: docs.length, removed: this.#evict(now) };
    });
    this.#rows = (db.prepare('SELECT count(*) AS n FROM alerts').get() as { n: number }).n;
  }

  /**
   * Stores a batch and removes what is then past the limits, in one
   * transaction (an id already stored is skipped). Returns how many were new.
   */
  add(batch: readonly StoredAlert[]): number {
    if (batch.length === 0) return 0;
    const rows = this.#rows;
    let r: { added: number; removed: number };
    try {
      r = this.#addBatch(batch, Date.now());
    } catch (err) {
      // The transaction was rolled back: so are the counter and the shard list.
      this.#rows = rows;
      this.#textIndex.reload();
      throw err;
    }
    this.#vacuum(r.removed);
    return r.added;
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

  /** Removes what is past the limits, oldest first (in its own transaction). Returns the rows removed. */
  enforce(now = Date.now()): number {
    const rows = this.#rows;
    let removed: number;
    try {
      removed = this.#enforce(now);
    } catch (err) {
      this.#rows = rows;
      this.#textIndex.reload();
      throw err;
    }
    this.#vacuum(removed);
    return removed;
  }

  /** Removes what is past the limits, inside the caller's transaction. */
  #evict(now: number): number {
    let removed = 0;
    const cutoff = now - this.#limits.maxAgeMs;
    // Age: the run of oldest ids that arrived before the cutoff (arrival follows the ids).
    for (;;) {
      const first = this.#s.oldest.get() as { id: number; arrived: number } | undefined;
      if (first === undefined || first.arrived >= cutoff) break;
      const run = this.#s.agedRun.all(cutoff, DELETE_CHUNK) as { id: number; aged: number }[];
      let cut = first.id;
      for (const r of run) {
        if (r.aged === 0) break;
        cut = r.id;
      }
      removed += this.#deleteThrough(cut);
    }
    if (this.#rows > this.#limits.maxRows) removed += this.#deleteOldest(this.#rows - this.#limits.maxRows);
    // FTS5 keeps a batch's index in memory until a savepoint or the commit:
    // written now, it is counted in the bytes.
    this.#db.exec('SAVEPOINT text_flush; RELEASE text_flush');
    let bytes = this.bytes();
    for (let pass = 0; bytes > this.#limits.maxBytes && this.#rows > 0 && pass < 20; pass++) {
      // Remove the share of rows the excess stands for, and 1% more, so the next batches fit.
      const share = (bytes - this.#limits.maxBytes) / bytes + 0.01;
      removed += this.#deleteOldest(Math.max(1, Math.ceil(this.#rows * share)));
      bytes = this.bytes();
    }
    return removed;
  }

  #vacuum(removed: number): void {
    if (removed === 0) return;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    // Give a large free list back to the file system, a little at a time.
    if (free > 4096) this.#db.pragma('incremental_vacuum(1024)');
  }

  /** Removes the `count` oldest alerts. */
  #deleteOldest(count: number): number {
    let removed = 0;
    while (removed < count && this.#rows > 0) {
      const n = Math.min(DELETE_CHUNK, count - removed);
      const r = this.#s.nth.get(n - 1) as { id: number } | undefined;
      const last = r?.id ?? (this.#db.prepare('SELECT max(id) AS id FROM alerts').get() as { id: number }).id;
      removed += this.#deleteThrough(last);
    }
    return removed;
  }

  /** Deletes the alerts with an id up to `cut`, with their tags, text and counts. */
  #deleteThrough(cut: number): number {
    const rows = this.#s.evictGroups.all(cut) as EvictGroup[];
    if (rows.length === 0) return 0;
    const groups: RollupGroup[] = [];
    const tags = new Set<string>();
    const parsed = new Map<string, readonly string[]>();
    for (const r of rows) {
      let t = parsed.get(r.tags);
      if (t === undefined) {
        t = distinct(JSON.parse(r.tags) as string[]);
        parsed.set(r.tags, t);
        for (const tag of t) tags.add(tag);
      }
      groups.push({ ...r, tags: t });
    }
    for (const tag of tags) this.#s.deleteTag.run(tag, cut);
    const n = this.#s.deleteAlerts.run(cut).changes;
    // After the delete: a bucket no alert is left in is dropped whole.
    this.#rollup.subtract(groups, (from, to) => this.#s.holds.get(from, to) !== undefined);
    this.#textIndex.dropThrough(cut);
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
    const w = where(f, this.#text, this.#narrowPast(f));
    const conds = cursor === null ? w.sql : [...w.sql, 'a.id < ?'];
    const params = cursor === null ? w.params : [...w.params, cursor];
    const rows = this.#db
      .prepare(`SELECT ${SELECT_COLUMNS} FROM alerts a ${clause(conds)} ORDER BY a.id DESC LIMIT ?`)
      .all(...params, limit) as Row[];
    return rows.map(toEvent);
  }

  /**
   * Whether f's time range holds fewer alerts than are newer than it: then
   * reading the range through the time index and sorting it costs less than
   * walking ids down from the newest (SQLite picks the index whenever both
   * bounds are set, and sorts a whole day if the range is one).
   */
  #narrowPast(f: Filters): boolean {
    if (f.to === null) return false;
    const count = (from: number | null, to: number | null): number =>
      this.#total({ ...UNFILTERED, from, to });
    return count(f.from, f.to) < count(f.to + 1, null);
  }

  /** How many alerts match. */
  #total(f: Filters): number {
    if (!Rollup.covers(f, false)) {
      const w = where(f, this.#text);
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
   * Sums by `col` (a rollup column or a constant) over f's range: whole
   * hours and minutes from the rollups, partial minutes from the alerts.
   */
  #rolled(f: Filters, col: string, byTag: boolean): { k: string | number; n: number }[] {
    const c = cover(f.from, f.to);
    const w = Rollup.where(f, col);
    const out: { k: string | number; n: number }[] = [];
    for (const piece of c.pieces) out.push(...this.#rollup.group(piece, col, w));
    for (const [from, to] of c.raw) out.push(...this.#raw({ ...f, from, to }, col, byTag));
    return out;
  }

  /** Counts by `col` (named as in the rollup, `r.x`) from the alerts themselves. */
  #raw(f: Filters, col: string, byTag: boolean): { k: string | number; n: number }[] {
    const w = where(f, this.#text);
    if (byTag) {
      // Each alert once per distinct tag of its own list.
      return this.#db
        .prepare(
          `SELECT t.value AS k, count(DISTINCT a.id) AS n FROM alerts a, json_each(a.tags) t ${clause(w.sql)} GROUP BY k`,
        )
        .all(...w.params) as { k: string | number; n: number }[];
    }
    const rawCol = col === "''" ? col : col.replace(/^r\./, 'a.');
    return this.#db
      .prepare(`SELECT ${rawCol} AS k, count(*) AS n FROM alerts a ${clause(w.sql)} GROUP BY k`)
      .all(...w.params) as { k: string | number; n: number }[];
  }

  counts(f: Filters, by: CountBy, top = 1000): { key: string; count: number }[] {
    const col = by === 'tag' ? 'r.tag' : by === 'priority' ? 'r.prio' : `r.${by}`;
    const byTag = by === 'tag';
    const rows = Rollup.covers(f, byTag) ? this.#rolled(f, col, byTag) : this.#raw(f, col, byTag);
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
   * rollups cover), buckets are whole minutes, or whole hours when the step
   * is an hour or more: `from` is moved back to the start of its minute
   * (hour), the step rounded up to minutes (hours), and the last bucket
   * counts its whole minute (hour), past `to`.
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
    if (Rollup.covers(f, false) && step >= MINUTE) {
      const level: Level = step >= HOUR ? 1 : 0;
      const size = LEVELS[level].ms;
      from = Math.floor(from / size) * size;
      step = Math.ceil(Math.ceil((to - from + 1) / points) / size) * size;
      const rows = this.#rollup.group(
        { level, from: from / size, to: Math.floor(to / size) + 1 },
        `r.${col}`,
        Rollup.where(f, `r.${col}`),
        { sql: `(r.b * ${size} - ?) / ?`, params: [from, step] },
      );
      for (const r of rows) add(r.k, r.b, r.n);
    } else {
      const w = where({ ...f, from, to }, this.#text);
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
