/**
 * No alert lost to a NATS outage: alerts the publisher cannot store go to
 * the spool (a bounded file) and are stored once NATS is back, each once.
 * A real nats-server is stopped and restarted on the same port and store.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** A W3C traceparent of its own for alert i: trace and parent span ids made of i. */
function traceparent(i: number): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `00-${hex(0xa1e7, 16)}${hex(i + 1, 16)}-${hex(i + 1, 16)}-01`;
}

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
      for (let i = 0; i < 5; i++) assert.equal(await publisher.publish(alert(i)), true);
      // A batch's alerts in one publishDurableBatch, as the engine sends them.
      const batch = Array.from({ length: 5 }, (_, i) => alert(5 + i));
      assert.deepEqual(await publisher.publishAll(batch), [true, true, true, true, true]);
      assert.equal(publisher.published, 10);
      await nats.kill(0);
      // During the outage: every alert is kept, none lost, with the trace context it came with,
      // whether it was published alone or in a batch (whose failed first attempt is retried alone).
      const trace = (i: number) => ({ traceparent: traceparent(i), 'Saker-Other': 'x' });
      const during = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => publisher.publish(alert(10 + i), trace(10 + i))),
        ...Array.from({ length: 20 }, (_, i) => publisher.publishAll([alert(30 + i)], trace(30 + i))),
      ]);
      assert.ok(during.flat().every((ok) => ok));
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
      // The resent ones carry their trace on: the sink's delivery span continues it.
      for (const a of stored) {
        const i = Number(a.msgId?.replace('spool-test-', ''));
        assert.equal(a.traceparent, i >= 10 ? traceparent(i) : undefined, `${a.msgId}'s traceparent`);
      }
    } finally {
      publisher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the trace context in its file; a malformed one is dropped, not the alert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-spool-'));
    try {
      const spool = new AlertSpool({ dir, maxBytes: 1024 * 1024, log: () => undefined });
      spool.add(alert(0), { traceparent: traceparent(0), tracestate: 'saker=1', other: 'not kept' });
      spool.add(alert(1));
      spool.add(alert(2), { traceparent: 'not-a-traceparent' });
      // A file edited by hand or damaged: a header injection in tracestate, a trace of the wrong type.
      const line = (i: number, trace: unknown) =>
        `${JSON.stringify({ subject: alert(i).subject, msgId: alert(i).msgId, data: Buffer.from(alert(i).data).toString('base64'), trace })}\n`;
      appendFileSync(
        join(dir, SPOOL_FILE),
        line(3, { traceparent: traceparent(3), tracestate: 'a=1\r\nSaker-Forged: 1' }) + line(4, ['x']),
      );
      const logs: string[] = [];
      const reopened = new AlertSpool({ dir, maxBytes: 1024 * 1024, log: (l) => logs.push(l) });
      const sent: [string, Readonly<Record<string, string>>][] = [];
      assert.equal(await reopened.resend(async (a, trace) => sent.push([a.msgId, trace]) > 0), 5);
      assert.deepEqual(sent, [
        ['spool-test-0', { traceparent: traceparent(0), tracestate: 'saker=1' }],
        ['spool-test-1', {}],
        ['spool-test-2', {}],
        ['spool-test-3', {}],
        ['spool-test-4', {}],
      ]);
      assert.match(
        logs.join('\n'),
        /5 alert\(s\) from before the restart to send, 2 with a malformed trace context/,
      );
    } finally {
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
