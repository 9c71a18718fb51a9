/**
 * The data API against a real nats-server: alerts published on
 * SAKER_ALERTS reach the store through the UI's durable consumer, and
 * events, counts, timelines, free text, filters and bad input behave as
 * docs/ui.md says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN, Client, alert, uiEnv, until } from './helpers/env.js';

const SPECIAL = ',.<>{}[]"\':;!@#$%^&*()+=~';

describe('api', () => {
  it('stores alerts from SAKER_ALERTS and serves events, counts and timelines with filters', async () => {
    await using env = await uiEnv();
    const alerts = Array.from({ length: 30 }, (_, i) => alert(i));
    await env.publish(alerts);
    await until('30 alerts stored', () => env.ui.store.rows === 30);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);

    const page = await c.json<{
      events: { id: string; rule: string; output_fields: Record<string, unknown> }[];
      next: string | null;
      total: number;
    }>('api/events?limit=10');
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 30);
    assert.equal(page.body.events.length, 10);
    assert.equal(page.body.events[0]?.id, '30', 'newest first (ids are stream sequences)');
    const next = await c.json<{ events: { id: string }[]; next: string | null }>(
      `api/events?limit=10&cursor=${page.body.next}`,
    );
    assert.equal(next.body.events[0]?.id, '20');

    // Repeated keys are OR, different keys AND.
    const f = await c.json<{ events: { rule: string; priority: string }[]; total: number }>(
      'api/events?rule=Rule+1&rule=Rule+2&priority=critical',
    );
    const expected = alerts.filter(
      (a) => (a.rule === 'Rule 1' || a.rule === 'Rule 2') && a.priority === 'Critical',
    );
    assert.equal(f.body.total, expected.length);
    assert.ok(
      f.body.events.every((e) => e.priority === 'Critical' && (e.rule === 'Rule 1' || e.rule === 'Rule 2')),
    );

    const ns = await c.json<{ total: number }>('api/events?namespace=ns-1&field.fd.name=%2Fetc%2Fshadow3');
    assert.equal(ns.body.total, 1);
    const minp = await c.json<{ total: number }>('api/events?min_priority=warning');
    assert.equal(minp.body.total, alerts.filter((a) => a.priority !== 'Notice').length);

    const counts = await c.json<{ by: string; buckets: { key: string; count: number }[] }>(
      'api/counts?by=priority',
    );
    assert.deepEqual(Object.fromEntries(counts.body.buckets.map((b) => [b.key, b.count])), {
      Warning: 10,
      Critical: 10,
      Notice: 10,
    });
    const tags = await c.json<{ buckets: { key: string; count: number }[] }>(
      'api/counts?by=tag&source=syscall',
    );
    assert.deepEqual(Object.fromEntries(tags.body.buckets.map((b) => [b.key, b.count])), {
      filesystem: 24,
      t0: 12,
      t1: 12,
    });
    const since = await c.json<{ buckets: { key: string; count: number }[] }>(
      'api/counts?by=source&since=1h',
    );
    assert.deepEqual(since.body.buckets, [
      { key: 'syscall', count: 24 },
      { key: 'k8s_audit', count: 6 },
    ]);

    const tl = await c.json<{
      from: number;
      to: number;
      step: number;
      series: { key: string; counts: number[] }[];
    }>('api/timeline?by=priority&points=12&since=1h');
    assert.equal(tl.status, 200);
    assert.equal(tl.body.series.length, 3);
    for (const s of tl.body.series) {
      assert.equal(s.counts.length, 12);
      assert.equal(
        s.counts.reduce((a, b) => a + b, 0),
        10,
        `${s.key}: every alert in one bucket`,
      );
    }
    assert.ok(tl.body.step >= 60_000 && tl.body.from <= Date.now() - 3_600_000 + 60_000);
  });

  it('free text takes any character, literally, and never fails', async () => {
    await using env = await uiEnv();
    const odd = `cmd=sh -c 'echo ${SPECIAL}' "quoted" \\back`;
    await env.publish([
      alert(1, { output: `Shell spawned (${odd})` }),
      alert(2, { output: 'Nothing special here', output_fields: { 'proc.cmdline': `x ${SPECIAL} y` } }),
      alert(3, { output: 'plain words only', output_fields: { plain: 'words' } }),
    ]);
    await until('3 stored', () => env.ui.store.rows === 3);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const total = async (q: string): Promise<number> => {
      const r = await c.json<{ total: number; events: unknown[] }>(`api/events?q=${encodeURIComponent(q)}`);
      assert.equal(r.status, 200, `q=${q}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.events.length, r.body.total);
      return r.body.total;
    };
    for (const ch of SPECIAL) {
      assert.equal(await total(ch), 2, `q=${ch}`);
      assert.equal(await total(`${ch}${ch}`), 0, `q=${ch}${ch}`);
    }
    assert.equal(await total(SPECIAL), 2);
    assert.equal(await total('"quoted"'), 1);
    assert.equal(await total('\\back'), 1);
    assert.equal(await total('SHELL spawned'), 1, 'ASCII case folded');
    assert.equal(await total('x ,.<>'), 1, 'field values are searched');
    assert.equal(await total('words only'), 1);
    assert.equal(await total('plain'), 1, 'field names are searched');
    assert.equal(await total('NEAR(a b) OR c*'), 0, 'FTS5 syntax is text');
    for (const ch of SPECIAL) {
      const r = await c.json(`api/counts?by=rule&q=${encodeURIComponent(ch)}`);
      assert.equal(r.status, 200);
    }
  });

  it('names a bad parameter, skips malformed alerts on the bus and keeps running', async () => {
    await using env = await uiEnv();
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    for (const [q, param] of [
      ['priority=loud', 'priority'],
      ['since=3w', 'since'],
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['cursor=abc', 'cursor'],
      ['colour=red', 'colour'],
    ] as const) {
      const r = await c.json<{ error: string }>(`api/events?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.error, new RegExp(`^${param}:`), q);
    }
    const by = await c.json<{ error: string }>('api/counts?by=colour');
    assert.equal(by.status, 400);
    assert.match(by.body.error, /^by:/);

    await env.publish([
      'not json',
      '{"rule":"x"}',
      '[]',
      JSON.stringify(alert(1, { priority: 'Loud' })),
      alert(7),
    ]);
    await until('the valid alert stored', () => env.ui.store.rows === 1);
    await until('4 invalid counted', () => env.ui.invalid() === 4);
    await env.publish([alert(8)]);
    await until('still storing', () => env.ui.store.rows === 2);
  });

  it('serves the API under a base path, and a placeholder page for other paths', async () => {
    await using env = await uiEnv({ ui: { base_path: '/saker/' } });
    assert.match(env.ui.url, /\/saker\/$/);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const r = await c.fetch('api/info');
    assert.equal(r.status, 200);
    const info = (await r.json()) as { store: { limits: { rows: number } } };
    assert.equal(info.store.limits.rows, 1_000_000);
    const page = await c.fetch('dashboard/anything');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<base href="\/saker\/">/);
    const outside = await fetch(new URL('/api/info', env.ui.url));
    assert.equal(outside.status, 404);
    assert.match(c.cookie, /^saker_ui=/);
  });
});
