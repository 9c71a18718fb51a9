/**
 * The node worker, main-thread side: the thread that reads the loader's
 * stream hands each chunk to one worker thread (node-worker-thread.ts) that
 * decodes, keeps the process table, evaluates the rules and formats the
 * alerts, and gets back only alerts, stats records and counters.
 *
 * Chunks are transferred, not copied: the ArrayBuffer a pipe read filled is
 * moved into the worker (a copy only when the chunk shares its buffer).
 *
 * Back-pressure: the bytes handed over and not yet processed are counted
 * (`inFlightBytes`). Past `maxInFlightBytes` the Sensor pauses the loader's
 * output until they fall under half of it; the loader then blocks, the
 * kernel's ring buffer fills and the probe counts `drop_ringbuf`, which the
 * sensor service reports per window (metrics, Falco's "syscall event drop"
 * alert). So a slow worker costs counted drops, never an unbounded queue;
 * and no record is skipped in user space, so the process table never misses
 * an exec, fork or exit it was sent.
 */
import { Worker } from 'node:worker_threads';
import type { CpuStats, StreamHeader } from './decoder.js';
import { SensorDecodeError } from './errors.js';
import type { NodeEvaluation } from './node-evaluator.js';
import type {
  FromWorker,
  NodeWorkerInit,
  ToWorker,
  WatchCounts,
  WorkerCounts,
} from './node-worker-protocol.js';

const THREAD = new URL('./node-worker-thread.js', import.meta.url);

/** What the Sensor is told about. */
export interface NodeWorkerHandlers {
  readonly onHeader: (h: StreamHeader) => void;
  readonly onStats: (perCpu: readonly CpuStats[]) => void;
  readonly onAlerts: (lines: readonly string[]) => void;
  readonly onError: (err: Error) => void;
  /** In-flight bytes fell under half the bound: the output may resume. */
  readonly onDrained: () => void;
  /** The worker died (not by end()). */
  readonly onFailure: (err: Error) => void;
}

class NodeWorkerError extends Error {
  override readonly name = 'NodeWorkerError';
}

const ZERO_COUNTS: WorkerCounts = { events: 0, evaluated: 0, matches: 0, invalidEvents: 0, decodeErrors: 0 };

export class NodeWorker {
  /** Bytes handed to the worker and not yet processed. */
  inFlightBytes = 0;
  /** The most bytes ever in flight (what the bound held to). */
  peakInFlightBytes = 0;
  /** Chunks that had to be copied (they shared their ArrayBuffer). */
  copiedChunks = 0;
  counts: WorkerCounts = ZERO_COUNTS;
  readonly #watched = new Map<string, number>();
  readonly #worker: Worker;
  readonly #h: NodeWorkerHandlers;
  #ended: Promise<void> | undefined;
  #endResolve: (() => void) | undefined;
  #exited = false;

  private constructor(
    worker: Worker,
    h: NodeWorkerHandlers,
    readonly maxInFlightBytes: number,
  ) {
    this.#worker = worker;
    this.#h = h;
  }

  /** Starts the thread; resolves once its rules are loaded. */
  static start(init: NodeWorkerInit, maxInFlightBytes: number, h: NodeWorkerHandlers): Promise<NodeWorker> {
    const worker = new Worker(THREAD, { workerData: init, name: 'saker-node-worker' });
    const nw = new NodeWorker(worker, h, maxInFlightBytes);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          ready = true;
          resolve(nw);
        } else if (m.t === 'failed') {
          reject(new NodeWorkerError(m.message));
        } else nw.#onMessage(m);
      });
      worker.on('error', (err) => {
        if (!ready)
          reject(new NodeWorkerError(`the node worker failed to start: ${err.message}`, { cause: err }));
        else h.onFailure(new NodeWorkerError(`the node worker failed: ${err.message}`, { cause: err }));
      });
      worker.on('exit', (code) => {
        nw.#exited = true;
        nw.#endResolve?.();
        if (!ready) reject(new NodeWorkerError(`the node worker exited with ${code} before it was ready`));
        else if (nw.#ended === undefined)
          h.onFailure(new NodeWorkerError(`the node worker exited with ${code} while the sensor ran`));
      });
    });
  }

  /** Hands a chunk of the stream over (in order); the caller must not use it afterwards. */
  push(chunk: Uint8Array): void {
    if (this.#ended !== undefined) return;
    let buf = chunk.buffer as ArrayBuffer;
    if (chunk.byteOffset !== 0 || buf.byteLength !== chunk.byteLength || buf instanceof SharedArrayBuffer) {
      // A slice of a larger (pooled) buffer: moving it would take the rest away from its owner.
      buf = chunk.slice().buffer as ArrayBuffer;
      this.copiedChunks++;
    }
    this.inFlightBytes += chunk.byteLength;
    if (this.inFlightBytes > this.peakInFlightBytes) this.peakInFlightBytes = this.inFlightBytes;
    const m: ToWorker = { t: 'chunk', buf, length: chunk.byteLength };
    this.#worker.postMessage(m, [buf]);
  }

  /** Over the bound: the reader should stop reading. */
  get full(): boolean {
    return this.inFlightBytes >= this.maxInFlightBytes;
  }

  setEmitted(ids: readonly number[]): void {
    this.#post({ t: 'emitted', ids });
  }

  /** Swaps the worker's rules between two chunks; a ruleset that does not load is reported to onError and the old one stays. */
  setRules(evaluation: NodeEvaluation): void {
    this.#post({ t: 'rules', evaluation });
  }

  /** Counts the events of `pids` and their children by type and path from now on (`clear` forgets the old ones). */
  watch(pids: readonly number[], clear = false): void {
    this.#post({ t: 'watch', pids, clear });
  }

  /** Events of watched processes so far, by `self|child type path`. */
  get watched(): ReadonlyMap<string, number> {
    return this.#watched;
  }

  /** Lets the worker finish every chunk it was given, then ends it. */
  end(): Promise<void> {
    if (this.#ended === undefined) {
      this.#ended = this.#exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#endResolve = resolve;
            this.#post({ t: 'end' });
          }).then(async () => {
            await this.#worker.terminate();
          });
    }
    return this.#ended;
  }

  #post(m: ToWorker): void {
    if (!this.#exited) this.#worker.postMessage(m);
  }

  #onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'done': {
        this.inFlightBytes -= m.bytes;
        this.counts = m.counts;
        if (m.watched !== undefined)
          for (const [k, n] of Object.entries(m.watched as WatchCounts))
            this.#watched.set(k, (this.#watched.get(k) ?? 0) + n);
        if (m.alerts.length > 0) this.#h.onAlerts(m.alerts);
        if (this.inFlightBytes < this.maxInFlightBytes / 2) this.#h.onDrained();
        break;
      }
      case 'header':
        this.#h.onHeader(m.header);
        break;
      case 'stats':
        this.#h.onStats(m.perCpu);
        break;
      case 'decodeError':
        this.#h.onError(new SensorDecodeError(m.offset, m.field, m.reason));
        break;
      case 'rulesRefused':
        this.#h.onError(
          new NodeWorkerError(`node worker: new rules refused, the old ones stay: ${m.message}`),
        );
        break;
      case 'invalid':
        this.#h.onError(new NodeWorkerError(`node worker: an event did not build: ${m.message}`));
        break;
      case 'ended':
        this.counts = m.counts;
        this.#endResolve?.();
        break;
      case 'ready':
      case 'failed':
        break;
    }
  }
}
