/**
 * The sensor service: runs the probe, batches its events and publishes them
 * on `saker.v1.events.syscall.<node>`. The same entry runs alone (a DaemonSet
 * pod on NATS) or inside `saker run` (the in-memory bus): the bus is injected.
 *
 * Drops: every stage counts what it loses (the probe per CPU, the batcher).
 * Each stats window is reported to `onWindow` listeners (metrics), and a
 * window whose share of dropped events passes the threshold takes Falco's
 * `syscall_event_drops` actions: `log` writes the notice, `alert` hands it to
 * `onDrop` listeners (for `saker run` or the sensor command to publish as an
 * alert), both behind one token bucket (one notice per 30 s by default).
 *
 * With `evaluate` the node evaluates its own events: the sensor's worker
 * thread (node-worker.ts) decodes, evaluates and formats, and the service
 * publishes only the alerts into SAKER_ALERTS (at most `maxAlertsInFlight`
 * unacknowledged; past that an alert is dropped and counted), no event batch.
 */
import { createHash } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import {
  type AlertPriority,
  type BatcherOptions,
  type BatcherStats,
  type Bus,
  EventBatcher,
  SUBJECTS,
  busBatchSender,
  toToken,
} from '@saker/bus';
import type { SyscallEvent } from '@saker/events';
import { type InterestSet, interestFromEventTypes } from './interest.js';
import type { NodeEvaluation } from './node-evaluator.js';
import { Sensor, type SensorOptions, type SensorStats } from './sensor.js';
import { SYSCALL_IDS } from './syscalls.js';

/** Anything that can say which syscall event types it needs; a `Ruleset` from @saker/rules is one. */
interface EventTypeSource {
  eventTypes(): ReadonlySet<string> | undefined;
}

