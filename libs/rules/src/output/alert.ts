import { nsToFalcoTime, nsToIso } from '@saker/events';
import type { RuleMatch } from '../loader/types.js';
import { priorityLabel } from '../priority.js';
import type { OutputFieldValue } from './format.js';

/**
 * An alert in the shape of Falco's JSON output, keys in Falco's order
 * (alphabetical, with `output_fields` last). Every consumer that speaks
 * Falco (falcosidekick, SIEM pipelines) reads this shape.
 */
export interface FalcoAlert {
  readonly hostname: string;
  /** The full text line: time, priority and the rule's formatted output. */
  readonly output: string;
  /** `Warning`, `Informational`, ... */
  readonly priority: string;
  readonly rule: string;
  readonly source: string;
  /** Sorted, as Falco keeps them in a set. */
  readonly tags: readonly string[];
  /** `2016-08-04T16:17:57.881781397Z` */
  readonly time: string;
  /**
   * The fields of the output, keys sorted, plus the time field Falco puts at
   * the head of the line (`evt.time` or `evt.time.iso8601`). Time fields hold
   * nanoseconds since the epoch, which a JS number cannot hold exactly;
   * formatAlertJson writes their exact digits from `time`.
   */
  readonly output_fields: Readonly<Record<string, OutputFieldValue>>;
}

export interface AlertOptions {
  /** The host that reports the alert (Falco's `hostname`). */
  readonly hostname: string;
  /** Falco's `time_format_iso_8601`. Default false. */
  readonly timeIso8601?: boolean;
}

export interface AlertJsonOptions {
  /** Falco's `json_include_output_property`. Default true. */
  readonly includeOutput?: boolean;
  /** Falco's `json_include_tags_property`. Default true. */
  readonly includeTags?: boolean;
  /** Falco's `json_include_output_fields_property`. Default true. */
  readonly includeOutputFields?: boolean;
}

/**
 * Fields whose JSON value is the event time in integer nanoseconds. libsinsp
 * renders every time-of-event field this way in JSON, whatever its text form.
 */
const TIME_NS_FIELDS: ReadonlySet<string> = new Set([
  'evt.time',
  'evt.time.s',
  'evt.time.iso8601',
  'evt.datetime',
  'evt.datetime.s',
  'evt.rawtime',
]);

/** The time field Falco prefixes to every rule output. */
function timeField(iso8601: boolean): string {
  return iso8601 ? 'evt.time.iso8601' : 'evt.time';
}

/** The text line without a trailing newline: `<time>: <Priority> <output>`. */
function textLine(match: RuleMatch, iso8601: boolean): string {
  return `${nsToFalcoTime(match.event.ts, iso8601)}: ${priorityLabel(match.rule.priority)} ${match.output}`;
}

function sortedRecord(
  rec: Readonly<Record<string, OutputFieldValue>>,
  extraKey: string,
  extraValue: OutputFieldValue,
): Record<string, OutputFieldValue> {
  const keys = Object.keys(rec);
  if (!Object.hasOwn(rec, extraKey)) keys.push(extraKey);
  keys.sort(compareKeys);
  const out: Record<string, OutputFieldValue> = {};
  for (const k of keys) out[k] = k === extraKey ? extraValue : (rec[k] as OutputFieldValue);
  return out;
}

/** Byte order for ASCII keys, as Falco's std::map sorts them. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toFalcoAlert(match: RuleMatch, opts: AlertOptions): FalcoAlert {
  const iso = opts.timeIso8601 ?? false;
  const ts = match.event.ts;
  return {
    hostname: opts.hostname,
    output: textLine(match, iso),
    priority: priorityLabel(match.rule.priority),
    rule: match.rule.name,
    source: match.rule.source,
    tags: [...match.rule.tags].sort(compareKeys),
    time: nsToIso(ts),
    output_fields: sortedRecord(match.outputFields, timeField(iso), Number(ts)),
  };
}

/** Nanoseconds since the epoch, as decimal digits, from `2016-08-04T16:17:57.881781397Z`. */
function isoToNsDigits(iso: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(iso);
  if (!m) return undefined;
  const secs = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(secs)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return (BigInt(secs / 1000) * 1_000_000_000n + BigInt(frac)).toString();
}

function jsonValue(v: OutputFieldValue | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}

/**
 * One alert as Falco writes it with `json_output: true`, byte for byte:
 * compact, keys sorted, then `, "output_fields": {...}` (Falco appends the
 * fields object to the alert object with that separator).
 */
export function formatAlertJson(alert: FalcoAlert, opts: AlertJsonOptions = {}): string {
  const includeOutput = opts.includeOutput ?? true;
  const includeTags = opts.includeTags ?? true;
  const includeFields = opts.includeOutputFields ?? true;
  let s = `{"hostname":${JSON.stringify(alert.hostname)}`;
  if (includeOutput) s += `,"output":${JSON.stringify(alert.output)}`;
  s += `,"priority":${JSON.stringify(alert.priority)}`;
  s += `,"rule":${JSON.stringify(alert.rule)}`;
  s += `,"source":${JSON.stringify(alert.source)}`;
  if (includeTags) s += `,"tags":${JSON.stringify(alert.tags)}`;
  s += `,"time":${JSON.stringify(alert.time)}`;
  if (includeFields) {
    const ns = isoToNsDigits(alert.time);
    let f = '';
    for (const key of Object.keys(alert.output_fields).sort(compareKeys)) {
      const v = alert.output_fields[key];
      const text = ns !== undefined && TIME_NS_FIELDS.has(key) && v !== null ? ns : jsonValue(v);
      f += `${f === '' ? '' : ','}${JSON.stringify(key)}:${text}`;
    }
    s += `, "output_fields": {${f}}`;
  }
  return `${s}}`;
}

function isFalcoAlert(x: FalcoAlert | RuleMatch): x is FalcoAlert {
  return typeof (x as FalcoAlert).time === 'string';
}

/**
 * Falco's text line, `2016-08-04T16:17:57.881781397+0000: Warning An open was seen ...`.
 * An alert already carries it; a match is formatted with `timeIso8601` (default false).
 */
export function formatAlertText(
  alertOrMatch: FalcoAlert | RuleMatch,
  opts: { readonly timeIso8601?: boolean } = {},
): string {
  if (isFalcoAlert(alertOrMatch)) return alertOrMatch.output;
  return textLine(alertOrMatch, opts.timeIso8601 ?? false);
}
