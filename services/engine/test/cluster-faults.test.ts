/**
 * A 3-node JetStream cluster under faults: alerts published through the
 * engine's AlertPublisher (retries, then the spool) into an R3 SAKER_ALERTS
 * while one server is killed (SIGKILL) and restarted mid-stream, and then
 * all three are restarted at once. Every alert must be stored (lost: 0);
 * duplicates (an alert stored twice) are counted and reported. The figures
 * are printed; README.md's Reliability section quotes them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bus, STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import { MetricsRegistry } from '@saker/telemetry';
import { retryUntilLeader as retry, startNatsCluster } from '@saker/testing';
import { AlertPublisher, type OutgoingAlert } from '../src/alerts.js';
import { engineMetrics } from '../src/metrics.js';
import { AlertSpool } from '../src/spool.js';

const TOTAL = 3000;
const CONCURRENCY = 16;

function alert(i: number): OutgoingAlert {
  return {
    subject: SUBJECTS.alert('syscall', 'warning'),
    data: new TextEncoder().encode(JSON.stringify({ rule: 'fault test', output: `alert ${i}`, n: i })),
    msgId: `cluster-fault-${i}`,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every stored alert's number, with repeats, read through a durable consumer. */
async function readAll(bus: Bus, durable: string): Promise<number[]> {
  const info = await retry('stream info', () => bus.streamInfo(STREAMS.alerts.name));
  const feed = await retry('consumer', () =>
    bus.consumer(STREAMS.alerts.name, durable, { maxAckPending: 10_000 }),
  );
  const out: number[] = [];
  const deadline = setTimeout(() => void feed.stop(), 60_000);
  try {
    for await (const m of feed) {
      out.push((JSON.parse(new TextDecoder().decode(m.data)) as { n: number }).n);
      m.ack();
      if (out.length >= info.messages) break;
    }
  } finally {
    clearTimeout(deadline);
    await feed.stop();
  }
  return out;
}

describe('a 3-node JetStream cluster under faults', { timeout: 300_000 }, () => {
  it('loses no alert when one server is killed mid-stream and when all three restart', async () => {
    const started = Date.now();
    await using cluster = await startNatsCluster({ size: 3 });
    const bus = await connectBus({
      url: [...cluster.urls],
      maxReconnectAttempts: -1,
      name: 'fault-publisher',
    });
    const logs: string[] = [];
    const metrics = engineMetrics(new MetricsRegistry());
    const publisher = new AlertPublisher({
      bus,
      metrics,
      timeoutMs: 2_000,
      attempts: 3,
      log: (l) => logs.push(l),
      spool: new AlertSpool({ dir: null, maxBytes: 64 * 1024 * 1024, log: (l) => logs.push(l) }),
      resendIntervalMs: 500,
    });
    try {
      const info = await retry('R3 stream', () =>
        bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects, { replicas: 3 }),
      );
      assert.equal(info.name, STREAMS.alerts.name);

      const faults: string[] = [];
      let next = 0;
      let done = 0;
      const faultAt = async (n: number): Promise<void> => {
        while (done < n) await sleep(5);
      };
      const script = (async () => {
        await faultAt(TOTAL * 0.2);
        await cluster.kill(1);
        faults.push(`killed s1 (SIGKILL) after ${done} alerts`);
        await faultAt(TOTAL * 0.4);
        await cluster.restart(1);
        faults.push(`restarted s1 after ${done} alerts`);
        await faultAt(TOTAL * 0.6);
        await Promise.all([0, 1, 2].map((i) => cluster.kill(i, 'SIGTERM')));
        faults.push(`stopped all three after ${done} alerts`);
        await sleep(1_000);
        await Promise.all([0, 1, 2].map((i) => cluster.restart(i)));
        faults.push(`restarted all three after ${done} alerts`);
      })();
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = next++;
          if (i >= TOTAL) return;
          assert.equal(await publisher.publish(alert(i)), true, `alert ${i} kept`);
          done++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await script;
      const deadline = Date.now() + 120_000;
      while (publisher.pending > 0 && Date.now() < deadline) {
        await publisher.resend();
        await sleep(250);
      }
      assert.equal(publisher.pending, 0, 'the spool was sent');

      const seen = await readAll(bus, 'fault-reader');
      const unique = new Set(seen);
      const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !unique.has(i));
      const duplicates = seen.length - unique.size;
      const figures = {
        alerts: TOTAL,
        stored: seen.length,
        lost: missing.length,
        duplicates,
        spooled: publisher.spooled,
        retries: metrics.alertRetries.get(),
        dedupHits: metrics.alertsDuplicate.get(),
        seconds: Math.round((Date.now() - started) / 100) / 10,
      };
      // Printed for README.md's Reliability section.
      console.log(`cluster faults: ${faults.join('; ')}`);
      console.log(`cluster faults: ${JSON.stringify(figures)}`);
      assert.deepEqual(missing, [], `lost ${missing.length}: ${missing.slice(0, 20).join(', ')}`);
      assert.equal(unique.size, TOTAL);
    } finally {
      publisher.close();
      await bus.close();
    }
  });
});
