/**
 * A small JSON-over-HTTP client for the SIEM outputs (elasticsearch, loki,
 * alertmanager): one POST, the whole answer read back (bulk APIs answer per
 * item), network failures and timeouts turned into retryable errors.
 */
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SinksOptionsError, permanent, retryable } from '../errors.js';
import { isRetryableStatus } from './http.js';

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

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Largest answer read back; bulk answers with thousands of items fit. */
const MAX_ANSWER = 64 * 1024 * 1024;

export class HttpTarget {
  readonly #output: string;
  readonly #base: URL;
  readonly #agent: HttpAgent;
  readonly #https: boolean;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(output: string, option: string, o: HttpTargetOptions) {
    this.#output = output;
    try {
      this.#base = new URL(o.url);
    } catch {
      throw new SinksOptionsError(`${option}.url`, `not a URL: ${JSON.stringify(o.url)}`);
    }
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') {
      throw new SinksOptionsError(
        `${option}.url`,
        `expected http:// or https://, got ${this.#base.protocol}`,
      );
    }
    this.#https = this.#base.protocol === 'https:';
    this.#agent = this.#https
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 16,
          rejectUnauthorized: !(o.insecure ?? false),
          ...(o.ca === undefined ? {} : { ca: o.ca }),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 16 });
    this.#headers = { 'user-agent': 'saker-sinks', ...o.headers };
    if (o.username !== undefined) {
      const token = Buffer.from(`${o.username}:${o.password ?? ''}`, 'utf8').toString('base64');
      this.#headers.authorization = `Basic ${token}`;
    }
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  /** The URL of `path` under the base URL (its path prefix kept). */
  url(path: string): URL {
    const u = new URL(this.#base.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
    return u;
  }

  /** POSTs `body`; resolves with any answer, rejects (retryable) on network failure or timeout. */
  post(
    path: string,
    body: string,
    contentType: string,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const url = this.url(path);
    const data = Buffer.from(body, 'utf8');
    const h = {
      ...this.#headers,
      ...headers,
      'content-type': contentType,
      'content-length': String(data.length),
    };
    const request = this.#https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent: this.#agent, headers: h, timeout: this.#timeoutMs },
        (res) => {
          readAll(res).then(
            (text) => resolve({ status: res.statusCode ?? 0, body: text }),
            (err: unknown) =>
              reject(retryable(this.#output, `reading the answer failed: ${String(err)}`, err)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          retryable(
            this.#output,
            `POST ${url.origin}${url.pathname} failed: ${code ?? ''} ${err.message}`,
            err,
          ),
        );
      });
      req.end(data);
    });
  }

  /** POSTs and requires a 2xx answer: 408, 429 and 5xx are retryable, other statuses permanent. */
  async postOk(
    path: string,
    body: string,
    contentType: string,
    headers?: Record<string, string>,
  ): Promise<HttpAnswer> {
    const res = await this.post(path, body, contentType, headers);
    if (res.status >= 200 && res.status < 300) return res;
    const detail = `POST ${this.url(path).pathname} answered ${res.status}${res.body ? `: ${res.body.slice(0, 512).trim()}` : ''}`;
    throw isRetryableStatus(res.status) ? retryable(this.#output, detail) : permanent(this.#output, detail);
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < MAX_ANSWER) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
