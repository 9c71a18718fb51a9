/** The outputs part of the health view without I/O: replica sums, stale and forgotten instances, metrics only where no report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SinksOutputStats, SinksStats } from '@saker/bus';
import { createLogger } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { OutputsHealth } from '../src/health-outputs.js';

const out = (name: string, delivered: number, lastError: SinksOutputStats['lastError'] = null) => ({
  name,
  delivered,
  failed: 1,
  retried: 1,
  deadLettered: 0,
  filtered: 0,
  lastError,
});
const report = (instance: string, outputs: SinksOutputStats[], intervalMs = 1000): SinksStats => ({
  instance,
  version: '1',
  state: 'running',
  time: 0,
  intervalMs,
  outputs,
});

describe('health outputs', () => {
  it('sums replicas per output; the newest last error; metrics only for outputs no report names', async () => {
    const metrics = new MetricsRegistry();
    const c = metrics.counter('saker_sinks_alerts_delivered_total', 'x', ['output']);
    c.inc({ output: 'webhook' }, 500);
    c.inc({ output: 'old' }, 4);
    const h = new OutputsHealth({
      logger: createLogger({ name: 't', level: 'error' }),
      metrics,
      metricsUrls: [],
    });
    h.keep('a', report('a', [out('webhook', 10, { time: 5, message: 'newer' })]), 0);
    h.keep('b', report('b', [out('webhook', 7, { time: 2, message: 'older' })]), 0);
    const rows = await h.outputs(1000, [{ output: 'dead-only', error: 'HTTP 400' }]);
    assert.deepEqual(
      rows.map((r) => [r.name, r.delivered, r.failed, r.instances, r.source, r.last_error]),
      [
        ['dead-only', 0, 0, 0, 'dead_letters', 'HTTP 400'],
        ['old', 4, 0, 0, 'metrics', null],
        ['webhook', 17, 2, 2, 'reports', 'newer'],
      ],
    );
  });

  it('marks an instance stale after 3 intervals (at least 10 s) and forgets it after an hour', async () => {
    const h = new OutputsHealth({
      logger: createLogger({ name: 't', level: 'error' }),
      metrics: new MetricsRegistry(),
      metricsUrls: [],
    });
    h.keep('slow', report('slow', [out('x', 1)], 5000), 0);
    h.keep('fast', report('fast', [out('x', 2)], 100), 0);
    const status = (now: number) => h.instances(now).map((r) => [r.instance, r.status]);
    assert.deepEqual(status(9_000), [
      ['fast', 'running'],
      ['slow', 'running'],
    ]);
    assert.deepEqual(status(10_001), [
      ['fast', 'stale'],
      ['slow', 'running'],
    ]);
    assert.deepEqual(status(15_001), [
      ['fast', 'stale'],
      ['slow', 'stale'],
    ]);
    // A stale instance's totals still count in the output's sum, until forgotten.
    assert.equal((await h.outputs(15_001, [])).find((r) => r.name === 'x')?.delivered, 3);
    h.keep('fast', report('fast', [out('x', 2)], 100), 3_600_000);
    assert.deepEqual(status(3_600_001), [['fast', 'running']]);
    assert.equal((await h.outputs(3_600_001, [])).find((r) => r.name === 'x')?.delivered, 2);
  });
});
