/**
 * Falco's syslog output, local and remote.
 *
 * - `unix` (default, what Falco does through syslog(3)): a datagram to the
 *   local socket (`/dev/log`) in the local BSD form, `<PRI>Mmm dd hh:mm:ss
 *   TAG: MSG`. Node has no AF_UNIX datagram sockets, so it goes through
 *   util-linux `logger` (one run per alert; its exit status says whether the
 *   socket took it).
 * - `udp`, `tcp`, `tls`: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`);
 *   over TCP and TLS framed by octet counting (RFC 6587 §3.4.1: `LEN SP MSG`).
 *
 * PRI = facility·8 + severity, severity being the alert's priority
 * (Emergency 0 … Debug 7, the same numbers as syslog's levels).
 * The MSG never holds a control character: C0, DEL, C1, U+2028 and U+2029
 * become `#ooo` (octal, rsyslog's convention) or `#uXXXX`, so an
 * attacker-controlled command line cannot start a second record for a
 * receiver that splits on newlines.
 */
import { spawn } from 'node:child_process';
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { type Socket, connect as netConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type FalcoAlert, parsePriority, severity } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { SinksOptionsError, retryable } from '../errors.js';
import type { Output } from './output.js';

export type SyslogTransport = 'unix' | 'udp' | 'tcp' | 'tls';

const SYSLOG_FACILITIES: Readonly<Record<string, number>> = Object.freeze({
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
});

interface SyslogTlsOptions {
  /** PEM file of the CA that signed the receiver's certificate. Default: the system's CAs. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecure?: boolean;
  readonly servername?: string;
}

export interface SyslogOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  /** Default `unix`. */
  readonly transport?: SyslogTransport;
  /** The local socket. Default /dev/log. */
  readonly path?: string;
  readonly host?: string;
  /** Default 514 (udp, tcp) or 6514 (tls). */
  readonly port?: number;
  readonly tls?: SyslogTlsOptions;
  /** Default `user` (Falco calls syslog(3) without openlog). */
  readonly facility?: string;
  /** The APP-NAME / tag. Default `falco`, so existing syslog filters keep matching. */
  readonly appName?: string;
  /** The HOSTNAME field when the alert has none. Default `-`. */
  readonly hostname?: string;
  /** Longest record in bytes; a longer MSG is cut at a character boundary and marked. Default 8192 (unix, udp), 4 MiB (tcp, tls). */
  readonly maxMessageBytes?: number;
  /** The `logger` binary (unix transport). Default `logger`. */
  readonly loggerBinary?: string;
  /** Connect/send timeout. Default 10 s. */
  readonly timeoutMs?: number;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Replaces every control character and line separator: `\n` → `#012`, ESC → `#033`, U+2028 → `#u2028`. */
export function escapeSyslogMsg(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `#${code.toString(8).padStart(3, '0')}` : `#u${code.toString(16)}`;
  });
}

/** A header field of RFC 5424: printable US-ASCII without spaces, at most `max`; `-` when empty. */
function headerField(value: string, max: number): string {
  const v = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v === '' ? '-' : v;
}

