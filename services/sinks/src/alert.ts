/**
 * Alerts as they travel on SAKER_ALERTS and into the HTTP input: Falco's JSON
 * alert, validated once into a FalcoAlert, and rendered for an output as
 * Falco would write it (JSON line or text line).
 */
import { JsonDepthError, nsToFalcoTime, oneLineJson, parseJsonBounded } from '@saker/events';
import {
  type AlertJsonOptions,
  type FalcoAlert,
  type OutputFieldValue,
  formatAlertJson,
  parsePriority,
  priorityLabel,
} from '@saker/rules';
import { AlertValidationError } from './errors.js';

/** `output_fields` key carrying how many identical alerts one delivered alert stands for (dedup). */
export const DEDUP_COUNT_FIELD = 'saker.dedup.count';

/** Falco's format keys, as `alertFormatView` gives them. */
export interface AlertFormat {
  /** `json_output`: JSON lines, else Falco's text line. */
  readonly json: boolean;
  /** `json_include_output_property`. */
  readonly includeOutput: boolean;
  /** `json_include_tags_property`. */
  readonly includeTags: boolean;
  /** `json_include_output_fields_property`. */
  readonly includeOutputFields: boolean;
  /** `time_format_iso_8601`: the time at the head of the text line. */
  readonly timeIso8601: boolean;
}

export const DEFAULT_FORMAT: AlertFormat = Object.freeze({
  json: false,
  includeOutput: true,
  includeTags: true,
  includeOutputFields: true,
  timeIso8601: false,
});

/** An alert off the stream (or the input): the typed value and its JSON text as received. */
export interface ParsedAlert {
  readonly alert: FalcoAlert;
  /**
   * The JSON text as received, on one line (line breaks between tokens
   * dropped, the rest byte for byte): a body spread over several lines must
   * not become several alerts in the file output.
   */
  readonly text: string;
}

const ISO_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireString(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (v === undefined) throw new AlertValidationError(`$.${key}`, 'required');
  if (typeof v !== 'string')
    throw new AlertValidationError(`$.${key}`, `expected a string, got ${typeName(v)}`);
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Output field `key`'s value, checked. The path an error names is built only then: this runs for every field of every alert. */
function fieldValue(key: string, v: unknown): OutputFieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  const path = (): string => `$.output_fields[${JSON.stringify(key)}]`;
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        throw new AlertValidationError(
          `${path()}[${i}]`,
          `expected a string, number or boolean, got ${typeName(item)}`,
        );
      }
    });
    return v as OutputFieldValue;
  }
  throw new AlertValidationError(
    path(),
    `expected a string, number, boolean, null or list, got ${typeName(v)}`,
  );
}

/**
 * Validates a decoded JSON value as Falco's alert. Required: `rule`,
 * `priority` (any spelling Falco accepts), `time` (RFC 3339), `output`.
 * Optional: `source` (default `syscall`, as falcosidekick assumes),
 * `hostname` (default ''), `tags` (strings), `output_fields` (an object of
 * scalars, null or lists). Other keys are allowed and kept in the text.
 */
function toAlert(value: unknown): FalcoAlert {
  if (!isRecord(value)) throw new AlertValidationError('$', `expected a JSON object, got ${typeName(value)}`);
  const rule = requireString(value, 'rule');
  if (rule === '') throw new AlertValidationError('$.rule', 'must not be empty');
  const priorityText = requireString(value, 'priority');
  const priority = parsePriority(priorityText);
  if (priority === undefined) {
    throw new AlertValidationError('$.priority', `${JSON.stringify(priorityText)} is not a Falco priority`);
  }
  const time = requireString(value, 'time');
  if (!ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) {
    throw new AlertValidationError('$.time', `expected an RFC 3339 time, got ${JSON.stringify(time)}`);
  }
  const output = requireString(value, 'output');
  const source = value.source === undefined ? 'syscall' : requireString(value, 'source');
  const hostname = value.hostname === undefined ? '' : requireString(value, 'hostname');
  let tags: string[] = [];
  if (value.tags !== undefined && value.tags !== null) {
    if (!Array.isArray(value.tags)) {
      throw new AlertValidationError('$.tags', `expected a list of strings, got ${typeName(value.tags)}`);
    }
    tags = value.tags.map((t, i) => {
      if (typeof t !== 'string')
        throw new AlertValidationError(`$.tags[${i}]`, `expected a string, got ${typeName(t)}`);
      return t;
    });
  }
  // No prototype: a `__proto__` key is a field like any other, not the object's prototype.
  const fields: Record<string, OutputFieldValue> = Object.create(null);
  if (value.output_fields !== undefined && value.output_fields !== null) {
    if (!isRecord(value.output_fields)) {
      throw new AlertValidationError(
        '$.output_fields',
        `expected an object, got ${typeName(value.output_fields)}`,
      );
    }
    for (const [k, v] of Object.entries(value.output_fields)) {
      fields[k] = fieldValue(k, v);
    }
  }
  return {
    hostname,
    output,
    priority: priorityLabel(priority),
    rule,
    source,
    tags,
    time,
    output_fields: fields,
  };
}

