/**
 * The sensor: spawns the privileged loader, decodes its stream, keeps the
 * process table and yields validated SyscallEvents.
 *
 * Backpressure: when the consumer falls behind and the queue is full, the
 * loader's stdout is paused. The loader then blocks, the kernel ring buffer
 * fills and the probe counts `drop_ringbuf` — drops happen in one place and
 * are always counted.
 *
 * The queue (and so the pause) serves the async iterator only: a consumer that
 * takes events through `onEvent` alone never reads the queue, so once one
 * listens, events are queued only after an iterator is asked for. Otherwise
 * the queue would fill to `queueLimit` with events nobody reads and pause the
 * loader for good: the listener would stop receiving events after the first
 * `queueLimit` ones (the stall that an earlier rules test hit when it waited a
 * few seconds on a busy host).
 *
 * Bounded slices: the stream is decoded at most `SLICE_BYTES` per event-loop
 * turn. The rest waits, with the loader's output paused, for the next turn
 * (setImmediate): libuv reads a pipe up to 32 times per poll (2 MiB, ~9,000
 * records, tens of ms of work) before timers and other I/O run, and the
 * consumers in this thread (the batcher's linger, the engine, which takes
 * one batch per turn, the outputs' writes) would otherwise queue behind that
 * bulk: a rare event's alert waited for it, and the engine's queue grew with
 * what the sensor produced faster than one batch a turn. So the backlog of
 * an overloaded node stays in the kernel's ring, where losses are counted
 * (`drop_ringbuf`), not in an in-process queue.
 *
 * With `worker` (node-worker.ts) the thread that reads the loader's stream
 * only hands its chunks to a worker thread, which decodes, keeps the process
 * table, evaluates the rules and formats the alerts: the Sensor then yields
 * no events, only alerts (`onAlerts`), and pauses the loader's output while
 * more than `workerQueueBytes` wait for the worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname as osHostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import type { EvaluateOptions, RuleMatch, Ruleset } from '@saker/rules';
import { type CpuStats, type KernelRecord, REC_STATS, StreamDecoder, type StreamHeader } from './decoder.js';
import { SensorDecodeError, SensorLoaderError } from './errors.js';
import type { NodeEvaluation } from './node-evaluator.js';
import { NodeWorker } from './node-worker.js';
import type { ProcTable } from './proctable.js';
import { RecordPipeline } from './record-pipeline.js';
import { SYSCALL_IDS, TRACKED_SYSCALLS, resolveSyscalls, syscallName } from './syscalls.js';

export { RecordPipeline };

/**
 * Stream bytes decoded per event-loop turn (~280 open records, under a
 * millisecond of work): small enough that the alert path and the outputs get
 * a turn between slices, large enough that the turns cost nothing measurable.
 */
const SLICE_BYTES = 64 * 1024;
/**
 * Stream bytes read ahead of the decoding before the loader's output is
 * paused: a burst the decoding cannot follow waits here as raw records
 * (~230 bytes an open, no event built yet), beside the kernel's 16 MiB ring.
 */
const READ_AHEAD_BYTES = 4 << 20;

export const DEFAULT_LOADER_PATH = fileURLToPath(new URL('../../build/saker-sensor-loader', import.meta.url));

export interface SensorOptions {
  /** Syscall names (Falco's names) the rules need; `all` captures every one the sensor knows. */
  readonly syscalls: readonly string[] | 'all';
  readonly loaderPath?: string;
  readonly statsIntervalMs?: number;
  readonly hostname?: string;
  readonly maxAncestors?: number;
  /** Events held for a slow consumer before the loader's output is paused. */
  readonly queueLimit?: number;
  /** Give up if the loader has not attached the probe by then. */
  readonly startTimeoutMs?: number;
  /** Called for each record that could not be decoded or did not validate. */
  readonly onError?: (err: Error) => void;
  /**
   * Run the generic `parseEvent` validation on every event the sensor builds.
   * Off by default: the events are built by the sensor itself from records the
   * decoder already validated. The integration tests pass `true`, so they
   * prove the events are valid; nothing turns it on behind the caller's back.
   */
  readonly validate?: boolean;
  /**
   * Decode, evaluate and format in a worker thread (node-worker.ts) with
   * these rules: the Sensor then yields no events, and gives the alerts to
   * `onAlerts` listeners. Undefined: events in this thread, as before.
   */
  readonly worker?: NodeEvaluation;
  /**
   * A listener for every event from the first one on (as `onEvent`, attached
   * before the loader starts, so no event comes before it). While it is the
   * only consumer, events are not queued.
   */
  readonly onEvent?: (e: SyscallEvent) => void;
  /** With `worker`: stream bytes handed over and not yet processed before the loader's output is paused. Default 8 MiB. */
  readonly workerQueueBytes?: number;
}

