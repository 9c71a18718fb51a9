/**
 * Redis: each alert (Falco's JSON, or its text line) LPUSHed to a list or
 * XADDed to a stream, over RESP2 spoken directly (no client library).
 *
 * - `mode: 'list'` (default): `LPUSH <key> <line>`.
 * - `mode: 'stream'`: `XADD <key> [MAXLEN ~ <n>] * alert <line> rule <rule>
 *   priority <priority> source <source> hostname <hostname>`.
 * - Connection: `host`/`port` (TCP) or `path` (unix socket); `password`
 *   (and `username`, ACL) sends AUTH; `database` sends SELECT.
 * - The batching hook pipelines one command per alert and checks each reply.
 * - Outcomes: network errors and the replies LOADING, BUSY, TRYAGAIN,
 *   MASTERDOWN, READONLY, OOM, CLUSTERDOWN are retryable; any other error
 *   reply (WRONGTYPE: the key holds something else) is permanent.
 */
import { type Socket, createConnection } from 'node:net';
import { emptyOr, field, hostPort, number, oneOf, string } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { type DeliveryError, PartialBatchError, SinksOptionsError, permanent, retryable } from '../errors.js';
import { hostAndPort, ifSet, sidekickOutput } from '../sidekick/descriptor.js';
import { type Delivery, type Output, deliverAsBatch } from './output.js';

export interface RedisOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  readonly host?: string;
  /** Default 6379. */
  readonly port?: number;
  /** A unix socket instead of host/port. */
  readonly path?: string;
  readonly username?: string;
  readonly password?: string;
  readonly database?: number;
  /** Default `falco`. */
  readonly key?: string;
  /** Default `list`. */
  readonly mode?: 'list' | 'stream';
  /** Streams: `MAXLEN ~ n`. Default: unbounded. */
  readonly maxLen?: number;
  /** Per command round trip. Default 10 s. */
  readonly timeoutMs?: number;
}

/** A RESP value: simple string / bulk / integer / array / error / null. */
type RespValue = string | number | null | RespError | RespValue[];

class RespError {
  constructor(readonly message: string) {}
}

/** RESP encoding of one command (an array of bulk strings). */
function respCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one RESP value at `pos`: the value and the next position, or undefined when incomplete. */
function parseResp(buf: Buffer, pos: number): { value: RespValue; next: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { value: buf.toString('utf8', after, after + n), next: after + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, p);
        if (r === undefined) return undefined;
        items.push(r.value);
        p = r.next;
      }
      return { value: items, next: p };
    }
    default:
      throw new Error(`not RESP: type byte ${JSON.stringify(type)}`);
  }
}

const RETRYABLE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|OOM|CLUSTERDOWN|NOREPLICAS)\b/;

/** One connection; commands are pipelined and answered in order. */
class RespConnection {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  readonly #waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void }[] = [];
  #error: Error | undefined;
  readonly ready: Promise<void>;

  constructor(o: RedisOutputOptions, timeoutMs: number) {
    this.#socket =
      o.path !== undefined
        ? createConnection({ path: o.path })
        : createConnection({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379 });
    this.#socket.setTimeout(timeoutMs);
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', reject);
    });
    this.ready.catch(() => undefined);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('timeout', () => this.#socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  get broken(): boolean {
    return this.#error !== undefined;
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    try {
      for (;;) {
        const r = parseResp(this.#buf, pos);
        if (r === undefined) break;
        pos = r.next;
        this.#waiting.shift()?.resolve(r.value);
      }
    } catch (err) {
      this.#socket.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#buf = this.#buf.subarray(pos);
  }

  #fail(err: Error): void {
    this.#error ??= err;
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }

  /** Sends the commands at once; resolves with their replies, in order. */
  send(commands: readonly (readonly string[])[]): Promise<RespValue[]> {
    if (this.#error) return Promise.reject(this.#error);
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.#waiting.push({ resolve, reject })),
    );
    this.#socket.write(Buffer.concat(commands.map((c) => respCommand(c))));
    return Promise.all(replies);
  }

  close(): void {
    this.#socket.destroy();
  }
}

