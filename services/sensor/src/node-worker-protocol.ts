/** The messages between the sensor and its node worker (node-worker.ts, node-worker-thread.ts). */
import type { CpuStats, StreamHeader } from './decoder.js';
import type { NodeEvaluation } from './node-evaluator.js';

/** workerData: what the worker needs before the first chunk. */
export interface NodeWorkerInit {
  readonly hostname: string;
  readonly maxAncestors: number;
  readonly validate: boolean;
  /** Syscall ids published as events (the rest only update the table); undefined: all. */
  readonly emittedIds?: readonly number[];
  readonly evaluation: NodeEvaluation;
}

/** Events of watched processes by `self|child type path`. */
export type WatchCounts = Record<string, number>;

export interface WorkerCounts {
  /** Events built (syscall records of the emitted set). */
  readonly events: number;
  readonly evaluated: number;
  readonly matches: number;
  readonly invalidEvents: number;
  readonly decodeErrors: number;
}

export type ToWorker =
  /** `length` bytes of `buf` (transferred: the main thread no longer holds it). */
  | { readonly t: 'chunk'; readonly buf: ArrayBuffer; readonly length: number }
  | { readonly t: 'emitted'; readonly ids: readonly number[] }
  /** New rules, swapped between two chunks. */
  | { readonly t: 'rules'; readonly evaluation: NodeEvaluation }
  | { readonly t: 'watch'; readonly pids: readonly number[]; readonly clear: boolean }
  | { readonly t: 'end' };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'header'; readonly header: StreamHeader }
  | { readonly t: 'stats'; readonly perCpu: readonly CpuStats[] }
  | { readonly t: 'decodeError'; readonly offset: number; readonly field: string; readonly reason: string }
  | { readonly t: 'invalid'; readonly message: string }
  /** The rules of a `rules` message did not load; the old ones stay. */
  | { readonly t: 'rulesRefused'; readonly message: string }
  | {
      readonly t: 'done';
      readonly bytes: number;
      /** Falco JSON lines. */
      readonly alerts: readonly string[];
      readonly counts: WorkerCounts;
      readonly watched?: WatchCounts;
    }
  | { readonly t: 'ended'; readonly counts: WorkerCounts };