type NormalizedOptions = Required<
  Omit<SensorOptions, 'hostname' | 'onError' | 'validate' | 'worker' | 'onEvent'>
> & {
  readonly worker: NodeEvaluation | undefined;
  readonly validate: boolean;
  readonly hostname: string;
  readonly onError: (err: Error) => void;
  /** What the probe captures: the requested calls and the tracked ones (TRACKED_SYSCALLS). */
  readonly syscallIds: readonly number[];
  /** The requested calls: the ones published as events. */
  readonly emittedIds: readonly number[];
};

/** The requested ids plus the calls the process table follows, for the probe's interest map. */
function withTracked(ids: readonly number[]): number[] {
  return resolveSyscalls(
    [...ids.map((id) => syscallName(id) ?? ''), ...TRACKED_SYSCALLS].filter((n) => n !== ''),
  ).ids;
}

function normalizeOptions(o: SensorOptions): NormalizedOptions {
  const names = o.syscalls === 'all' ? Object.keys(SYSCALL_IDS) : o.syscalls;
  const { ids, unknown } = resolveSyscalls(names);
  if (unknown.length > 0) {
    throw new RangeError(
      `syscalls: the sensor cannot capture ${unknown.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  }
  const statsIntervalMs = o.statsIntervalMs ?? 1000;
  const workerQueueBytes = o.workerQueueBytes ?? 8 << 20;
  if (!Number.isInteger(workerQueueBytes) || workerQueueBytes < 65536) {
    throw new RangeError(`workerQueueBytes: expected an integer of at least 65536, got ${workerQueueBytes}`);
  }
  if (!Number.isInteger(statsIntervalMs) || statsIntervalMs <= 0) {
    throw new RangeError(`statsIntervalMs: expected a positive integer, got ${statsIntervalMs}`);
  }
  return {
    syscalls: names,
    syscallIds: withTracked(ids),
    emittedIds: ids,
    loaderPath: o.loaderPath ?? DEFAULT_LOADER_PATH,
    statsIntervalMs,
    hostname: o.hostname ?? osHostname(),
    maxAncestors: o.maxAncestors ?? 5,
    queueLimit: o.queueLimit ?? 10000,
    startTimeoutMs: o.startTimeoutMs ?? 30000,
    onError: o.onError ?? (() => {}),
    validate: o.validate ?? false,
    worker: o.worker,
    workerQueueBytes,
  };
}

export interface SensorStats {
  /** Per-CPU counters from the probe, as of the last stats record. */
  readonly perCpu: readonly CpuStats[];
  readonly totals: CpuStats;
  /** Frames the decoder rejected. */
  readonly decodeErrors: number;
  /** Records that decoded but did not make a valid SyscallEvent. */
  readonly invalidEvents: number;
  readonly eventsEmitted: number;
  /** With a worker: events evaluated there, and their matches. */
  readonly evaluated?: number;
  readonly matches?: number;
}

const ZERO: CpuStats = {
  seen: 0n,
  dropRingbuf: 0n,
  dropScratch: 0n,
  dropMissingEnter: 0n,
  dropEnterFull: 0n,
  truncated: 0n,
};

function sumStats(per: readonly CpuStats[]): CpuStats {
  const t = { ...ZERO };
  for (const c of per) {
    t.seen += c.seen;
    t.dropRingbuf += c.dropRingbuf;
    t.dropScratch += c.dropScratch;
    t.dropMissingEnter += c.dropMissingEnter;
    t.dropEnterFull += c.dropEnterFull;
    t.truncated += c.truncated;
  }
  return t;
}

export class Sensor implements AsyncIterable<SyscallEvent> {
  readonly table: ProcTable;
  private readonly pipeline: RecordPipeline;
  private readonly opts: NormalizedOptions;
  private child: ChildProcess | undefined;
  private readonly decoder: StreamDecoder;
  private header: StreamHeader | undefined;
  private stderr = '';
  private perCpu: readonly CpuStats[] = [];
  /**
   * FIFO of events not yet read: taken from `queueHead` on, compacted now and
   * then (as @saker/bus's AsyncQueue does). Array.shift() is O(n) once an
   * array outgrows V8's in-place trimming (~16k elements): a 50k backlog cost
   * ~90 µs per event, so a consumer that fell behind could never catch up.
   */
  private queue: (SyscallEvent | undefined)[] = [];
  private queueHead = 0;
  private waiter: ((r: IteratorResult<SyscallEvent>) => void) | undefined;
  private readonly listeners = new Set<(e: SyscallEvent) => void>();
  /** The listeners as an array, rebuilt when they change: iterating a Set makes an iterator per event. */
  private listenerList: readonly ((e: SyscallEvent) => void)[] = [];
  /** evaluateRules: what is evaluated, and where the matches go. */
  private rules:
    | {
        readonly ruleset: Ruleset;
        readonly options: EvaluateOptions;
        readonly fn: (event: SyscallEvent, matches: readonly RuleMatch[]) => void;
      }
    | undefined;
  /** The matches of the record being evaluated (a new array only after a match). */
  private found: RuleMatch[] = [];
  private readonly statsListeners = new Set<(s: SensorStats) => void>();
  private readonly alertListeners = new Set<(lines: readonly string[]) => void>();
  /** With `worker`: where the records go. */
  private worker: NodeWorker | undefined;
  /** The loader's output is paused because the worker is behind. */
  private pausedForWorker = false;
  /** Settles start() once the header arrived or was refused (either thread may see it). */
  private checkStarted: () => void = () => {};
  private ended = false;
  /** An async iterator was asked for: events wait in the queue for it. */
  private iterated = false;
  /** stop() was called: the loader's output is drained, never paused again. */
  private stopping = false;
  private failure: Error | undefined;
  private exitPromise: Promise<void> | undefined;
  /** Stream bytes read and not decoded yet (bounded slices), oldest first, the first from `pendingAt` on. */
  private pending: Buffer[] = [];
  private pendingAt = 0;
  private pendingBytes = 0;
  /** What was read waits for the next turn. */
  private sliceScheduled = false;
  /** The loader's output is paused because READ_AHEAD_BYTES wait. */
  private pausedForSlices = false;
  /** Bytes this turn may still decode. */
  private turnBudget = SLICE_BYTES;
  /** The next turn's renewal of the budget is scheduled. */
  private turnStarted = false;
  /** Called once `pending` is empty (the loader exited while some of its output waited). */
  private onIdle: (() => void) | undefined;

  private constructor(opts: NormalizedOptions) {
    this.opts = opts;
    this.pipeline = new RecordPipeline(opts);
    this.table = this.pipeline.table;
    this.decoder = new StreamDecoder({ onError: (e: SensorDecodeError) => this.onDecodeError(e) });
  }

  /**
   * Starts the loader and resolves once the probe is attached (the stream
   * header arrived). Rejects with SensorLoaderError carrying the loader's own
   * explanation (not root, no BTF, bpf() refused, ...).
   */
  static async start(options: SensorOptions, signal?: AbortSignal): Promise<Sensor> {
    const s = new Sensor(normalizeOptions(options));
    // Before the loader starts: no event comes before this listener.
    if (options.onEvent !== undefined) s.addListener(options.onEvent);
    if (s.opts.worker !== undefined) s.worker = await s.startWorker(s.opts.worker);
    try {
      await s.spawn(signal);
    } catch (err) {
      await s.worker?.end();
      throw err;
    }
    return s;
  }

  get stats(): SensorStats {
    const w = this.worker?.counts;
    if (w !== undefined)
      return {
        perCpu: this.perCpu,
        totals: sumStats(this.perCpu),
        decodeErrors: w.decodeErrors,
        invalidEvents: w.invalidEvents,
        eventsEmitted: w.events,
        evaluated: w.evaluated,
        matches: w.matches,
      };
    return {
      perCpu: this.perCpu,
      totals: sumStats(this.perCpu),
      decodeErrors: this.decoder.errors,
      invalidEvents: this.pipeline.invalidEvents,
      eventsEmitted: this.pipeline.num,
    };
  }

  /** With `worker`: the worker's handle (in-flight bytes, watched counts); undefined without. */
  get nodeWorker(): NodeWorker | undefined {
    return this.worker;
  }

  /** With `worker`: calls fn with the Falco JSON lines of each batch of alerts, in stream order. */
  onAlerts(fn: (lines: readonly string[]) => void): () => void {
    this.alertListeners.add(fn);
    return () => this.alertListeners.delete(fn);
  }

  private startWorker(evaluation: NodeEvaluation): Promise<NodeWorker> {
    return NodeWorker.start(
      {
        hostname: this.opts.hostname,
        maxAncestors: this.opts.maxAncestors,
        validate: this.opts.validate,
        emittedIds: this.opts.emittedIds,
        evaluation,
      },
      this.opts.workerQueueBytes,
      {
        onHeader: (h) => {
          this.header = h;
          this.checkStarted();
        },
        onStats: (perCpu) => this.onStatsRecord(perCpu),
        onAlerts: (lines) => {
          for (const l of this.alertListeners) l(lines);
        },
        onError: (err) => {
          if (err instanceof SensorDecodeError) {
            this.onDecodeError(err);
            this.checkStarted();
          } else this.opts.onError(err);
        },
        onDrained: () => {
          if (!this.pausedForWorker) return;
          this.pausedForWorker = false;
          this.child?.stdout?.resume();
        },
        onFailure: (err) => {
          this.failure ??= err;
          void this.stop();
        },
      },
    );
  }

  get loaderPid(): number | undefined {
    return this.header?.loaderPid;
  }

  /**
   * Calls fn for every event, in addition to (not instead of) the async
   * iterator. While listeners exist and no iterator was asked for, events are
   * not queued: an iterator asked for later starts with the events after it.
   */
  onEvent(fn: (e: SyscallEvent) => void): () => void {
    this.addListener(fn);
    // Events that arrived before the first listener (with the stream header, say) may have
    // filled the queue and paused the output: nothing would ever resume it for a listener.
    if (!this.iterated && !this.stopping && !this.pausedForSlices) this.child?.stdout?.resume();
    return () => {
      this.listeners.delete(fn);
      this.listenerList = [...this.listeners];
    };
  }

  private addListener(fn: (e: SyscallEvent) => void): void {
    this.listeners.add(fn);
    this.listenerList = [...this.listeners];
  }

  /**
   * Evaluates `ruleset` on every event in this thread, as an engine on the
   * node would, and calls fn with each event and its matches. While nothing
   * else takes events (no `onEvent` listener, no iterator), the rules read a
   * view of the kernel record (RecordPipeline.evaluate) and only a match
   * builds the event: fn's first argument is then that view, valid during the
   * call only (read what you need, keep nothing), and the matches carry the
   * built events. One evaluation at a time; the returned function ends it.
   */
  evaluateRules(
    ruleset: Ruleset,
    options: EvaluateOptions,
    fn: (event: SyscallEvent, matches: readonly RuleMatch[]) => void,
  ): () => void {
    if (this.rules !== undefined) throw new Error('Sensor.evaluateRules: rules are evaluated already');
    if (this.worker !== undefined)
      throw new Error('Sensor.evaluateRules: the node worker evaluates this sensor');
    const rules = { ruleset, options, fn };
    this.rules = rules;
    if (!this.iterated && !this.stopping && !this.pausedForSlices) this.child?.stdout?.resume();
    return () => {
      if (this.rules === rules) this.rules = undefined;
    };
  }

  /** Calls fn after each stats record of the loader (every `statsIntervalMs`, and once at exit). */
  onStats(fn: (s: SensorStats) => void): () => void {
    this.statsListeners.add(fn);
    return () => this.statsListeners.delete(fn);
  }

  /** With `worker`: swaps the rules it evaluates (a ruleset that does not load is reported to onError; the old one stays). */
  setRules(evaluation: NodeEvaluation): void {
    this.worker?.setRules(evaluation);
  }

  /** Replaces the captured syscall set while running (filtered in the kernel). */
  setSyscalls(names: readonly string[]): void {
    const { ids, unknown } = resolveSyscalls(names);
    if (unknown.length > 0) throw new RangeError(`syscalls: the sensor cannot capture ${unknown.join(', ')}`);
    this.pipeline.setEmitted(ids);
    this.worker?.setEmitted(ids);
    this.child?.stdin?.write(`syscalls ${withTracked(ids).join(',') || 'none'}\n`);
  }

  [Symbol.asyncIterator](): AsyncIterator<SyscallEvent> {
    this.iterated = true;
    return {
      next: () => {
        const e = this.take();
        if (e) {
          if (this.queued < this.opts.queueLimit / 2 && !this.pausedForSlices) this.child?.stdout?.resume();
          return Promise.resolve({ value: e, done: false });
        }
        if (this.failure) return Promise.reject(this.failure);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }

  /** Resolves once the loader exited and every record was handled; rejects if the loader or the worker failed. */
  async whenEnded(): Promise<void> {
    await this.exitPromise;
    if (this.failure) throw this.failure;
  }

  /** Stops the loader (EOF on its stdin, then SIGTERM) and waits for it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await this.exitPromise;
      return;
    }
    child.stdin?.end();
    // A loader blocked writing into a full pipe (reading paused under
    // backpressure) cannot see EOF or a signal: let its writes drain (and
    // keep draining: `stopping` stops onData from pausing again, or the pipe
    // would never reach EOF and 'close' never come), and escalate to SIGKILL
    // so stop() always ends.
    this.stopping = true;
    child.stdout?.resume();
    const term = setTimeout(() => child.kill('SIGTERM'), 2000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.exitPromise;
    clearTimeout(term);
    clearTimeout(kill);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private spawn(signal?: AbortSignal): Promise<void> {
    const args = [
      '--syscalls',
      this.opts.syscallIds.join(',') || 'none',
      '--stats-ms',
      String(this.opts.statsIntervalMs),
    ];
    const child = spawn(this.opts.loaderPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-8192);
    });
    this.exitPromise = new Promise((resolve) => {
      child.on('close', (code, sig) => {
        if (!this.ended && code !== 0 && sig !== 'SIGTERM') {
          this.failure = new SensorLoaderError(`sensor loader exited with ${code ?? sig}`, code, this.stderr);
        }
        // Every chunk read is evaluated before the sensor counts as stopped.
        void (this.worker?.end() ?? this.whenSliced()).then(() => {
          this.finish();
          resolve();
        });
      });
    });
    signal?.addEventListener('abort', () => void this.stop(), { once: true });

    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGTERM');
        reject(
          new SensorLoaderError(
            `sensor loader did not attach within ${this.opts.startTimeoutMs} ms`,
            null,
            this.stderr,
          ),
        );
      }, this.opts.startTimeoutMs);
      child.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(
          new SensorLoaderError(
            `cannot run the sensor loader ${this.opts.loaderPath} (build it with \`npm run build -w @saker/sensor\`)`,
            null,
            '',
            { cause: err },
          ),
        );
      });
      child.on('close', (code) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(
          new SensorLoaderError(`sensor loader exited with ${code} before attaching`, code, this.stderr),
        );
      });
      this.checkStarted = () => {
        if (!settled && this.header) {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else if (!settled && this.headerError) {
          // Not a stream this decoder can read (a loader built from another version): say so
          // now rather than wait out startTimeoutMs.
          settled = true;
          clearTimeout(timer);
          child.kill('SIGTERM');
          reject(
            new SensorLoaderError(
              `sensor loader ${this.opts.loaderPath} sent a stream this package cannot read: ${this.headerError.message}`,
              null,
              '',
              { cause: this.headerError },
            ),
          );
        }
      };
      child.stdout?.on('data', (chunk: Buffer) => {
        this.onData(chunk);
        this.checkStarted();
      });
    });
  }

  private onStatsRecord(perCpu: readonly CpuStats[]): void {
    this.perCpu = perCpu;
    if (this.statsListeners.size > 0) {
      const st = this.stats;
      for (const l of this.statsListeners) l(st);
    }
  }

  private onData(chunk: Buffer): void {
    const w = this.worker;
    if (w !== undefined) {
      w.push(chunk);
      if (w.full && !this.stopping && !this.pausedForWorker) {
        this.pausedForWorker = true;
        this.child?.stdout?.pause();
      }
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.sliceScheduled) this.decodeSlice();
    else if (this.pendingBytes > READ_AHEAD_BYTES && !this.pausedForSlices) {
      this.pausedForSlices = true;
      this.child?.stdout?.pause();
    }
  }

  /**
   * Decodes what was read, up to SLICE_BYTES per event-loop turn: the rest
   * waits for the next turn, and past READ_AHEAD_BYTES the loader's output is
   * paused. A lone record (the idle path) is decoded at once.
   */
  private decodeSlice(): void {
    while (this.turnBudget > 0 && this.pending.length > 0) {
      const head = this.pending[0] as Buffer;
      const n = Math.min(this.turnBudget, head.length - this.pendingAt);
      const part =
        this.pendingAt === 0 && n === head.length ? head : head.subarray(this.pendingAt, this.pendingAt + n);
      this.pendingAt += n;
      this.pendingBytes -= n;
      this.turnBudget -= n;
      if (this.pendingAt >= head.length) {
        this.pending.shift();
        this.pendingAt = 0;
      }
      this.decodeChunk(part);
    }
    if (!this.turnStarted) {
      // The budget is per turn: renewed by the next turn's check phase, whatever read this one.
      this.turnStarted = true;
      setImmediate(() => this.nextTurn());
    }
    if (this.pending.length > 0) {
      this.sliceScheduled = true;
      return;
    }
    const idle = this.onIdle;
    this.onIdle = undefined;
    idle?.();
  }

  private nextTurn(): void {
    this.turnStarted = false;
    this.turnBudget = SLICE_BYTES;
    if (!this.sliceScheduled) return;
    this.decodeSlice();
    if (this.pending.length === 0) this.sliceScheduled = false;
    if (this.pausedForSlices && this.pendingBytes <= READ_AHEAD_BYTES / 2) {
      this.pausedForSlices = false;
      if (!this.queueFull()) this.child?.stdout?.resume();
    }
  }

  /** Resolves once every byte read was decoded. */
  private whenSliced(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onIdle = resolve;
    });
  }

  /** The iterator's queue is at its limit: the loader's output stays paused until it drains. */
  private queueFull(): boolean {
    return this.queued >= this.opts.queueLimit && this.queuesForIterator() && !this.stopping;
  }

  private decodeChunk(chunk: Buffer): void {
    for (const rec of this.decoder.push(chunk)) {
      if (!this.header && this.decoder.header) this.onHeader(this.decoder.header);
      if (rec.kind === REC_STATS) {
        this.onStatsRecord(rec.perCpu);
        continue;
      }
      this.onRecord(rec);
    }
    if (!this.header && this.decoder.header) this.onHeader(this.decoder.header);
    if (this.queueFull()) this.child?.stdout?.pause();
  }

  /** A stream header the decoder refused (another stream version, say): start() fails with it. */
  private headerError: SensorDecodeError | undefined;

  private onDecodeError(e: SensorDecodeError): void {
    if (!this.header && e.field.startsWith('header.')) this.headerError ??= e;
    this.opts.onError(e);
  }

  private onHeader(h: StreamHeader): void {
    this.header = h;
    this.pipeline.onHeader(h);
  }

  private get queued(): number {
    return this.queue.length - this.queueHead;
  }

  private take(): SyscallEvent | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const e = this.queue[this.queueHead];
    this.queue[this.queueHead] = undefined;
    this.queueHead++;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return e;
  }

  private onRecord(rec: KernelRecord): void {
    const rules = this.rules;
    if (rules !== undefined && this.listenerList.length === 0 && !this.iterated) {
      // Nothing else takes events: the rules read a view of the record, the event is built for a match only.
      const found = this.found;
      const view = this.pipeline.evaluate(rec, rules.ruleset, rules.options, found);
      if (view === undefined) return;
      rules.fn(view, found);
      if (found.length > 0) this.found = [];
      return;
    }
    const ev = this.pipeline.handle(rec);
    if (ev === undefined) return;
    if (rules !== undefined) rules.fn(ev, rules.ruleset.evaluate(ev, rules.options));
    const ls = this.listenerList;
    for (let i = 0; i < ls.length; i++) (ls[i] as (e: SyscallEvent) => void)(ev);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: ev, done: false });
    } else if (this.queuesForIterator()) {
      this.queue.push(ev);
    }
  }

  /** Whether an event goes to the queue: for an iterator, asked for already or still to come (no listener). */
  private queuesForIterator(): boolean {
    return this.iterated || (this.listeners.size === 0 && this.rules === undefined);
  }

  private finish(): void {
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      if (this.failure) {
        // Let the next call reject; wake the pending one with done so it re-polls.
        w({ value: undefined, done: true });
      } else {
        w({ value: undefined, done: true });
      }
    }
  }
}
