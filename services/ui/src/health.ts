/**
 * The health view, from what the bus and the metrics already carry
 * (docs/ui.md, "Health"):
 * - sensors: each sensor's status reports on `saker.v1.sensor.stats.<node>`
 *   (libs/bus sensor-stats.ts): events/s, drops/s and drops by stage of its
 *   last window, running totals, version. A node that publishes batches on
 *   `saker.v1.events.syscall.<node>` without reports (a replay) is counted
 *   from their `Saker-Batch-Count` header (the payload is not read), with
 *   its drops unknown (null).
 * - engines: each replica's stats reports on `saker.v1.engine.stats.<replica>`
 *   (docs/engine.md): ruleset revision, `lag_ms` (how long the oldest event
 *   it holds has waited), events in flight and dropped, the audit consumer's
 *   pending batches, and `report_age_ms`, the age of its last report.
 * - outputs: each sinks instance's delivery reports on
 *   `saker.v1.sinks.stats.<instance>` (libs/bus sinks-stats.ts), per
 *   instance and summed per output; the sinks' Prometheus counters fill in
 *   outputs no report names (health-outputs.ts).
 * - a report that does not decode is counted (`invalid_reports`, and
 *   `saker_ui_health_reports_invalid_total{report}`), logged with what was
 *   wrong (a warning at most once a minute per kind) and ignored.
 * - dead letters: SAKER_DEADLETTER through the durable consumer
 *   `saker-ui-deadletters`, the newest `maxDeadLetters` kept. Redelivery
 *   publishes the alert on SAKER_ALERTS again, so every output (and this
 *   store) gets it once more.
 */
import {
  type Bus,
  type DurableConsumer,
  HEADERS,
  NoStreamError,
  STREAMS,
  SUBJECTS,
  type SensorStats,
  StreamNotFoundError,
  type Subscription,
  decodeSensorStats,
  decodeSinksStats,
  sumDrops,
  toToken,
} from '@saker/bus';
import { ALERT_PRIORITIES, type AlertPriority } from '@saker/bus';
import { type EngineStats, decodeEngineStats } from '@saker/engine';
import type { Logger } from '@saker/runtime';
import { parseAlert } from '@saker/sinks';
import type { Counter, MetricsRegistry } from '@saker/telemetry';
import { OutputsHealth } from './health-outputs.js';
import type { HealthProvider } from './server.js';

const DEADLETTER_DURABLE = 'saker-ui-deadletters';
/** A node without status reports: its events/s are its batches' events of the last 10 s, over 10 s. */
const RATE_WINDOW_MS = 10_000;
/** A warning about bad reports of one kind at most this often (the rest at debug). */
const INVALID_WARN_MS = 60_000;

const REPORT_KINDS = ['sensor', 'engine', 'sinks'] as const;
type ReportKind = (typeof REPORT_KINDS)[number];

interface SensorSeen {
  total: number;
  lastSeen: number;
  /** The batches of the last RATE_WINDOW_MS: [time, events], oldest first. */
  samples: [number, number][];
}

interface DeadLetter {
  readonly id: string;
  readonly output: string;
  readonly error: string;
  readonly time: string;
  readonly event_id: string | null;
  readonly alert: string;
  redelivered: boolean;
}

export interface HealthOptions {
  readonly bus: Bus;
  readonly logger: Logger;
  /** The process's own registry (the sinks' counters inside `saker run`). */
  readonly metrics: MetricsRegistry;
  readonly metricsUrls: readonly string[];
  readonly maxDeadLetters?: number;
}

export class BusHealth implements HealthProvider {
  readonly #o: HealthOptions;
  readonly #sensors = new Map<string, SensorSeen>();
  /** The last status report of each sensor, by subject token. */
  readonly #reports = new Map<string, { stats: SensorStats; seen: number }>();
  readonly #engines = new Map<string, { stats: EngineStats; seen: number }>();
  readonly #dead = new Map<string, DeadLetter>();
  readonly #outputs: OutputsHealth;
  readonly #invalid: Record<ReportKind, number> = { sensor: 0, engine: 0, sinks: 0 };
  readonly #invalidWarned: Record<ReportKind, number> = { sensor: 0, engine: 0, sinks: 0 };
  readonly #invalidMetric: Counter;
  readonly #subs: Subscription[] = [];
  #consumer: DurableConsumer | undefined;
  #loops: Promise<void>[] = [];

