import { field, httpUrl, oneOf } from '@saker/config';
/**
 * falcosidekick's `webhook` output: the alert's JSON (with the custom
 * fields, tags and templated fields of sidekickSettings) sent as the request
 * body, `application/json`, to `address`, with custom headers, `checkcert`
 * and mutual TLS. `method` POST (default) or PUT.
 */
import type { FalcoAlert } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { chatOutput } from '../sidekick/descriptor.js';
import { type SidekickHttpOptions, SidekickHttpOutput } from '../sidekick/transport.js';

export interface WebhookOutputOptions extends SidekickHttpOptions {
  /** Default `webhook`. */
  readonly name?: string;
  readonly address: string;
  /** Default POST. */
  readonly method?: 'POST' | 'PUT';
}

export class WebhookOutput extends SidekickHttpOutput {
  constructor(o: WebhookOutputOptions) {
    const name = o.name ?? 'webhook';
    const method = o.method ?? 'POST';
    if (method !== 'POST' && method !== 'PUT') {
      throw new SinksOptionsError(`outputs.${name}.method`, `expected POST or PUT, got ${String(method)}`);
    }
    super(name, o.address, o, method);
  }

  /** The alert's JSON line, as it is. */
  deliver(_alert: FalcoAlert, raw: string): Promise<void> {
    return this.send(raw);
  }
}

/** `sinks.sidekick.webhook`: on when `address` is set. */
export const webhookSidekick = chatOutput({
  name: 'webhook',
  fields: {
    address: field(httpUrl(), ''),
    method: field(
      oneOf<'POST' | 'PUT'>(['POST', 'PUT'], (t) => {
        const u = t.toUpperCase();
        return u === 'POST' || u === 'PUT' ? u : undefined;
      }),
      'POST',
    ),
  },
  on: 'address',
  create: (c, http) =>
    new WebhookOutput({
      address: c.address,
      method: c.method,
      ...http,
    }),
});
