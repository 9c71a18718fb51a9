/**
 * The sinks' one HTTP transport, shared by every output that talks HTTP:
 * Falco's http_output (HttpOutput), the SIEM outputs (elasticsearch, loki,
 * alertmanager, through HttpTarget) and falcosidekick's chat and webhook
 * outputs (SidekickHttp).
 *
 * HttpTransport owns the connection pool (undici's `Pool`: keep-alive
 * connections, or one connection per request), TLS (CA, certificate checks
 * off, client certificate and key), headers, gzip uploads and the
 * per-request timeout; `isRetryableStatus` and
 * `HttpTransport.sendOk` are the one status classifier: 2xx delivered;
 * 408, 429, 5xx, timeouts and network errors retryable (with the wait a
 * 429 or 503 asks for in Retry-After, see retry-after.ts); any other status
 * permanent (the alert goes to the dead-letter subject).
 */
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FalcoAlert } from '@saker/rules';
import { redactText, redactUrl } from '@saker/telemetry';
import { type Dispatcher, Pool, type buildConnector } from 'undici';
import { SinksOptionsError, permanent, retryable } from '../errors.js';
import { parseRetryAfter } from '../retry-after.js';
import type { Output } from './output.js';

const gzipAsync = promisify(gzip);

/** Status codes worth trying again. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Reads a PEM file; a failure names `option`. */
export function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SinksOptionsError(option, `cannot read ${file}: ${String(err)}`);
  }
}

/**
 * `url` as an http(s) URL; a failure names `${option}.url`. `showValue`
 * false keeps the text out of the error (a webhook URL is a secret).
 */
export function parseHttpUrl(option: string, url: string, showValue = true): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SinksOptionsError(
      `${option}.url`,
      showValue ? `not a URL: ${JSON.stringify(url)}` : 'not a URL',
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SinksOptionsError(`${option}.url`, `expected http:// or https://, got ${u.protocol}`);
  }
  return u;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Refuses user-set headers that could split a request (CR/LF, bad names) or
 * that the transport owns (content-length, transfer-encoding, host,
 * connection, keep-alive, upgrade, expect).
 */
