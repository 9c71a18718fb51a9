/**
 * A falcosidekick output as a descriptor: its name under `sinks.sidekick`,
 * the schema of its own keys (built with @saker/config's combinators, so a
 * bad value is reported at its key with file:line:col), its default
 * concurrency, when the configuration turns it on, and the factory that
 * builds it. registry.ts lists the descriptors; the `sinks.sidekick` schema
 * and the mapping to output settings are derived from that list.
 */
import {
  type Fields,
  type ObjectOf,
  boolean,
  checked,
  concurrency,
  field,
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
  /** Headers, certificate check and CA of the outputs that post to a store (Elasticsearch, Loki, Alertmanager). */
  store(
    name: string,
    c: { readonly checkcert: boolean; readonly customheaders: Readonly<Record<string, string>> },
  ): { headers: Readonly<Record<string, string>>; insecure: boolean; ca?: string };
}

export interface SidekickOutputDescriptor<F extends Fields> {
  /** Its key under `sinks.sidekick`, and the output's name. */
  readonly name: string;
  /** Its own keys; the ones every output has (commonFields) are added. */
  readonly fields: F;
  /** Deliveries in progress at once when its `concurrency` key is not set. */
  readonly concurrency: number;
  /** Whether the configuration turns it on (its required key is set). */
  enabled(c: ObjectOf<F>): boolean;
  /** Builds it; throws SinksOptionsError naming a `sinks.sidekick…` key for what its schema cannot check alone. */
  create(c: ObjectOf<F>, ctx: SidekickContext): Output;
}

/** Declares an output (the identity, for the type of `fields`). */
export function sidekickOutput<const F extends Fields>(
  d: SidekickOutputDescriptor<F>,
): SidekickOutputDescriptor<F> {
  return d;
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
export function httpFields() {
  return { checkcert: field(boolean(), true), customheaders: headersField() };
}

/** The chat and incident outputs: HTTP keys and falcosidekick's `mutualtls`. */
export function chatFields() {
  return { ...httpFields(), mutualtls: field(boolean(), false) };
}

/** `value` unless it is '' (falcosidekick's "not set"): `{ [key]: value }` or nothing. */
export function ifSet<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

/** `host[:port]` (IPv6 in brackets) as the two parts; `defaultPort` when none is written. */
export function hostAndPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  return { host: m?.[1] ?? m?.[2] ?? value, port: m?.[3] === undefined ? defaultPort : Number(m[3]) };
}
