import { boolean, field, stringList } from '@saker/config';
/**
 * Prometheus: the `falco_events` counter, as falcosidekick exposes it,
 * registered on the sinks service's metrics registry (scraped with the
 * service's other metrics).
 *
 * Labels: `hostname`, `rule`, `priority` (the Falco priority, lowercase:
 * `warning`), `priority_raw` (its number on falcosidekick's scale, Debug 1 …
 * Emergency 8), `source`, `k8s_ns_name`, `k8s_pod_name` (the output fields
 * `k8s.ns.name` and `k8s.pod.name`, empty when absent), `tags` (sorted,
 * comma-separated), then one label per `extraLabels` output field (name
 * sanitized: `proc.name` → `proc_name`). Delivery never fails.
 *
 * The label values come from alert content, which an attacker can vary (a
 * pod name per request): past `maxSeries` distinct label sets, new ones are
 * counted under one series whose content labels read `_overflow_`, and label
 * values are cut at MAX_LABEL_VALUE characters, so /metrics stays bounded.
 */
import type { FalcoAlert } from '@saker/rules';
import { parsePriority } from '@saker/rules';
import type { Counter, MetricsRegistry } from '@saker/telemetry';
import { SinksOptionsError } from '../errors.js';
import { sidekickOutput } from '../sidekick/descriptor.js';
import { sanitizeLabelName } from './alertmanager.js';
import type { Output } from './output.js';

export interface PrometheusOutputOptions {
  readonly name?: string;
  /** The sinks service's registry (SinksOptions.metrics). */
  readonly registry: MetricsRegistry;
  /** Output fields that become labels, in addition to the fixed ones. */
  readonly extraLabels?: readonly string[];
  /** Most distinct label sets before new ones fold into the `_overflow_` series. Default 10,000. */
  readonly maxSeries?: number;
}

/** Default cap on `falco_events` label sets. */
const DEFAULT_MAX_SERIES = 10_000;
/** Longest label value kept; longer ones are cut (a cmdline as a label). */
const MAX_LABEL_VALUE = 256;
/** What a content label reads on the series that counts alerts past the cap. */
const OVERFLOW_LABEL = '_overflow_';
/** Labels that do not come from alert content, kept on the overflow series. */
const FIXED_LABELS: ReadonlySet<string> = new Set(['priority', 'priority_raw']);

const BASE_LABELS = [
  'hostname',
  'rule',
  'priority',
  'priority_raw',
  'source',
  'k8s_ns_name',
  'k8s_pod_name',
  'tags',
] as const;

/** falcosidekick's priority numbers: Debug 1 … Emergency 8 (0: unknown). */
const PRIORITY_NUMBER: Readonly<Record<string, string>> = {
  DEBUG: '1',
  INFORMATIONAL: '2',
  NOTICE: '3',
  WARNING: '4',
  ERROR: '5',
  CRITICAL: '6',
  ALERT: '7',
  EMERGENCY: '8',
};

export class PrometheusOutput implements Output {
  readonly name: string;
  readonly #counter: Counter;
  readonly #extra: readonly { readonly field: string; readonly label: string }[];
  readonly #maxSeries: number;
  readonly #series = new Set<string>();

  constructor(o: PrometheusOutputOptions) {
    this.name = o.name ?? 'prometheus';
    this.#maxSeries = o.maxSeries ?? DEFAULT_MAX_SERIES;
    const base = new Set<string>(BASE_LABELS);
    this.#extra = (o.extraLabels ?? [])
      .map((field) => ({ field, label: sanitizeLabelName(field) }))
      .filter((e) => !base.has(e.label));
    this.#counter = o.registry.counter(
      'falco_events',
      'Falco alerts, by rule, priority, source, hostname and tags',
      [...BASE_LABELS, ...this.#extra.map((e) => e.label)],
    );
  }

  async deliver(alert: FalcoAlert): Promise<void> {
    const f = alert.output_fields;
    const str = (v: unknown): string =>
      v === undefined || v === null ? '' : String(v).slice(0, MAX_LABEL_VALUE);
    const priority = parsePriority(alert.priority);
    const labels: Record<string, string> = {
      hostname: str(alert.hostname),
      rule: str(alert.rule),
      priority: alert.priority.toLowerCase(),
      priority_raw: priority === undefined ? '0' : (PRIORITY_NUMBER[priority] ?? '0'),
      source: str(alert.source),
      k8s_ns_name: str(f['k8s.ns.name']),
      k8s_pod_name: str(f['k8s.pod.name']),
      tags: str([...alert.tags].sort().join(',')),
    };
    for (const e of this.#extra) labels[e.label] = str(f[e.field]);
    const key = JSON.stringify(Object.values(labels));
    if (!this.#series.has(key)) {
      if (this.#series.size >= this.#maxSeries) {
        for (const name of Object.keys(labels)) if (!FIXED_LABELS.has(name)) labels[name] = OVERFLOW_LABEL;
      } else {
        this.#series.add(key);
      }
    }
    this.#counter.inc(labels);
  }

  async close(): Promise<void> {}
}

/** `sinks.sidekick.prometheus`: on with `enabled: true`; counted in the service's registry. */
export const prometheusSidekick = sidekickOutput({
  name: 'prometheus',
  concurrency: 1,
  fields: { enabled: field(boolean(), false), extralabels: field(stringList(), []) },
  on: 'enabled',
  create: (c, ctx) => {
    if (ctx.metrics === undefined) {
      throw new SinksOptionsError(
        'sinks.sidekick.prometheus.enabled',
        "needs the service's metrics registry",
      );
    }
    return new PrometheusOutput({ registry: ctx.metrics, extraLabels: c.extralabels });
  },
});