/** RFC 5424 TIMESTAMP from an RFC 3339 time: at most 6 fractional digits, `Z`. */
function timestamp5424(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  if (m) return m[2] === undefined ? `${m[1]}Z` : `${m[1]}.${m[2].slice(0, 6)}Z`;
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

/** Cuts `msg` so the UTF-8 record stays within `maxBytes`, marking the cut. */
export function truncateUtf8(msg: string, maxBytes: number): string {
  if (Buffer.byteLength(msg) <= maxBytes) return msg;
  const marker = '...[truncated]';
  const budget = Math.max(0, maxBytes - Buffer.byteLength(marker));
  const buf = Buffer.from(msg, 'utf8');
  let end = Math.min(budget, buf.length);
  // Step back over UTF-8 continuation bytes so no character is split.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}${marker}`;
}

interface SyslogRecordOptions {
  readonly facility: number;
  readonly appName: string;
  readonly hostname: string;
  readonly procId: string;
  readonly maxMessageBytes: number;
}

function syslogPri(alert: FalcoAlert, facility: number): number {
  const p = parsePriority(alert.priority) ?? 'DEBUG';
  return facility * 8 + severity(p);
}

/** One RFC 5424 record (without framing) for the alert line `line`. */
function rfc5424Record(alert: FalcoAlert, line: string, o: SyslogRecordOptions): string {
  const header =
    `<${syslogPri(alert, o.facility)}>1 ${timestamp5424(alert.time)} ` +
    `${headerField(alert.hostname || o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} - - `;
  const room = o.maxMessageBytes - Buffer.byteLength(header);
  return header + truncateUtf8(escapeSyslogMsg(line), Math.max(room, 64));
}

/** RFC 6587 octet-counting frame: `LEN SP MSG`, LEN in bytes. */
export function octetFrame(record: string): Buffer {
  const body = Buffer.from(record, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export class SyslogOutput implements Output {
  readonly name: string;
  readonly #o: SyslogOutputOptions;
  readonly #transport: SyslogTransport;
  readonly #facility: number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  #udp: UdpSocket | undefined;
  #stream: Socket | TLSSocket | undefined;
  #connecting: Promise<Socket | TLSSocket> | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(o: SyslogOutputOptions) {
    this.name = o.name ?? 'syslog';
    this.#o = o;
    this.#transport = o.transport ?? 'unix';
    const facility = SYSLOG_FACILITIES[o.facility ?? 'user'];
    if (facility === undefined) {
      throw new SinksOptionsError('syslog_output.facility', `unknown facility ${JSON.stringify(o.facility)}`);
    }
    this.#facility = facility;
    const stream = this.#transport === 'tcp' || this.#transport === 'tls';
    this.#maxBytes = o.maxMessageBytes ?? (stream ? 4 * 1024 * 1024 : 8192);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    if (this.#transport !== 'unix' && !o.host) {
      throw new SinksOptionsError('syslog_output.host', `required for transport ${this.#transport}`);
    }
    const read = (p: string | undefined, key: string): Buffer | undefined => {
      if (p === undefined) return undefined;
      try {
        return readFileSync(p);
      } catch (err) {
        throw new SinksOptionsError(`syslog_output.tls.${key}`, `cannot read ${p}: ${String(err)}`);
      }
    };
    this.#tlsFiles = {};
    const ca = read(o.tls?.ca, 'ca');
    const cert = read(o.tls?.cert, 'cert');
    const key = read(o.tls?.key, 'key');
    if (ca) this.#tlsFiles.ca = ca;
    if (cert) this.#tlsFiles.cert = cert;
    if (key) this.#tlsFiles.key = key;
  }

  #port(): number {
    return this.#o.port ?? (this.#transport === 'tls' ? 6514 : 514);
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    // escapeSyslogMsg neutralises control characters its own way (#ooo).
    const line = alertLine(alert, raw, this.#o.format, false);
    // One record at a time on a connection, so a failure cannot reorder or interleave frames.
    const run = this.#chain.then(() => this.#send(alert, line));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #send(alert: FalcoAlert, line: string): Promise<void> {
    if (this.#transport === 'unix') return this.#sendLocal(alert, line);
    const record = rfc5424Record(alert, line, {
      facility: this.#facility,
      appName: this.#o.appName ?? 'falco',
      hostname: this.#o.hostname ?? '-',
      procId: String(process.pid),
      maxMessageBytes: this.#maxBytes,
    });
    if (this.#transport === 'udp') return this.#sendUdp(Buffer.from(record, 'utf8'));
    return this.#sendStream(octetFrame(record));
  }

  #sendLocal(alert: FalcoAlert, line: string): Promise<void> {
    const sev = severity(parsePriority(alert.priority) ?? 'DEBUG');
    const facilityName = this.#o.facility ?? 'user';
    const path = this.#o.path ?? '/dev/log';
    const msg = truncateUtf8(escapeSyslogMsg(line), this.#maxBytes - 64);
    const levels = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
    const args = [
      '-u',
      path,
      '--socket-errors=on',
      '-p',
      `${facilityName}.${levels[sev] ?? 'debug'}`,
      '-t',
      this.#o.appName ?? 'falco',
      '--size',
      String(this.#maxBytes),
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(this.#o.loggerBinary ?? 'logger', args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 512) stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(retryable(this.name, `cannot run logger: ${err.message}`, err));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            retryable(this.name, `local syslog ${path} refused: ${stderr.trim() || `logger exit ${code}`}`),
          );
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${msg}\n`);
    });
  }

  #sendUdp(data: Buffer): Promise<void> {
    const host = this.#o.host ?? '127.0.0.1';
    this.#udp ??= createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const sock = this.#udp;
    return new Promise((resolve, reject) => {
      sock.send(data, this.#port(), host, (err) => {
        if (err) reject(retryable(this.name, `UDP send to ${host} failed: ${err.message}`, err));
        else resolve();
      });
    });
  }

  #connect(): Promise<Socket | TLSSocket> {
    if (this.#stream && !this.#stream.destroyed) return Promise.resolve(this.#stream);
    this.#connecting ??= new Promise<Socket | TLSSocket>((resolve, reject) => {
      const host = this.#o.host ?? '127.0.0.1';
      const port = this.#port();
      let sock: Socket | TLSSocket;
      const onError = (err: Error): void => {
        sock.destroy();
        reject(retryable(this.name, `connect to ${host}:${port} failed: ${err.message}`, err));
      };
      if (this.#transport === 'tls') {
        const t = this.#o.tls;
        sock = tlsConnect({
          host,
          port,
          servername: t?.servername ?? (isIPv6(host) || /^[\d.]+$/.test(host) ? undefined : host),
          rejectUnauthorized: !(t?.insecure ?? false),
          ...this.#tlsFiles,
        });
        sock.once('secureConnect', () => ready());
      } else {
        sock = netConnect({ host, port });
        sock.once('connect', () => ready());
      }
      const ready = (): void => {
        sock.off('error', onError);
        sock.setTimeout(0);
        sock.on('error', () => sock.destroy());
        sock.on('close', () => {
          if (this.#stream === sock) this.#stream = undefined;
        });
        // A receiver that sends anything (it should not) is read and ignored.
        sock.resume();
        this.#stream = sock;
        resolve(sock);
      };
      sock.once('error', onError);
      sock.setTimeout(this.#timeoutMs, () =>
        onError(new Error(`no connection within ${this.#timeoutMs} ms`)),
      );
    }).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #sendStream(frame: Buffer): Promise<void> {
    const sock = await this.#connect();
    await new Promise<void>((resolve, reject) => {
      sock.write(frame, (err) => {
        if (err) {
          sock.destroy();
          reject(retryable(this.name, `send failed: ${err.message}`, err));
        } else resolve();
      });
    });
  }

  async close(): Promise<void> {
    await this.#chain;
    this.#udp?.close();
    this.#udp = undefined;
    const s = this.#stream;
    this.#stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }
}
