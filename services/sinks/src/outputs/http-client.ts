/**
 * The sinks' one HTTP transport, shared by every output that talks HTTP:
 * Falco's http_output (HttpOutput), the SIEM outputs (elasticsearch, loki,
 * alertmanager, through HttpTarget) and falcosidekick's chat and webhook
 * outputs (SidekickHttp).
 *
 * HttpTransport owns the connection pool (keep-alive or not), TLS (CA,
 * certificate checks off, client certificate and key), headers, gzip
 * uploads and the per-request timeout; `isRetryableStatus` and
 * `HttpTransport.sendOk` are the one status classifier: 2xx delivered;
 * 408, 429, 5xx, timeouts and network errors retryable; any other status
 * permanent (the alert goes to the dead-letter subject).
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { SinksOptionsError, permanent, retryable } from '../errors.js';

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
 * that the transport owns (content-length, transfer-encoding, host, connection).
 */
export function checkHeaders(option: string, headers: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(headers)) {
    if (!HEADER_NAME.test(k)) throw new SinksOptionsError(option, `bad header name ${JSON.stringify(k)}`);
    if (!HEADER_VALUE.test(v)) throw new SinksOptionsError(`${option}.${k}`, 'bad header value');
    if (/^(content-length|transfer-encoding|host|connection)$/i.test(k)) {
      throw new SinksOptionsError(option, `${k} cannot be set`);
    }
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface HttpTransportOptions {
  /** Keep connections open between requests. Default true; false also sends `connection: close`. */
  readonly keepAlive?: boolean;
  /** Sockets kept per host. Default 16. */
  readonly maxSockets?: number;
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

/** Connections to one http(s) origin, for the output named `output`. */
export class HttpTransport {
  readonly base: URL;
  readonly #output: string;
  readonly #agent: HttpAgent;
  readonly #https: boolean;
  readonly #o: HttpTransportOptions;
  readonly #timeoutMs: number;

  constructor(output: string, base: URL, o: HttpTransportOptions = {}) {
    this.#output = output;
    this.base = base;
    this.#o = o;
    this.#https = base.protocol === 'https:';
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    const keepAlive = o.keepAlive ?? true;
    const maxSockets = o.maxSockets ?? 16;
    if (this.#https) {
      const tls: ConstructorParameters<typeof HttpsAgent>[0] = {
        keepAlive,
        maxSockets,
        rejectUnauthorized: o.rejectUnauthorized ?? true,
      };
      if (o.ca !== undefined) tls.ca = o.ca as string | Buffer | (string | Buffer)[];
      if (o.cert !== undefined) tls.cert = o.cert;
      if (o.key !== undefined) tls.key = o.key;
      this.#agent = new HttpsAgent(tls);
    } else {
      this.#agent = new HttpAgent({ keepAlive, maxSockets });
    }
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
    h['content-length'] = String(data.length);
    if (!(this.#o.keepAlive ?? true)) h.connection = 'close';
    const request = this.#https ? httpsRequest : httpRequest;
    const where = `${method} ${url.origin}${this.#o.pathInErrors ? url.pathname : ''}`;
    const limit = this.#o.maxAnswer ?? 64 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method, agent: this.#agent, headers: h, timeout: this.#timeoutMs },
        (res) => {
          readAnswer(res, limit).then(
            (text) => resolve({ status: res.statusCode ?? 0, body: text }),
            (err: unknown) =>
              reject(retryable(this.#output, `reading the answer failed: ${String(err)}`, err)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        // A certificate the receiver will keep presenting is not healed by retrying soon, but an
        // operator can fix it (new CA); keep it retryable so nothing is lost before max age.
        reject(retryable(this.#output, `${where} failed: ${code ?? ''} ${err.message}`.trim(), err));
      });
      req.end(data);
    });
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
    what = `${method} ${url.origin}${url.pathname}`,
  ): Promise<HttpAnswer> {
    const res = await this.send(method, url, body, headers);
    if (res.status >= 200 && res.status < 300) return res;
    const text = res.body.slice(0, 512).trim();
    const detail = `${what} answered ${res.status}${text ? `: ${text}` : ''}`;
    throw isRetryableStatus(res.status) ? retryable(this.#output, detail) : permanent(this.#output, detail);
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The first `limit` bytes (whole chunks) of an answer; the rest is drained. */
async function readAnswer(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
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
