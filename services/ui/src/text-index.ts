/**
 * The free-text index: FTS5 tables (contentless, detail=none, and
 * columnsize=0: no per-row sizes, which only ranking reads) over the
 * alerts' text, in shards of consecutive ids. Deleting single rows from an
 * FTS5 table costs several times their insert (tombstones rewritten at every
 * commit), so the store never does: an evicted alert's entry stays in its
 * shard, where it matches nothing (queries join the shard's rowids with the
 * alerts), until every alert of the shard is gone and the whole shard is
 * dropped. A new shard starts when the current one holds an eighth of the
 * alerts stored (at least MIN_SHARD, so a small store has shards too), so entries of evicted alerts weigh at
 * most about an eighth of the index.
 *
 * Each shard merges its segments (one per batch) only when 16 of a level
 * are there (FTS5's crisis merge), not a few at every write (`automerge`
 * 0): a shard lives for a few dozen batches, and merging as it goes cost
 * about 15 % of the index's insert time.
 *
 * The shards are listed in `text_shards`, updated in the caller's
 * transaction with the alerts.
 */
import type Database from 'better-sqlite3';

const MIN_SHARD = 64;

interface Shard {
  readonly n: number;
  lastId: number;
  rows: number;
  readonly insert: Database.Statement;
}

export class TextIndex {
  readonly #db: Database.Database;
  readonly #shards: Shard[] = [];
  readonly #save: Database.Statement;
  readonly #drop: Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS text_shards (
      n INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, rows INTEGER NOT NULL
    )`);
    this.#save = db.prepare('UPDATE text_shards SET last_id = ?, rows = ? WHERE n = ?');
    this.#drop = db.prepare('DELETE FROM text_shards WHERE n = ?');
    this.reload();
  }

  /** Reads the shards from the file again (after a rolled back transaction). */
  reload(): void {
    const listed = this.#db.prepare('SELECT n, last_id, rows FROM text_shards ORDER BY n').all() as {
      n: number;
      last_id: number;
      rows: number;
    }[];
    this.#shards.length = 0;
    for (const s of listed) this.#shards.push(this.#open(s.n, s.last_id, s.rows));
  }

  #open(n: number, lastId: number, rows: number): Shard {
    return {
      n,
      lastId,
      rows,
      // One row per statement: a statement of several rows opens a statement
      // savepoint, at which FTS5 writes its pending terms out as a segment of
      // a few rows (tried: the text index's share of the feed's profile went
      // from 7 % to 18 %).
      insert: this.#db.prepare(`INSERT INTO alert_text_${n} (rowid, doc) VALUES (?, ?)`),
    };
  }

  #create(): Shard {
    const n = (this.#shards.at(-1)?.n ?? 0) + 1;
    this.#db.exec(`
      CREATE VIRTUAL TABLE alert_text_${n} USING fts5 (
        doc, content = '', detail = none, columnsize = 0, tokenize = 'unicode61'
      );
      INSERT INTO alert_text_${n} (alert_text_${n}, rank) VALUES ('automerge', 0);
      INSERT INTO text_shards (n, last_id, rows) VALUES (${n}, 0, 0);
    `);
    const s = this.#open(n, 0, 0);
    this.#shards.push(s);
    return s;
  }

  /**
   * Indexes a batch's texts (inside the caller's transaction); `stored` is
   * how many alerts the store holds before the batch.
   */
  add(docs: readonly { readonly id: number; readonly doc: string }[], stored: number): void {
    if (docs.length === 0) return;
    let s = this.#shards.at(-1);
    if (s === undefined || s.rows >= Math.max(MIN_SHARD, Math.ceil(stored / 8))) s = this.#create();
    for (const d of docs) {
      s.insert.run(d.id, d.doc);
      if (d.id > s.lastId) s.lastId = d.id;
    }
    s.rows += docs.length;
    this.#save.run(s.lastId, s.rows, s.n);
  }

  /** Drops the shards whose alerts all have an id up to `cut` (inside the caller's transaction). */
  dropThrough(cut: number): void {
    for (;;) {
      const s = this.#shards[0];
      if (s === undefined || s.lastId > cut) break;
      this.#db.exec(`DROP TABLE alert_text_${s.n}`);
      this.#drop.run(s.n);
      this.#shards.shift();
    }
  }

  /** A condition over `alerts a` for an FTS5 query, and its parameters. */
  match(fts: string): { sql: string; params: string[] } {
    if (this.#shards.length === 0) return { sql: '0', params: [] };
    const sel = this.#shards.map(
      (s) => `SELECT rowid FROM alert_text_${s.n} WHERE alert_text_${s.n} MATCH ?`,
    );
    return { sql: `a.id IN (${sel.join(' UNION ALL ')})`, params: this.#shards.map(() => fts) };
  }
}
