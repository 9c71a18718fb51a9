/**
 * A small JSON client for the Elasticsearch/OpenSearch REST API: one
 * request at a time per call, basic or API-key auth, a private CA for
 * HTTPS, a deadline, and a cap on the answer's size. Errors name the
 * request and what the cluster said (never the credentials).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { UiElasticsearchConfig } from '@saker/config';
import { ReaderBackendError } from './reader.js';

type EsAuth = UiElasticsearchConfig['auth'];

export interface EsClientOptions {
  /** `http(s)://host:port`, optionally with a path prefix. */
  readonly url: string;
  readonly auth: EsAuth;
  /** PEM CA certificates to trust for HTTPS; null: the system's. */
  readonly ca: Buffer | null;
  readonly timeoutMs: number;
  /** Answers larger than this are refused. */
  readonly maxResponseBytes: number;
}

/** A request to the cluster failed: no answer, or an error status. */
export class EsRequestError extends ReaderBackendError {
  override readonly name = 'EsRequestError';
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  readonly path: string;

  constructor(path: string, status: number, detail: string, options?: { cause?: unknown }) {
    super(`elasticsearch ${path}: ${status === 0 ? '' : `${status} `}${detail}`, options);
    this.status = status;
    this.path = path;
  }
}

/** The `Authorization` header for `auth`; undefined when none. */
function authorization(auth: EsAuth): string | undefined {
  if (auth === null) return undefined;
  if (auth.kind === 'apiKey') return `ApiKey ${auth.key}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}

/** What the cluster said went wrong, from its error body (`error.root_cause[0].reason`, `error.reason`). */
function reasonOf(body: string): string {
  try {
    const v = JSON.parse(body) as {
      error?: { reason?: unknown; root_cause?: { reason?: unknown }[] } | string;
    };
    if (typeof v.error === 'string') return v.error;
    const r = v.error?.root_cause?.[0]?.reason ?? v.error?.reason;
    if (typeof r === 'string') return r;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 300);
}

export class EsClient {
  readonly #o: EsClientOptions;
  readonly #base: URL;

  constructor(o: EsClientOptions) {
    this.#o = o;
    this.#base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') {
      throw new Error(`elasticsearch url: expected http:// or https://, got ${JSON.stringify(o.url)}`);
    }
  }

  /** GET (no body) or POST (a JSON body) of `path` (relative, already encoded); the answer's JSON. */
  requestJson(path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.#base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    const auth = authorization(this.#o.auth);
    if (auth !== undefined) headers.authorization = auth;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: payload === undefined ? 'GET' : 'POST',
          headers,
          timeout: this.#o.timeoutMs,
          ...(this.#o.ca === null ? {} : { ca: this.#o.ca }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.#o.maxResponseBytes) {
              req.destroy(
                new EsRequestError(
                  path,
                  res.statusCode ?? 0,
                  `answer larger than ${this.#o.maxResponseBytes} bytes`,
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new EsRequestError(path, status, reasonOf(text)));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (err) {
              reject(new EsRequestError(path, status, 'the answer is not JSON', { cause: err }));
            }
          });
          res.on('error', (err) => reject(new EsRequestError(path, 0, err.message, { cause: err })));
        },
      );
      req.on('timeout', () =>
        req.destroy(new EsRequestError(path, 0, `no answer within ${this.#o.timeoutMs} ms`)),
      );
      req.on('error', (err) =>
        reject(
          err instanceof EsRequestError ? err : new EsRequestError(path, 0, err.message, { cause: err }),
        ),
      );
      req.end(payload);
    });
  }
}