export interface SensorServiceOptions {
  /** Where batches go; with `evaluate`, where the alerts go (`publishDurable`, SAKER_ALERTS). */
  readonly bus: Pick<Bus, 'publish' | 'flush'> & Partial<Pick<Bus, 'publishDurable'>>;
  /**
   * Evaluate on the node, in the sensor's worker thread, with these rules:
   * alerts are published instead of event batches. Without the engine's
   * container/pod metadata join (services/enrich): `container.*` and `k8s.*`
   * fields other than the id are not filled. Default: off (events published).
   */
  readonly evaluate?: NodeEvaluation;
  /** With `evaluate`: alerts being published at once; past it they are dropped and counted. Default 1024. */
  readonly maxAlertsInFlight?: number;
  /** Node name for the subject (made into a token) and the events' hostname. Default: os.hostname(). */
  readonly node?: string;
  /**
   * What to capture: the event types a ruleset needs (`Ruleset.eventTypes()`:
   * a set, or `undefined` for every type), or an object that has them.
   * Default: every syscall the sensor knows.
   */
  readonly eventTypes?: ReadonlySet<string> | undefined | EventTypeSource;
  /** Passed to the Sensor (loader path, stats interval, queue limit, ...). */
  readonly sensor?: Omit<SensorOptions, 'syscalls' | 'hostname'>;
  /** Batch sizes and limits; `send` is the bus. */
  readonly batcher?: Omit<BatcherOptions, 'send'>;
  /** Drop notices: most per `dropNoticeIntervalMs` (a burst of `dropNoticeBurst`). Default 30000 and 1. */
  readonly dropNoticeIntervalMs?: number;
  readonly dropNoticeBurst?: number;
  /**
   * Falco's `syscall_event_drops.threshold`: a window raises a notice when its
   * dropped / (captured + dropped) share is above it (0: any drop). Default 0.1.
   */
  readonly dropThreshold?: number;
  /** Falco's `syscall_event_drops.actions`: `log`, `alert` (onDrop), or `ignore`. Default log and alert. */
  readonly dropActions?: readonly ('ignore' | 'log' | 'alert')[];
  /** Told about each drop notice that passes the threshold and the rate limit (action `alert`). */
  readonly onDrop?: (notice: SyscallDropNotice) => void;
  /** Log lines (drop notices, failed batches). Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Drops and captured events of one stats window (every `statsIntervalMs`). */
interface SyscallDropWindow {
  /** Epoch ms at the window's end. */
  readonly time: number;
  readonly node: string;
  /** Drops in the window, by where they happened. */
  readonly drops: {
    readonly ringbuf: number;
    readonly scratch: number;
    readonly enterFull: number;
    readonly batcher: number;
  };
  readonly total: number;
  /** Records the probe submitted in the window. */
  readonly events: number;
  /** Dropped / (submitted + dropped in the kernel): the share of the window's calls lost. */
  readonly ratio: number;
  /** Seconds the window covers. */
  readonly windowS: number;
}

/** Falco's "syscall event drop" internal event, in Saker's terms. */
export interface SyscallDropNotice extends SyscallDropWindow {
  /** `Falco internal: syscall event drop. N system calls dropped in last S seconds.` */
  readonly message: string;
  /** Notices suppressed by the rate limit since the previous one. */
  readonly suppressed: number;
}

interface SensorServiceStats {
  readonly sensor: SensorStats;
  readonly batcher: BatcherStats;
  /** All drops: probe (ring buffer, scratch, enter map) plus batcher. */
  readonly drops: number;
  readonly dropNotices: number;
  readonly interest: InterestSet;
  /** With `evaluate`: alerts published (acknowledged), failed, and dropped because too many were in flight. */
  readonly alerts?: { readonly published: number; readonly failed: number; readonly dropped: number };
}

export interface SensorService extends AsyncDisposable {
  readonly node: string;
  readonly subject: string;
  readonly sensor: Sensor;
  /** With `evaluate`: swaps the rules the worker evaluates (a ruleset that does not load is logged; the old one stays). */
  setRules(evaluation: NodeEvaluation): void;
  /** Replaces what the probe captures, e.g. after a ruleset change. Returns the new interest set. */
  setEventTypes(types: ReadonlySet<string> | undefined | EventTypeSource): InterestSet;
  stats(): SensorServiceStats;
  /** Listens to drop notices (after the threshold and the rate limit; action `alert`). */
  onDrop(fn: (n: SyscallDropNotice) => void): () => void;
  /** Listens to every stats window, drops or not (for metrics). */
  onWindow(fn: (w: SyscallDropWindow) => void): () => void;
  /** Resolves when the service stopped (signal, stop(), or the loader died: then it rejects). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

function typesOf(t: SensorServiceOptions['eventTypes']): ReadonlySet<string> | undefined {
  if (t === undefined) return undefined;
  if (t instanceof Set) return t;
  if (typeof (t as EventTypeSource).eventTypes === 'function') return (t as EventTypeSource).eventTypes();
  return t as ReadonlySet<string>;
}

function syscallNames(i: InterestSet): readonly string[] {
  return i.syscalls === 'all' ? Object.keys(SYSCALL_IDS) : i.syscalls;
}

/** Token bucket: `burst` tokens, one more every `intervalMs`. */
class RateLimit {
  private tokens: number;
  private last: number;
  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = Date.now();
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / this.intervalMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Starts the sensor service; resolves once the probe is attached. */
export async function start(options: SensorServiceOptions, signal?: AbortSignal): Promise<SensorService> {
  const intervalMs = options.dropNoticeIntervalMs ?? 30_000;
  const burst = options.dropNoticeBurst ?? 1;
  if (!(intervalMs > 0)) throw new RangeError(`dropNoticeIntervalMs: expected > 0, got ${intervalMs}`);
  if (!(burst >= 1)) throw new RangeError(`dropNoticeBurst: expected >= 1, got ${burst}`);
  const threshold = options.dropThreshold ?? 0.1;
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`dropThreshold: expected a share in [0, 1], got ${threshold}`);
  const actions = new Set(options.dropActions ?? ['log', 'alert']);
  const hostname = options.node ?? osHostname();
  const node = toToken(hostname);
  const subject = SUBJECTS.syscallEvents(node);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let interest = interestFromEventTypes(typesOf(options.eventTypes));

  const batcher = new EventBatcher({
    ...options.batcher,
    send: busBatchSender(options.bus, subject),
    onError: (err, dropped) => {
      log(`sensor: a batch of ${dropped} events failed to publish on ${subject}: ${String(err)}`);
      options.batcher?.onError?.(err, dropped);
    },
  });
  const evaluate = options.evaluate;
  const publishDurable = options.bus.publishDurable?.bind(options.bus);
  if (evaluate !== undefined && publishDurable === undefined)
    throw new RangeError('evaluate: the bus must be able to publish alerts (publishDurable)');
  const sensor = await Sensor.start(
    {
      ...options.sensor,
      syscalls: syscallNames(interest),
      hostname,
      // A listener from the first record on, not the iterator: no promise and no queue per event.
      // The sensor decodes one bounded slice per event-loop turn and reads on only after it, so its
      // pace is the batcher's (and, in one process, the engine's), and a backlog stays in the
      // kernel's ring, where losses are counted.
      ...(evaluate === undefined ? { onEvent: (ev: SyscallEvent) => void batcher.add(ev) } : {}),
      ...(evaluate !== undefined
        ? {
            worker: evaluate,
            onError: (err: Error) => {
              if (err.name === 'NodeWorkerError') log(`sensor: ${err.message}`);
              options.sensor?.onError?.(err);
            },
          }
        : {}),
    },
    signal,
  );
  const alerts = { published: 0, failed: 0, dropped: 0, inFlight: 0 };
  const maxAlerts = options.maxAlertsInFlight ?? 1024;
  const publishing = new Set<Promise<void>>();
  if (evaluate !== undefined && publishDurable !== undefined) {
    sensor.onAlerts((lines) => {
      for (const line of lines) {
        if (alerts.inFlight >= maxAlerts) {
          alerts.dropped++;
          continue;
        }
        alerts.inFlight++;
        const p = publishDurable(alertSubject(line), encoder.encode(line), {
          msgId: createHash('sha256').update(line).digest('base64url'),
        })
          .then(
            () => {
              alerts.published++;
            },
            (err: unknown) => {
              alerts.failed++;
              log(`sensor: an alert was not stored: ${String(err)}`);
            },
          )
          .finally(() => {
            alerts.inFlight--;
            publishing.delete(p);
          });
        publishing.add(p);
      }
    });
  }

