/**
 * SMTP: one message per alert (or, through the batching hook, one digest
 * per batch), sent over SMTP (RFC 5321) with optional STARTTLS (RFC 3207)
 * or implicit TLS, and AUTH PLAIN.
 *
 * - Envelope: `MAIL FROM:<from>`, one `RCPT TO:<…>` per recipient. The
 *   addresses are checked when the output is built (no CR, LF, `<`, `>`).
 * - Message: From, To, Subject (`[Falco] Warning: <rule>`, encoded as an
 *   RFC 2047 word when not ASCII), Date, Message-ID, MIME 1.0, text/plain
 *   UTF-8 in quoted-printable, so every line is ASCII and ≤ 76 characters.
 * - Dot-stuffing: every body line that starts with `.` gets another `.`,
 *   and every CR or LF of the alert becomes a line break first, so alert
 *   content (a command line with `\r\n.\r\n`) can never end DATA early or
 *   inject SMTP commands.
 * - `starttls`: `'off'`, `'opportunistic'` (when offered; the default) or
 *   `'required'`. `secure: true` is implicit TLS (port 465). AUTH is only
 *   sent over TLS.
 * - Outcomes: 4xx replies and network failures are retryable, 5xx replies
 *   permanent.
 */
import { randomUUID } from 'node:crypto';
import { type Socket, createConnection } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { boolean, emptyOr, field, hostPort, string, stringList } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { DeliveryError, SinksOptionsError, permanent, retryable } from '../errors.js';
import { hostAndPort, sidekickOutput } from '../sidekick/descriptor.js';
import type { Delivery, Output } from './output.js';

export interface SmtpOutputOptions {
  readonly name?: string;
  readonly host: string;
  /** Default 25 (465 with `secure`). */
  readonly port?: number;
  readonly from: string;
  readonly to: readonly string[];
  /** Default `opportunistic`. */
  readonly starttls?: 'off' | 'opportunistic' | 'required';
  /** Implicit TLS from the first byte. Default false. */
  readonly secure?: boolean;
  readonly tls?: { readonly ca?: string; readonly insecure?: boolean; readonly servername?: string };
  readonly username?: string;
  readonly password?: string;
  /** EHLO name. Default the machine's hostname. */
  readonly ehloName?: string;
  /** Per reply. Default 30 s. */
  readonly timeoutMs?: number;
}

interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
}

function checkAddress(path: string, a: string): void {
  if (a === '' || /[\r\n<>\s]/.test(a))
    throw new SinksOptionsError(path, `${JSON.stringify(a)} is not a mail address`);
}