  constructor(options: HealthOptions) {
    this.#o = options;
    this.#outputs = new OutputsHealth(options);
    this.#invalidMetric = options.metrics.counter(
      'saker_ui_health_reports_invalid_total',
      'Status reports on the bus the health view ignored because they did not decode, by report kind',
      ['report'],
    );
  }

  /** Reads `subject`'s reports with `keep`; one that throws is counted, logged and ignored. */
  #follow(subject: string, kind: ReportKind, keep: (token: string, data: Uint8Array) => void): void {
    const sub = this.#o.bus.subscribe(subject);
    this.#subs.push(sub);
    this.#loops.push(
      (async () => {
        for await (const m of sub) {
          const token = m.subject.slice(m.subject.lastIndexOf('.') + 1);
          try {
            keep(token, m.data);
          } catch (err) {
            this.#invalid[kind]++;
            this.#invalidMetric.inc({ report: kind });
            const now = Date.now();
            // Quoted: the subject and the payload the reason may quote are the publisher's, not ours.
            const why = err instanceof Error ? err.message : String(err);
            const line = `health: ignored a report on ${JSON.stringify(m.subject)}: ${JSON.stringify(why)}`;
            if (now - this.#invalidWarned[kind] >= INVALID_WARN_MS) {
              this.#invalidWarned[kind] = now;
              this.#o.logger.warn(line);
            } else this.#o.logger.debug(line);
          }
        }
      })(),
    );
  }

  async start(): Promise<void> {
    const { bus } = this.#o;
    const events = bus.subscribe(SUBJECTS.allSyscallEvents);
    this.#subs.push(events);
    this.#loops.push(
      (async () => {
        for await (const m of events) {
          const node = m.subject.slice(m.subject.lastIndexOf('.') + 1);
          const n = Number(m.headers[HEADERS.batchCount] ?? 0);
          this.#sawEvents(node, Number.isFinite(n) ? n : 0);
        }
      })(),
    );
    this.#follow(SUBJECTS.allEngineStats, 'engine', (_token, data) => {
      const s = decodeEngineStats(data);
      if (!this.#engines.has(s.replica) && this.#engines.size >= 10_000) return;
      this.#engines.set(s.replica, { stats: s, seen: Date.now() });
    });
    this.#follow(SUBJECTS.allSensorStats, 'sensor', (token, data) => {
      const stats = decodeSensorStats(data);
      if (!this.#reports.has(token) && this.#reports.size >= 10_000) return;
      this.#reports.set(token, { stats, seen: Date.now() });
    });
    this.#follow(SUBJECTS.allSinksStats, 'sinks', (token, data) => {
      this.#outputs.keep(token, decodeSinksStats(data, token), Date.now());
    });
    const open = () =>
      bus.consumer(STREAMS.deadLetter.name, DEADLETTER_DURABLE, {
        filterSubject: STREAMS.deadLetter.subjects[0],
        ackWaitMs: 30_000,
      });
    try {
      this.#consumer = await open();
    } catch (err) {
      if (!(err instanceof StreamNotFoundError || err instanceof NoStreamError)) throw err;
      await bus.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
      this.#consumer = await open();
    }
    const consumer = this.#consumer;
    this.#loops.push(
      (async () => {
        for await (const m of consumer) {
          this.#keepDeadLetter(String(m.sequence), m.data);
          m.ack();
        }
      })().catch((err: unknown) => this.#o.logger.warn(`dead letters feed: ${String(err)}`)),
    );
  }

  #sawEvents(node: string, n: number): void {
    const now = Date.now();
    let s = this.#sensors.get(node);
    if (s === undefined) {
      if (this.#sensors.size >= 10_000) return;
      s = { total: 0, lastSeen: now, samples: [] };
      this.#sensors.set(node, s);
    }
    s.total += n;
    s.lastSeen = now;
    // One sample per 100 ms at most: bounded memory whatever the batch rate.
    const last = s.samples.at(-1);
    if (last !== undefined && now - last[0] < 100) last[1] += n;
    else s.samples.push([now, n]);
    this.#trim(s, now);
  }

  #trim(s: SensorSeen, now: number): void {
    while ((s.samples[0]?.[0] ?? now) < now - RATE_WINDOW_MS) s.samples.shift();
  }

  #keepDeadLetter(id: string, data: Uint8Array): void {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    const alert = v.alert;
    const seqs = Array.isArray(v.stream_sequences) ? v.stream_sequences : [];
    this.#dead.set(id, {
      id,
      output: String(v.output ?? ''),
      error: String(v.error ?? ''),
      time: String(v.dead_lettered_at ?? ''),
      event_id: seqs.length > 0 ? String(seqs[0]) : null,
      alert: typeof alert === 'string' ? alert : JSON.stringify(alert ?? null),
      redelivered: false,
    });
    const max = this.#o.maxDeadLetters ?? 500;
    while (this.#dead.size > max) {
      const oldest = this.#dead.keys().next().value;
      if (oldest === undefined) break;
      this.#dead.delete(oldest);
    }
  }

  async snapshot(): Promise<unknown> {
    const now = Date.now();
    const sensors = [...new Set([...this.#reports.keys(), ...this.#sensors.keys()])].sort().map((token) => {
      const report = this.#reports.get(token);
      if (report !== undefined) {
        const r = report.stats;
        const perSec = (n: number): number => (r.windowS > 0 ? Math.round((n * 10) / r.windowS) / 10 : 0);
        return {
          node: r.node,
          events_per_sec: perSec(r.events),
          drops_per_sec: perSec(sumDrops(r.drops)),
          drops_total: sumDrops(r.dropsTotal),
          drops_by_stage: {
            ringbuf: r.dropsTotal.ringbuf,
            scratch: r.dropsTotal.scratch,
            enter_full: r.dropsTotal.enterFull,
            batcher: r.dropsTotal.batcher,
          },
          drop_ratio: r.ratio,
          events_total: r.eventsTotal,
          version: r.version,
          last_seen: new Date(report.seen).toISOString(),
        };
      }
      const s = this.#sensors.get(token) as SensorSeen;
      this.#trim(s, now);
      const events = s.samples.reduce((sum, [, n]) => sum + n, 0);
      return {
        node: token,
        events_per_sec: Math.round((events * 1000) / RATE_WINDOW_MS),
        drops_per_sec: null,
        drops_total: null,
        drops_by_stage: null,
        drop_ratio: null,
        events_total: s.total,
        version: null,
        last_seen: new Date(s.lastSeen).toISOString(),
      };
    });
    const engines = [...this.#engines.values()].map(({ stats, seen }) => ({
      id: stats.replica,
      node: stats.replica,
      revision: String(stats.revision),
      state: stats.state,
      lag_ms: stats.lagMs ?? null,
      in_flight: stats.inFlight,
      dropped: stats.dropped,
      audit_pending: stats.auditPending ?? null,
      report_age_ms: now - seen,
      last_seen: new Date(seen).toISOString(),
    }));
    const dead = [...this.#dead.values()].reverse();
    return {
      sensors,
      engines,
      outputs: await this.#outputs.outputs(now, dead),
      sinks: this.#outputs.instances(now),
      invalid_reports: { ...this.#invalid },
      dead_letters: dead.map((d) => ({
        id: d.id,
        output: d.output,
        error: d.error,
        time: d.time,
        event_id: d.event_id,
        redelivered: d.redelivered,
      })),
    };
  }

  async redeliver(id: string, author: string): Promise<boolean> {
    const d = this.#dead.get(id);
    if (d === undefined) return false;
    const parsed = parseAlert(d.alert);
    const prio = parsed.alert.priority.toLowerCase();
    const priority: AlertPriority = (ALERT_PRIORITIES as readonly string[]).includes(prio)
      ? (prio as AlertPriority)
      : 'debug';
    const subject = SUBJECTS.alert(toToken(parsed.alert.source), priority);
    await this.#o.bus.publishDurable(subject, new TextEncoder().encode(parsed.text));
    d.redelivered = true;
    this.#o.logger.info(`${author} redelivered dead letter ${id} (output ${d.output})`);
    return true;
  }

  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    await this.#consumer?.stop();
    await Promise.allSettled(this.#loops);
  }
}
