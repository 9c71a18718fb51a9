/**
 * One output's pipeline: its durable consumer on SAKER_ALERTS → validation →
 * priority and routing filters → dedup → delivery (one by one or in
 * batches, `concurrency` at once) → ack, or nak with backoff, or dead-letter.
 *
 * Every message is settled exactly once, and only after its outcome is
 * final: delivered (ack), given back for another try (nak), or stored on the
 * dead-letter subject (then ack). A dead-letter publish that fails naks the
 * alert, so nothing leaves the stream unrecorded.
 */
import {
  type Bus,
  type ConsumerState,
  type DurableConsumer,
  NoStreamError,
  STREAMS,
  type SinksLastError,
  type StreamMessage,
  clipSinksError,
} from '@saker/bus';
import { type FalcoAlert, type OutputFieldValue, meetsThreshold, parsePriority } from '@saker/rules';
import {
  type Context,
  SpanKind,
  contextFromHeaders,
  endSpan,
  getTracer,
  redactText,
  startSpan,
} from '@saker/telemetry';
import { DEDUP_COUNT_FIELD, type ParsedAlert, alertJson, parseAlert } from './alert.js';
import { backoffDelay } from './backoff.js';
import { DeliveryError, PartialBatchError } from './errors.js';
import type { DeadLetterReason, SinksMetrics } from './metrics.js';
import type { SinksLog } from './options.js';
import type { ResolvedOutputSettings } from './options.js';
import type { Delivery } from './outputs/output.js';
import { DEAD_LETTER_STREAM, deadLetterSubject, durableName } from './subjects.js';

/**
 * Acks wait at most this long, or until this many are waiting, and then
 * leave in one write to the server (docs/sinks.md, "Acks").
 */
const ACK_LINGER_MS = 2;
const ACK_BATCH_MAX = 256;

/**
 * The feed fetches ahead of the runner twice what the output can take at
 * once (its concurrency, times the batch size), and at least this many so
 * that a fast output never waits for a pull round trip. The alerts waiting
 * there are not renewed, and their ack wait runs from when the server sent
 * them: fetching far ahead of a slow output (nats.js's default, 100) gets
 * them redelivered, i.e. delivered twice (docs/sinks.md, "Replicas").
 */
const PREFETCH_MIN = 16;

/** A proxy: it uses the provider the process's main installs (a no-op without one). */
const tracer = getTracer('saker.sinks');

/** Alerts taken off the stream that travel together: one, or a deduplicated group. */
interface Unit {
  readonly parsed: ParsedAlert;
  readonly msgs: StreamMessage[];
}

interface DedupGroup {
  readonly unit: Unit;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface RunnerDeps {
  readonly bus: Bus;
  readonly metrics: SinksMetrics;
  readonly log: SinksLog;
  readonly random: () => number;
}

/** Per-output counters, also in the metrics; for tests and stats. */
export interface OutputStats {
  readonly delivered: number;
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly filtered: number;
  readonly deduplicated: number;
  /** The last failed delivery: when (epoch ms) and why (redacted, clipped). */
  readonly lastError: SinksLastError | null;
}

export class OutputRunner {
  readonly #s: ResolvedOutputSettings;
  readonly #d: RunnerDeps;
  readonly #labels: { readonly output: string };
  readonly #deadLetterSubject: string;
  #consumer: DurableConsumer | undefined;
  #loop: Promise<void> = Promise.resolve();
  /** When this process first saw each stream sequence still unsettled: the basis of max age. */
  readonly #firstSeen = new Map<number, number>();
  readonly #groups = new Map<string, DedupGroup>();
  #batch: Unit[] = [];
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** A batch flush is due at the next turn (the output was idle when its first alert came). */
  #idleFlush = false;
  #active = 0;
  readonly #slotWaiters: (() => void)[] = [];
  readonly #tasks = new Set<Promise<void>>();
  /** The alerts of the deliveries in progress, whose ack wait `#renewer` renews. */
  readonly #inFlight = new Set<readonly Unit[]>();
  #renewer: ReturnType<typeof setInterval> | undefined;
  /** Settled alerts whose ack is not yet sent (see #ack). */
  #acks: StreamMessage[] = [];
  #ackFlush: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;
  /** A receiver's Retry-After: no delivery starts before this time (ms since the epoch). */
  #holdUntil = 0;
  /** Every wait of #waitHold in progress (the loop, the batch timer, dedup timers): stop() ends them all. */
  readonly #holdWakes = new Set<() => void>();
  #stats = { delivered: 0, failed: 0, retried: 0, deadLettered: 0, filtered: 0, deduplicated: 0 };
  #lastError: SinksLastError | null = null;