/** Quoted-printable (RFC 2045) of text: lines ≤ 76 characters, CR and LF both ending lines. */
function quotedPrintable(text: string): string {
  const lines = text.replace(/\r\n|\r|\n/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const bytes = Buffer.from(line, 'utf8');
    let cur = '';
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      let enc: string;
      if ((b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last)) enc = String.fromCharCode(b);
      else enc = `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (cur.length + enc.length > 75) {
        out.push(`${cur}=`);
        cur = '';
      }
      cur += enc;
    });
    out.push(cur);
  }
  return out.join('\r\n');
}

/** SMTP dot-stuffing (RFC 5321 §4.5.2) of CRLF-separated lines. */
function dotStuff(body: string): string {
  return body
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
    .join('\r\n');
}

/** A header value: one line, RFC 2047 base64 word when not printable ASCII. */
function headerValue(text: string): string {
  const one = text.replace(/[\r\n\t]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(one)) return one.slice(0, 900);
  return `=?UTF-8?B?${Buffer.from(one.slice(0, 300), 'utf8').toString('base64')}?=`;
}

function alertBody(a: FalcoAlert): string {
  const fields = Object.entries(a.output_fields).map(
    ([k, v]) => `  ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`,
  );
  return [
    `Rule: ${a.rule}`,
    `Priority: ${a.priority}`,
    `Source: ${a.source}`,
    `Hostname: ${a.hostname}`,
    `Time: ${a.time}`,
    `Tags: ${a.tags.join(', ')}`,
    '',
    a.output,
    '',
    'Fields:',
    ...fields,
  ].join('\n');
}

export class SmtpOutput implements Output {
  readonly name: string;
  readonly #o: SmtpOutputOptions;
  readonly #timeoutMs: number;

  constructor(o: SmtpOutputOptions) {
    this.name = o.name ?? 'smtp';
    this.#o = o;
    checkAddress('smtp.from', o.from);
    if (o.to.length === 0) throw new SinksOptionsError('smtp.to', 'needs at least one recipient');
    o.to.forEach((t, i) => checkAddress(`smtp.to[${i}]`, t));
    this.#timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** The message (headers and quoted-printable body), CRLF lines, not yet dot-stuffed. */
  message(subject: string, text: string): string {
    const domain = this.#o.from.split('@')[1] ?? 'saker.local';
    return [
      `From: <${this.#o.from}>`,
      `To: ${this.#o.to.map((t) => `<${t}>`).join(', ')}`,
      `Subject: ${headerValue(subject)}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${randomUUID()}@${domain}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      quotedPrintable(text),
    ].join('\r\n');
  }

  async deliver(alert: FalcoAlert): Promise<void> {
    await this.#send(this.message(`[Falco] ${alert.priority}: ${alert.rule}`, alertBody(alert)));
  }

  /** A digest: one message for the whole batch. */
  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    const text = items.map((d) => alertBody(d.alert)).join('\n\n----------\n\n');
    await this.#send(this.message(`[Falco] ${items.length} alerts`, text));
  }

  async #send(message: string): Promise<void> {
    const o = this.#o;
    const session = new SmtpSession(this.name, this.#timeoutMs);
    try {
      await session.open(o);
      const expect = async (cmd: string | null, ok: (c: number) => boolean): Promise<Reply> => {
        const r = await session.command(cmd);
        if (!ok(r.code)) {
          const what = cmd === null ? 'greeting' : (cmd.split(' ')[0] ?? cmd);
          const detail = `SMTP ${what} answered ${r.code} ${r.lines.join(' ')}`;
          throw r.code >= 500 ? permanent(this.name, detail) : retryable(this.name, detail);
        }
        return r;
      };
      await expect(null, (c) => c === 220);
      const ehlo = `EHLO ${o.ehloName ?? osHostname()}`;
      const caps = await expect(ehlo, (c) => c === 250);
      const offersTls = caps.lines.some((l) => /^STARTTLS\b/i.test(l));
      const mode = o.starttls ?? 'opportunistic';
      if (!session.tls && mode !== 'off' && (offersTls || mode === 'required')) {
        if (!offersTls)
          throw retryable(this.name, 'SMTP server does not offer STARTTLS (starttls: required)');
        await expect('STARTTLS', (c) => c === 220);
        await session.upgrade(o);
        // RFC 3207: the session starts over after STARTTLS, so greet again.
        await expect(ehlo, (c) => c === 250);
      }
      if (o.username !== undefined) {
        if (!session.tls) throw permanent(this.name, 'SMTP AUTH refused without TLS');
        const token = Buffer.from(`\0${o.username}\0${o.password ?? ''}`, 'utf8').toString('base64');
        await expect(`AUTH PLAIN ${token}`, (c) => c === 235);
      }
      await expect(`MAIL FROM:<${o.from}>`, (c) => c === 250);
      for (const to of o.to) await expect(`RCPT TO:<${to}>`, (c) => c === 250 || c === 251);
      await expect('DATA', (c) => c === 354);
      await expect(`${dotStuff(message)}\r\n.`, (c) => c === 250);
      await session.command('QUIT').catch(() => undefined);
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw retryable(this.name, `SMTP ${o.host}: ${err instanceof Error ? err.message : String(err)}`, err);
    } finally {
      session.close();
    }
  }

  async close(): Promise<void> {}
}

/** One SMTP connection: commands and multi-line replies. */
class SmtpSession {
  readonly #output: string;
  readonly #timeoutMs: number;
  #socket: Socket | TLSSocket | undefined;
  #buf = '';
  #lines: string[] = [];
  #waiter: ((r: Reply | Error) => void) | undefined;
  #pending: (Reply | Error)[] = [];
  tls = false;

  constructor(output: string, timeoutMs: number) {
    this.#output = output;
    this.#timeoutMs = timeoutMs;
  }

  open(o: SmtpOutputOptions): Promise<void> {
    const port = o.port ?? (o.secure ? 465 : 25);
    return new Promise((resolve, reject) => {
      const s = o.secure
        ? tlsConnect({ host: o.host, port, ...tlsOptions(o) }, () => resolve())
        : createConnection({ host: o.host, port }, () => resolve());
      this.tls = o.secure ?? false;
      s.once('error', reject);
      this.#attach(s);
    });
  }

  upgrade(o: SmtpOutputOptions): Promise<void> {
    const plain = this.#socket;
    if (plain === undefined) return Promise.reject(new Error('not connected'));
    plain.removeAllListeners('data');
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: plain, ...tlsOptions(o) }, () => {
        this.tls = true;
        resolve();
      });
      s.once('error', reject);
      this.#attach(s);
    });
  }

  #attach(s: Socket | TLSSocket): void {
    this.#socket = s;
    s.setTimeout(this.#timeoutMs);
    s.on('timeout', () => s.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
    s.on('error', (err) => this.#push(err));
    s.on('close', () => this.#push(new Error('connection closed')));
    s.on('data', (chunk: Buffer) => {
      this.#buf += chunk.toString('utf8');
      for (let i = this.#buf.indexOf('\r\n'); i >= 0; i = this.#buf.indexOf('\r\n')) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        this.#lines.push(line.slice(4));
        if (line[3] !== '-') {
          const code = Number(line.slice(0, 3));
          const lines = this.#lines;
          this.#lines = [];
          this.#push({ code: Number.isInteger(code) ? code : 0, lines });
        }
      }
    });
  }

  #push(r: Reply | Error): void {
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w(r);
    } else if (!(r instanceof Error) || this.#pending.every((p) => !(p instanceof Error))) {
      this.#pending.push(r);
    }
  }

  /** Sends `cmd` (null: only read, for the greeting) and reads the reply. */
  command(cmd: string | null): Promise<Reply> {
    if (cmd !== null) this.#socket?.write(`${cmd}\r\n`);
    return new Promise((resolve, reject) => {
      const take = (r: Reply | Error): void => (r instanceof Error ? reject(r) : resolve(r));
      const next = this.#pending.shift();
      if (next !== undefined) take(next);
      else this.#waiter = take;
    });
  }

  close(): void {
    this.#socket?.destroy();
    void this.#output;
  }
}

function tlsOptions(o: SmtpOutputOptions): { servername: string; rejectUnauthorized: boolean; ca?: string } {
  return {
    servername: o.tls?.servername ?? o.host,
    rejectUnauthorized: !(o.tls?.insecure ?? false),
    ...(o.tls?.ca === undefined ? {} : { ca: o.tls.ca }),
  };
}

/** `sinks.sidekick.smtp`: on when `hostport` is set. */
export const smtpSidekick = sidekickOutput({
  name: 'smtp',
  concurrency: 1,
  fields: {
    hostport: field(emptyOr(hostPort()), ''),
    from: field(string(), ''),
    to: field(stringList(), []),
    user: field(string(), ''),
    password: field(string(), ''),
    checkcert: field(boolean(), true),
  },
  on: 'hostport',
  create: (c, ctx) => {
    const ca = ctx.readCa('smtp');
    return new SmtpOutput({
      ...hostAndPort(c.hostport, 25),
      from: c.from,
      to: c.to,
      ...(c.user === '' ? {} : { username: c.user, password: c.password }),
      tls: { insecure: !c.checkcert, ...(ca === undefined ? {} : { ca }) },
    });
  },
});
