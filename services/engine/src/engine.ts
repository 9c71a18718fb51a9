/**
 * The engine service: event batches in (core NATS, queue group `engine`),
 * alerts out (JetStream SAKER_ALERTS), the ruleset from KV `saker_rules`.
 *
 * Flow of one batch:
 *   reader  : takes the message off the subscription at once and queues it,
 *             counting its events as received and in flight (so a crash loses
 *             only what the last stats report called in flight);
 *   worker  : decodes and evaluates the whole batch with the ruleset current
 *             when it starts (a swap lands between batches, never inside one),
 *             then publishes its alerts;
 *   done    : when every alert of the batch is acknowledged, its events count
 *             as evaluated and leave the in-flight count.
 *
 * Tracing: one span per batch (`engine.batch`, the child of the publisher's
 * span when the message carries a `traceparent`), with `engine.evaluate` and
 * `engine.alerts.publish` under it; the alerts carry the trace on to the sinks.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  BUCKETS,
  type BusMessage,
  type DurableConsumer,
  HEADERS,
  type InvalidBatchEventError,
  type KvWatch,
  STREAMS,
  SUBJECTS,
  type StreamInfo,
  StreamNotFoundError,
  type Subscription,
  checkView,
  decodeBatch,
  viewFault,
} from '@saker/bus';
import type { SakerEvent } from '@saker/events';
import {
  RULESET_KEY,
  type RuleMatch,
  Ruleset,
  type RulesetDocument,
  decodeRulesetDocument,
  verifyRulesetDocument,
} from '@saker/rules';
import {
  type Context,
  type HealthReport,
  type MetricsRegistry,
  SpanKind,
  contextFromHeaders,
  endSpan,
  getTracer,
  startSpan,
  traceHeaders,
} from '@saker/telemetry';
import {
  AlertBuilder,
  AlertPublisher,
  type InternalAlert,
  type OutgoingAlert,
  RULES_DROP_RULE,
  SIGNATURE_FAILURE_RULE,
  STREAM_FILL_RULE,
  internalAlert,
  reloadFailureAlert,
} from './alerts.js';
import { RateLimitedLog } from './log.js';
import { type KvMetadataProvider, type KvMetadataStats, createKvMetadataProvider } from './metadata-cache.js';
import { joinBatch } from './metadata-join.js';
import type { MetadataNeed, MetadataProvider } from './metadata.js';
import { type EngineMetrics, type InvalidReason, engineMetrics } from './metrics.js';
import {
  type EngineOptions,
  type ResolvedEngineOptions,
  isMetadataProvider,
  resolveEngineOptions,
} from './options.js';
import { type LoadedRuleset, compileDocument, prepareRuleset } from './ruleset-state.js';
import { RulesetVetter, compileKvValueBounded } from './ruleset-vet.js';
import { AlertSpool } from './spool.js';
import { type EngineState, type EngineStats, encodeEngineStats } from './stats.js';

/** A running engine. */
export interface EngineService extends AsyncDisposable {
  /** The replica id (a subject token). */
  readonly name: string;
  /** KV revision of the ruleset in use; 0 for the one given at start. */
  readonly revision: number;
  readonly ruleset: Ruleset;
  readonly metrics: MetricsRegistry;
  /** The counters as the next stats report would carry them. */
  stats(): EngineStats;
  /** The metadata cache's counters, once the engine started its own (`metadata: { kv }`). */
  metadataStats(): KvMetadataStats | undefined;
  /** For /healthz. */
  health(): HealthReport;
  /** Resolves once a stop (abort, or stop()) has drained everything. Never rejects. */
  readonly stopped: Promise<void>;
  /** Stops gracefully, as an abort does; resolves with `stopped`. */
  stop(): Promise<void>;
}

/** The engine could not start: bad options, or the initial ruleset does not load. */
export class EngineStartError extends Error {
  override readonly name = 'EngineStartError';
}

/** Starts an engine. Resolves once it is subscribed and has its ruleset; runs until `signal` aborts. */
export async function start(options: EngineOptions, signal: AbortSignal): Promise<EngineService> {
  signal.throwIfAborted();
  const opts = resolveEngineOptions(options);
  const engine = new Engine(opts);
  await engine.begin(signal);
  return engine;
}

interface QueuedBatch {
  readonly msg: BusMessage;
  /** Events counted in at arrival, from the count header (or the line count). */
  readonly estimate: number;
  /** For a batch from a durable consumer: acks it once its alerts are stored (or spooled). */
  readonly settle?: () => void;
  /** Its entry in the engine's held batches (the lag), removed when it is done. */
  readonly held: Held;
}

/** When a batch was taken off the bus. */
interface Held {
  readonly at: number;
}

const NEWLINE = 0x0a;

/** A proxy: it uses the provider the process's main installs (a no-op without one). */
const tracer = getTracer('saker.engine');