export class RedisOutput implements Output {
  readonly name: string;
  readonly #o: RedisOutputOptions;
  readonly #key: string;
  readonly #timeoutMs: number;
  #conn: Promise<RespConnection> | undefined;

  constructor(o: RedisOutputOptions) {
    this.name = o.name ?? 'redis';
    this.#o = o;
    this.#key = o.key ?? 'falco';
    if (this.#key === '') throw new SinksOptionsError('redis.key', 'must not be empty');
    if (o.maxLen !== undefined && (!Number.isInteger(o.maxLen) || o.maxLen < 1)) {
      throw new SinksOptionsError('redis.maxLen', `expected an integer ≥ 1, got ${o.maxLen}`);
    }
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  /** The command for one alert. */
  command(d: Delivery): string[] {
    const line = alertLine(d.alert, d.raw, this.#o.format);
    if ((this.#o.mode ?? 'list') === 'list') return ['LPUSH', this.#key, line];
    const a = d.alert;
    const trim = this.#o.maxLen === undefined ? [] : ['MAXLEN', '~', String(this.#o.maxLen)];
    return [
      'XADD',
      this.#key,
      ...trim,
      '*',
      'alert',
      line,
      'rule',
      a.rule,
      'priority',
      a.priority,
      'source',
      a.source,
      'hostname',
      a.hostname,
    ];
  }

  async #connection(): Promise<RespConnection> {
    const existing = this.#conn === undefined ? undefined : await this.#conn.catch(() => undefined);
    if (existing !== undefined && !existing.broken) return existing;
    this.#conn = (async () => {
      const c = new RespConnection(this.#o, this.#timeoutMs);
      try {
        await c.ready;
        const setup: string[][] = [];
        if (this.#o.password !== undefined) {
          setup.push(
            this.#o.username === undefined
              ? ['AUTH', this.#o.password]
              : ['AUTH', this.#o.username, this.#o.password],
          );
        }
        if (this.#o.database !== undefined) setup.push(['SELECT', String(this.#o.database)]);
        if (setup.length > 0) {
          const replies = await c.send(setup);
          const bad = replies.find((r) => r instanceof RespError);
          if (bad instanceof RespError) throw new Error(`redis refused the connection setup: ${bad.message}`);
        }
        return c;
      } catch (err) {
        c.close();
        throw err;
      }
    })();
    return this.#conn;
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    return deliverAsBatch(this, alert, raw);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    let replies: RespValue[];
    try {
      const conn = await this.#connection();
      replies = await conn.send(items.map((d) => this.command(d)));
    } catch (err) {
      throw retryable(this.name, `redis: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    const failures = new Map<number, DeliveryError>();
    replies.forEach((r, i) => {
      if (!(r instanceof RespError)) return;
      const detail = `redis answered: ${r.message}`;
      failures.set(
        i,
        RETRYABLE_REPLIES.test(r.message) ? retryable(this.name, detail) : permanent(this.name, detail),
      );
    });
    if (failures.size > 0) throw new PartialBatchError(this.name, failures);
  }

  async close(): Promise<void> {
    const c = await this.#conn?.catch(() => undefined);
    c?.close();
  }
}

/** `sinks.sidekick.redis`: on when `address` is set. */
export const redisSidekick = sidekickOutput({
  name: 'redis',
  concurrency: 1,
  fields: {
    address: field(emptyOr(hostPort()), ''),
    password: field(string(), ''),
    database: field(number({ integer: true, min: 0 }), 0),
    storagetype: field(
      oneOf<'list' | 'stream'>(['list', 'stream'], (t) => (t === 'list' || t === 'stream' ? t : undefined)),
      'list',
    ),
    key: field(string(), 'falco'),
  },
  on: 'address',
  create: (c, ctx) =>
    new RedisOutput({
      format: ctx.format,
      ...hostAndPort(c.address, 6379),
      ...ifSet('password', c.password),
      ...(c.database === 0 ? {} : { database: c.database }),
      key: c.key,
      mode: c.storagetype,
    }),
});
