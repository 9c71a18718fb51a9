import { field, string, stringList } from '@saker/config';
/**
 * Grafana Loki: the push API, `POST /loki/api/v1/push`, JSON
 * `{"streams":[{"stream":{labels},"values":[["<ns>","<line>"]]}]}`.
 *
 * - Labels: `rule`, `priority`, `source`, `hostname`, plus `extraLabels`
 *   (static) and `fieldLabels` (output fields by name, e.g. `k8s.ns.name` →
 *   label `k8s_ns_name`). Names are sanitized to `[a-zA-Z_][a-zA-Z0-9_]*`;
 *   empty values are left out.
 * - The time is the alert's, in nanoseconds (a string, as the API wants).
 * - The line is Falco's JSON (or its text line when `json_output` is false).
 * - `tenant` sets `X-Scope-OrgID` (multi-tenant Loki); basic auth through
 *   `username`/`password`.
 * - Batching hook: one push, alerts grouped into streams by label set.
 * - Loki answers 204; 400 (out of order, too old, bad labels) is permanent.
 */
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine, timeToNs } from '../alert.js';
import { ifSet, storeOutput } from '../sidekick/descriptor.js';
import { sanitizeLabelName } from './alertmanager.js';
import { type HttpTargetOptions, HttpTargetOutput } from './http-client.js';
import type { Delivery } from './output.js';

export interface LokiOutputOptions extends HttpTargetOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  /** `X-Scope-OrgID`. Default: not sent. */
  readonly tenant?: string;
  /** Static labels on every stream. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** Output fields that become labels (keep their cardinality low). */
  readonly fieldLabels?: readonly string[];
}

interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

export class LokiOutput extends HttpTargetOutput {
  readonly #o: LokiOutputOptions;
  readonly #headers: Record<string, string>;

  constructor(o: LokiOutputOptions) {
    super(o.name ?? 'loki', 'loki', o);
    this.#o = o;
    this.#headers = o.tenant === undefined ? {} : { 'x-scope-orgid': o.tenant };
  }

  labels(alert: FalcoAlert): Record<string, string> {
    const labels: Record<string, string> = {};
    const set = (k: string, v: string): void => {
      if (v !== '') labels[sanitizeLabelName(k)] = v;
    };
    for (const [k, v] of Object.entries(this.#o.extraLabels ?? {})) set(k, v);
    for (const f of this.#o.fieldLabels ?? []) {
      const v = alert.output_fields[f];
      if (v !== undefined && v !== null && !Array.isArray(v)) set(f, String(v));
    }
    set('rule', alert.rule);
    set('priority', alert.priority);
    set('source', alert.source);
    set('hostname', alert.hostname);
    return labels;
  }

  /** The push body for the deliveries. */
  pushBody(items: readonly Delivery[]): string {
    const streams = new Map<string, LokiStream>();
    for (const d of items) {
      const stream = this.labels(d.alert);
      const key = JSON.stringify(Object.entries(stream).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      let s = streams.get(key);
      if (s === undefined) {
        s = { stream, values: [] };
        streams.set(key, s);
      }
      const ns = timeToNs(d.alert.time) ?? `${BigInt(Date.now()) * 1_000_000n}`;
      s.values.push([ns, alertLine(d.alert, d.raw, this.#o.format)]);
    }
    return JSON.stringify({ streams: [...streams.values()] });
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await this.deliverBatch([{ alert, raw }]);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    await this.http.postOk('/loki/api/v1/push', this.pushBody(items), 'application/json', this.#headers);
  }
}

/** `sinks.sidekick.loki`: on when `hostport` is set. */
export const lokiSidekick = storeOutput({
  name: 'loki',
  fields: {
    tenant: field(string(), ''),
    user: field(string(), ''),
    apikey: field(string(), ''),
    extralabels: field(stringList(), []),
  },
  create: (c, target, ctx) =>
    new LokiOutput({
      ...target,
      format: ctx.format,
      ...ifSet('tenant', c.tenant),
      ...(c.user === '' ? {} : { username: c.user, password: c.apikey }),
      fieldLabels: c.extralabels,
    }),
});
