/**
 * Prometheus metrics without a client library: counters, gauges and
 * histograms kept in a registry that renders the text exposition format 0.0.4.
 *
 * Each service builds its own registry (no module-level default registry), so
 * two services embedded in one `saker run` process never collide and tests
 * start from zero.
 */
import { MetricDefinitionError, MetricUsageError } from './errors.js';

type Labels = Readonly<Record<string, string>>;

export interface Counter {
  /** Adds `by` (default 1, must be >= 0) to the series named by `labels`. */
  inc(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface HistogramOptions {
  readonly buckets?: readonly number[];
  readonly labelNames?: readonly string[];
}

/** Prometheus' own default buckets, in seconds: suited to request latencies. */
const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

type MetricType = 'counter' | 'gauge' | 'histogram';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

interface HistogramSeries {
  /** Per-bucket counts, not cumulative; the last slot is +Inf. Cumulated when rendered. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** The state behind one metric family. */
abstract class Family<S> {
  /** Series keyed by their label values, in labelNames order. */
  readonly series = new Map<string, { readonly values: readonly string[]; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  abstract initial(): S;
  abstract renderSeries(out: string[]): void;

  /** Finds (or creates) the series for `labels`, checking they are exactly the label names. */
  seriesFor(labels: Labels | undefined): { readonly values: readonly string[]; state: S } {
    const values = this.labelValues(labels);
    const key = JSON.stringify(values);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { values, state: this.initial() };
      this.series.set(key, entry);
    }
    return entry;
  }

  peek(labels: Labels | undefined): S | undefined {
    return this.series.get(JSON.stringify(this.labelValues(labels)))?.state;
  }

  private labelValues(labels: Labels | undefined): string[] {
    const given = labels === undefined ? [] : Object.keys(labels);
    for (const key of given) {
      if (!this.labelNames.includes(key)) {
        throw new MetricUsageError(
          this.name,
          `unknown label ${JSON.stringify(key)} (label names: ${this.labelList()})`,
        );
      }
    }
    return this.labelNames.map((label) => {
      const value = labels?.[label];
      if (value === undefined) {
        throw new MetricUsageError(this.name, `missing label ${JSON.stringify(label)}`);
      }
      if (typeof value !== 'string') {
        throw new MetricUsageError(this.name, `label ${JSON.stringify(label)} must be a string`);
      }
      return value;
    });
  }

  private labelList(): string {
    return this.labelNames.length === 0 ? 'none' : this.labelNames.join(', ');
  }
}

class CounterFamily extends Family<{ value: number }> implements Counter {
  initial(): { value: number } {
    return { value: 0 };
  }

  inc(labels?: Labels, by = 1): void {
    if (!Number.isFinite(by) || by < 0) {
      throw new MetricUsageError(this.name, `a counter only goes up; cannot add ${by}`);
    }
    this.seriesFor(labels).state.value += by;
  }

  get(labels?: Labels): number {
    return this.peek(labels)?.value ?? 0;
  }

  renderSeries(out: string[]): void {
    renderSimple(this, out);
  }
}

class GaugeFamily extends Family<{ value: number }> implements Gauge {
  initial(): { value: number } {
    return { value: 0 };
  }

  set(value: number, labels?: Labels): void {
    if (typeof value !== 'number') throw new MetricUsageError(this.name, 'value must be a number');
    this.seriesFor(labels).state.value = value;
  }

  inc(labels?: Labels, by = 1): void {
    if (!Number.isFinite(by)) throw new MetricUsageError(this.name, `cannot add ${by}`);
    this.seriesFor(labels).state.value += by;
  }

  dec(labels?: Labels, by = 1): void {
    if (!Number.isFinite(by)) throw new MetricUsageError(this.name, `cannot subtract ${by}`);
    this.seriesFor(labels).state.value -= by;
  }

  get(labels?: Labels): number {
    return this.peek(labels)?.value ?? 0;
  }

  renderSeries(out: string[]): void {
    renderSimple(this, out);
  }
}

class HistogramFamily extends Family<HistogramSeries> implements Histogram {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames);
  }

  initial(): HistogramSeries {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(value: number, labels?: Labels): void {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new MetricUsageError(this.name, `cannot observe ${String(value)}`);
    }
    const state = this.seriesFor(labels).state;
    const slot = firstBucketAtLeast(this.buckets, value);
    state.counts[slot] = (state.counts[slot] ?? 0) + 1;
    state.sum += value;
    state.count += 1;
  }

  renderSeries(out: string[]): void {
    const bounds = [...this.buckets.map(formatValue), '+Inf'];
    for (const { values, state } of this.series.values()) {
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += state.counts[i] ?? 0;
        const labels = renderLabels([...this.labelNames, 'le'], [...values, le]);
        out.push(`${this.name}_bucket${labels} ${formatValue(cumulative)}`);
      });
      const labels = renderLabels(this.labelNames, values);
      out.push(`${this.name}_sum${labels} ${formatValue(state.sum)}`);
      out.push(`${this.name}_count${labels} ${formatValue(state.count)}`);
    }
  }
}

