/**
 * NATS: each alert (Falco's JSON, or its text line) published on a subject
 * made from a template, `falco.{{priority}}.{{rule}}` by default.
 *
 * Placeholders: `{{priority}}`, `{{rule}}`, `{{source}}`, `{{hostname}}`.
 * Each value becomes one subject token: lowercased, every run of characters
 * outside `[a-z0-9_-]` (dots, spaces, `*`, `>` included) turned into one `_`,
 * `_` when empty. So `Read sensitive file` → `read_sensitive_file`, and a
 * rule cannot inject extra tokens or wildcards.
 *
 * Delivered means the server has seen the publish (a flush), not that a
 * subscriber got it: core NATS keeps nothing for absent subscribers.
 */
import { type Bus, connectBus } from '@saker/bus';
import { emptyOr, field, natsUrl, string } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { SinksOptionsError, retryable } from '../errors.js';
import { sidekickOutput } from '../sidekick/descriptor.js';
import type { Delivery, Output } from './output.js';

export interface NatsOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  /** A bus on the target NATS (connectBus({ url })). Closed by close() when `ownsBus`. */
  readonly bus: Pick<Bus, 'publish' | 'flush'> & Partial<Pick<Bus, 'close'>>;
  readonly ownsBus?: boolean;
  /** Default `falco.{{priority}}.{{rule}}`. */
  readonly subject?: string;
}

const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;
const KNOWN = new Set(['priority', 'rule', 'source', 'hostname']);

/** One subject token from any text. */
export function subjectToken(value: string): string {
  const t = value.toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
  return t === '' ? '_' : t;
}

/** The subject of an alert under `template`. */
export function natsSubject(template: string, alert: FalcoAlert): string {
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    const v =
      key === 'priority'
        ? alert.priority
        : key === 'rule'
          ? alert.rule
          : key === 'source'
            ? alert.source
            : alert.hostname;
    return subjectToken(v);
  });
}

export class NatsOutput implements Output {
  readonly name: string;
  readonly #o: NatsOutputOptions;
  readonly #template: string;

  constructor(o: NatsOutputOptions) {
    this.name = o.name ?? 'nats';
    this.#o = o;
    this.#template = o.subject ?? 'falco.{{priority}}.{{rule}}';
    for (const m of this.#template.matchAll(PLACEHOLDER)) {
      if (!KNOWN.has(m[1] ?? '')) {
        throw new SinksOptionsError(
          'nats.subject',
          `unknown placeholder ${m[0]} (priority, rule, source, hostname)`,
        );
      }
    }
    const literal = this.#template.replace(PLACEHOLDER, 'x');
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(literal)) {
      throw new SinksOptionsError(
        'nats.subject',
        `${JSON.stringify(this.#template)} is not a subject template`,
      );
    }
  }

  #publish(d: Delivery): void {
    const line = alertLine(d.alert, d.raw, this.#o.format);
    this.#o.bus.publish(natsSubject(this.#template, d.alert), new TextEncoder().encode(line));
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await this.deliverBatch([{ alert, raw }]);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    try {
      for (const d of items) this.#publish(d);
      await this.#o.bus.flush();
    } catch (err) {
      throw retryable(this.name, `publish failed: ${String(err)}`, err);
    }
  }

  async close(): Promise<void> {
    if (this.#o.ownsBus) await this.#o.bus.close?.();
  }
}

/** falcosidekick's subject template (`falco.<priority>.<rule>`) in NatsOutput's form (`{{priority}}`). */
function natsTemplate(t: string): string {
  return t.replace(/<(priority|rule|source|hostname)>/g, '{{$1}}');
}

const NO_BUS: Pick<Bus, 'publish' | 'flush'> = {
  publish: () => undefined,
  flush: async () => undefined,
};

/** NatsOutput on its own connection, opened at the first delivery (a failed connect is retried). */
class LazyNatsOutput implements Output {
  readonly name = 'nats';
  readonly #url: string;
  readonly #format: AlertFormat;
  readonly #subject: string;
  #inner: Promise<NatsOutput> | undefined;

  constructor(url: string, format: AlertFormat, subject: string) {
    this.#url = url;
    this.#format = format;
    this.#subject = subject;
    new NatsOutput({ format, bus: NO_BUS, subject }); // validates the template now
  }

  #get(): Promise<NatsOutput> {
    if (this.#inner === undefined) {
      const inner = connectBus({ url: this.#url.split(','), name: 'saker-sinks-nats' }).then(
        (bus) => new NatsOutput({ format: this.#format, bus, ownsBus: true, subject: this.#subject }),
      );
      this.#inner = inner;
      inner.catch(() => {
        if (this.#inner === inner) this.#inner = undefined;
      });
    }
    return this.#inner.catch((err: unknown) => {
      throw retryable(this.name, `cannot connect to ${this.#url}: ${String(err)}`, err);
    });
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await (await this.#get()).deliver(alert, raw);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    await (await this.#get()).deliverBatch(items);
  }

  async close(): Promise<void> {
    const inner = this.#inner;
    this.#inner = undefined;
    if (inner !== undefined) await (await inner.catch(() => undefined))?.close();
  }
}

/** `sinks.sidekick.nats`: on when `hostport` is set; its own connection, not the service's bus. */
export const natsSidekick = sidekickOutput({
  name: 'nats',
  concurrency: 1,
  fields: {
    hostport: field(emptyOr(natsUrl()), ''),
    subjecttemplate: field(string(), 'falco.<priority>.<rule>'),
  },
  on: 'hostport',
  create: (c, ctx) => new LazyNatsOutput(c.hostport, ctx.format, natsTemplate(c.subjecttemplate)),
});
