/**
 * Engine stats on the bus. Events travel on core NATS, at most once: a replica
 * that dies loses what it had taken and not finished. To account for that loss,
 * every replica publishes its counters on `saker.v1.engine.stats.<replica>`
 * while they change (at most every statsMinIntervalMs) and as a heartbeat
 * (every statsIntervalMs). After a replica dies, its last report bounds what
 * it lost: `inFlight`. See docs/engine.md. The subjects are declared with the
 * others in @saker/bus: `SUBJECTS.engineStats(replica)`, `SUBJECTS.allEngineStats`.
 */
import { StatusReportError, parseReportObject } from '@saker/bus';

export type EngineState = 'running' | 'draining' | 'stopped';

/** One report. Counters count from the replica's start. */
export interface EngineStats {
  readonly replica: string;
  readonly state: EngineState;
  /** Reports from this replica so far, 1 for the first. */
  readonly seq: number;
  /** Wall clock of the report, ms since the epoch. */
  readonly time: number;
  /** KV revision of the ruleset in use (0: the one given at start). */
  readonly revision: number;
  readonly batches: number;
  readonly malformedBatches: number;
  /** Event lines taken off the bus. */
  readonly received: number;
  /** Lines refused by validation. */
  readonly invalid: number;
  /** Valid events dropped unevaluated (overload). */
  readonly dropped: number;
  /** Events evaluated whose alerts were acknowledged. */
  readonly evaluated: number;
  /** received - invalid - dropped - evaluated: what a crash now would lose. */
  readonly inFlight: number;
  readonly alertsPublished: number;
  readonly alertsFailed: number;
  readonly reloadFailures: number;
  /**
   * How far behind the replica is, in ms: how long the oldest event it holds
   * (taken off the syscall subscription or the audit feed, and not yet
   * evaluated with its alerts stored) has been waiting; 0 when it holds none.
   * Absent from the reports of older replicas.
   */
  readonly lagMs?: number;
  /**
   * Audit batches stored in SAKER_AUDIT and not yet delivered to the engines'
   * durable consumer (its num_pending, shared by the replicas); absent when
   * the replica does not read the audit stream.
   */
  readonly auditPending?: number;
}

const NUMERIC = [
  'seq',
  'time',
  'revision',
  'batches',
  'malformedBatches',
  'received',
  'invalid',
  'dropped',
  'evaluated',
  'inFlight',
  'alertsPublished',
  'alertsFailed',
  'reloadFailures',
] as const;

/** Fields newer replicas add; absent from older ones' reports. */
const OPTIONAL = ['lagMs', 'auditPending'] as const;

export class EngineStatsError extends StatusReportError {
  override readonly name = 'EngineStatsError';

  constructor(path: string, reason: string) {
    super('engine stats', path, reason);
  }
}

export function encodeEngineStats(stats: EngineStats): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(stats));
}

/** Decodes and checks a stats message; throws EngineStatsError naming the bad field. */
export function decodeEngineStats(data: Uint8Array): EngineStats {
  const o = parseReportObject(data, (path, reason) => new EngineStatsError(path, reason));
  if (typeof o.replica !== 'string') throw new EngineStatsError('$.replica', 'expected a string');
  if (o.state !== 'running' && o.state !== 'draining' && o.state !== 'stopped') {
    throw new EngineStatsError('$.state', 'expected "running", "draining" or "stopped"');
  }
  for (const k of NUMERIC) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new EngineStatsError(`$.${k}`, 'expected a number');
    }
  }
  for (const k of OPTIONAL) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new EngineStatsError(`$.${k}`, 'expected a number >= 0');
    }
  }
  return o as unknown as EngineStats;
}
