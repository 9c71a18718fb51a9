/**
 * The sensor service: runs the probe, batches its events and publishes them
 * on `saker.v1.events.syscall.<node>`. The same entry runs alone (a DaemonSet
 * pod on NATS) or inside `saker run` (the in-memory bus): the bus is injected.
 *
 * Drops: every stage counts what it loses (the probe per CPU, the batcher),
 * and when the count grows the service raises a "syscall event drop" notice,
 * rate-limited like Falco's `syscall_event_drops` (a token bucket, one notice
 * per 30 s by default), for the engine or `saker run` to turn into an alert.
 */
import { hostname as osHostname } from 'node:os';
import {
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
import { Sensor, type SensorOptions, type SensorStats } from './sensor.js';
import { SYSCALL_IDS } from './syscalls.js';

/** Anything that can say which syscall event types it needs; a `Ruleset` from @saker/rules is one. */
export interface EventTypeSource {
  eventTypes(): ReadonlySet<string> | undefined;
}

export interface SensorServiceOptions {
  /** Where batches go. */
  readonly bus: Pick<Bus, 'publish' | 'flush'>;
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
  /** Told about each drop notice that passes the rate limit. */
  readonly onDrop?: (notice: SyscallDropNotice) => void;
  /** Log lines (drop notices, failed batches). Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Falco's "syscall event drop" internal event, in Saker's terms. */
export interface SyscallDropNotice {
  /** Epoch ms. */
  readonly time: number;
  readonly node: string;
  /** `Falco internal: syscall event drop. N system calls dropped in last S seconds.` */
  readonly message: string;
  /** Drops since the previous stats check, by where they happened. */
  readonly drops: {
    readonly ringbuf: number;
    readonly scratch: number;
    readonly enterFull: number;
    readonly batcher: number;
  };
  readonly total: number;
  /** Records the probe submitted in the same window. */
  readonly events: number;
  /** Seconds the window covers. */
  readonly windowS: number;
  /** Notices suppressed by the rate limit since the previous one. */
  readonly suppressed: number;
}

export interface SensorServiceStats {
  readonly sensor: SensorStats;
  readonly batcher: BatcherStats;
  /** All drops: probe (ring buffer, scratch, enter map) plus batcher. */
  readonly drops: number;
  readonly dropNotices: number;
  readonly interest: InterestSet;
}

export interface SensorService extends AsyncDisposable {
  readonly node: string;
  readonly subject: string;
  readonly sensor: Sensor;
  /** Replaces what the probe captures, e.g. after a ruleset change. Returns the new interest set. */
  setEventTypes(types: ReadonlySet<string> | undefined | EventTypeSource): InterestSet;
  stats(): SensorServiceStats;
  /** Listens to drop notices (after the rate limit). */
  onDrop(fn: (n: SyscallDropNotice) => void): () => void;
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
  const sensor = await Sensor.start(
    { ...options.sensor, syscalls: syscallNames(interest), hostname },
    signal,
  );

  const dropListeners = new Set<(n: SyscallDropNotice) => void>();
  if (options.onDrop) dropListeners.add(options.onDrop);
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
    if (total === 0) return;
    if (!limit.take()) {
      suppressed++;
      return;
    }
    notices++;
    const notice: SyscallDropNotice = {
      time: now,
      node: hostname,
      message: `Falco internal: syscall event drop. ${total} system calls dropped in last ${windowS.toFixed(1)} seconds.`,
      drops: d,
      total,
      events,
      windowS,
      suppressed,
    };
    suppressed = 0;
    log(
      `sensor: ${notice.message} (ringbuf=${d.ringbuf} scratch=${d.scratch} enter_full=${d.enterFull} batcher=${d.batcher} events=${events})`,
    );
    for (const l of dropListeners) l(notice);
  });

  // The iterator, not onEvent: it is what resumes the loader's output when the queue drains.
  const done = (async () => {
    try {
      for await (const ev of sensor as AsyncIterable<SyscallEvent>) batcher.add(ev);
    } finally {
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
      };
    },
    onDrop(fn) {
      dropListeners.add(fn);
      return () => dropListeners.delete(fn);
    },
    done,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
