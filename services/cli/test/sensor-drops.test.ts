import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Bus,
  type BusMessage,
  STREAMS,
  SUBJECTS,
  type SensorStats,
  connectBus,
  decodeSensorStats,
} from '@saker/bus';
import { start } from '@saker/sensor';
import { MetricsRegistry } from '@saker/telemetry';
import { stalledBus } from '@saker/testing';
import { SYSCALL_DROP_RULE, watchSensorDrops } from '../src/services/sensor-drops.js';

const SKIP = process.getuid?.() === 0 ? false : 'NOT ROOT: the drop test loads the eBPF probe';
if (SKIP) console.error(`\n*** SKIPPING sensor drop test: ${SKIP} ***\n`);

/**
 * Real drops: the probe captures real opens, and the service's batcher sits
 * behind a bus that never completes a flush, so its back-pressure drops
 * events (counted as the `batcher` stage), as behind a stalled NATS.
 */
interface Run {
  readonly text: string;
  readonly alerts: readonly BusMessage[];
  readonly logged: readonly string[];
  readonly batcherDropped: number;
  /** The status reports on saker.v1.sensor.stats.drop-node, as the UI reads them. */
  readonly reports: readonly SensorStats[];
}

/** Runs the probe behind a stalled bus for about a second of real opens, with `actions`. */
async function provokeDrops(actions: readonly ('ignore' | 'log' | 'alert')[]): Promise<Run> {
  const events = await connectBus({ memory: true });
  const alertsBus = await connectBus({ memory: true });
  await alertsBus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const alerts: BusMessage[] = [];
  const sub = alertsBus.subscribe(SUBJECTS.alert('internal', 'debug'));
  void (async () => {
    for await (const m of sub) alerts.push(m);
  })();
  const reports: SensorStats[] = [];
  const statsSub = alertsBus.subscribe(SUBJECTS.sensorStats('drop-node'));
  void (async () => {
    for await (const m of statsSub) reports.push(decodeSensorStats(m.data));
  })();
  const stall = stalledBus<Bus['publish']>((s, d, h) => events.publish(s, d, h));
  const logged: string[] = [];
  const probe = await start({
    bus: stall.bus,
    node: 'drop-node',
    eventTypes: new Set(['openat']),
    sensor: { statsIntervalMs: 100 },
    batcher: { maxEvents: 1, maxInFlight: 1, flushIntervalMs: 5 },
    dropThreshold: 0,
    dropActions: actions,
    dropNoticeIntervalMs: 60_000,
    log: (l) => logged.push(l),
  });
  const metrics = new MetricsRegistry();
  const off = watchSensorDrops(probe, {
    metrics,
    bus: alertsBus,
    hostname: 'drop-host',
    json: {},
    version: '9.9.9-test',
    log: (l) => logged.push(l),
  });
  try {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) spawnSync('cat', ['/etc/hostname']);
      await sleep(500);
    }
  } finally {
    off();
    stall.release();
    await probe.stop();
  }
  await sleep(50);
  sub.unsubscribe();
  statsSub.unsubscribe();
  await events.close();
  await alertsBus.close();
  return {
    text: metrics.render(),
    alerts,
    logged,
    batcherDropped: probe.stats().batcher.dropped,
    reports,
  };
}

function batcherDrops(text: string): number {
  const m = /^saker_sensor_drops_total\{node="drop-node",stage="batcher"\} (\d+)$/m.exec(text);
  assert.ok(m, `no batcher drop counter in:\n${text}`);
  return Number(m[1]);
}

describe('syscall event drops: metrics and the Falco internal alert', () => {
  it(
    'counts the drops per node in /metrics and raises one rate-limited alert (actions log, alert)',
    { skip: SKIP },
    async () => {
      const { text, alerts, logged, batcherDropped, reports } = await provokeDrops(['log', 'alert']);
      const dropped = batcherDrops(text);
      assert.ok(dropped > 0);
      // Every window went out as a status report too, with the same running totals as /metrics.
      const last = reports.at(-1);
      assert.ok(last !== undefined, 'status reports on saker.v1.sensor.stats.drop-node');
      assert.equal(last.node, 'drop-node');
      assert.equal(last.version, '9.9.9-test');
      assert.equal(last.dropsTotal.batcher, dropped);
      assert.equal(
        last.dropsTotal.batcher,
        reports.reduce((n, r) => n + r.drops.batcher, 0),
      );
      const events = /^saker_sensor_events_total\{node="drop-node"\} (\d+)$/m.exec(text);
      assert.equal(last.eventsTotal, Number(events?.[1]));
      assert.ok(reports.some((r) => r.drops.batcher > 0 && r.windowS > 0 && r.ratio > 0));
      // The windows' sum: the batcher's own count, but for what it dropped after the last stats window.
      assert.ok(dropped <= batcherDropped);
      assert.match(text, /^saker_sensor_events_total\{node="drop-node"\} [1-9]\d*$/m);
      assert.match(text, /^saker_sensor_drop_rate\{node="drop-node"\} [\d.e+-]+$/m);
      assert.match(text, /^saker_sensor_drop_alerts_total\{node="drop-node"\} 1$/m);
      // One alert: the token bucket (burst 1, one per minute here) held back the later windows.
      assert.equal(
        alerts.length,
        1,
        `alerts: ${alerts.map((a) => new TextDecoder().decode(a.data)).join('\n')}`,
      );
      const alert = JSON.parse(new TextDecoder().decode(alerts[0]?.data)) as {
        rule: string;
        priority: string;
        source: string;
        hostname: string;
        output: string;
        output_fields: Record<string, unknown>;
      };
      assert.equal(alert.rule, SYSCALL_DROP_RULE);
      assert.equal(alert.priority, 'Debug');
      assert.equal(alert.source, 'internal');
      assert.equal(alert.hostname, 'drop-host');
      assert.match(
        alert.output,
        /Falco internal: syscall event drop\. \d+ system calls dropped in last [\d.]+ seconds\./,
      );
      assert.ok(Number(alert.output_fields.n_drops_batcher) > 0);
      assert.equal(alert.output_fields['saker.node'], 'drop-node');
      assert.equal(logged.filter((l) => l.includes('syscall event drop')).length, 1, 'action log: one line');
    },
  );

  it(
    'with action ignore, counts the drops in /metrics and neither logs nor alerts',
    { skip: SKIP },
    async () => {
      const { text, alerts, logged } = await provokeDrops(['ignore']);
      assert.ok(batcherDrops(text) > 0);
      assert.equal(alerts.length, 0);
      assert.equal(logged.filter((l) => l.includes('syscall event drop')).length, 0);
      assert.doesNotMatch(text, /^saker_sensor_drop_alerts_total\{/m);
    },
  );
});