/** How many events a batch claims: its count header when sane, else its lines. */
function estimateCount(msg: BusMessage): number {
  const header = msg.headers[HEADERS.batchCount];
  if (header !== undefined && /^\d{1,7}$/.test(header)) return Number(header);
  let n = msg.data.length > 0 ? 1 : 0;
  for (const b of msg.data) if (b === NEWLINE) n++;
  return n;
}

function invalidReason(err: InvalidBatchEventError): InvalidReason {
  if (err.reason.startsWith('unknown batch codec') || err.reason.startsWith('binary batch:')) return 'codec';
  if (err.reason.startsWith('not JSON')) return 'json';
  return 'schema';
}

class Engine implements EngineService {
  readonly #o: ResolvedEngineOptions;
  readonly #m: EngineMetrics;
  readonly #warn: RateLimitedLog;
  readonly #alerts: AlertBuilder;
  readonly #publisher: AlertPublisher;
  readonly #statsSubject: string;
  #current: LoadedRuleset;
  /** The join in use: the caller's provider, or the KV cache once started. */
  #metadata: MetadataProvider | null = null;
  #ownMetadata: KvMetadataProvider | undefined;
  #metadataStarting: Promise<void> | undefined;

  // Counters behind stats(); the metrics mirror them.
  #batches = 0;
  #malformed = 0;
  #received = 0;
  /** Events of binary batches found invalid during evaluation (#evaluate), until #settleFaults counts them. */
  #lateFaults: InvalidBatchEventError[] = [];
  #invalid = 0;
  #dropped = 0;
  #evaluated = 0;
  #reloadFailures = 0;
  #seq = 0;
  #dirty = true;
  #lastReport = 0;
  #lastReloadError: string | undefined;

  readonly #queue: QueuedBatch[] = [];
  #queueHead = 0;
  #queuedEvents = 0;
  #wake: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Batches taken and not done, oldest first (a Set keeps insertion order): the lag. */
  readonly #held = new Set<Held>();
  /** The audit consumer's num_pending at its last reading; undefined without an audit feed. */
  #auditPending: number | undefined;
  #auditPendingAt = 0;
  readonly #subs: Subscription[] = [];
  readonly #feeds: DurableConsumer[] = [];
  #streamTimer: ReturnType<typeof setInterval> | undefined;
  /** Streams whose fill alert fired and has not fallen back below the ratio since. */
  readonly #streamsAlerted = new Set<string>();
  #readersRunning = 0;
  #watch: KvWatch | undefined;
  /** Compiles KV rulesets off the event loop first (ruleset-vet.ts). */
  readonly #vetter: RulesetVetter;
  /** The latest KV revision looked at, loaded or refused. */
  #seenRevision = 0;
  #worker: Promise<void> = Promise.resolve();
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #state: EngineState = 'running';
  #sampleCountdown: number;
  #stopping: Promise<void> | undefined;
  readonly #stoppedResolve: () => void;
  readonly stopped: Promise<void>;

