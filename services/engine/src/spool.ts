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
 * duplicate window.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutgoingAlert } from './alerts.js';

export interface AlertSpoolOptions {
  /** Directory of the spool file; null: memory only. */
  readonly dir: string | null;
  /** Most bytes of alert data held (the file's lines are ~1.4× that). */
  readonly maxBytes: number;
  readonly log: (line: string) => void;
}

export const SPOOL_FILE = 'alert-spool.jsonl';

interface SpoolLine {
  subject: string;
  msgId: string;
  data: string;
}

function encodeLine(a: OutgoingAlert): string {
  const line: SpoolLine = {
    subject: a.subject,
    msgId: a.msgId,
    data: Buffer.from(a.data).toString('base64'),
  };
  return `${JSON.stringify(line)}\n`;
}

function decodeLine(text: string): OutgoingAlert | undefined {
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
  return { subject: o.subject, msgId: o.msgId, data: new Uint8Array(Buffer.from(o.data, 'base64')) };
}

export class AlertSpool {
  readonly #o: AlertSpoolOptions;
  readonly #file: string | undefined;
  #entries: OutgoingAlert[] = [];
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
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const alert = decodeLine(line);
      if (alert === undefined || this.#bytes + alert.data.byteLength > this.#o.maxBytes) {
        bad++;
        continue;
      }
      this.#entries.push(alert);
      this.#bytes += alert.data.byteLength;
    }
    if (this.#entries.length > 0 || bad > 0) {
      this.#o.log(
        `engine: alert spool ${file}: ${this.#entries.length} alert(s) from before the restart to send${bad > 0 ? `, ${bad} line(s) unreadable or over the limit, skipped` : ''}`,
      );
    }
  }

  /** Keeps `alert`; false when the spool is full (the alert is lost and counted). */
  add(alert: OutgoingAlert): boolean {
    if (this.#bytes + alert.data.byteLength > this.#o.maxBytes) {
      this.dropped++;
      return false;
    }
    if (this.#file !== undefined) {
      try {
        appendFileSync(this.#file, encodeLine(alert), { mode: 0o600 });
      } catch (err) {
        // Memory still holds it: only a restart before NATS returns would lose it.
        this.#o.log(`engine: cannot write the alert spool ${this.#file}: ${String(err)}`);
      }
    }
    this.#entries.push(alert);
    this.#bytes += alert.data.byteLength;
    return true;
  }

  /**
   * Sends the alerts in order with `send`, stopping at the first that fails;
   * resolves with how many were sent. The file is rewritten with the rest.
   */
  async resend(send: (alert: OutgoingAlert) => Promise<boolean>): Promise<number> {
    let sent = 0;
    while (sent < this.#entries.length) {
      const alert = this.#entries[sent] as OutgoingAlert;
      if (!(await send(alert))) break;
      sent++;
    }
    if (sent === 0) return 0;
    const rest = this.#entries.slice(sent);
    this.#entries = rest;
    this.#bytes = rest.reduce((n, a) => n + a.data.byteLength, 0);
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
