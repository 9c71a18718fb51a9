import { field, httpUrl, oneOf } from '@saker/config';
/**
 * falcosidekick's `webhook` output: the alert's JSON (with the custom
 * fields, tags and templated fields of sidekickSettings) sent as the request
 * body, `application/json`, to `address`, with custom headers, `checkcert`
 * and mutual TLS. `method` POST (default) or PUT.
 */
import type { FalcoAlert } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { chatFields, sidekickOutput } from '../sidekick/descriptor.js';
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

/** `sinks.sidekick.webhook`: on when `address` is set. */
export const webhookSidekick = sidekickOutput({
  name: 'webhook',
  concurrency: 16,
  fields: {
    address: field(httpUrl(), ''),
    method: field(
      oneOf<'POST' | 'PUT'>(['POST', 'PUT'], (t) => {
        const u = t.toUpperCase();
        return u === 'POST' || u === 'PUT' ? u : undefined;
      }),
      'POST',
    ),
    ...chatFields(),
  },
  enabled: (c) => c.address !== '',
  create: (c, ctx) =>
    new WebhookOutput({
      address: c.address,
      method: c.method,
      ...ctx.http('webhook', c),
    }),
});
