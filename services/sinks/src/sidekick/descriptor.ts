/**
 * A falcosidekick output as a descriptor: its name under `sinks.sidekick`,
 * the schema of its own keys (built with @saker/config's combinators, so a
 * bad value is reported at its key with file:line:col), its default
 * concurrency, when the configuration turns it on, and the factory that
 * builds it. registry.ts lists the descriptors; the `sinks.sidekick` schema
 * and the mapping to output settings are derived from that list.
 */
import {
  type Field,
  type Fields,
  type ObjectOf,
  boolean,
  checked,
  concurrency,
  field,
  httpUrl,
  nullable,
  priority,
  string,
  stringMap,
} from '@saker/config';
import type { MetricsRegistry } from '@saker/telemetry';
import type { AlertFormat } from '../alert.js';
import { checkHeaders } from '../outputs/http-client.js';
import type { Output } from '../outputs/output.js';
import type { SidekickHttpOptions, SidekickTlsOptions } from './transport.js';

/** What a factory gets besides its own keys: the global ones, read once. */
export interface SidekickContext {
  /** Falco's JSON (the `json_include_*` keys); falcosidekick forwards the alert as received. */
  readonly format: AlertFormat;
  /** The service's registry; the prometheus output needs it. */
  readonly metrics: MetricsRegistry | undefined;
  /** `tlsclient.cacertfile`'s text, read now; undefined when not set. */
  readCa(name: string): string | undefined;
  /** `checkcert`, `tlsclient` and (with `mutualtls`) `mutualtlsclient`. */
  tls(name: string, c: { readonly checkcert: boolean; readonly mutualtls: boolean }): SidekickTlsOptions;
  /** tls() and `customheaders`: the options of SidekickHttp (chat, webhook and incident outputs). */
  http(
    name: string,
    c: {
      readonly checkcert: boolean;
      readonly mutualtls: boolean;
      readonly customheaders: Readonly<Record<string, string>>;
    },
  ): SidekickHttpOptions;
  /** URL, headers, certificate check and CA of the outputs that post to a store (storeOutput). */
  store(
    name: string,
    c: {
      readonly hostport: string;
      readonly checkcert: boolean;
      readonly customheaders: Readonly<Record<string, string>>;
    },
  ): StoreTarget;
}

export interface SidekickOutputDescriptor<F extends Fields> {
  /** Its key under `sinks.sidekick`, and the output's name. */
  readonly name: string;
  /** Its own keys; the ones every output has (commonFields) are added. */
  readonly fields: F;
  /** Deliveries in progress at once when its `concurrency` key is not set. */
  readonly concurrency: number;
  /** Whether the configuration turns it on (its `on` key is set). */
  enabled(c: ObjectOf<F>): boolean;
  /** Builds it; throws SinksOptionsError naming a `sinks.sidekick…` key for what its schema cannot check alone. */
  create(c: ObjectOf<F>, ctx: SidekickContext): Output;
}

/** The keys of F that can turn an output on: a string ('' is off) or a boolean, named without `_`. */
type SwitchKey<F extends Fields> = {
  [K in keyof F & string]: K extends `${string}_${string}`
    ? never
    : F[K] extends Field<infer T>
      ? [T] extends [string | boolean]
        ? K
        : never
      : never;
}[keyof F & string];

/** What an output module declares. */
export interface SidekickOutputDeclaration<F extends Fields> {
  readonly name: string;
  readonly fields: F;
  /** Default 16 (outputs that post over HTTP); outputs on one connection declare 1. */
  readonly concurrency?: number;
  /** The key that turns the output on: set (not '') or true. */
  readonly on: SwitchKey<F>;
  create(c: ObjectOf<F>, ctx: SidekickContext): Output;
}

/** Declares an output: its descriptor, `enabled` derived from `on`. */
export function sidekickOutput<const F extends Fields>(
  d: SidekickOutputDeclaration<F>,
): SidekickOutputDescriptor<F> {
  return {
    name: d.name,
    fields: d.fields,
    concurrency: d.concurrency ?? 16,
    enabled: (c) => {
      const v = (c as Readonly<Record<string, unknown>>)[d.on];
      return v !== '' && v !== false;
    },
    create: (c, ctx) => d.create(c, ctx),
  };
}

/**
 * A webhook, chat or incident output: falcosidekick's HTTP keys and
 * `mutualtls` are added to its own; `create` gets the SidekickHttp options
 * they make.
 */
export function chatOutput<const F extends Fields>(d: {
  readonly name: string;
  readonly fields: F;
  readonly on: SwitchKey<F>;
  create(c: ObjectOf<F>, http: SidekickHttpOptions): Output;
}): SidekickOutputDescriptor<F & ChatFields> {
  return sidekickOutput<F & ChatFields>({
    name: d.name,
    fields: { ...d.fields, ...chatFields() },
    on: d.on as SwitchKey<F & ChatFields>,
    // The generic intersection hides the added keys' types from the checker; they are chatFields().
    create: (c, ctx) =>
      d.create(c as unknown as ObjectOf<F>, ctx.http(d.name, c as unknown as ObjectOf<ChatFields>)),
  });
}

/** Where a store output posts: `hostport`, the HTTP keys and `tlsclient.cacertfile`. */
export interface StoreTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly insecure: boolean;
  readonly ca?: string;
}

/**
 * An output that posts to a store over HTTP (Elasticsearch, Loki,
 * Alertmanager): on when `hostport` is set; `create` gets its target.
 */
export function storeOutput<const F extends Fields>(d: {
  readonly name: string;
  readonly fields: F;
  create(c: ObjectOf<F>, target: StoreTarget, ctx: SidekickContext): Output;
}): SidekickOutputDescriptor<F & StoreFields> {
  return sidekickOutput<F & StoreFields>({
    name: d.name,
    fields: { hostport: field(httpUrl(), ''), ...d.fields, ...httpFields() },
    on: 'hostport' as SwitchKey<F & StoreFields>,
    create: (c, ctx) =>
      d.create(c as unknown as ObjectOf<F>, ctx.store(d.name, c as unknown as ObjectOf<StoreFields>), ctx),
  });
}

/** Keys every falcosidekick output has: its `minimumpriority`, and Saker's filters (which win). */
export function commonFields() {
  return {
    minimumpriority: field(nullable(priority), null),
    minimum_priority: field(nullable(priority), null),
    condition: field(nullable(string()), null),
    // Saker's: deliveries in progress at once; null: the descriptor's default (docs/config.md).
    concurrency: field(nullable(concurrency()), null),
  };
}

/** `customheaders`, checked as HTTP header names and values. */
function headersField() {
  return field(
    checked(stringMap(), (h) => checkHeaders('customheaders', h)),
    {},
  );
}

/** The transport keys of outputs that post over HTTP. */
function httpFields() {
  return { checkcert: field(boolean(), true), customheaders: headersField() };
}

/** The chat and incident outputs: HTTP keys and falcosidekick's `mutualtls`. */
function chatFields() {
  return { ...httpFields(), mutualtls: field(boolean(), false) };
}
type ChatFields = ReturnType<typeof chatFields>;
type StoreFields = ReturnType<typeof httpFields> & { readonly hostport: Field<string> };

/** `value` unless it is '' (falcosidekick's "not set"): `{ [key]: value }` or nothing. */
export function ifSet<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

/** `host[:port]` (IPv6 in brackets) as the two parts; `defaultPort` when none is written. */
export function hostAndPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  return { host: m?.[1] ?? m?.[2] ?? value, port: m?.[3] === undefined ? defaultPort : Number(m[3]) };
}
