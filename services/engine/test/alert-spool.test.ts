/**
 * No alert lost to a NATS outage: alerts the publisher cannot store go to
 * the spool (a bounded file) and are stored once NATS is back, each once.
 * A real nats-server is stopped and restarted on the same port and store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import { MetricsRegistry } from '@saker/telemetry';
import { startNatsCluster } from '@saker/testing';
import { AlertPublisher, type OutgoingAlert } from '../src/alerts.js';
import { engineMetrics } from '../src/metrics.js';
import { AlertSpool, SPOOL_FILE } from '../src/spool.js';
import { readAlerts } from './helpers/alerts.js';
import { until } from './helpers/metadata-records.js';

function alert(i: number): OutgoingAlert {
  return {
    subject: SUBJECTS.alert('syscall', 'warning'),
    data: new TextEncoder().encode(
      JSON.stringify({ rule: 'r', output: `alert ${i}`, priority: 'Warning', source: 'syscall' }),
    ),
    msgId: `spool-test-${i}`,
  };
}

describe('alert spool', { timeout: 120_000 }, () => {
  it('keeps the alerts of an outage in a file and stores each once when NATS returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-spool-'));
    await using nats = await startNatsCluster({ size: 1 });
    await using bus = await connectBus({ url: nats.urls[0] ?? '', maxReconnectAttempts: -1 });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const logs: string[] = [];
    const metrics = engineMetrics(new MetricsRegistry());
    const spool = new AlertSpool({ dir, maxBytes: 1024 * 1024, log: (l) => logs.push(l) });
    const publisher = new AlertPublisher({
      bus,
      metrics,
      timeoutMs: 300,
      attempts: 2,
      log: (l) => logs.push(l),
      spool,
      resendIntervalMs: 200,
    });
    try {
      for (let i = 0; i < 10; i++) assert.equal(await publisher.publish(alert(i)), true);
      await nats.kill(0);
      // During the outage: every alert is kept, none lost.
      const during = await Promise.all(
        Array.from({ length: 40 }, (_, i) => publisher.publish(alert(10 + i))),
      );
      assert.ok(during.every((ok) => ok));
      assert.equal(publisher.failed, 0);
      assert.equal(publisher.spooled, 40);
      assert.equal(readFileSync(join(dir, SPOOL_FILE), 'utf8').trim().split('\n').length, 40);
      // A restart of the engine finds them in the file.
      const reopened = new AlertSpool({ dir, maxBytes: 1024 * 1024, log: () => undefined });
      assert.equal(reopened.size, 40);

      await nats.restart(0);
      await until('the spool is sent', () => publisher.pending === 0, 30_000);
      assert.equal(readFileSync(join(dir, SPOOL_FILE), 'utf8'), '');
      const stored = await readAlerts(bus, 'spool-reader', { expected: 50 });
      const ids = stored.map((a) => a.msgId);
      assert.equal(new Set(ids).size, 50, 'every alert stored');
      assert.equal(ids.length, 50, 'each once');
    } finally {
      publisher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is bounded: past max bytes an alert is lost and counted', () => {
    const spool = new AlertSpool({ dir: null, maxBytes: 300, log: () => undefined });
    let kept = 0;
    for (let i = 0; i < 10; i++) if (spool.add(alert(i))) kept++;
    assert.ok(kept > 0 && kept < 10, `kept ${kept}`);
    assert.equal(spool.dropped, 10 - kept);
    assert.ok(spool.bytes <= 300);
  });
});