/** Decodes and validates one alert body (UTF-8 JSON). Throws AlertValidationError. */
export function parseAlert(data: Uint8Array | string): ParsedAlert {
  let text: string;
  try {
    text = typeof data === 'string' ? data : decoder.decode(data);
  } catch {
    throw new AlertValidationError('$', 'not valid UTF-8');
  }
  let value: unknown;
  try {
    value = parseJsonBounded(text);
  } catch (err) {
    if (err instanceof JsonDepthError) throw new AlertValidationError('$', err.message);
    throw new AlertValidationError('$', `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { alert: toAlert(value), text: oneLineJson(text.trim()) };
}

function isDefaultJson(format: AlertFormat): boolean {
  return format.includeOutput && format.includeTags && format.includeOutputFields;
}

/**
 * The alert's JSON line for an output. The text as received when it is
 * unchanged and every `json_include_*` key is true, so keys Saker does not
 * model and nanosecond digits pass through byte for byte; otherwise
 * formatAlertJson (Falco's byte layout).
 */
export function alertJson(parsed: ParsedAlert, format: AlertFormat, changed: boolean): string {
  if (!changed && isDefaultJson(format)) return parsed.text;
  const opts: AlertJsonOptions = {
    includeOutput: format.includeOutput,
    includeTags: format.includeTags,
    includeOutputFields: format.includeOutputFields,
  };
  return formatAlertJson(parsed.alert, opts);
}

/** Nanoseconds since the epoch, as digits, of an RFC 3339 time (undefined when it does not parse). */
export function timeToNs(time: string): string | undefined {
  const m = ISO_TIME.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return (BigInt(ms / 1000) * 1_000_000_000n + BigInt(frac)).toString();
}

// Falco's text line starts with its time: `16:17:57.881781397: ` or `2016-08-04T16:17:57.881781397+0000: `.
const TEXT_TIME_PREFIX = /^(?:\d{4}-\d\d-\d\dT)?\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d{4}|Z)?: /;

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with control characters written as escapes (`\n`, `\x1b`,
 * `\u2028`): field values are attacker-controlled (a cmdline with a newline
 * would forge a second alert line; an ANSI sequence would drive the reader's
 * terminal).
 */
function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const named = NAMED_ESCAPES[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Falco's text line for the alert, with the leading time in the output's
 * `time_format_iso_8601` form (the engine that wrote `output` may have used
 * the other), and ` (saker.dedup.count=N)` appended when it stands for
 * several identical alerts. Control characters are escaped (escapeControl)
 * unless `escaped` is false, for an output with an escaping of its own
 * (syslog's `#ooo`).
 */
export function alertText(alert: FalcoAlert, format: AlertFormat, escaped = true): string {
  let line = escaped ? escapeControl(alert.output) : alert.output;
  const ns = timeToNs(alert.time);
  if (ns !== undefined && TEXT_TIME_PREFIX.test(line)) {
    line = line.replace(TEXT_TIME_PREFIX, `${nsToFalcoTime(ns, format.timeIso8601)}: `);
  }
  const count = alert.output_fields[DEDUP_COUNT_FIELD];
  if (typeof count === 'number' && count > 1) line += ` (${DEDUP_COUNT_FIELD}=${count})`;
  return line;
}

/**
 * The line an output writes for the alert: its JSON or its text, per
 * `json_output`. `escaped` as for alertText.
 */
export function alertLine(alert: FalcoAlert, json: string, format: AlertFormat, escaped = true): string {
  return format.json ? json : alertText(alert, format, escaped);
}
