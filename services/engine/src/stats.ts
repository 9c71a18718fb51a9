/**
 * Engine stats on the bus. Events travel on core NATS, at most once: a replica
 * that dies loses what it had taken and not finished. To account for that loss,
 * every replica publishes its counters on `saker.v1.engine.stats.<replica>`
 * while they change (at most every statsMinIntervalMs) and as a heartbeat
 * (every statsIntervalMs). After a replica dies, its last report bounds what
 * it lost: `inFlight`. See docs/engine.md. The subjects are declared with the
 * others in @saker/bus: `SUBJECTS.engineStats(replica)`, `SUBJECTS.allEngineStats`.
 */

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

export class EngineStatsError extends Error {
  override readonly name = 'EngineStatsError';
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`engine stats ${path}: ${reason}`);
    this.path = path;
  }
}

export function encodeEngineStats(stats: EngineStats): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(stats));
}

/** Decodes and checks a stats message; throws EngineStatsError naming the bad field. */
export function decodeEngineStats(data: Uint8Array): EngineStats {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new EngineStatsError('$', `not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EngineStatsError('$', 'expected an object');
  }
  const o = value as Record<string, unknown>;
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
  return o as unknown as EngineStats;
}