  constructor(settings: ResolvedOutputSettings, deps: RunnerDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#labels = { output: settings.name };
    this.#deadLetterSubject = deadLetterSubject(settings.name);
  }

  get name(): string {
    return this.#s.name;
  }

  stats(): OutputStats {
    return { ...this.#stats, lastError: this.#lastError };
  }

  /** Counts `n` alerts of a failed delivery attempt, and keeps its error as the last one. */
  #failed(n: number, err: DeliveryError): void {
    this.#stats.failed += n;
    this.#d.metrics.failed.inc({ ...this.#labels, kind: err.kind }, n);
    this.#lastError = { time: Date.now(), message: clipSinksError(redactText(err.message)) };
  }

  /** The durable consumer's state on the server, or undefined before it is open. */
  async consumerState(): Promise<ConsumerState | undefined> {
    return this.#consumer?.state();
  }

  /** Opens the durable consumer and starts the loop. */
  async begin(): Promise<void> {
    const atOnce = this.#s.concurrency * (this.#s.batch?.maxAlerts ?? 1);
    this.#consumer = await this.#d.bus.consumer(STREAMS.alerts.name, durableName(this.#s.name), {
      ackWaitMs: this.#s.ackWaitMs,
      maxAckPending: this.#s.maxAckPending,
      filterSubject: STREAMS.alerts.subjects[0],
      prefetch: Math.min(this.#s.maxAckPending, Math.max(PREFETCH_MIN, 2 * atOnce)),
    });
    const consumer = this.#consumer;
    // Keeps long deliveries from being redelivered meanwhile: one timer for all of them.
    this.#renewer = setInterval(
      () => {
        for (const units of this.#inFlight) for (const u of units) for (const m of u.msgs) m.working();
      },
      Math.max(1000, this.#s.ackWaitMs / 3),
    );
    this.#renewer.unref();
    this.#loop = this.#run(consumer).catch((err: unknown) => {
      if (!this.#stopping) this.#d.log('error', `output ${this.#s.name}: consumer failed: ${String(err)}`);
    });
  }

