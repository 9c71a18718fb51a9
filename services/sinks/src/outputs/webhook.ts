/**
 * falcosidekick's `webhook` output: the alert's JSON (with the custom
 * fields, tags and templated fields of sidekickSettings) sent as the request
 * body, `application/json`, to `address`, with custom headers, `checkcert`
 * and mutual TLS. `method` POST (default) or PUT.
 */
import type { FalcoAlert } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { SidekickHttp, type SidekickHttpOptions } from '../sidekick/transport.js';
import type { Output } from './output.js';

export interface WebhookOutputOptions extends SidekickHttpOptions {
  /** Default `webhook`. */
  readonly name?: string;
  readonly address: string;
  /** Default POST. */
  readonly method?: 'POST' | 'PUT';
}

export class WebhookOutput implements Output {
  readonly name: string;
  readonly #http: SidekickHttp;
  readonly #method: 'POST' | 'PUT';

  constructor(o: WebhookOutputOptions) {
    this.name = o.name ?? 'webhook';
    const method = o.method ?? 'POST';
    if (method !== 'POST' && method !== 'PUT') {
      throw new SinksOptionsError(
        `outputs.${this.name}.method`,
        `expected POST or PUT, got ${String(method)}`,
      );
    }
    this.#method = method;
    this.#http = new SidekickHttp(this.name, `outputs.${this.name}`, o.address, o);
  }

  deliver(_alert: FalcoAlert, raw: string): Promise<void> {
    return this.#http.post(raw, 'application/json', this.#method);
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}
