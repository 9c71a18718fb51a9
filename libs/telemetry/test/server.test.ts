import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsRegistry } from '../src/metrics.js';
import { type HealthReport, METRICS_CONTENT_TYPE, healthReport, serveTelemetry } from '../src/server.js';

describe('serveTelemetry', () => {
  it('serves /metrics and /healthz on an ephemeral port', async () => {
    const metrics = new MetricsRegistry();
    metrics.counter('served_total', 'Served.').inc(undefined, 7);
    let report: HealthReport = healthReport({ bus: { ok: true }, rules: { ok: true, detail: 'revision 3' } });
    const server = await serveTelemetry({ host: '127.0.0.1', port: 0, metrics, health: () => report });
    try {
      assert.ok(server.port > 0);
      assert.equal(server.url, `http://127.0.0.1:${server.port}`);

      const m = await fetch(`${server.url}/metrics`);
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('content-type'), METRICS_CONTENT_TYPE);
      assert.match(await m.text(), /^served_total 7$/m);

      const ok = await fetch(`${server.url}/healthz`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), {
        ok: true,
        checks: { bus: { ok: true }, rules: { ok: true, detail: 'revision 3' } },
      });

      report = healthReport({ bus: { ok: false, detail: 'disconnected' } });
      const bad = await fetch(`${server.url}/healthz`);
      assert.equal(bad.status, 503);
      assert.deepEqual(await bad.json(), {
        ok: false,
        checks: { bus: { ok: false, detail: 'disconnected' } },
      });

      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
      assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  it('answers 503 when the health function throws or rejects', async () => {
    const server = await serveTelemetry({
      port: 0,
      metrics: new MetricsRegistry(),
      health: async () => {
        throw new Error('kv unreachable');
      },
    });
    try {
      const res = await fetch(`${server.url}/healthz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        ok: false,
        checks: { health: { ok: false, detail: 'kv unreachable' } },
      });
    } finally {
      await server.close();
    }
  });

  it('closes when the signal aborts, and close is idempotent', async () => {
    const ac = new AbortController();
    const server = await serveTelemetry(
      { port: 0, metrics: new MetricsRegistry(), health: () => healthReport({}) },
      ac.signal,
    );
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    ac.abort();
    await server.close();
    await server.close();
    await assert.rejects(fetch(`${server.url}/healthz`));
  });

  it('fails to start on a port already in use', async () => {
    const first = await serveTelemetry({
      port: 0,
      metrics: new MetricsRegistry(),
      health: () => healthReport({}),
    });
    try {
      await assert.rejects(
        serveTelemetry({ port: first.port, metrics: new MetricsRegistry(), health: () => healthReport({}) }),
        /EADDRINUSE/,
      );
    } finally {
      await first.close();
    }
  });
});
