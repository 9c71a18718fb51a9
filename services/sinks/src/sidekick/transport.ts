/**
 * The transport the sidekick HTTP outputs share: one receiver URL with
 * falcosidekick's TLS (`checkcert`, mutual TLS, CA) and `customheaders`.
 * 408, 429, 5xx and network errors are retryable, other statuses permanent.
 */
import type { FalcoAlert } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import {
  HttpTransport,
  type HttpTransportOptions,
  checkHeaders,
  parseHttpUrl,
  readPem,
} from '../outputs/http-client.js';
import type { Output } from '../outputs/output.js';
import { parseKeyValues } from './key-values.js';

export interface SidekickTlsOptions {
  /** Verify the receiver's certificate (falcosidekick's `checkcert`). Default true. */
  readonly checkCert?: boolean;
  /** PEM file of a CA to trust instead of the system's. */
  readonly caCertFile?: string;
  /** Client certificate and key (falcosidekick's `mutualtls`), and the CA of the receiver. */
  readonly mutualTls?: {
    readonly clientCertFile: string;
    readonly clientKeyFile: string;
    readonly caCertFile?: string;
  } | null;
}

export interface SidekickHttpOptions extends SidekickTlsOptions {
  /** Extra request headers (`customheaders`): a map or `key:value,key:value`. */
  readonly headers?: Readonly<Record<string, string>> | string;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Default `Saker-Sinks`. */
  readonly userAgent?: string;
  /** HTTP/1.1 pipelining depth per connection (Saker's; see HttpTransportOptions.pipelining). Default 1: none. */
  readonly pipelining?: number;
}

/**
 * One receiver URL, with falcosidekick's TLS and header options. `post`
 * resolves on 2xx; 408, 429, 5xx and network errors are retryable, other
 * statuses permanent (HttpTransport's classifier).
 */
export class SidekickHttp {
  readonly #http: HttpTransport;
  readonly #headers: Record<string, string>;

  constructor(name: string, path: string, url: string, o: SidekickHttpOptions = {}) {
    const target = parseHttpUrl(path, url, false);
    const tls: { ca?: Buffer[]; cert?: Buffer; key?: Buffer } = {};
    if (target.protocol === 'https:') {
      const ca: Buffer[] = [];
      if (o.caCertFile) ca.push(readPem(`${path}.caCertFile`, o.caCertFile));
      if (o.mutualTls) {
        tls.cert = readPem(`${path}.mutualTls.clientCertFile`, o.mutualTls.clientCertFile);
        tls.key = readPem(`${path}.mutualTls.clientKeyFile`, o.mutualTls.clientKeyFile);
        if (o.mutualTls.caCertFile) ca.push(readPem(`${path}.mutualTls.caCertFile`, o.mutualTls.caCertFile));
      }
      if (ca.length > 0) tls.ca = ca;
    } else if (o.mutualTls) {
      throw new SinksOptionsError(`${path}.mutualTls`, 'needs an https:// URL');
    }
    const custom = parseKeyValues(`${path}.headers`, o.headers);
    checkHeaders(`${path}.headers`, custom);
    this.#headers = { 'user-agent': o.userAgent ?? 'Saker-Sinks', ...custom };
    const options: HttpTransportOptions = {
      rejectUnauthorized: o.checkCert ?? true,
      ...tls,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...(o.pipelining === undefined ? {} : { pipelining: o.pipelining }),
      maxAnswer: 4096,
    };
    this.#http = new HttpTransport(name, target, options);
  }

  /** Sends `body`; the content type is the output's unless a custom header sets it. */
  async post(body: string, contentType = 'application/json', method = 'POST'): Promise<void> {
    const headers: Record<string, string> = { 'content-type': contentType };
    for (const [k, v] of Object.entries(this.#headers)) headers[k.toLowerCase()] = v;
    await this.#http.sendOk(method, this.#http.base, body, headers);
  }

  close(): void {
    this.#http.close();
  }
}

/**
 * An output that sends one request per alert to one receiver over
 * SidekickHttp (webhook, the chat and the incident outputs); option errors
 * name `outputs.<name>`.
 */
export abstract class SidekickHttpOutput implements Output {
  readonly name: string;
  readonly #http: SidekickHttp;
  readonly #method: 'POST' | 'PUT';

  protected constructor(name: string, url: string, o: SidekickHttpOptions, method: 'POST' | 'PUT' = 'POST') {
    this.name = name;
    this.#method = method;
    this.#http = new SidekickHttp(name, `outputs.${name}`, url, o);
  }

  abstract deliver(alert: FalcoAlert, raw: string): Promise<void>;

  /** Sends one JSON body. */
  protected send(body: string): Promise<void> {
    return this.#http.post(body, 'application/json', this.#method);
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}

/** A SidekickHttpOutput whose body is a document of its own (the chat and incident outputs). */
export abstract class SidekickJsonOutput extends SidekickHttpOutput {
  /** The document sent for one alert. */
  abstract payload(alert: FalcoAlert): Record<string, unknown>;

  deliver(alert: FalcoAlert): Promise<void> {
    return this.send(JSON.stringify(this.payload(alert)));
  }
}
