/**
 * Alerts NATS did not take in time wait here, in order, and are sent again
 * when it returns: an outage longer than the publisher's retries no longer
 * loses them. The spool is bounded (`maxBytes`); past it, new alerts are
 * dropped and counted. With a directory it is also a file
 * (`alert-spool.jsonl`, one alert per line), so alerts survive an engine
 * restart; without one it lives in memory.
 *
 * Resending uses each alert's msgId, so an alert that was stored after all
 * (its acknowledgement lost) is not stored twice within the stream's
 * duplicate window, and the W3C trace context its first publish carried
 * (`traceparent`, `tracestate`), so its delivery continues the alert's trace.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BusHeaders } from '@saker/bus';
import type { OutgoingAlert } from './alerts.js';

export interface AlertSpoolOptions {
  /** Directory of the spool file; null: memory only. */
  readonly dir: string | null;
  /** Most bytes of alert data held (the file's lines are ~1.4× that). */
  readonly maxBytes: number;
  readonly log: (line: string) => void;
}

export const SPOOL_FILE = 'alert-spool.jsonl';

/** An alert waiting, with the trace context (W3C headers) of its first publish; {} without one. */
interface SpooledAlert {
  readonly alert: OutgoingAlert;
  readonly trace: BusHeaders;
}

interface SpoolLine {
  subject: string;
  msgId: string;
  data: string;
  trace?: BusHeaders;
}

// W3C Trace Context: version-traceid-parentid-flags, lowercase hex.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
// tracestate: at most 32 list members of printable ASCII; no control character can reach a header.
const TRACESTATE = /^[\x20-\x7e]{0,512}$/;

/** The trace context among a publish's headers: traceparent (and tracestate), when well formed. */
function traceOf(headers: Readonly<Record<string, unknown>> | undefined): BusHeaders | undefined {
  if (headers === undefined) return {};
  const { traceparent, tracestate } = headers;
  if (traceparent === undefined) return {};
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return undefined;
  if (tracestate === undefined) return { traceparent };
  if (typeof tracestate !== 'string' || !TRACESTATE.test(tracestate)) return undefined;
  return { traceparent, tracestate };
}

function encodeLine(e: SpooledAlert): string {
  const line: SpoolLine = {
    subject: e.alert.subject,
    msgId: e.alert.msgId,
    data: Buffer.from(e.alert.data).toString('base64'),
    ...(e.trace.traceparent === undefined ? {} : { trace: e.trace }),
  };
  return `${JSON.stringify(line)}\n`;
}

/** A spool file line; `trace` undefined when the line's trace context is malformed (sent without). */
function decodeLine(text: string): { alert: OutgoingAlert; trace: BusHeaders | undefined } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.subject !== 'string' || typeof o.msgId !== 'string' || typeof o.data !== 'string')
    return undefined;
  if (!o.subject.startsWith('saker.v1.alerts.')) return undefined;
  const isRecord = typeof o.trace === 'object' && o.trace !== null && !Array.isArray(o.trace);
  const trace =
    o.trace === undefined ? {} : isRecord ? traceOf(o.trace as Record<string, unknown>) : undefined;
  return {
    alert: { subject: o.subject, msgId: o.msgId, data: new Uint8Array(Buffer.from(o.data, 'base64')) },
    trace,
  };
}

export class AlertSpool {
  readonly #o: AlertSpoolOptions;
  readonly #file: string | undefined;
  #entries: SpooledAlert[] = [];
  #bytes = 0;
  dropped = 0;

  constructor(options: AlertSpoolOptions) {
    this.#o = options;
    if (options.dir !== null) {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      this.#file = join(options.dir, SPOOL_FILE);
      this.#load(this.#file);
    }
  }

  /** Alerts waiting. */
  get size(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // no spool yet
    }
    let bad = 0;
    let badTrace = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const entry = decodeLine(line);
      if (entry === undefined || this.#bytes + entry.alert.data.byteLength > this.#o.maxBytes) {
        bad++;
        continue;
      }
      if (entry.trace === undefined) badTrace++;
      this.#entries.push({ alert: entry.alert, trace: entry.trace ?? {} });
      this.#bytes += entry.alert.data.byteLength;
    }
    if (this.#entries.length > 0 || bad > 0) {
      this.#o.log(
        `engine: alert spool ${file}: ${this.#entries.length} alert(s) from before the restart to send${bad > 0 ? `, ${bad} line(s) unreadable or over the limit, skipped` : ''}${badTrace > 0 ? `, ${badTrace} with a malformed trace context, sent without it` : ''}`,
      );
    }
  }

  /**
   * Keeps `alert` with the trace context among `headers` (the W3C headers of
   * its first publish); false when the spool is full (the alert is lost and
   * counted).
   */
  add(alert: OutgoingAlert, headers?: BusHeaders): boolean {
    if (this.#bytes + alert.data.byteLength > this.#o.maxBytes) {
      this.dropped++;
      return false;
    }
    const entry: SpooledAlert = { alert, trace: traceOf(headers) ?? {} };
    if (this.#file !== undefined) {
      try {
        appendFileSync(this.#file, encodeLine(entry), { mode: 0o600 });
      } catch (err) {
        // Memory still holds it: only a restart before NATS returns would lose it.
        this.#o.log(`engine: cannot write the alert spool ${this.#file}: ${String(err)}`);
      }
    }
    this.#entries.push(entry);
    this.#bytes += alert.data.byteLength;
    return true;
  }

  /**
   * Sends the alerts in order with `send` (each with the trace headers it
   * was spooled with), stopping at the first that fails; resolves with how
   * many were sent. The file is rewritten with the rest.
   */
  async resend(send: (alert: OutgoingAlert, trace: BusHeaders) => Promise<boolean>): Promise<number> {
    let sent = 0;
    while (sent < this.#entries.length) {
      const entry = this.#entries[sent] as SpooledAlert;
      if (!(await send(entry.alert, entry.trace))) break;
      sent++;
    }
    if (sent === 0) return 0;
    const rest = this.#entries.slice(sent);
    this.#entries = rest;
    this.#bytes = rest.reduce((n, e) => n + e.alert.data.byteLength, 0);
    if (this.#file !== undefined) {
      const tmp = `${this.#file}.tmp`;
      try {
        writeFileSync(tmp, rest.map(encodeLine).join(''), { mode: 0o600 });
        renameSync(tmp, this.#file);
      } catch (err) {
        this.#o.log(`engine: cannot rewrite the alert spool ${this.#file}: ${String(err)}`);
      }
    }
    return sent;
  }
}
