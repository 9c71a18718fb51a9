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
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { SinksOptionsError } from '../errors.js';
import { HttpTransport, parseHttpUrl, readPem } from './http-client.js';
import type { Delivery, Output } from './output.js';

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
  /** HTTP/1.1 pipelining depth per connection (Saker's; HttpTransportOptions.pipelining). Default 1: none. */
  readonly pipelining?: number;
  /** Extra request headers (the later chat/SIEM outputs set their auth here). */
  readonly headers?: Readonly<Record<string, string>>;
}

function caList(o: HttpOutputOptions): Buffer[] | undefined {
  const out: Buffer[] = [];
  if (o.caCert) out.push(readPem('http_output.ca_cert', o.caCert));
  if (o.caBundle) out.push(readPem('http_output.ca_bundle', o.caBundle));
  if (o.caPath) {
    let names: string[];
    try {
      names = readdirSync(o.caPath);
    } catch (err) {
      throw new SinksOptionsError('http_output.ca_path', `cannot read ${o.caPath}: ${String(err)}`);
    }
    for (const n of names.sort()) {
      if (/\.(pem|crt|cer)$/i.test(n)) out.push(readPem('http_output.ca_path', join(o.caPath, n)));
    }
  }
  return out.length > 0 ? out : undefined;
}

export class HttpOutput implements Output {
  readonly name: string;
  readonly #o: HttpOutputOptions;
  readonly #http: HttpTransport;

  constructor(o: HttpOutputOptions) {
    this.name = o.name ?? 'http';
    this.#o = o;
    const url = parseHttpUrl('http_output', o.url);
    if (o.pipelining !== undefined && !(Number.isInteger(o.pipelining) && o.pipelining >= 1)) {
      throw new SinksOptionsError('http_output.pipelining', `expected an integer ≥ 1, got ${o.pipelining}`);
    }
    const tls: { ca?: Buffer[]; cert?: Buffer; key?: Buffer } = {};
    if (url.protocol === 'https:') {
      const ca = caList(o);
      if (ca) tls.ca = ca;
      if (o.mtls) {
        if (!o.clientCert || !o.clientKey) {
          throw new SinksOptionsError('http_output.mtls', 'needs client_cert and client_key');
        }
        tls.cert = readPem('http_output.client_cert', o.clientCert);
        tls.key = readPem('http_output.client_key', o.clientKey);
      }
    }
    this.#http = new HttpTransport(this.name, url, {
      keepAlive: o.keepAlive ?? true,
      maxSockets: o.maxSockets ?? 64,
      ...(o.pipelining === undefined ? {} : { pipelining: o.pipelining }),
      rejectUnauthorized: !(o.insecure ?? false),
      ...tls,
      headers: {
        'user-agent': o.userAgent ?? 'falcosecurity/falco',
        'content-type': o.format.json ? 'application/json' : 'text/plain',
        ...o.headers,
      },
      gzip: o.compressUploads ?? false,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      maxAnswer: 4096,
    });
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await this.#http.sendOk('POST', this.#http.base, alertLine(alert, raw, this.#o.format));
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    let body = '';
    for (const d of items) body += `${d.raw}\n`;
    await this.#http.sendOk('POST', this.#http.base, body, { 'content-type': 'application/x-ndjson' });
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
