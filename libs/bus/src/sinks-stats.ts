/**
 * A sinks instance's delivery report on `saker.v1.sinks.stats.<instance>`,
 * every `intervalMs` (5 s by default) and once more when it stops: per
 * output, what it delivered, failed, retried and dead-lettered since the
 * instance started, and its last error. The UI's health view reads these, so
 * a sinks pod's figures reach it without anyone scraping the pod's /metrics.
 * Core NATS, at most once: the counters are running totals, so a lost report
 * is made up by the next. docs/bus.md describes the fields.
 */
import { StatusReportError, parseReportObject, reportCount, reportString } from './sensor-stats.js';
import { toToken } from './subjects.js';

/** The last failed delivery of an output: when, and the error (redacted, at most SINKS_ERROR_MAX characters). */
export interface SinksLastError {
  /** Epoch ms. */
  readonly time: number;
  readonly message: string;
}

/** One output's counters, since the instance started. */
export interface SinksOutputStats {
  readonly name: string;
  readonly delivered: number;
  /** Alerts in failed delivery attempts (retryable or permanent). */
  readonly failed: number;
  /** Alerts handed back to the stream for another attempt. */
  readonly retried: number;
  /** Alerts given up on and stored on `saker.v1.deadletter.<output>`. */
  readonly deadLettered: number;
  /** Alerts skipped: below the output's minimum priority or outside its condition. */
  readonly filtered: number;
  readonly lastError: SinksLastError | null;
}

export interface SinksStats {
  /** The instance's name (by default `<os.hostname()>-<pid>`); the subject carries it as a token. */
  readonly instance: string;
  /** Saker's version. */
  readonly version: string;
  /** `stopped` in the report sent at stop. */
  readonly state: 'running' | 'stopped';
  /** Epoch ms of the report. */
  readonly time: number;
  /** How often the instance reports: a reader calls it stale after a few of these without one. */
  readonly intervalMs: number;
  readonly outputs: readonly SinksOutputStats[];
}

/** The longest error message a report carries (the publisher cuts it, with "…"). */
export const SINKS_ERROR_MAX = 512;
/** The most outputs one report may list. */
const OUTPUTS_MAX = 256;

const fail = (path: string, reason: string): StatusReportError =>
  new StatusReportError('sinks stats', path, reason);

export function encodeSinksStats(stats: SinksStats): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(stats));
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(path, 'expected an object');
  return v as Record<string, unknown>;
}

/** The latest time a Date holds: a report's times must stay below it. */
const TIME_MAX = 8.64e15;

function time(o: Record<string, unknown>, path: string): number {
  const t = reportCount(o, 'time', path, fail);
  if (t > TIME_MAX) throw fail(`${path}.time`, 'expected epoch milliseconds');
  return t;
}

function lastError(v: unknown, path: string): SinksLastError | null {
  if (v === null) return null;
  const o = object(v, path);
  return {
    time: time(o, path),
    message: reportString(o, 'message', path, SINKS_ERROR_MAX, fail),
  };
}

function output(v: unknown, path: string): SinksOutputStats {
  const o = object(v, path);
  const name = reportString(o, 'name', path, 256, fail);
  if (name === '' || toToken(name) !== name) throw fail(`${path}.name`, 'expected a subject token');
  const n = (k: string): number => reportCount(o, k, path, fail);
  return {
    name,
    delivered: n('delivered'),
    failed: n('failed'),
    retried: n('retried'),
    deadLettered: n('deadLettered'),
    filtered: n('filtered'),
    lastError: lastError(o.lastError ?? null, `${path}.lastError`),
  };
}

/**
 * Decodes and checks a report; throws StatusReportError naming the bad field.
 * `token`, the subject's last token, must be the instance's. Unknown fields
 * are dropped.
 */
export function decodeSinksStats(data: Uint8Array, token: string): SinksStats {
  const o = parseReportObject(data, fail);
  const instance = reportString(o, 'instance', '$', 256, fail);
  if (toToken(instance) !== token) throw fail('$.instance', `does not match the subject's token ${token}`);
  if (o.state !== 'running' && o.state !== 'stopped')
    throw fail('$.state', 'expected "running" or "stopped"');
  const list = o.outputs;
  if (!Array.isArray(list) || list.length > OUTPUTS_MAX)
    throw fail('$.outputs', `expected an array of at most ${OUTPUTS_MAX} outputs`);
  const outputs = list.map((v, i) => output(v, `$.outputs[${i}]`));
  if (new Set(outputs.map((x) => x.name)).size !== outputs.length)
    throw fail('$.outputs', 'an output is listed twice');
  return {
    instance,
    version: reportString(o, 'version', '$', 256, fail),
    state: o.state,
    time: time(o, '$'),
    intervalMs: reportCount(o, 'intervalMs', '$', fail),
    outputs,
  };
}

/** `message` cut to SINKS_ERROR_MAX characters (the last one "…" when cut). */
export function clipSinksError(message: string): string {
  if (message.length <= SINKS_ERROR_MAX) return message;
  // Never half a surrogate pair.
  const cut = message.slice(0, SINKS_ERROR_MAX - 1).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}…`;
}
