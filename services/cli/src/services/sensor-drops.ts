/**
 * Dropped syscall events made visible: per-node counters and rates in
 * /metrics for every stats window, the window as a status report on
 * `saker.v1.sensor.stats.<node>` (for the UI's health view), and Falco's "syscall event drop" internal
 * alert (rule `Falco internal: syscall event drop`, priority Debug, as Falco
 * emits it) for each notice the sensor service lets through its threshold and
 * token bucket (`syscall_event_drops` in saker.yaml / falco.yaml).
 */
import {
  type Bus,
  NoStreamError,
  STREAMS,
  SUBJECTS,
  type SensorDrops,
  encodeSensorStats,
  toToken,
} from '@saker/bus';
import { type OutgoingAlert, internalAlert } from '@saker/engine';
import type { AlertJsonOptions } from '@saker/rules';
import type { SensorService, SyscallDropNotice } from '@saker/sensor';
import type { MetricsRegistry } from '@saker/telemetry';

/** Falco's rule name for the alert. */
export const SYSCALL_DROP_RULE = 'Falco internal: syscall event drop';

interface DropWatchOptions {
  readonly metrics: MetricsRegistry;
  /** Where the alerts (SAKER_ALERTS) and the status reports go. */
  readonly bus: Pick<Bus, 'publish' | 'publishDurable' | 'stream'>;
  /** Saker's version, in the status reports. */
  readonly version: string;
  readonly hostname: string;
  readonly json: AlertJsonOptions;
  readonly log: (line: string) => void;
}

/** The alert for one notice: Falco's text, with its drop counters as fields. */
function syscallDropAlert(n: SyscallDropNotice, hostname: string, json: AlertJsonOptions): OutgoingAlert {
  return internalAlert({
    rule: SYSCALL_DROP_RULE,
    priority: 'Debug',
    text: n.message,
    fields: {
      n_evts: n.events,
      n_drops: n.total,
      n_drops_buffer: n.drops.ringbuf,
      n_drops_scratch_map: n.drops.scratch,
      n_drops_enter_full: n.drops.enterFull,
      n_drops_batcher: n.drops.batcher,
      'saker.node': n.node,
      'saker.drop_ratio': Number(n.ratio.toFixed(6)),
    },
    msgId: `saker-internal-syscall-drop-${n.node}-${n.time}`,
    hostname,
    nowMs: n.time,
    json,
  });
}

const HELP = {
  events: 'Records the eBPF probe submitted, per node.',
  drops:
    'Syscall events lost, per node and stage (ringbuf, scratch, enter_full: in the kernel; batcher: behind the bus).',
  rate: 'Syscall events lost per second in the last stats window, per node.',
  ratio:
    "Share of the last stats window's syscall events lost, per node (what syscall_event_drops.threshold compares).",
  alerts: 'Falco "syscall event drop" alerts raised, per node.',
} as const;

/** Wires `probe`'s windows into the metrics and its notices into alerts; returns the unsubscribe. */
export function watchSensorDrops(probe: SensorService, o: DropWatchOptions): () => void {
  const node = ['node'];
  const events = o.metrics.counter('saker_sensor_events_total', HELP.events, node);
  const drops = o.metrics.counter('saker_sensor_drops_total', HELP.drops, ['node', 'stage']);
  const rate = o.metrics.gauge('saker_sensor_drop_rate', HELP.rate, node);
  const ratio = o.metrics.gauge('saker_sensor_drop_ratio', HELP.ratio, node);
  const alerts = o.metrics.counter('saker_sensor_drop_alerts_total', HELP.alerts, node);
  let eventsTotal = 0;
  let dropsTotal: SensorDrops = { ringbuf: 0, scratch: 0, enterFull: 0, batcher: 0 };
  const subject = SUBJECTS.sensorStats(toToken(probe.node));
  const offWindow = probe.onWindow((w) => {
    const labels = { node: w.node };
    eventsTotal += w.events;
    dropsTotal = {
      ringbuf: dropsTotal.ringbuf + w.drops.ringbuf,
      scratch: dropsTotal.scratch + w.drops.scratch,
      enterFull: dropsTotal.enterFull + w.drops.enterFull,
      batcher: dropsTotal.batcher + w.drops.batcher,
    };
    try {
      o.bus.publish(
        subject,
        encodeSensorStats({
          node: w.node,
          version: o.version,
          time: w.time,
          windowS: w.windowS,
          events: w.events,
          drops: w.drops,
          ratio: w.ratio,
          eventsTotal,
          dropsTotal,
        }),
      );
    } catch (err) {
      // At most once, like the events: the next window's totals make up for a lost report.
      o.log(`the sensor status report was not published on ${subject}: ${String(err)}`);
    }
    events.inc(labels, w.events);
    for (const [stage, n] of [
      ['ringbuf', w.drops.ringbuf],
      ['scratch', w.drops.scratch],
      ['enter_full', w.drops.enterFull],
      ['batcher', w.drops.batcher],
    ] as const) {
      if (n > 0) drops.inc({ node: w.node, stage }, n);
    }
    rate.set(w.windowS > 0 ? w.total / w.windowS : 0, labels);
    ratio.set(w.ratio, labels);
  });
  const offDrop = probe.onDrop((n) => {
    alerts.inc({ node: n.node });
    void publishAlert(o, syscallDropAlert(n, o.hostname, o.json));
  });
  return () => {
    offWindow();
    offDrop();
  };
}

/** One attempt, and one more after creating SAKER_ALERTS when no stream takes the subject yet. */
async function publishAlert(o: DropWatchOptions, a: OutgoingAlert): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await o.bus.publishDurable(a.subject, a.data, { msgId: a.msgId });
      return;
    } catch (err) {
      if (attempt === 0 && err instanceof NoStreamError) {
        await o.bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects).catch(() => undefined);
        continue;
      }
      o.log(`the syscall event drop alert was not stored on ${a.subject}: ${String(err)}`);
      return;
    }
  }
}
