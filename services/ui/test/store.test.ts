/**
 * The store alone, against the rows it should hold: counts, totals and
 * timelines read from the rollups (whole hours and minutes, partial edges
 * from the rows) equal the alerts the live-stream predicate (match.ts)
 * selects among those kept, across eviction, odd strings, duplicate tags and
 * replays of old alerts; and removal keeps the rows, tags, text shards and
 * rollups within their bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FalcoAlert } from '@saker/rules';
import { parsePriority, priorityLabel } from '@saker/rules';
import Database from 'better-sqlite3';
import { type StoredAlert, columnsOf } from '../src/event.js';
import { parseFilters } from '../src/filters.js';
import { matches } from '../src/match.js';
import { HOUR, MINUTE, cover } from '../src/rollup.js';
import { AlertStore, COUNT_BY, type CountBy } from '../src/store.js';
import { tempStore } from './helpers/env.js';

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE = Date.UTC(2026, 11, 7, 9, 0, 0);
const RULES = ['Rule A', 'R|1', 'R"2', '["x",1]', 'Rule\u0000B'];
const TAGS = ['fs', 'net', 'T1', '', '"q"'];

function makeAlerts(from: number, n: number, rnd: () => number): StoredAlert[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    // Most within five hours; some replays from years ago.
    const ts = rnd() < 0.03 ? Date.UTC(2016, 7, 4) + i : BASE + Math.floor(rnd() * 5 * HOUR);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const tags = [pick(TAGS), pick(TAGS)];
    const alert: FalcoAlert = {
      hostname: pick(['h0', 'h1', 'h2']),
      output: `file opened (file=/etc/shadow${i % 7})`,
      priority: pick(['Critical', 'Error', 'Warning', 'Notice', 'Debug']),
      rule: pick(RULES),
      source: pick(['syscall', 'k8s_audit']),
      tags,
      time: new Date(ts).toISOString(),
      output_fields: { 'fd.name': `/etc/shadow${i % 7}`, 'k8s.ns.name': pick(['ns-0', 'ns-1', null]) },
    };
    return { seq: i + 1, ts, alert };
  });
}

function keysOf(by: CountBy, s: StoredAlert): string[] {
  const a = s.alert;
  switch (by) {
    case 'source':
      return [a.source];
    case 'priority':
      return [priorityLabel(parsePriority(a.priority) ?? 'DEBUG')];
    case 'rule':
      return [a.rule];
    case 'tag':
      return [...new Set(a.tags)];
    case 'hostname':
      return [a.hostname];
    case 'namespace':
      return [columnsOf(a).namespace ?? ''];
  }
}

function expectedCounts(kept: readonly StoredAlert[], q: string, by: CountBy): Map<string, number> {
  const f = parseFilters(new URLSearchParams(q));
  const out = new Map<string, number>();
  for (const s of kept) {
    if (!matches(f, s)) continue;
    for (const k of keysOf(by, s)) out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const at = (ms: number): number => BASE + ms;
// Edges inside minutes and hours, whole hours, open ends, a tag, and filters the rollups cannot answer.
const QUERIES = [
  '',
  `from=${at(17 * MINUTE + 13_000)}&to=${at(3 * HOUR + 2 * MINUTE + 7_000)}`,
  `from=${at(HOUR)}&to=${at(3 * HOUR - 1)}`,
  `from=${at(59 * MINUTE + 59_999)}`,
  `to=${at(2 * HOUR + 30_500)}`,
  `from=${at(10_000)}&to=${at(50_000)}`,
  'priority=critical&priority=notice',
  `rule=${encodeURIComponent('R|1')}&namespace=ns-1&from=${at(31 * MINUTE + 1)}`,
  `tag=fs&from=${at(2 * HOUR + 5_000)}`,
  'tag=',
  `hostname=h1&min_priority=warning&to=${at(4 * HOUR + 59 * MINUTE + 1)}`,
  'tag=fs&tag=net',
  'q=shadow3',
  `pod=none&from=${at(HOUR)}`,
];

describe('cover', () => {
  it('splits a range into whole hours, whole minutes and partial minutes, without gaps or overlaps', () => {
    const c = cover(at(17 * MINUTE + 13_000), at(3 * HOUR + 2 * MINUTE + 7_000));
    const ms = (p: { level: number; from: number | null; to: number | null }): [number, number] => {
      const size = p.level === 1 ? HOUR : MINUTE;
      return [(p.from ?? 0) * size, (p.to ?? 0) * size - 1];
    };
    const parts = [...c.pieces.map(ms), ...c.raw].sort((a, b) => a[0] - b[0]);
    assert.equal(parts[0]?.[0], at(17 * MINUTE + 13_000));
    assert.equal(parts.at(-1)?.[1], at(3 * HOUR + 2 * MINUTE + 7_000));
    for (let i = 1; i < parts.length; i++) assert.equal(parts[i]?.[0], (parts[i - 1]?.[1] ?? 0) + 1);
    assert.deepEqual(
      c.pieces.map((p) => p.level),
      [1, 0, 0],
      'hours 1-2 whole, then minutes 18-59 and 0-1',
    );
    assert.equal(c.raw.length, 2, 'the partial minutes at both edges');
    assert.deepEqual(cover(null, null), { pieces: [{ level: 1, from: null, to: null }], raw: [] });
    assert.deepEqual(cover(at(10_000), at(50_000)), { pieces: [], raw: [[at(10_000), at(50_000)]] });
  });
});

describe('the store against its rows', () => {
  it('counts from the rollups equal the rows across eviction and partial buckets; bounds hold', () => {
    const maxRows = 1500;
    using t = tempStore({ maxRows });
    const store = t.store;
    const db = new Database(t.path, { readonly: true });
    try {
      const rnd = random(15);
      const all: StoredAlert[] = [];
      const batches = [700, 500, 900, 1, 1200, 333];
      for (const n of batches) {
        const batch = makeAlerts(all.length, n, rnd);
        all.push(...batch);
        assert.equal(store.add(batch), n);
        assert.equal(store.add(batch.slice(0, 5)), 0, 'an id already stored is skipped');
        const kept = all.slice(-maxRows);
        assert.equal(store.rows, kept.length);

        // Bounds: every table holds the kept alerts and nothing of the removed ones.
        const one = (sql: string): number => (db.prepare(sql).get() as { n: number | null }).n ?? 0;
        assert.equal(one('SELECT count(*) AS n FROM alerts'), kept.length);
        assert.equal(one('SELECT min(id) AS n FROM alerts'), kept[0]?.seq);
        const tagRows = kept.reduce((n, s) => n + new Set(s.alert.tags).size, 0);
        assert.equal(one('SELECT count(*) AS n FROM alert_tags'), tagRows);
        for (const level of ['m', 'h']) {
          assert.equal(one(`SELECT sum(n) AS n FROM rollup_${level}`), kept.length);
          assert.equal(one(`SELECT sum(n) AS n FROM rollup_${level}_sp`), kept.length);
          assert.equal(one(`SELECT sum(n) AS n FROM rollup_${level}_tag`), tagRows);
          for (const t of ['', '_tag', '_sp'])
            assert.equal(one(`SELECT count(*) AS n FROM rollup_${level}${t} WHERE n <= 0`), 0);
        }
        const indexed = one('SELECT sum(rows) AS n FROM text_shards');
        assert.ok(indexed >= kept.length, 'every kept alert is indexed');
        assert.ok(
          // The oldest shard's entries at most: an eighth of the store, and the batch that crossed it.
          indexed - kept.length <= Math.ceil(maxRows / 8) + Math.max(...batches),
          `${indexed - kept.length} entries of removed alerts in the text index`,
        );

        // Counts, totals and timelines.
        for (const q of QUERIES) {
          const f = parseFilters(new URLSearchParams(q));
          for (const by of COUNT_BY) {
            const got = new Map(store.counts(f, by).map((b) => [b.key, b.count]));
            const want = expectedCounts(kept, q, by);
            for (const [k, v] of [...want]) if (v === 0) want.delete(k);
            assert.deepEqual(got, want, `counts by ${by} for "${q}" after ${all.length}`);
          }
          const want = kept.filter((s) => matches(f, s));
          const page = store.page(f, 10, null);
          assert.equal(page.total, want.length, `total for "${q}"`);
          assert.deepEqual(
            page.events.map((e) => Number(e.id)),
            want
              .map((s) => s.seq)
              .reverse()
              .slice(0, 10),
            `the newest page for "${q}"`,
          );
        }
        for (const [q, points, size] of [
          [`from=${at(7 * MINUTE + 3_000)}&to=${at(4 * HOUR + 30 * MINUTE + 999)}`, 12, MINUTE],
          [`from=${at(7 * MINUTE + 3_000)}&to=${at(4 * HOUR + 30 * MINUTE + 999)}&priority=error`, 2, HOUR],
          [`from=${at(HOUR)}&to=${at(5 * HOUR)}&rule=${encodeURIComponent('R"2')}`, 4, HOUR],
        ] as const) {
          const f = parseFilters(new URLSearchParams(q));
          const tl = store.timeline(f, 'priority', points);
          assert.equal(tl.from % size, 0, 'buckets start on whole minutes or hours');
          assert.equal(tl.step % size, 0);
          const end = (Math.floor(tl.to / size) + 1) * size;
          const want = new Map<string, number[]>();
          for (const s of kept) {
            if (!matches({ ...f, from: null, to: null }, s) || s.ts < tl.from || s.ts >= end) continue;
            const key = keysOf('priority', s)[0] ?? '';
            const counts = want.get(key) ?? new Array<number>(points).fill(0);
            const i = Math.min(points - 1, Math.floor((s.ts - tl.from) / tl.step));
            counts[i] = (counts[i] ?? 0) + 1;
            want.set(key, counts);
          }
          assert.deepEqual(
            new Map(tl.series.map((s) => [s.key, s.counts])),
            want,
            `timeline for "${q}" with ${points} points`,
          );
        }
      }
      // Age: the oldest run that arrived before the cutoff goes, in id order.
      assert.equal(store.enforce(Date.now() + 86_400_001), maxRows);
      assert.equal(store.rows, 0);
      assert.equal((db.prepare('SELECT count(*) AS n FROM text_shards').get() as { n: number }).n, 0);
      assert.deepEqual(store.counts(parseFilters(new URLSearchParams('')), 'tag'), []);
    } finally {
      db.close();
    }
  });

  it('rolls a failed batch back whole: rows, counts and text', () => {
    using t = tempStore({ maxRows: 100 });
    const store = t.store;
    const rnd = random(7);
    const first = makeAlerts(0, 90, rnd);
    store.add(first);
    const bad = makeAlerts(90, 20, rnd);
    // An id that is no integer fails the batch after the others are in.
    bad[19] = { ...(bad[19] as StoredAlert), seq: 0.5 };
    assert.throws(() => store.add(bad));
    assert.equal(store.rows, 90);
    const all = parseFilters(new URLSearchParams(''));
    assert.equal(store.page(all, 1, null).total, 90);
    assert.equal(
      store.counts(all, 'source').reduce((n, b) => n + b.count, 0),
      90,
    );
    assert.equal(store.add(bad.slice(0, 19)), 19, 'the same alerts go in afterwards');
    assert.equal(store.rows, 100);
    const kept = [...first, ...bad.slice(0, 19)].slice(-100);
    assert.equal(
      store.page(parseFilters(new URLSearchParams('q=shadow3')), 1000, null).total,
      kept.filter((a) => a.alert.output.includes('shadow3')).length,
    );
  });

  it('stores each id once when a batch mixes new ids, stored ones, a gap below them and a repeat', () => {
    using t = tempStore();
    const store = t.store;
    const rnd = random(11);
    const all = makeAlerts(0, 300, rnd);
    // Ids 1-100 and 151-200 stored; 101-150 is a gap below the highest id.
    assert.equal(store.add([...all.slice(0, 100), ...all.slice(150, 200)]), 150);
    const mixed = [
      ...all.slice(200, 260), // new, above every id stored
      ...all.slice(90, 110), // 90-100 stored, 101-110 in the gap
      ...all.slice(255, 300), // 255-260 repeated within the batch, then new
      ...all.slice(110, 150), // the rest of the gap, after newer ids
      all[299] as StoredAlert, // the last one again
    ];
    // 201-260, 101-110, 261-300 and 111-150: each new id once.
    assert.equal(store.add(mixed), 60 + 10 + 40 + 40);
    assert.equal(store.rows, 300);
    const f = parseFilters(new URLSearchParams(''));
    const page = store.page(f, 1000, null);
    assert.equal(page.total, 300);
    assert.deepEqual(
      page.events.map((e) => Number(e.id)),
      all.map((s) => s.seq).reverse(),
    );
    for (const by of COUNT_BY) {
      const got = new Map(store.counts(f, by).map((b) => [b.key, b.count]));
      assert.deepEqual(got, expectedCounts(all, '', by), `counts by ${by}`);
    }
    const q = parseFilters(new URLSearchParams('q=shadow3'));
    assert.equal(
      store.page(q, 1000, null).total,
      all.filter((a) => a.alert.output.includes('shadow3')).length,
      'each alert indexed once',
    );
  });

  it('refuses a file written by another layout, naming it', () => {
    using t = tempStore();
    t.store.close();
    const old = new Database(t.path);
    old.exec('PRAGMA user_version = 1');
    old.close();
    assert.throws(
      () => new AlertStore({ path: t.path, maxRows: 10, maxBytes: 1e9, maxAgeMs: 1e9, cacheBytes: 1e6 }),
      (e: unknown) => e instanceof Error && e.name === 'StoreLayoutError' && e.message.startsWith(t.path),
    );
  });
});