  async #run(consumer: DurableConsumer): Promise<void> {
    for await (const msg of consumer) {
      if (this.#stopping) {
        msg.nak();
        continue;
      }
      await this.#accept(msg);
    }
  }

  async #accept(msg: StreamMessage): Promise<void> {
    if (!this.#firstSeen.has(msg.sequence)) this.#firstSeen.set(msg.sequence, Date.now());
    let parsed: ParsedAlert;
    try {
      parsed = parseAlert(msg.data);
    } catch (err) {
      await this.#spawn(
        this.#deadLetter({ parsed: invalidParsed(msg), msgs: [msg] }, 'invalid', String(err)),
      );
      return;
    }
    const priority = parsePriority(parsed.alert.priority);
    if (priority === undefined || !meetsThreshold(priority, this.#s.minimumPriority)) {
      this.#filtered(msg, 'priority');
      return;
    }
    if (this.#s.route !== null) {
      let pass: boolean;
      try {
        pass = this.#s.route(parsed.alert);
      } catch {
        pass = false;
      }
      if (!pass) {
        this.#filtered(msg, 'condition');
        return;
      }
    }
    if (this.#s.dedup !== null) {
      this.#addToGroup({ parsed, msgs: [msg] });
      return;
    }
    await this.#submit({ parsed, msgs: [msg] });
  }

  #filtered(msg: StreamMessage, reason: 'priority' | 'condition'): void {
    this.#ack(msg);
    this.#stats.filtered++;
    this.#d.metrics.filtered.inc({ ...this.#labels, reason });
  }

  // --- dedup ---------------------------------------------------------------

  #dedupKey(alert: FalcoAlert): string {
    const keys = this.#s.dedup?.fields ?? Object.keys(alert.output_fields).sort();
    const parts: unknown[] = [alert.rule, alert.source, alert.hostname];
    for (const k of keys) {
      // Time fields differ between otherwise identical alerts; they never make a difference here.
      if (this.#s.dedup?.fields === null && isTimeField(k)) continue;
      parts.push(k, alert.output_fields[k] ?? null);
    }
    return JSON.stringify(parts);
  }

  #addToGroup(unit: Unit): void {
    const key = this.#dedupKey(unit.parsed.alert);
    const group = this.#groups.get(key);
    if (group) {
      group.unit.msgs.push(...unit.msgs);
      this.#stats.deduplicated++;
      this.#d.metrics.deduplicated.inc(this.#labels);
      return;
    }
    const timer = setTimeout(() => {
      this.#groups.delete(key);
      void this.#submit(unit);
    }, this.#s.dedup?.windowMs ?? 0);
    this.#groups.set(key, { unit, timer });
  }

  // --- delivery --------------------------------------------------------------

  async #acquire(): Promise<void> {
    while (this.#active >= this.#s.concurrency) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    this.#active++;
  }

  #release(): void {
    this.#active--;
    this.#slotWaiters.shift()?.();
  }

  async #spawn(task: Promise<void>): Promise<void> {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  /** Queues a unit for delivery; waits while every delivery slot is busy (backpressure). */
  async #submit(unit: Unit): Promise<void> {
    if (this.#s.batch !== null) {
      this.#batch.push(unit);
      if (this.#batch.length >= this.#s.batch.maxAlerts) {
        await this.#flushBatch();
      } else if (this.#active === 0 && !this.#idleFlush) {
        // Nothing being delivered: the batch goes at the next turn, with the alerts that came in
        // this one (a burst already fetched), instead of waiting out the linger.
        this.#idleFlush = true;
        setImmediate(() => {
          this.#idleFlush = false;
          void this.#flushBatch();
        });
      } else if (!this.#idleFlush && this.#batchTimer === undefined) {
        this.#batchTimer = setTimeout(() => void this.#flushBatch(), this.#s.batch.lingerMs);
      }
      return;
    }
    await this.#acquire();
    await this.#waitHold(unit.msgs);
    void this.#spawn(this.#deliverUnits([unit]).finally(() => this.#release()));
  }

  /**
   * Waits out a receiver's Retry-After (set by #settleFailed), so a
   * rate-limited output sends nothing until the time it was given, instead
   * of spending every queued alert on another 429. The waiting alerts' ack
   * wait is renewed meanwhile; stopping ends the wait.
   */
  async #waitHold(msgs: readonly StreamMessage[]): Promise<void> {
    while (!this.#stopping && this.#holdUntil > Date.now()) {
      for (const m of msgs) m.working();
      const ms = Math.min(this.#holdUntil - Date.now(), Math.max(1000, this.#s.ackWaitMs / 3));
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#holdWakes.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        this.#holdWakes.add(wake);
      });
    }
  }

  async #flushBatch(): Promise<void> {
    if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    if (this.#batch.length === 0) return;
    const units = this.#batch;
    this.#batch = [];
    await this.#acquire();
    await this.#waitHold(units.flatMap((u) => u.msgs));
    void this.#spawn(this.#deliverUnits(units).finally(() => this.#release()));
  }

  #delivery(unit: Unit): Delivery {
    const count = unit.msgs.length;
    if (count <= 1) {
      return { alert: unit.parsed.alert, raw: alertJson(unit.parsed, this.#s.format, false) };
    }
    const alert: FalcoAlert = {
      ...unit.parsed.alert,
      output_fields: withField(unit.parsed.alert.output_fields, DEDUP_COUNT_FIELD, count),
    };
    return { alert, raw: alertJson({ alert, text: unit.parsed.text }, this.#s.format, true) };
  }

  async #deliverUnits(units: Unit[]): Promise<void> {
    const output = this.#s.output;
    const deliveries = units.map((u) => this.#delivery(u));
    // One span per delivery call, the child of the engine's publish span of its first alert.
    const traces: Context[] = [];
    for (const u of units) for (const m of u.msgs) traces.push(contextFromHeaders(m.headers));
    const { span } = startSpan(tracer, 'sinks.deliver', traces[0] ?? contextFromHeaders({}), {
      kind: SpanKind.CONSUMER,
      attributes: { 'saker.output': this.#s.name, 'saker.alerts': deliveries.length },
      ...(traces.length > 1 ? { links: traces.slice(1) } : {}),
    });
    const started = performance.now();
    let failure: DeliveryError | undefined;
    this.#inFlight.add(units);
    try {
      if (deliveries.length === 1 || output.deliverBatch === undefined) {
        for (const d of deliveries) await output.deliver(d.alert, d.raw);
      } else {
        await output.deliverBatch(deliveries);
      }
    } catch (err) {
      failure = DeliveryError.from(this.#s.name, err);
    } finally {
      this.#inFlight.delete(units);
      endSpan(span, failure);
    }
    this.#d.metrics.latency.observe((performance.now() - started) / 1000, this.#labels);
    if (failure === undefined) {
      for (const u of units) this.#settleDelivered(u);
      return;
    }
    if (failure instanceof PartialBatchError && deliveries.length > 1) {
      // Per-item outcomes (a bulk API): settle each alert by its own result.
      const partial = failure;
      await Promise.all(
        units.map((u, i) => {
          const f = partial.failures.get(i);
          if (f === undefined) {
            this.#settleDelivered(u);
            return Promise.resolve();
          }
          this.#failed(1, f);
          return this.#settleFailed(u, f);
        }),
      );
      return;
    }
    this.#failed(units.length, failure);
    await Promise.all(units.map((u) => this.#settleFailed(u, failure)));
  }

  #settleDelivered(unit: Unit): void {
    for (const m of unit.msgs) this.#ack(m);
    this.#stats.delivered++;
    this.#d.metrics.delivered.inc(this.#labels);
  }

  async #settleFailed(unit: Unit, err: DeliveryError): Promise<void> {
    if (err.kind === 'permanent') {
      await this.#deadLetter(unit, 'permanent', err.message);
      return;
    }
    const now = Date.now();
    const age = Math.max(...unit.msgs.map((m) => now - (this.#firstSeen.get(m.sequence) ?? now)));
    if (age >= this.#s.maxAgeMs) {
      await this.#deadLetter(unit, 'max_age', `undelivered after ${age} ms: ${err.message}`);
      return;
    }
    const attempts = Math.max(...unit.msgs.map((m) => m.deliveryCount));
    // The wait a receiver asked for (Retry-After) replaces the backoff, within the output's largest delay.
    const asked =
      err.retryAfterMs === undefined ? undefined : Math.min(err.retryAfterMs, this.#s.backoff.maxMs);
    if (asked !== undefined) this.#holdUntil = Math.max(this.#holdUntil, Date.now() + asked);
    const wait = asked ?? backoffDelay(attempts, this.#s.backoff, this.#d.random);
    const delay = Math.min(wait, this.#s.maxAgeMs - age);
    if (attempts === 1 || attempts % 10 === 0) {
      this.#d.log(
        'warn',
        `output ${this.#s.name}: delivery failed (attempt ${attempts}), retrying in ${delay} ms: ${redactText(err.message)}`,
      );
    }
    for (const m of unit.msgs) m.nak(delay);
    this.#stats.retried++;
    this.#d.metrics.retried.inc(this.#labels);
  }

  /**
   * Stores the alert on saker.v1.deadletter.<output> with why and after how
   * many attempts, then acks it. A failed publish naks the alert instead.
   */
  async #deadLetter(unit: Unit, reason: DeadLetterReason, why: string): Promise<void> {
    // Errors may quote a URL whose path or query is a credential (a Slack webhook): redacted.
    const detail = redactText(why);
    const attempts = Math.max(...unit.msgs.map((m) => m.deliveryCount));
    const first = Math.min(...unit.msgs.map((m) => this.#firstSeen.get(m.sequence) ?? Date.now()));
    const alertText = reason === 'invalid' ? JSON.stringify(unit.parsed.text) : unit.parsed.text;
    const body =
      `{"output":${JSON.stringify(this.#s.name)},"reason":${JSON.stringify(reason)}` +
      `,"error":${JSON.stringify(detail)},"attempts":${attempts},"count":${unit.msgs.length}` +
      `,"first_seen":${JSON.stringify(new Date(first).toISOString())}` +
      `,"dead_lettered_at":${JSON.stringify(new Date().toISOString())}` +
      `,"stream_sequences":${JSON.stringify(unit.msgs.map((m) => m.sequence))}` +
      `,"alert":${alertText}}`;
    const data = new TextEncoder().encode(body);
    try {
      await this.#publishDeadLetter(data);
    } catch (err) {
      this.#d.metrics.deadLetterFailures.inc(this.#labels);
      this.#d.log(
        'error',
        `output ${this.#s.name}: dead-letter publish failed, alert kept on the stream: ${String(err)}`,
      );
      for (const m of unit.msgs) m.nak(this.#s.backoff.maxMs);
      return;
    }
    for (const m of unit.msgs) this.#ack(m);
    this.#stats.deadLettered++;
    this.#d.metrics.deadLettered.inc({ ...this.#labels, reason });
    this.#d.log(
      'warn',
      `output ${this.#s.name}: alert dead-lettered (${reason}, ${attempts} attempts): ${detail}`,
    );
  }

  async #publishDeadLetter(data: Uint8Array): Promise<void> {
    try {
      await this.#d.bus.publishDurable(this.#deadLetterSubject, data);
    } catch (err) {
      if (!(err instanceof NoStreamError)) throw err;
      await this.#d.bus.stream(DEAD_LETTER_STREAM.name, DEAD_LETTER_STREAM.subjects);
      await this.#d.bus.publishDurable(this.#deadLetterSubject, data);
    }
  }

  /**
   * Acks a settled alert. Acks wait up to ACK_LINGER_MS (or until
   * ACK_BATCH_MAX wait) and leave together, in one write to the server, not
   * one write per delivery: JetStream's explicit ack policy has no range ack,
   * but the server then reads and handles them in one go. An alert is still
   * acked only after its outcome is final; a crash in those 2 ms only means
   * the alert is delivered again (at least once).
   */
  #ack(msg: StreamMessage): void {
    this.#firstSeen.delete(msg.sequence);
    this.#acks.push(msg);
    if (this.#acks.length >= ACK_BATCH_MAX) this.#flushAcks();
    else this.#ackFlush ??= setTimeout(() => this.#flushAcks(), ACK_LINGER_MS);
  }

  #flushAcks(): void {
    if (this.#ackFlush !== undefined) clearTimeout(this.#ackFlush);
    this.#ackFlush = undefined;
    const acks = this.#acks;
    this.#acks = [];
    for (const m of acks) m.ack();
  }

  /** True when the consumer has nothing left to deliver and nothing unsettled (everything stored is acked). */
  async idle(): Promise<boolean> {
    if (this.#consumer === undefined) return true;
    this.#flushAcks();
    if (this.#tasks.size > 0 || this.#groups.size > 0 || this.#batch.length > 0) return false;
    const s = await this.#consumer.state();
    return s.pending === 0 && s.ackPending === 0;
  }

  /**
   * Stops taking alerts, lets deliveries in progress finish (their outcome is
   * settled as usual), gives held dedup groups back to the stream, and closes
   * the output.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const wake of [...this.#holdWakes]) wake();
    await this.#consumer?.stop().catch(() => undefined);
    await this.#loop;
    for (const g of this.#groups.values()) {
      clearTimeout(g.timer);
      for (const m of g.unit.msgs) m.nak();
    }
    this.#groups.clear();
    await this.#flushBatch();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    clearInterval(this.#renewer);
    this.#flushAcks();
    // The acks reach the server before stop() resolves, even if the bus is closed right after.
    await this.#d.bus.flush().catch(() => undefined);
    await this.#s.output.close().catch((err: unknown) => {
      this.#d.log('warn', `output ${this.#s.name}: close failed: ${String(err)}`);
    });
  }
}

function isTimeField(key: string): boolean {
  return key.startsWith('evt.time') || key.startsWith('evt.datetime') || key === 'evt.rawtime';
}

function withField(
  fields: Readonly<Record<string, OutputFieldValue>>,
  key: string,
  value: OutputFieldValue,
): Record<string, OutputFieldValue> {
  const out: Record<string, OutputFieldValue> = { ...fields, [key]: value };
  return out;
}

/** A stand-in for a message that is not an alert, so it can be dead-lettered with its bytes. */
function invalidParsed(msg: StreamMessage): ParsedAlert {
  const text = Buffer.from(msg.data).toString('utf8');
  const alert: FalcoAlert = {
    hostname: '',
    output: '',
    priority: 'Debug',
    rule: '',
    source: '',
    tags: [],
    time: new Date(0).toISOString(),
    output_fields: {},
  };
  return { alert, text };
}
