/**
 * Falco's http output: one POST per alert to `url`. Falco's keys: user_agent,
 * insecure, ca_cert (a file), ca_bundle (a file), ca_path (a directory of
 * PEM files), mtls with client_cert/client_key, compress_uploads (gzip),
 * keep_alive. The answer decides the outcome: 2xx delivered; 408, 429, 5xx,
 * timeouts and network errors retryable; any other status permanent (the
 * alert goes to the dead-letter subject).
 *
 * Batching hook (Saker's, off by default): `deliverBatch` POSTs several
 * alerts at once as JSON lines (`application/x-ndjson`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { SinksOptionsError, permanent, retryable } from '../errors.js';
import type { Delivery, Output } from './output.js';

const gzipAsync = promisify(gzip);

export interface HttpOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  readonly url: string;
  /** Default Falco's, `falcosecurity/falco`. */
  readonly userAgent?: string;
  readonly insecure?: boolean;
  /** PEM file(s) of the CA(s) to trust instead of the system's. */
  readonly caCert?: string;
  readonly caBundle?: string;
  /** A directory of PEM files. */
  readonly caPath?: string;
  readonly mtls?: boolean;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly compressUploads?: boolean;
  /** Keep connections open between requests. Default true (Falco's http_output default). */
  readonly keepAlive?: boolean;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Sockets kept per host. Default 64. */
  readonly maxSockets?: number;
  /** Extra request headers (the later chat/SIEM outputs set their auth here). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Status codes worth trying again. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SinksOptionsError(`http_output.${what}`, `cannot read ${path}: ${String(err)}`);
  }
}

function caList(o: HttpOutputOptions): Buffer[] | undefined {
  const out: Buffer[] = [];
  if (o.caCert) out.push(readPem(o.caCert, 'ca_cert'));
  if (o.caBundle) out.push(readPem(o.caBundle, 'ca_bundle'));
  if (o.caPath) {
    let names: string[];
    try {
      names = readdirSync(o.caPath);
    } catch (err) {
      throw new SinksOptionsError('http_output.ca_path', `cannot read ${o.caPath}: ${String(err)}`);
    }
    for (const n of names.sort()) {
      if (/\.(pem|crt|cer)$/i.test(n)) out.push(readPem(join(o.caPath, n), 'ca_path'));
    }
  }
  return out.length > 0 ? out : undefined;
}

export class HttpOutput implements Output {
  readonly name: string;
  readonly #o: HttpOutputOptions;
  readonly #url: URL;
  readonly #agent: HttpAgent;
  readonly #https: boolean;
  readonly #headers: Record<string, string>;

  constructor(o: HttpOutputOptions) {
    this.name = o.name ?? 'http';
    this.#o = o;
    try {
      this.#url = new URL(o.url);
    } catch {
      throw new SinksOptionsError('http_output.url', `not a URL: ${JSON.stringify(o.url)}`);
    }
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new SinksOptionsError(
        'http_output.url',
        `expected http:// or https://, got ${this.#url.protocol}`,
      );
    }
    this.#https = this.#url.protocol === 'https:';
    const keepAlive = o.keepAlive ?? true;
    const maxSockets = o.maxSockets ?? 64;
    if (this.#https) {
      const tls: ConstructorParameters<typeof HttpsAgent>[0] = {
        keepAlive,
        maxSockets,
        rejectUnauthorized: !(o.insecure ?? false),
      };
      const ca = caList(o);
      if (ca) tls.ca = ca;
      if (o.mtls) {
        if (!o.clientCert || !o.clientKey) {
          throw new SinksOptionsError('http_output.mtls', 'needs client_cert and client_key');
        }
        tls.cert = readPem(o.clientCert, 'client_cert');
        tls.key = readPem(o.clientKey, 'client_key');
      }
      this.#agent = new HttpsAgent(tls);
    } else {
      this.#agent = new HttpAgent({ keepAlive, maxSockets });
    }
    this.#headers = {
      'user-agent': o.userAgent ?? 'falcosecurity/falco',
      'content-type': o.format.json ? 'application/json' : 'text/plain',
      ...o.headers,
    };
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    return this.#post(alertLine(alert, raw, this.#o.format), this.#headers);
  }

  deliverBatch(items: readonly Delivery[]): Promise<void> {
    let body = '';
    for (const d of items) body += `${d.raw}\n`;
    return this.#post(body, { ...this.#headers, 'content-type': 'application/x-ndjson' });
  }

  async #post(text: string, headers: Record<string, string>): Promise<void> {
    let body: Buffer = Buffer.from(text, 'utf8');
    const h: Record<string, string> = { ...headers };
    if (this.#o.compressUploads) {
      body = await gzipAsync(body);
      h['content-encoding'] = 'gzip';
    }
    h['content-length'] = String(body.length);
    if (!(this.#o.keepAlive ?? true)) h.connection = 'close';
    const res = await this.#send(body, h);
    if (res.status >= 200 && res.status < 300) return;
    const detail = `POST ${this.#url.origin}${this.#url.pathname} answered ${res.status}${res.body ? `: ${res.body}` : ''}`;
    throw isRetryableStatus(res.status) ? retryable(this.name, detail) : permanent(this.name, detail);
  }

  #send(body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const request = this.#https ? httpsRequest : httpRequest;
    const timeoutMs = this.#o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const req = request(
        this.#url,
        { method: 'POST', agent: this.#agent, headers, timeout: timeoutMs },
        (res) => {
          readSome(res, 512).then(
            (text) => resolve({ status: res.statusCode ?? 0, body: text }),
            (err: unknown) => reject(retryable(this.name, `reading the answer failed: ${String(err)}`, err)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        // A certificate the receiver will keep presenting is not healed by retrying soon, but an
        // operator can fix it (new CA); keep it retryable so nothing is lost before max age.
        reject(
          retryable(this.name, `POST ${this.#url.origin} failed: ${code ?? ''} ${err.message}`.trim(), err),
        );
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}

/** The first `limit` bytes of an answer (for the error message); the rest is drained. */
async function readSome(res: IncomingMessage, limit: number): Promise<string> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (text.length < limit) text += chunk.toString('utf8');
  }
  return text.slice(0, limit).trim();
}
