import { field, number, stringMap } from '@saker/config';
/**
 * Prometheus Alertmanager: alerts POSTed to its v2 API, `/api/v2/alerts`, as
 * a JSON array of `{labels, annotations, startsAt, endsAt?, generatorURL?}`.
 *
 * - Labels: `alertname` (the rule), `priority`, `source`, `hostname`, then
 *   the output fields (scalars only, `output_fields: false` leaves them out)
 *   and `extraLabels`. Names follow Prometheus' rule
 *   `[a-zA-Z_][a-zA-Z0-9_]*` (sanitizeLabelName); names starting with `__`
 *   are reserved and get a prefix; empty values are left out (Alertmanager
 *   treats them as absent).
 * - Annotations: `summary` (the rule), `description` (Falco's output line).
 * - `startsAt`: the alert's time; `endsAt`: startsAt + `expiresAfterMs` when
 *   set (else Alertmanager's resolve_timeout applies).
 * - Batching hook: one POST with all the alerts of the batch.
 */
import type { FalcoAlert } from '@saker/rules';
import { storeOutput } from '../sidekick/descriptor.js';
import { type HttpTargetOptions, HttpTargetOutput } from './http-client.js';
import type { Delivery } from './output.js';

export interface AlertmanagerOutputOptions extends HttpTargetOptions {
  readonly name?: string;
  /** Output fields as labels. Default true. */
  readonly outputFields?: boolean;
  /** Static labels added to every alert. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** `endsAt` = `startsAt` + this. Default: none sent. */
  readonly expiresAfterMs?: number;
  /** `generatorURL` of every alert. */
  readonly generatorUrl?: string;
}

/** A Prometheus label name: invalid characters become `_`, a leading digit gets `_`, `__` is reserved. */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (s === '' || /^[0-9]/.test(s)) s = `_${s}`;
  if (s.startsWith('__')) s = `x${s}`;
  return s;
}

export interface AlertmanagerAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

export class AlertmanagerOutput extends HttpTargetOutput {
  readonly #o: AlertmanagerOutputOptions;

  constructor(o: AlertmanagerOutputOptions) {
    super(o.name ?? 'alertmanager', 'alertmanager', o);
    this.#o = o;
  }

  toAlertmanager(alert: FalcoAlert): AlertmanagerAlert {
    const labels: Record<string, string> = {};
    const set = (k: string, v: string): void => {
      if (v !== '') labels[sanitizeLabelName(k)] = v;
    };
    if (this.#o.outputFields ?? true) {
      for (const [k, v] of Object.entries(alert.output_fields)) {
        if (v === null || Array.isArray(v)) continue;
        set(k, String(v));
      }
    }
    for (const [k, v] of Object.entries(this.#o.extraLabels ?? {})) set(k, v);
    set('source', alert.source);
    set('hostname', alert.hostname);
    set('priority', alert.priority);
    set('alertname', alert.rule);
    const startMs = Date.parse(alert.time);
    const startsAt = new Date(Number.isNaN(startMs) ? Date.now() : startMs).toISOString();
    const out: AlertmanagerAlert = {
      labels,
      annotations: { summary: alert.rule, description: alert.output },
      startsAt,
      ...(this.#o.expiresAfterMs === undefined
        ? {}
        : { endsAt: new Date(Date.parse(startsAt) + this.#o.expiresAfterMs).toISOString() }),
      ...(this.#o.generatorUrl === undefined ? {} : { generatorURL: this.#o.generatorUrl }),
    };
    return out;
  }

  async deliver(alert: FalcoAlert): Promise<void> {
    await this.#post([alert]);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    await this.#post(items.map((d) => d.alert));
  }

  async #post(alerts: readonly FalcoAlert[]): Promise<void> {
    const body = JSON.stringify(alerts.map((a) => this.toAlertmanager(a)));
    await this.http.postOk('/api/v2/alerts', body, 'application/json');
  }
}

/** `sinks.sidekick.alertmanager`: on when `hostport` is set. */
export const alertmanagerSidekick = storeOutput({
  name: 'alertmanager',
  fields: {
    extralabels: field(stringMap(), {}),
    expireafter: field(number({ integer: true, min: 0 }), 0),
  },
  create: (c, target, ctx) =>
    new AlertmanagerOutput({
      ...target,
      extraLabels: c.extralabels,
      ...(c.expireafter > 0 ? { expiresAfterMs: c.expireafter * 1000 } : {}),
    }),
});
