/**
 * The store under load, the live stream, export and restarts, against a
 * real nats-server: limits on rows, bytes and age hold while alerts keep
 * arriving, a restarted UI resumes its durable consumer with nothing lost,
 * SSE sends the matching alerts as they are stored, and export streams
 * every alert (past one page) with CSV formulas neutralised.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '@saker/runtime';
import Database from 'better-sqlite3';
import { ADMIN, Client, alert, tempStore, uiEnv, until } from './helpers/env.js';

describe('store limits', () => {
  it('keeps at most max_rows while alerts keep arriving', async () => {
    await using env = await uiEnv({ ui: { store: { max_rows: 100 } } });
    let most = 0;
    for (let wave = 0; wave < 6; wave++) {
      await env.publish(Array.from({ length: 100 }, (_, i) => alert(wave * 100 + i)));
      await until(`wave ${wave} stored`, () => {
        most = Math.max(most, env.ui.store.rows);
        return env.ui.store.lastSequence() === (wave + 1) * 100;
      });
    }
    assert.ok(most <= 100, `at most 100 rows at any time, saw ${most}`);
    assert.equal(env.ui.store.rows, 100);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const page = await c.json<{ events: { id: string }[]; total: number }>('api/events?limit=1000');
    assert.equal(page.body.total, 100);
    assert.equal(page.body.events.at(-1)?.id, '501', 'the oldest went first');
    const counts = await c.json<{ buckets: { count: number }[] }>('api/counts?by=source');
    assert.equal(
      counts.body.buckets.reduce((n, b) => n + b.count, 0),
      100,
      'the per-minute counts lost what the store removed',
    );
  });

  it('keeps the bytes in use under max_bytes while large alerts keep arriving', async () => {
    const maxBytes = 1024 * 1024;
    await using env = await uiEnv({ ui: { store: { max_bytes: maxBytes } } });
    const big = 'x'.repeat(4000);
    for (let wave = 0; wave < 5; wave++) {
      await env.publish(
        Array.from({ length: 200 }, (_, i) => alert(wave * 200 + i, { output: `${big} ${wave}-${i}` })),
      );
      await until(`wave ${wave} stored`, () => env.ui.store.lastSequence() === (wave + 1) * 200);
      assert.ok(env.ui.store.bytes() <= maxBytes, `wave ${wave}: ${env.ui.store.bytes()} bytes`);
    }
    assert.ok(env.ui.store.rows < 1000 && env.ui.store.rows > 50, `${env.ui.store.rows} rows kept`);
  });

  it('removes alerts stored longer than max_age, whatever their own time', () => {
    using t = tempStore({ maxRows: 1000, maxAgeMs: 60_000 });
    const store = t.store;
    const old = alert(1, { time: '2016-08-04T16:17:57.881781397Z' });
    store.add([{ seq: 1, ts: Date.parse('2016-08-04T16:17:57.881Z'), alert: old }]);
    assert.equal(store.rows, 1, 'a replay of old events is kept when it arrives');
    assert.equal(store.enforce(Date.now() + 30_000), 0);
    assert.equal(store.enforce(Date.now() + 61_000), 1);
    assert.equal(store.rows, 0);
  });
});

describe('feed', () => {
  it('resumes its durable consumer after a restart: nothing lost, nothing twice', async () => {
    await using env = await uiEnv();
    await env.publish(Array.from({ length: 50 }, (_, i) => alert(i)));
    await until('50 stored', () => env.ui.store.rows === 50);
    await env.ui.stop();
    await env.publish(Array.from({ length: 50 }, (_, i) => alert(50 + i)));
    await env.restart();
    await until('100 stored', () => env.ui.store.rows === 100);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const page = await c.json<{ events: { id: string }[] }>('api/events?limit=1000');
    assert.deepEqual(
      page.body.events.map((e) => Number(e.id)).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  it('replaces a store file of another layout with an empty store, with a warning, and goes on', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'ui', level: 'warn', write: (line) => void lines.push(line) });
    await using env = await uiEnv({ extra: { logger } });
    await env.publish(Array.from({ length: 5 }, (_, i) => alert(i)));
    await until('5 stored', () => env.ui.store.rows === 5);
    await env.ui.stop();
    // As an older Saker left it (another PRAGMA user_version).
    const path = join(env.dir, 'alerts.db');
    const old = new Database(path);
    const layout = Number(old.pragma('user_version', { simple: true }));
    old.pragma('user_version = 1');
    old.close();
    await env.restart();
    const warning = lines.find((l) => l.includes('layout 1'));
    assert.ok(
      warning?.includes(path) && warning.includes('replacing it with an empty store'),
      lines.join(''),
    );
    assert.equal(env.ui.store.rows, 0, 'the old rows are not read with another layout');
    await env.publish([alert(5)]);
    await until('the new alert stored', () => env.ui.store.rows === 1);
    const now = new Database(path, { readonly: true });
    assert.equal(Number(now.pragma('user_version', { simple: true })), layout);
    now.close();
  });

  it('streams matching alerts as server-sent events', async () => {
    await using env = await uiEnv();
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const res = await c.fetch('api/stream?priority=critical');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await env.publish(
      Array.from({ length: 9 }, (_, i) => alert(i, { output: `<script>alert(${i})</script>\nline two` })),
    );
    let text = '';
    const dec = new TextDecoder();
    while ((text.match(/^event: alert$/gm) ?? []).length < 3) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended early');
      text += dec.decode(value);
    }
    await reader.cancel();
    const events = [...text.matchAll(/^data: (.*)$/gm)].map(
      (m) => JSON.parse(m[1] ?? '') as { priority: string; output: string },
    );
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.priority === 'Critical'));
    assert.match(
      events[0]?.output ?? '',
      /^<script>alert\(\d\)<\/script>\nline two$/,
      'data, one line per event',
    );
  });

  it('exports every alert, streamed, as JSON lines and as CSV with formulas neutralised', async () => {
    await using env = await uiEnv();
    const n = 2300;
    for (let at = 0; at < n; at += 500) {
      await env.publish(
        Array.from({ length: Math.min(500, n - at) }, (_, i) =>
          alert(at + i, { rule: at + i === 7 ? '=HYPERLINK("http://x")' : 'R' }),
        ),
      );
    }
    await until(`${n} stored`, () => env.ui.store.rows === n, 30_000);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const jsonl = await c.fetch('api/export?format=jsonl');
    assert.equal(jsonl.status, 200);
    assert.match(
      jsonl.headers.get('content-disposition') ?? '',
      /^attachment; filename="saker-alerts-.*\.jsonl"$/,
    );
    const lines = (await jsonl.text()).trimEnd().split('\n');
    assert.equal(lines.length, n);
    assert.equal(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size, n);
    const csv = await (await c.fetch('api/export?format=csv&rule=%3DHYPERLINK(%22http%3A%2F%2Fx%22)')).text();
    const rows = csv.trimEnd().split('\r\n');
    assert.equal(rows.length, 2);
    assert.match(rows[1] ?? '', /^"8","[^"]+","[A-Za-z]+","'=HYPERLINK\(""http:\/\/x""\)",/);
  });
});