  const dropListeners = new Set<(n: SyscallDropNotice) => void>();
  if (options.onDrop) dropListeners.add(options.onDrop);
  const windowListeners = new Set<(w: SyscallDropWindow) => void>();
  const limit = new RateLimit(intervalMs, burst);
  let notices = 0;
  let suppressed = 0;
  let prev = { ringbuf: 0n, scratch: 0n, enterFull: 0n, seen: 0n, batcher: 0, at: Date.now() };
  sensor.onStats((s) => {
    const b = batcher.stats().dropped;
    const t = s.totals;
    const now = Date.now();
    const d = {
      ringbuf: Number(t.dropRingbuf - prev.ringbuf),
      scratch: Number(t.dropScratch - prev.scratch),
      enterFull: Number(t.dropEnterFull - prev.enterFull),
      batcher: b - prev.batcher,
    };
    const events = Number(t.seen - prev.seen);
    const windowS = (now - prev.at) / 1000;
    prev = {
      ringbuf: t.dropRingbuf,
      scratch: t.dropScratch,
      enterFull: t.dropEnterFull,
      seen: t.seen,
      batcher: b,
      at: now,
    };
    const total = d.ringbuf + d.scratch + d.enterFull + d.batcher;
    // Batcher drops are among the submitted records; the kernel's are not.
    const calls = events + d.ringbuf + d.scratch + d.enterFull;
    const ratio = total === 0 ? 0 : total / Math.max(calls, total);
    const window: SyscallDropWindow = { time: now, node: hostname, drops: d, total, events, ratio, windowS };
    for (const l of windowListeners) l(window);
    if (total === 0 || (ratio <= threshold && threshold > 0)) return;
    if (!actions.has('log') && !actions.has('alert')) return;
    if (!limit.take()) {
      suppressed++;
      return;
    }
    notices++;
    const notice: SyscallDropNotice = {
      ...window,
      message: `Falco internal: syscall event drop. ${total} system calls dropped in last ${windowS.toFixed(1)} seconds.`,
      suppressed,
    };
    suppressed = 0;
    if (actions.has('log'))
      log(
        `sensor: ${notice.message} (ringbuf=${d.ringbuf} scratch=${d.scratch} enter_full=${d.enterFull} batcher=${d.batcher} events=${events} ratio=${ratio.toFixed(3)})`,
      );
    if (actions.has('alert')) for (const l of dropListeners) l(notice);
  });

  const done = (async () => {
    try {
      await sensor.whenEnded();
    } finally {
      await Promise.allSettled([...publishing]);
      await batcher.close();
    }
  })();
  // A rejection is the caller's to see through `done`; do not let it go unhandled meanwhile.
  done.catch(() => {});

  const stop = async (): Promise<void> => {
    await sensor.stop();
    await done.catch(() => {});
  };
  signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    node: hostname,
    subject,
    sensor,
    setRules(evaluation) {
      sensor.setRules(evaluation);
    },
    setEventTypes(types) {
      const next = interestFromEventTypes(typesOf(types));
      sensor.setSyscalls(syscallNames(next));
      interest = next;
      return next;
    },
    stats() {
      const s = sensor.stats;
      const b = batcher.stats();
      const t = s.totals;
      return {
        sensor: s,
        batcher: b,
        drops: Number(t.dropRingbuf + t.dropScratch + t.dropEnterFull) + b.dropped,
        dropNotices: notices,
        interest,
        ...(evaluate !== undefined
          ? { alerts: { published: alerts.published, failed: alerts.failed, dropped: alerts.dropped } }
          : {}),
      };
    },
    onDrop(fn) {
      dropListeners.add(fn);
      return () => dropListeners.delete(fn);
    },
    onWindow(fn) {
      windowListeners.add(fn);
      return () => windowListeners.delete(fn);
    },
    done,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

const encoder = new TextEncoder();

/** `saker.v1.alerts.<source>.<priority>` of a Falco JSON alert line the worker formatted. */
function alertSubject(line: string): string {
  const a = JSON.parse(line) as { source?: unknown; priority?: unknown };
  const source = typeof a.source === 'string' ? a.source : 'syscall';
  const priority = (typeof a.priority === 'string' ? a.priority : 'debug').toLowerCase() as AlertPriority;
  return SUBJECTS.alert(toToken(source), priority);
}
