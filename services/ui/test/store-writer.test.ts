/**
 * The store's writer thread and the reading connection beside it: a batch
 * is readable once `add` resolves, the reader's count, pages and counts
 * follow the writer's removals, the reader refuses to write, and the
 * writer's errors keep their names across the thread.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { StoredAlert } from '../src/event.js';
import { parseFilters } from '../src/filters.js';
import { StoreWriter } from '../src/store-writer.js';
import { AlertStore, type StoreOptions } from '../src/store.js';
import { alert } from './helpers/env.js';

function batch(from: number, n: number): StoredAlert[] {
  return Array.from({ length: n }, (_, k) => {
    const a = alert(from + k);
    return { seq: from + k + 1, ts: Date.parse(a.time.slice(0, 23)), alert: a };
  });
}

function options(dir: string, maxRows: number): StoreOptions {
  return { path: join(dir, 'alerts.db'), maxRows, maxBytes: 1e9, maxAgeMs: 86_400_000, cacheBytes: 1e6 };
}

describe('store writer thread', () => {
  it('commits before add resolves; the reader follows its additions and removals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-writer-'));
    const writer = await StoreWriter.open(options(dir, 150));
    const reader = new AlertStore({ ...options(dir, 150), role: 'reader' });
    try {
      assert.equal(await writer.add(batch(0, 100)), 100);
      assert.equal(reader.rows, 100);
      assert.equal(reader.lastSequence(), 100);
      assert.equal(await writer.add(batch(100, 100)), 100, 'new ids');
      assert.equal(await writer.add(batch(150, 50)), 0, 'ids already stored are skipped');
      assert.equal(writer.rows, 150);
      assert.equal(reader.rows, 150, 'the oldest 50 removed');
      // shadow17 and shadow170 to 179 (ids 18 and 171 to 180); id 18 was removed.
      const page = reader.page(parseFilters(new URLSearchParams('q=shadow17')), 20, null);
      assert.deepEqual(
        page.events.map((e) => e.id),
        Array.from({ length: 10 }, (_, i) => String(180 - i)),
      );
      assert.equal(page.total, 10);
      const counts = reader.counts(parseFilters(new URLSearchParams()), 'source');
      assert.equal(
        counts.reduce((n, c) => n + c.count, 0),
        150,
      );
      assert.throws(() => reader.add(batch(300, 1)), /add: this connection to the UI store only reads/);
    } finally {
      reader.close();
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects open with the writer's StoreLayoutError", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-writer-'));
    try {
      const o = options(dir, 100);
      const old = new Database(o.path);
      old.exec('CREATE TABLE alerts (id INTEGER PRIMARY KEY); PRAGMA user_version = 1');
      old.close();
      await assert.rejects(
        StoreWriter.open(o),
        (e: unknown) => e instanceof Error && e.name === 'StoreLayoutError' && e.message.startsWith(o.path),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