/** Index of the first bucket whose upper bound is >= value; buckets.length means +Inf. */
function firstBucketAtLeast(buckets: readonly number[], value: number): number {
  let lo = 0;
  let hi = buckets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buckets[mid] ?? Number.POSITIVE_INFINITY) >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function renderSimple(family: Family<{ value: number }>, out: string[]): void {
  // An unlabelled metric shows 0 before its first use, so a dashboard sees it exists.
  if (family.labelNames.length === 0 && family.series.size === 0) {
    out.push(`${family.name} 0`);
    return;
  }
  for (const { values, state } of family.series.values()) {
    out.push(`${family.name}${renderLabels(family.labelNames, values)} ${formatValue(state.value)}`);
  }
}

function renderLabels(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  const pairs = names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? '')}"`);
  return `{${pairs.join(',')}}`;
}

/** Label values escape backslash, double quote and line feed (exposition format 0.0.4). */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A set of metric families, rendered together on `/metrics`.
 *
 * Registering a name again returns the metric already there when the type,
 * help, label names (and buckets) match, so two modules may share a metric;
 * anything else is a programming error and throws {@link MetricDefinitionError}.
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family<unknown>>();
  /** Every exposed sample name (histograms expose three) to its family. */
  readonly #exposed = new Map<string, string>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#register(name, help, 'counter', labelNames, undefined, () => {
      return new CounterFamily(name, help, 'counter', [...labelNames]);
    }) as CounterFamily;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#register(name, help, 'gauge', labelNames, undefined, () => {
      return new GaugeFamily(name, help, 'gauge', [...labelNames]);
    }) as GaugeFamily;
  }

  histogram(name: string, help: string, opts: HistogramOptions = {}): Histogram {
    const labelNames = opts.labelNames ?? [];
    const buckets = normalizeBuckets(name, opts.buckets ?? DEFAULT_BUCKETS);
    return this.#register(name, help, 'histogram', labelNames, buckets, () => {
      return new HistogramFamily(name, help, [...labelNames], buckets);
    }) as HistogramFamily;
  }

  /** The registry in Prometheus text exposition format 0.0.4, families in registration order. */
  render(): string {
    const out: string[] = [];
    for (const family of this.#families.values()) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      out.push(`# TYPE ${family.name} ${family.type}`);
      family.renderSeries(out);
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  #register(
    name: string,
    help: string,
    type: MetricType,
    labelNames: readonly string[],
    buckets: readonly number[] | undefined,
    create: () => Family<unknown>,
  ): Family<unknown> {
    validateDefinition(name, help, type, labelNames);
    const existing = this.#families.get(name);
    if (existing !== undefined) {
      const problems: string[] = [];
      if (existing.type !== type) problems.push(`type ${existing.type}, not ${type}`);
      if (existing.help !== help) problems.push(`help ${JSON.stringify(existing.help)}`);
      if (!sameList(existing.labelNames, labelNames)) {
        problems.push(`labels [${existing.labelNames.join(', ')}]`);
      }
      if (existing instanceof HistogramFamily && buckets && !sameList(existing.buckets, buckets)) {
        problems.push(`buckets [${existing.buckets.join(', ')}]`);
      }
      if (problems.length > 0) {
        throw new MetricDefinitionError(name, `already registered with ${problems.join(', ')}`);
      }
      return existing;
    }
    const exposed = type === 'histogram' ? HISTOGRAM_SUFFIXES.map((s) => name + s) : [name];
    for (const sample of exposed) {
      const owner = this.#exposed.get(sample);
      if (owner !== undefined) {
        throw new MetricDefinitionError(name, `sample name ${sample} is already exposed by metric ${owner}`);
      }
    }
    const family = create();
    this.#families.set(name, family);
    for (const sample of exposed) this.#exposed.set(sample, name);
    return family;
  }
}

function validateDefinition(
  name: string,
  help: string,
  type: MetricType,
  labelNames: readonly string[],
): void {
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new MetricDefinitionError(
      String(name),
      'invalid metric name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)',
    );
  }
  if (typeof help !== 'string' || help.length === 0) {
    throw new MetricDefinitionError(name, 'help text is required');
  }
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (typeof label !== 'string' || !LABEL_NAME.test(label)) {
      throw new MetricDefinitionError(
        name,
        `invalid label name ${JSON.stringify(label)} (must match [a-zA-Z_][a-zA-Z0-9_]*)`,
      );
    }
    if (label.startsWith('__')) {
      throw new MetricDefinitionError(
        name,
        `label name ${JSON.stringify(label)} is reserved (starts with __)`,
      );
    }
    if (type === 'histogram' && label === 'le') {
      throw new MetricDefinitionError(name, 'label name "le" is reserved for histogram buckets');
    }
    if (seen.has(label))
      throw new MetricDefinitionError(name, `duplicate label name ${JSON.stringify(label)}`);
    seen.add(label);
  }
}

function normalizeBuckets(name: string, buckets: readonly number[]): readonly number[] {
  // +Inf is always added; callers may include it or not.
  const finite = buckets.filter((b) => b !== Number.POSITIVE_INFINITY);
  if (finite.length === 0) throw new MetricDefinitionError(name, 'a histogram needs at least one bucket');
  finite.forEach((b, i) => {
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new MetricDefinitionError(name, `bucket ${String(b)} is not a finite number`);
    }
    const previous = finite[i - 1];
    if (previous !== undefined && b <= previous) {
      throw new MetricDefinitionError(name, `buckets must increase strictly (${previous} then ${b})`);
    }
  });
  return Object.freeze(finite);
}
