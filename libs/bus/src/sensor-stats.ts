/**
 * A sensor's status report on `saker.v1.sensor.stats.<node>`, one per stats
 * window of the probe (every second by default): what it captured and what it
 * lost, per stage, so the UI's health view and any custom consumer see drops
 * (Falco's `syscall_event_drops` counters) without reaching each node's
 * /metrics. Core NATS, at most once: a lost report is followed by the next,
 * and the running totals make up for it. docs/bus.md describes the fields.
 */

/** Drops by where they happened: ring buffer, scratch map, enter map (kernel), batcher (behind the bus). */
export interface SensorDrops {
  readonly ringbuf: number;
  readonly scratch: number;
  readonly enterFull: number;
  readonly batcher: number;
}

export interface SensorStats {
  /** The node's name as the sensor knows it (its events' hostname; the subject carries it as a token). */
  readonly node: string;
  /** Saker's version on the node. */
  readonly version: string;
  /** Epoch ms at the window's end. */
  readonly time: number;
  /** Seconds the window covers. */
  readonly windowS: number;
  /** Records the probe submitted in the window. */
  readonly events: number;
  /** Drops in the window, by stage. */
  readonly drops: SensorDrops;
  /** Dropped / (submitted + dropped in the kernel) in the window. */
  readonly ratio: number;
  /** Records submitted since the sensor started. */
  readonly eventsTotal: number;
  /** Drops since the sensor started, by stage. */
  readonly dropsTotal: SensorDrops;
}

/** A status report (a sensor's, an engine's) that is not what its decoder expects; `path` names the field. */
export class StatusReportError extends Error {
  override readonly name: string = 'StatusReportError';
  readonly path: string;

  constructor(report: string, path: string, reason: string) {
    super(`${report} ${path}: ${reason}`);
    this.path = path;
  }
}

/** A report's JSON object, or StatusReportError from `fail('$', reason)`. */
export function parseReportObject(
  data: Uint8Array,
  fail: (path: string, reason: string) => StatusReportError,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw fail('$', `not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail('$', 'expected an object');
  return value as Record<string, unknown>;
}

const fail = (path: string, reason: string): StatusReportError =>
  new StatusReportError('sensor stats', path, reason);

const STAGES = ['ringbuf', 'scratch', 'enterFull', 'batcher'] as const;

export function encodeSensorStats(stats: SensorStats): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(stats));
}

/** `o[key]`, a finite number >= 0, or the error `fail` makes naming `<path>.<key>`. */
export function reportCount(
  o: Record<string, unknown>,
  key: string,
  path: string,
  failWith: (path: string, reason: string) => StatusReportError = fail,
): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw failWith(`${path}.${key}`, 'expected a number >= 0');
  return v;
}

const count = (o: Record<string, unknown>, key: string, path: string): number => reportCount(o, key, path);

/** `o[key]`, a string of at most `max` characters, or the error `fail` makes naming `<path>.<key>`. */
export function reportString(
  o: Record<string, unknown>,
  key: string,
  path: string,
  max: number,
  failWith: (path: string, reason: string) => StatusReportError = fail,
): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max)
    throw failWith(`${path}.${key}`, `expected a string of at most ${max} characters`);
  return v;
}

function drops(v: unknown, path: string): SensorDrops {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(path, 'expected an object');
  const o = v as Record<string, unknown>;
  const [ringbuf, scratch, enterFull, batcher] = STAGES.map((k) => count(o, k, path));
  return { ringbuf: ringbuf ?? 0, scratch: scratch ?? 0, enterFull: enterFull ?? 0, batcher: batcher ?? 0 };
}

/** Decodes and checks a report; throws StatusReportError naming the bad field. Unknown fields are dropped. */
export function decodeSensorStats(data: Uint8Array): SensorStats {
  const o = parseReportObject(data, fail);
  return {
    node: reportString(o, 'node', '$', 256),
    version: reportString(o, 'version', '$', 256),
    time: count(o, 'time', '$'),
    windowS: count(o, 'windowS', '$'),
    events: count(o, 'events', '$'),
    drops: drops(o.drops, '$.drops'),
    ratio: count(o, 'ratio', '$'),
    eventsTotal: count(o, 'eventsTotal', '$'),
    dropsTotal: drops(o.dropsTotal, '$.dropsTotal'),
  };
}

/** The sum of a report's drops. */
export function sumDrops(d: SensorDrops): number {
  return d.ringbuf + d.scratch + d.enterFull + d.batcher;
}