  constructor(opts: ResolvedEngineOptions) {
    this.#o = opts;
    this.#m = engineMetrics(opts.metrics);
    this.#warn = new RateLimitedLog(opts.log, { burst: 5, windowMs: 10_000 });
    this.#alerts = new AlertBuilder({
      hostname: opts.hostname,
      timeIso8601: opts.timeIso8601,
      json: opts.alertJson,
    });
    const spool =
      opts.alertSpool === null
        ? null
        : new AlertSpool({ dir: opts.alertSpool.dir, maxBytes: opts.alertSpool.maxBytes, log: opts.log });
    this.#publisher = new AlertPublisher({
      bus: opts.bus,
      metrics: this.#m,
      timeoutMs: opts.publishTimeoutMs,
      attempts: opts.publishAttempts,
      log: opts.log,
      spool,
    });
    this.#statsSubject = SUBJECTS.engineStats(opts.name);
    this.#sampleCountdown = opts.costSampleEvery;
    this.#vetter = new RulesetVetter(opts.rulesetCompileLimits);
    if (opts.metadata !== null && isMetadataProvider(opts.metadata)) this.#metadata = opts.metadata;
    // Each ruleset gets append_output applied as it is loaded (ruleset-state.ts).
    const outcome =
      opts.rules instanceof Ruleset
        ? prepareRuleset(opts.rules, 0, opts.appendOutput)
        : compileDocument(opts.rules, 0, opts.appendOutput);
    if (!outcome.ok) throw new EngineStartError(`the initial ruleset does not load: ${outcome.error}`);
    this.#current = outcome.loaded;
    let resolve!: () => void;
    this.stopped = new Promise<void>((r) => {
      resolve = r;
    });
    this.#stoppedResolve = resolve;
  }

  get name(): string {
    return this.#o.name;
  }
  get revision(): number {
    return this.#current.revision;
  }
  get ruleset(): Ruleset {
    return this.#current.ruleset;
  }
  get metrics(): MetricsRegistry {
    return this.#o.metrics;
  }

  async begin(signal: AbortSignal): Promise<void> {
    this.#showRuleset();
    if (this.#o.watchRules) await this.#startWatch();
    await this.#ensureMetadata(this.#current.need);
    for (const subject of this.#o.subjects) {
      const sub = this.#o.bus.subscribe(subject, { queue: this.#o.queue });
      this.#subs.push(sub);
      this.#readersRunning++;
      void this.#read(sub);
    }
    if (this.#o.auditStream) await this.#startAuditFeed();
    // The subscriptions are registered with the server before start() resolves.
    await this.#o.bus.flush();
    const watch = this.#o.streamWatch;
    if (watch !== null) {
      void this.#checkStreams();
      this.#streamTimer = setInterval(() => void this.#checkStreams(), watch.intervalMs);
      this.#streamTimer.unref();
    }
    this.#worker = this.#work();
    this.#statsTimer = setInterval(() => this.#maybeReport(), this.#o.statsMinIntervalMs);
    this.#report();
    if (signal.aborted) void this.stop();
    else signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  // --- rules --------------------------------------------------------------

  #showRuleset(): void {
    this.#m.rulesetRevision.set(this.#current.revision);
    this.#m.rulesetRules.set(this.#current.enabledRules);
  }

  async #startWatch(): Promise<void> {
    this.#vetter.warm();
    const kv = await this.#o.bus.kv(BUCKETS.rules);
    const entry = await kv.get(RULESET_KEY);
    if (entry !== null) await this.#reload(entry.value, entry.revision);
    const watch = await kv.watch({ key: RULESET_KEY });
    this.#watch = watch;
    void (async () => {
      try {
        for await (const e of watch) {
          if (e.revision <= this.#seenRevision) continue;
          if (e.operation !== 'PUT') {
            this.#seenRevision = e.revision;
            this.#o.log(
              `engine ${this.#o.name}: ${BUCKETS.rules}/${RULESET_KEY} was ${e.operation === 'DEL' ? 'deleted' : 'purged'} at revision ${e.revision}; keeping revision ${this.#current.revision}`,
            );
            continue;
          }
          await this.#reload(e.value, e.revision);
        }
      } catch (err) {
        if (this.#state === 'running')
          this.#o.log(`engine ${this.#o.name}: ruleset watch ended: ${String(err)}`);
      }
    })();
  }

  /** Compiles a KV value and swaps it in, or keeps the current ruleset and raises an alert. */
  async #reload(value: Uint8Array, revision: number): Promise<void> {
    this.#seenRevision = Math.max(this.#seenRevision, revision);
    let doc: RulesetDocument | undefined;
    try {
      doc = decodeRulesetDocument(value);
    } catch {
      doc = undefined; // the compile below reports what is wrong with it
    }
    if (doc !== undefined && this.#o.rulesetKeys.length > 0) {
      const verdict = verifyRulesetDocument(doc, this.#o.rulesetKeys);
      if (!verdict.ok) {
        await this.#refuse(revision, `${verdict.reason}: ${verdict.detail}`, {
          rule: SIGNATURE_FAILURE_RULE,
          reason: verdict.reason,
        });
        return;
      }
    }
    const outcome = await compileKvValueBounded(value, revision, this.#o.appendOutput, this.#vetter);
    if (outcome.ok) {
      const before = this.#current;
      // The cache is up before the first batch that needs it.
      await this.#ensureMetadata(outcome.loaded.need);
      // One assignment: the worker reads #current once per batch.
      this.#current = outcome.loaded;
      this.#lastReloadError = undefined;
      this.#m.rulesetReloads.inc();
      this.#showRuleset();
      this.#dirty = true;
      const signed = doc?.signature === undefined ? 'unsigned' : `signed by key ${doc.signature.keyId}`;
      this.#o.log(
        `engine ${this.#o.name}: ruleset revision ${revision} in use (${outcome.loaded.enabledRules} rules; author ${JSON.stringify(doc?.author ?? '')}, ${signed})`,
      );
      await this.#checkRulesDrop(before, outcome.loaded, doc);
      return;
    }
    await this.#refuse(revision, outcome.error);
  }

  /** Keeps the ruleset in use and raises an internal alert about `revision`. */
  async #refuse(
    revision: number,
    error: string,
    signature?: { readonly rule: string; readonly reason: string },
  ): Promise<void> {
    this.#reloadFailures++;
    this.#lastReloadError = `revision ${revision}: ${error}`;
    this.#m.rulesetReloadFailures.inc();
    this.#dirty = true;
    this.#o.log(
      `engine ${this.#o.name}: ruleset revision ${revision} refused, keeping revision ${this.#current.revision}: ${error}`,
    );
    const base = {
      hostname: this.#o.hostname,
      revision,
      keptRevision: this.#current.revision,
      error,
      nowMs: Date.now(),
      json: this.#o.alertJson,
    };
    if (signature === undefined) {
      await this.#publisher.publish(reloadFailureAlert(base));
      return;
    }
    await this.#internal({
      rule: signature.rule,
      priority: 'Critical',
      text: `Ruleset revision ${revision} refused (${error}); engine keeps revision ${this.#current.revision}`,
      fields: {
        'saker.ruleset.error': error,
        'saker.ruleset.kept_revision': this.#current.revision,
        'saker.ruleset.revision': revision,
        'saker.ruleset.signature': signature.reason,
      },
      msgId: `saker-internal-signature-${revision}`,
    });
  }

  /** An internal alert when the enabled rules fell to zero or by more than the configured share. */
  async #checkRulesDrop(
    before: LoadedRuleset,
    after: LoadedRuleset,
    doc: RulesetDocument | undefined,
  ): Promise<void> {
    const was = before.enabledRules;
    const now = after.enabledRules;
    if (was === 0 || now >= was) return;
    const share = (was - now) / was;
    if (now > 0 && share <= this.#o.rulesDropAlertShare) return;
    const author = doc?.author ?? '';
    await this.#internal({
      rule: RULES_DROP_RULE,
      priority: now === 0 ? 'Critical' : 'Error',
      text: `Enabled rules dropped from ${was} to ${now} with ruleset revision ${after.revision} (author=${author})`,
      fields: {
        'saker.ruleset.revision': after.revision,
        'saker.ruleset.previous_revision': before.revision,
        'saker.ruleset.enabled_rules': now,
        'saker.ruleset.previous_enabled_rules': was,
        'saker.ruleset.author': author,
      },
      msgId: `saker-internal-rules-drop-${after.revision}`,
    });
  }

  #internal(a: Omit<InternalAlert, 'hostname' | 'nowMs' | 'json'>): Promise<boolean> {
    return this.#publisher.publish(
      internalAlert({ ...a, hostname: this.#o.hostname, nowMs: Date.now(), json: this.#o.alertJson }),
    );
  }

  // --- streams -------------------------------------------------------------

  /** Sets the fill gauges; an internal alert when a stream passes its ratio (once until it falls back). */
  async #checkStreams(): Promise<void> {
    const watch = this.#o.streamWatch;
    if (watch === null || this.#state !== 'running') return;
    for (const [name, ratio] of Object.entries(watch.alertRatio)) {
      let info: StreamInfo;
      try {
        info = await this.#o.bus.streamInfo(name);
      } catch (err) {
        if (!(err instanceof StreamNotFoundError))
          this.#warn.warn('streams', `engine ${this.#o.name}: cannot read stream ${name}: ${String(err)}`);
        continue;
      }
      this.#m.streamBytes.set(info.bytes, { stream: name });
      const max = info.limits.maxBytes;
      if (max === null) continue;
      const fill = info.bytes / max;
      this.#m.streamFill.set(fill, { stream: name });
      if (fill < ratio) {
        this.#streamsAlerted.delete(name);
        continue;
      }
      if (this.#streamsAlerted.has(name)) continue;
      this.#streamsAlerted.add(name);
      const pct = Math.round(fill * 1000) / 10;
      await this.#internal({
        rule: STREAM_FILL_RULE,
        priority: fill >= 1 ? 'Critical' : 'Warning',
        text: `Stream ${name} is ${pct}% full (${info.bytes} of ${max} bytes); past its limit the oldest messages are dropped`,
        fields: {
          'saker.stream.name': name,
          'saker.stream.bytes': info.bytes,
          'saker.stream.max_bytes': max,
          'saker.stream.fill_ratio': Math.round(fill * 1000) / 1000,
        },
        // One alert per stream per hour, whatever the number of replicas.
        msgId: `saker-internal-stream-fill-${name}-${Math.floor(Date.now() / 3_600_000)}`,
      });
    }
  }

  // --- audit batches from SAKER_AUDIT ---------------------------------------

  async #startAuditFeed(): Promise<void> {
    const bus = this.#o.bus;
    // Made when absent (no audit service yet); its limits belong to the audit service.
    try {
      await bus.streamInfo(STREAMS.audit.name);
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err;
      await bus.stream(STREAMS.audit.name, STREAMS.audit.subjects);
    }
    const feed = await bus.consumer(STREAMS.audit.name, this.#o.queue, {
      ackWaitMs: 60_000,
      prefetch: 8,
      maxAckPending: 64,
    });
    this.#feeds.push(feed);
    this.#readersRunning++;
    void this.#readDurable(feed);
  }

  async #readDurable(feed: DurableConsumer): Promise<void> {
    try {
      for await (const m of feed) {
        const msg: BusMessage = { subject: m.subject, data: m.data, headers: m.headers, reply: undefined };
        const estimate = estimateCount(msg);
        if (this.#queuedEvents > 0 && this.#queuedEvents + estimate > this.#o.maxQueuedEvents) {
          // Stored in the stream: it comes again later instead of being dropped.
          m.nak(1_000);
          continue;
        }
        this.#count(estimate);
        this.#accept(msg, estimate, () => m.ack());
      }
    } catch (err) {
      if (this.#state === 'running')
        this.#o.log(`engine ${this.#o.name}: ${feed.stream} consumer failed: ${String(err)}`);
    } finally {
      this.#readersRunning--;
      this.#wake?.();
    }
  }

  // --- events in ------------------------------------------------------------

  async #read(sub: Subscription): Promise<void> {
    try {
      for await (const msg of sub) {
        const estimate = estimateCount(msg);
        this.#count(estimate);
        if (this.#queuedEvents > 0 && this.#queuedEvents + estimate > this.#o.maxQueuedEvents) {
          this.#dropped += estimate;
          this.#m.eventsDropped.inc({ reason: 'overload' }, estimate);
          this.#warn.warn(
            'overload',
            `engine ${this.#o.name}: overloaded, dropped a batch of ${estimate} events`,
          );
          continue;
        }
        this.#accept(msg, estimate);
      }
    } catch (err) {
      if (this.#state === 'running')
        this.#o.log(`engine ${this.#o.name}: subscription ${sub.subject} failed: ${String(err)}`);
    } finally {
      this.#readersRunning--;
      this.#wake?.();
    }
  }

  #count(estimate: number): void {
    this.#batches++;
    this.#received += estimate;
    this.#m.batchesReceived.inc();
    this.#m.eventsReceived.inc(undefined, estimate);
    this.#dirty = true;
  }

  /** Queues a batch already counted as received. */
  #accept(msg: BusMessage, estimate: number, settle?: () => void): void {
    const held: Held = { at: Date.now() };
    this.#held.add(held);
    this.#queue.push(settle === undefined ? { msg, estimate, held } : { msg, estimate, settle, held });
    this.#queuedEvents += estimate;
    this.#setInFlight();
    this.#wake?.();
  }

  #setInFlight(): void {
    this.#m.eventsInFlight.set(this.#inFlightEvents());
  }

  #inFlightEvents(): number {
    return this.#received - this.#invalid - this.#dropped - this.#evaluated;
  }

  #next(): QueuedBatch | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const item = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead] = undefined as unknown as QueuedBatch;
    this.#queueHead++;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    return item;
  }

  async #work(): Promise<void> {
    for (;;) {
      const item = this.#next();
      if (item === undefined) {
        if (this.#readersRunning === 0) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      this.#queuedEvents -= item.estimate;
      while (this.#inFlight.size >= this.#o.maxInFlightBatches) await Promise.race(this.#inFlight);
      let done: Promise<void> | undefined;
      try {
        done = this.#process(item);
      } catch (err) {
        // Evaluation never throws by contract; if it does, the batch is lost and counted.
        this.#o.log(`engine ${this.#o.name}: batch failed: ${String(err)}`);
      }
      if (done !== undefined) {
        const tracked: Promise<void> = done.finally(() => {
          this.#inFlight.delete(tracked);
          this.#held.delete(item.held);
          item.settle?.();
        });
        this.#inFlight.add(tracked);
      } else {
        this.#held.delete(item.held);
        item.settle?.();
      }
      // Let the readers, acks, timers and the KV watch in between batches.
      await yieldToLoop();
    }
    await Promise.all(this.#inFlight);
  }

  /** Decodes and evaluates one batch; returns the promise of its alerts, or undefined when it is done. */
  #process(item: QueuedBatch): Promise<void> | undefined {
    const batch = startSpan(tracer, 'engine.batch', contextFromHeaders(item.msg.headers), {
      kind: SpanKind.CONSUMER,
      attributes: { 'messaging.destination.name': item.msg.subject, 'saker.batch.events': item.estimate },
    });
    let done: Promise<void> | undefined;
    try {
      done = this.#processBatch(item, batch.context);
    } catch (err) {
      endSpan(batch.span, err);
      throw err;
    }
    if (done === undefined) {
      batch.span.end();
      return undefined;
    }
    return done.then(
      () => batch.span.end(),
      (err: unknown) => {
        endSpan(batch.span, err);
        throw err;
      },
    );
  }

  #processBatch(item: QueuedBatch, trace: Context): Promise<void> | undefined {
    const current = this.#current;
    const started = performance.now();
    const { events, invalid } = decodeBatch(item.msg.data, item.msg.headers);
    const actual = events.length + invalid.length;
    if (actual !== item.estimate) {
      // The header lied (or the line count overcounted blank lines): correct the books.
      const diff = actual - item.estimate;
      this.#received += diff;
      if (diff > 0) this.#m.eventsReceived.inc(undefined, diff);
    }
    if (invalid.length > 0) this.#countInvalid(item.msg.subject, invalid);
    if (events.length === 0) {
      if (invalid.length > 0) {
        this.#malformed++;
        this.#m.batchesMalformed.inc();
      }
      this.#setInFlight();
      return undefined;
    }
    const provider = this.#metadata;
    if (provider !== null && current.need === 'condition') {
      const waiting = this.#join(provider, events);
      if (waiting !== undefined)
        return waiting.then(() => this.#evaluateAndFinish(current, events, started, trace, item.msg.subject));
    } else if (provider !== null && current.need === 'output') {
      return this.#processOutputJoin(provider, current, events, started, trace, item.msg.subject);
    }
    return this.#evaluateAndFinish(current, events, started, trace, item.msg.subject);
  }

  #evaluateAndFinish(
    current: LoadedRuleset,
    events: readonly SakerEvent[],
    started: number,
    trace: Context,
    subject: string,
  ): Promise<void> | undefined {
    const matches = this.#evaluateTraced(current, events, trace);
    const late = this.#settleFaults(subject);
    this.#m.batchSeconds.observe((performance.now() - started) / 1000);
    return this.#finish(events.length - late, matches, trace);
  }

  /**
   * Counts as invalid the events of a binary batch that turned out invalid when
   * evaluation read them (their matches were left out); returns how many.
   */
  #settleFaults(subject: string): number {
    const faults = this.#lateFaults;
    if (faults.length === 0) return 0;
    this.#lateFaults = [];
    this.#countInvalid(subject, faults);
    this.#setInFlight();
    return faults.length;
  }

  #evaluateTraced(
    current: LoadedRuleset,
    events: readonly SakerEvent[],
    trace: Context,
    render = true,
  ): RuleMatch[] {
    const { span } = startSpan(tracer, 'engine.evaluate', trace, {
      attributes: { 'saker.batch.events': events.length },
    });
    const matches = this.#evaluate(current, events, render);
    span.setAttribute('saker.matches', matches.length);
    span.end();
    return matches;
  }

  /**
   * Only outputs print metadata, so no condition can change with the join:
   * evaluate without rendering, join the events that matched, then render
   * those matches once from their joined events.
   */
  async #processOutputJoin(
    provider: MetadataProvider,
    current: LoadedRuleset,
    events: readonly SakerEvent[],
    started: number,
    trace: Context,
    subject: string,
  ): Promise<void> {
    const unrendered = this.#evaluateTraced(current, events, trace, false);
    const late = this.#settleFaults(subject);
    const matched = [...new Set(unrendered.map((m) => m.event))];
    // The join may hand back new event objects (join) or fill the same ones (joinOwned).
    const joinedOf = new Map<SakerEvent, SakerEvent>();
    const joinable = matched.slice();
    await this.#join(provider, joinable);
    for (let i = 0; i < matched.length; i++)
      joinedOf.set(matched[i] as SakerEvent, joinable[i] as SakerEvent);
    const matches = unrendered.map((m) => current.ruleset.render(m, joinedOf.get(m.event)));
    this.#m.batchSeconds.observe((performance.now() - started) / 1000);
    await this.#finish(events.length - late, matches, trace);
  }

  /** Joins `events` in place; undefined when no join had to wait. Failures leave the event unjoined. */
  #join(provider: MetadataProvider, events: SakerEvent[]): Promise<void> | undefined {
    let failures = 0;
    const failed = (err: unknown): void => {
      failures++;
      this.#warn.warn('metadata', `engine ${this.#o.name}: metadata join failed: ${String(err)}`);
    };
    const count = (): void => {
      if (failures > 0) this.#m.metadataJoinFailures.inc(undefined, failures);
      if (events.length > failures) this.#m.metadataJoins.inc(undefined, events.length - failures);
    };
    const waiting = joinBatch(provider, events, failed);
    if (waiting === undefined) {
      count();
      return undefined;
    }
    return waiting.then(count);
  }

  /** Starts the KV metadata cache when the options ask for it and a ruleset in use needs it. */
  async #ensureMetadata(need: MetadataNeed): Promise<void> {
    const option = this.#o.metadata;
    if (need === 'none' || this.#metadata !== null || option === null || isMetadataProvider(option)) return;
    this.#metadataStarting ??= (async () => {
      try {
        const cache = await createKvMetadataProvider(this.#o.bus, {
          ...option.kv,
          metrics: option.kv.metrics ?? this.#o.metrics,
          log: option.kv.log ?? this.#o.log,
        });
        if (this.#state !== 'running') {
          await cache.close();
          return;
        }
        this.#ownMetadata = cache;
        this.#metadata = cache;
        this.#o.log(
          `engine ${this.#o.name}: metadata cache on KV ${BUCKETS.meta} started (rules read container/k8s fields in their ${need})`,
        );
      } catch (err) {
        // Events are evaluated without metadata; the next ruleset swap tries again.
        this.#o.log(`engine ${this.#o.name}: cannot start the metadata cache: ${String(err)}`);
      } finally {
        this.#metadataStarting = undefined;
      }
    })();
    await this.#metadataStarting;
  }

  #evaluate(current: LoadedRuleset, events: readonly SakerEvent[], render = true): RuleMatch[] {
    const opts = { minPriority: this.#o.minPriority, ruleMatching: this.#o.ruleMatching, render };
    const ruleset = current.ruleset;
    const out: RuleMatch[] = [];
    const every = this.#o.costSampleEvery;
    // The batch's cost samples, per rule: seconds (scaled) and samples, into the metrics once per batch.
    const costs = new Map<string, { seconds: number; samples: number }>();
    for (const event of events) {
      let found: RuleMatch[];
      try {
        found = ruleset.evaluate(event, opts);
      } catch (err) {
        // Only a binary view whose read part was invalid makes evaluation throw.
        const fault = viewFault(event);
        if (fault === undefined) throw err;
        this.#lateFaults.push(fault);
        continue;
      }
      // A binary view is read only as far as its rules needed: an event that matched is read whole
      // (its alert reads what the rules did not), and one with a part found invalid is invalid.
      const fault = found.length > 0 ? checkView(event) : viewFault(event);
      if (fault !== undefined) {
        this.#lateFaults.push(fault);
        continue;
      }
      for (const m of found) out.push(m);
      if (every > 0 && --this.#sampleCountdown <= 0) {
        this.#sampleCountdown = every;
        this.#sampleCost(current, event, every, costs);
      }
    }
    for (const [rule, c] of costs) {
      this.#m.ruleEvaluationSeconds.inc({ rule }, c.seconds);
      this.#m.ruleEvaluationSamples.inc({ rule }, c.samples);
    }
    if (out.length > 0) {
      const perRule = new Map<string, number>();
      for (const m of out) perRule.set(m.rule.name, (perRule.get(m.rule.name) ?? 0) + 1);
      for (const [rule, n] of perRule) this.#m.ruleMatches.inc({ rule }, n);
    }
    return out;
  }

  #sampleCost(
    current: LoadedRuleset,
    event: SakerEvent,
    scale: number,
    costs: Map<string, { seconds: number; samples: number }>,
  ): void {
    const opts = { ruleMatching: 'all' as const };
    for (const [rule, single] of current.costProbe().candidates(event)) {
      const t0 = performance.now();
      try {
        single.evaluate(event, opts);
      } catch {
        // A binary view with a part found invalid only now: not a cost to sample.
        return;
      }
      const seconds = ((performance.now() - t0) / 1000) * scale;
      const c = costs.get(rule);
      if (c === undefined) costs.set(rule, { seconds, samples: 1 });
      else {
        c.seconds += seconds;
        c.samples++;
      }
    }
  }

  /** Publishes a batch's alerts; its events count as evaluated once all are settled. */
  #finish(count: number, matches: readonly RuleMatch[], trace: Context): Promise<void> | undefined {
    if (matches.length === 0) {
      this.#done(count);
      return undefined;
    }
    const alerts: OutgoingAlert[] = matches.map((m) => this.#alerts.build(m));
    const pub = startSpan(tracer, 'engine.alerts.publish', trace, {
      kind: SpanKind.PRODUCER,
      attributes: { 'saker.alerts': alerts.length },
    });
    // One header set for the batch's alerts: they share the publish span as parent.
    const headers = traceHeaders(pub.context);
    return this.#publisher.publishAll(alerts, headers).then((ok) => {
      const lost = ok.filter((stored) => !stored).length;
      if (lost > 0) endSpan(pub.span, new Error(`${lost} of ${alerts.length} alerts not stored`));
      else pub.span.end();
      this.#done(count);
    });
  }

  #done(count: number): void {
    this.#evaluated += count;
    this.#m.eventsEvaluated.inc(undefined, count);
    this.#dirty = true;
    this.#setInFlight();
  }

  #countInvalid(subject: string, invalid: readonly InvalidBatchEventError[]): void {
    const byReason = new Map<InvalidReason, number>();
    for (const err of invalid) {
      const reason = invalidReason(err);
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    }
    for (const [reason, n] of byReason) this.#m.eventsInvalid.inc({ reason }, n);
    this.#invalid += invalid.length;
    this.#dirty = true;
    const first = invalid[0];
    if (first !== undefined) {
      this.#warn.warn(
        'invalid',
        `engine ${this.#o.name}: ${invalid.length} invalid event(s) in a batch on ${subject}; first: line ${first.line} ${first.path}: ${first.reason}`,
      );
    }
  }

  // --- stats and health -----------------------------------------------------

  stats(): EngineStats {
    return {
      replica: this.#o.name,
      state: this.#state,
      seq: this.#seq,
      time: Date.now(),
      revision: this.#current.revision,
      batches: this.#batches,
      malformedBatches: this.#malformed,
      received: this.#received,
      invalid: this.#invalid,
      dropped: this.#dropped,
      evaluated: this.#evaluated,
      inFlight: this.#inFlightEvents(),
      alertsPublished: this.#publisher.published,
      alertsFailed: this.#publisher.failed,
      reloadFailures: this.#reloadFailures,
      lagMs: this.#lagMs(),
      ...(this.#auditPending === undefined ? {} : { auditPending: this.#auditPending }),
    };
  }

  #lagMs(): number {
    const oldest = this.#held.values().next().value;
    return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest.at);
  }

  /** Reads the audit consumer's num_pending, at most once per stats interval. */
  #readAuditPending(): void {
    const feed = this.#feeds[0];
    const now = Date.now();
    if (
      feed === undefined ||
      this.#state !== 'running' ||
      now - this.#auditPendingAt < this.#o.statsIntervalMs
    )
      return;
    this.#auditPendingAt = now;
    feed.state().then(
      (s) => {
        if (s.pending !== this.#auditPending) this.#dirty = true;
        this.#auditPending = s.pending;
        this.#m.auditPending.set(s.pending);
      },
      (err: unknown) =>
        this.#warn.warn(
          'audit-state',
          `engine ${this.#o.name}: cannot read the audit consumer: ${String(err)}`,
        ),
    );
  }

  metadataStats(): KvMetadataStats | undefined {
    return this.#ownMetadata?.stats();
  }

  #maybeReport(): void {
    this.#readAuditPending();
    const lag = this.#lagMs();
    this.#m.lagSeconds.set(lag / 1000);
    // A held batch makes the lag grow: report it while it does.
    if (lag > 0) this.#dirty = true;
    if (this.#dirty || Date.now() - this.#lastReport >= this.#o.statsIntervalMs) this.#report();
  }

  #report(): void {
    this.#dirty = false;
    this.#lastReport = Date.now();
    this.#seq++;
    try {
      this.#o.bus.publish(this.#statsSubject, encodeEngineStats(this.stats()));
    } catch (err) {
      this.#warn.warn('stats', `engine ${this.#o.name}: cannot publish stats: ${String(err)}`);
    }
  }

  health(): HealthReport {
    const busOk = !this.#o.bus.isClosed;
    const running = this.#state === 'running';
    const rules = `revision ${this.#current.revision}, ${this.#current.enabledRules} rules`;
    const checks = {
      bus: { ok: busOk, detail: busOk ? 'connected' : 'closed' },
      engine: { ok: running, detail: this.#state },
      ruleset: {
        ok: true,
        detail:
          this.#lastReloadError === undefined
            ? rules
            : `${rules}; last reload refused: ${this.#lastReloadError}`,
      },
    };
    return { ok: busOk && running, checks };
  }

  // --- stopping -----------------------------------------------------------

  stop(): Promise<void> {
    this.#stopping ??= this.#drain();
    return this.#stopping;
  }

  async #drain(): Promise<void> {
    this.#state = 'draining';
    this.#report();
    try {
      // Stop taking new batches; the readers still hand over what arrived.
      await Promise.all(
        this.#subs.map((s) =>
          s.drain().catch((err: unknown) => {
            this.#o.log(`engine ${this.#o.name}: drain of ${s.subject} failed: ${String(err)}`);
            s.unsubscribe();
          }),
        ),
      );
      await Promise.all(this.#subs.map((s) => s.closed));
      if (this.#streamTimer !== undefined) clearInterval(this.#streamTimer);
      await Promise.all(
        this.#feeds.map((f) =>
          f.stop().catch((err: unknown) => {
            this.#o.log(`engine ${this.#o.name}: stop of the ${f.stream} consumer failed: ${String(err)}`);
          }),
        ),
      );
      // The worker ends once the readers have, the queue is empty and every batch's alerts are settled.
      await this.#worker;
      // A last try for the spool; what is left stays in its file for the next start.
      this.#publisher.close();
      await this.#publisher.resend();
      if (this.#publisher.pending > 0)
        this.#o.log(`engine ${this.#o.name}: ${this.#publisher.pending} alert(s) left in the spool`);
      this.#watch?.stop();
      await this.#metadataStarting;
      await this.#ownMetadata?.close();
      await this.#vetter.close();
    } finally {
      if (this.#statsTimer !== undefined) clearInterval(this.#statsTimer);
      this.#state = 'stopped';
      this.#report();
      try {
        if (!this.#o.bus.isClosed) await this.#o.bus.flush();
      } catch {
        // the bus went away: the final report is lost, nothing else is
      }
      this.#warn.flush();
      this.#stoppedResolve();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
