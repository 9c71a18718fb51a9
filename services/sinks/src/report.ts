/**
 * The delivery report: every `statsIntervalMs` the instance publishes its
 * outputs' counters on `saker.v1.sinks.stats.<instance>` (core NATS, at most
 * once: they are running totals), and a last one, `stopped`, at stop. The
 * UI's health view shows them per instance and output (docs/sinks.md,
 * "Delivery reports").
 */
import { type Bus, SUBJECTS, type SinksOutputStats, encodeSinksStats } from '@saker/bus';
import type { SinksLog } from './options.js';
import type { OutputStats } from './runner.js';

interface ReporterOptions {
  readonly bus: Pick<Bus, 'publish'>;
  readonly instance: string;
  readonly version: string;
  readonly intervalMs: number;
  readonly log: SinksLog;
  /** The outputs' names and counters now. */
  readonly outputs: () => readonly (readonly [string, OutputStats])[];
}

export class DeliveryReporter {
  readonly #o: ReporterOptions;
  readonly #subject: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #warned = false;

  constructor(o: ReporterOptions) {
    this.#o = o;
    this.#subject = SUBJECTS.sinksStats(o.instance);
  }

  start(): void {
    if (this.#o.intervalMs === 0) return;
    this.#publish('running');
    this.#timer = setInterval(() => this.#publish('running'), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and sends the final counters. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#publish('stopped');
  }

  #publish(state: 'running' | 'stopped'): void {
    const outputs: SinksOutputStats[] = this.#o.outputs().map(([name, s]) => ({
      name,
      delivered: s.delivered,
      failed: s.failed,
      retried: s.retried,
      deadLettered: s.deadLettered,
      filtered: s.filtered,
      lastError: s.lastError,
    }));
    try {
      this.#o.bus.publish(
        this.#subject,
        encodeSinksStats({
          instance: this.#o.instance,
          version: this.#o.version,
          state,
          time: Date.now(),
          intervalMs: this.#o.intervalMs,
          outputs,
        }),
      );
      this.#warned = false;
    } catch (err) {
      // Once per outage: the next report that goes out carries the same totals.
      if (!this.#warned)
        this.#o.log('warn', `delivery report not published on ${this.#subject}: ${String(err)}`);
      this.#warned = true;
    }
  }
}