export function checkHeaders(option: string, headers: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(headers)) {
    if (!HEADER_NAME.test(k)) throw new SinksOptionsError(option, `bad header name ${JSON.stringify(k)}`);
    if (!HEADER_VALUE.test(v)) throw new SinksOptionsError(`${option}.${k}`, 'bad header value');
    if (/^(content-length|transfer-encoding|host|connection|keep-alive|upgrade|expect)$/i.test(k)) {
      throw new SinksOptionsError(option, `${k} cannot be set`);
    }
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The answer's headers, names in lowercase; a repeated header's values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpTransportOptions {
  /** Keep connections open between requests. Default true; false also sends `connection: close`. */
  readonly keepAlive?: boolean;
  /**
   * Connections kept to the origin (requests beyond wait for one); opened
   * only as the output's `concurrency` needs them. Default 64.
   */
  readonly maxSockets?: number;
  /**
   * HTTP/1.1 pipelining: requests sent on one connection before the answer
   * to the first came back. Default 1 (none, as Falco and falcosidekick).
   * Above 1, a connection that breaks with requests in flight sends them
   * again on a new one, so the receiver may see an alert twice (as with any
   * retry); only for receivers known to handle pipelining.
   */
  readonly pipelining?: number;
  /** https: verify the receiver's certificate. Default true. */
  readonly rejectUnauthorized?: boolean;
  /** https: the CA(s) to trust instead of the system's (PEM). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** https: client certificate and key (PEM), for mutual TLS. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Sent with every request; a request's own headers win. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Gzip request bodies (`content-encoding: gzip`). Default false. */
  readonly gzip?: boolean;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Bytes of an answer kept (the rest is drained). Default 64 MiB, so bulk answers fit. */
  readonly maxAnswer?: number;
  /** Name the URL's path, not only its origin, when a request fails. Default false (it may hold a secret). */
  readonly pathInErrors?: boolean;
}

/**
 * Connections to one http(s) origin, for the output named `output`, through
 * undici's `Pool`. Requests go through `dispatch` with a small handler of
 * our own (no response stream per request): one POST per alert makes this
 * the hot path of the http and webhook outputs (docs/sinks.md, benchmark).
 */
export class HttpTransport {
  readonly base: URL;
  readonly #output: string;
  readonly #pool: Pool;
  readonly #o: HttpTransportOptions;
  readonly #timeoutMs: number;
  readonly #keepAlive: boolean;
  readonly #pipelined: boolean;
  readonly #limit: number;
  readonly #basePath: string;

  constructor(output: string, base: URL, o: HttpTransportOptions = {}) {
    this.#output = output;
    this.base = base;
    this.#basePath = `${base.pathname}${base.search}`;
    this.#o = o;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#keepAlive = o.keepAlive ?? true;
    if (o.pipelining !== undefined && !(Number.isInteger(o.pipelining) && o.pipelining >= 1)) {
      throw new SinksOptionsError(
        `outputs.${output}.pipelining`,
        `expected an integer ≥ 1, got ${o.pipelining}`,
      );
    }
    this.#pipelined = this.#keepAlive && (o.pipelining ?? 1) > 1;
    this.#limit = o.maxAnswer ?? 64 * 1024 * 1024;
    const connect: buildConnector.BuildOptions = { timeout: this.#timeoutMs };
    if (base.protocol === 'https:') {
      connect.rejectUnauthorized = o.rejectUnauthorized ?? true;
      if (o.ca !== undefined) connect.ca = o.ca as string | Buffer | (string | Buffer)[];
      if (o.cert !== undefined) connect.cert = o.cert;
      if (o.key !== undefined) connect.key = o.key;
    }
    this.#pool = new Pool(base.origin, {
      connections: o.maxSockets ?? 64,
      // 0 turns keep-alive off: a connection carries one request.
      pipelining: this.#keepAlive ? Math.max(1, o.pipelining ?? 1) : 0,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connect,
    });
    // A connection that fails is reported through the request that used it.
    this.#pool.on('connectionError', () => undefined);
  }

  /** The URL of `path` under the base URL (its path prefix kept). */
  url(path: string): URL {
    const u = new URL(this.base.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
    return u;
  }

  /** Sends `body`; resolves with any answer, rejects (retryable) on network failure or timeout. */
  async send(
    method: string,
    url: URL,
    body: string,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpAnswer> {
    let data: Buffer = Buffer.from(body, 'utf8');
    const h: Record<string, string> = { ...this.#o.headers, ...headers };
    if (this.#o.gzip) {
      data = await gzipAsync(data);
      h['content-encoding'] = 'gzip';
    }
    return new Promise((resolve, reject) => {
      const handler = new AnswerHandler(this.#limit, resolve, (err) =>
        reject(
          this.#failure(
            `${method} ${this.#o.pathInErrors ? redactUrl(`${url.origin}${url.pathname}`) : url.origin}`,
            err,
          ),
        ),
      );
      try {
        this.#pool.dispatch(
          {
            path: url === this.base ? this.#basePath : `${url.pathname}${url.search}`,
            method: method as Dispatcher.HttpMethod,
            headers: h,
            body: data,
            reset: !this.#keepAlive,
            // undici pipelines only requests it may send again, and only when none waits for its answer.
            ...(this.#pipelined ? { idempotent: true, blocking: false } : {}),
          },
          handler,
        );
      } catch (err) {
        handler.onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  #failure(where: string, err: Error): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'UND_ERR_INVALID_ARG') {
      // A request undici refuses to send (a bad header value) fails the same way every time.
      return permanent(this.#output, `${where} refused: ${err.message}`, err);
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return retryable(this.#output, `${where} failed: no answer within ${this.#timeoutMs} ms`, err);
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return retryable(this.#output, `${where} failed: no connection within ${this.#timeoutMs} ms`, err);
    }
    // A certificate the receiver will keep presenting is not healed by retrying soon, but an
    // operator can fix it (new CA); keep it retryable so nothing is lost before max age.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return retryable(this.#output, `${where} failed: ${code ?? ''} ${err.message}${cause}`.trim(), err);
  }

  /**
   * Sends and requires a 2xx answer: 408, 429 and 5xx are retryable, other
   * statuses permanent. `what` names the request in the error (default
   * `METHOD origin/path`); the first 512 characters of the answer follow.
   */
  async sendOk(
    method: string,
    url: URL,
    body: string,
    headers?: Readonly<Record<string, string>>,
    what?: string,
  ): Promise<HttpAnswer> {
    const res = await this.send(method, url, body, headers);
    if (res.status >= 200 && res.status < 300) return res;
    const text = res.body.slice(0, 512).trim();
    // The path of a Slack, Teams or Discord webhook is its secret: never in an error or a dead letter.
    const detail = redactText(
      `${what ?? `${method} ${redactUrl(`${url.origin}${url.pathname}`)}`} answered ${res.status}${text ? `: ${text}` : ''}`,
    );
    if (!isRetryableStatus(res.status)) throw permanent(this.#output, detail);
    // A rate limit (429) or an overloaded receiver (503) may say when to come back.
    const wait =
      res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
    throw retryable(
      this.#output,
      wait === undefined ? detail : `${detail} (Retry-After ${wait} ms)`,
      undefined,
      wait,
    );
  }

  close(): void {
    this.#pool.destroy().catch(() => undefined);
  }
}

/** An answer whose headers are decoded only when read (most answers are a 2xx nobody looks into). */
class Answer implements HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly #raw: readonly (Buffer | string)[];
  #headers: Record<string, string> | undefined;

  constructor(status: number, body: string, raw: readonly (Buffer | string)[]) {
    this.status = status;
    this.body = body;
    this.#raw = raw;
  }

  get headers(): Readonly<Record<string, string>> {
    if (this.#headers === undefined) {
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < this.#raw.length; i += 2) {
        const name = String(this.#raw[i]).toLowerCase();
        const value = String(this.#raw[i + 1]);
        const had = h[name];
        h[name] = had === undefined ? value : `${had}, ${value}`;
      }
      this.#headers = h;
    }
    return this.#headers;
  }
}

/**
 * One request's answer, collected from undici's dispatch callbacks: the
 * status, the headers and the first `limit` bytes (whole chunks) of the
 * body; the rest is read and dropped.
 */
class AnswerHandler implements Dispatcher.DispatchHandler {
  #status = 0;
  #rawHeaders: readonly (Buffer | string)[] = [];
  #chunks: Buffer[] = [];
  #size = 0;
  #done = false;
  readonly #limit: number;
  readonly #resolve: (answer: HttpAnswer) => void;
  readonly #reject: (err: Error) => void;

  constructor(limit: number, resolve: (answer: HttpAnswer) => void, reject: (err: Error) => void) {
    this.#limit = limit;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onConnect(): void {}

  onHeaders(status: number, raw: Buffer[] | string[] | null): boolean {
    if (status < 200) return true; // 1xx: the final answer follows
    this.#status = status;
    this.#rawHeaders = raw ?? [];
    this.#chunks = [];
    this.#size = 0;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#size < this.#limit) this.#chunks.push(chunk);
    this.#size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.#done) return;
    this.#done = true;
    const body = this.#chunks.length === 0 ? '' : Buffer.concat(this.#chunks).toString('utf8');
    this.#resolve(new Answer(this.#status, body, this.#rawHeaders));
  }

  onError(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#reject(err);
  }

  onUpgrade(): void {
    this.onError(new Error('the receiver upgraded the connection'));
  }
}

// --- the SIEM outputs' target --------------------------------------------------------

export interface HttpTargetOptions {
  /** The server's base URL, `http(s)://host:port[/prefix]`. */
  readonly url: string;
  /** Basic auth. */
  readonly username?: string;
  readonly password?: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Skip certificate checks (https). Default false. */
  readonly insecure?: boolean;
  /** PEM text of the CA(s) to trust instead of the system's. */
  readonly ca?: string;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * A JSON-over-HTTP server for the SIEM outputs (elasticsearch, loki,
 * alertmanager): POSTs under a base URL, the whole answer read back (bulk
 * APIs answer per item).
 */
export class HttpTarget {
  readonly #http: HttpTransport;

  constructor(output: string, option: string, o: HttpTargetOptions) {
    const headers: Record<string, string> = { 'user-agent': 'saker-sinks', ...o.headers };
    if (o.username !== undefined) {
      const token = Buffer.from(`${o.username}:${o.password ?? ''}`, 'utf8').toString('base64');
      headers.authorization = `Basic ${token}`;
    }
    this.#http = new HttpTransport(output, parseHttpUrl(option, o.url), {
      rejectUnauthorized: !(o.insecure ?? false),
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      headers,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      pathInErrors: true,
    });
  }

  /** POSTs `body` to `path` under the base URL and requires a 2xx answer (see HttpTransport.sendOk). */
  postOk(
    path: string,
    body: string,
    contentType: string,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const url = this.#http.url(path);
    return this.#http.sendOk(
      'POST',
      url,
      body,
      { ...headers, 'content-type': contentType },
      `POST ${url.pathname}`,
    );
  }

  close(): void {
    this.#http.close();
  }
}

/** An output posting to one HttpTarget (the store outputs); option errors name `option`. */
export abstract class HttpTargetOutput implements Output {
  readonly name: string;
  protected readonly http: HttpTarget;

  protected constructor(name: string, option: string, o: HttpTargetOptions) {
    this.name = name;
    this.http = new HttpTarget(name, option, o);
  }

  abstract deliver(alert: FalcoAlert, raw: string): Promise<void>;

  async close(): Promise<void> {
    this.http.close();
  }
}
