/**
 * The health view's outputs (docs/ui.md, "Health"): per sinks instance and
 * output, the delivery reports of `saker.v1.sinks.stats.<instance>`; per
 * output, their sums over the instances (replicas share an output's durable
 * consumer, so each delivers a part and the sum is the output's). The sinks'
 * Prometheus counters (the process's own registry inside `saker run`, and
 * `ui.health.metrics_urls`) fill in only the outputs no report names: for
 * an output that reports, the reports win and its metrics are not added.
 */
import type { SinksLastError, SinksStats } from '@saker/bus';
import type { Logger } from '@saker/runtime';
import type { MetricsRegistry } from '@saker/telemetry';

/** An instance is stale after this many of its report intervals without a report, and at least STALE_MIN_MS. */
const STALE_INTERVALS = 3;
const STALE_MIN_MS = 10_000;
/** An instance without a report for this long is forgotten (its counters leave the sums). */
const FORGET_MS = 3_600_000;
/** The most sinks instances kept (a report from one more is ignored). */
const INSTANCES_MAX = 1000;

const COUNTERS = {
  delivered: 'saker_sinks_alerts_delivered_total',
  failed: 'saker_sinks_delivery_failures_total',
  retried: 'saker_sinks_alerts_retried_total',
  dead_lettered: 'saker_sinks_alerts_deadlettered_total',
} as const;
type Counter = keyof typeof COUNTERS;
type Counts = Record<Counter, number>;

/** Sums of a counter in Prometheus text, by the value of `label`. */
function sumByLabel(text: string, metric: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const line = new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.eE+-]+)$`, 'gm');
  for (const m of text.matchAll(line)) {
    const labels = new Map(
      [...(m[1] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [
        l[1] ?? '',
        l[2] ?? '',
      ]),
    );
    const key = labels.get(label);
    const v = Number(m[2]);
    if (key !== undefined && Number.isFinite(v)) out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

/** An output's delivery figures and its last error (ISO time). */
type Deliveries = Counts & ReturnType<typeof lastError>;

/** One row per sinks instance and output. */
type InstanceOutputRow = Deliveries & {
  readonly instance: string;
  readonly output: string;
  readonly filtered: number;
  readonly version: string;
  /** `running`, `stopped` (its last report said so) or `stale` (no report within the bound). */
  readonly status: 'running' | 'stopped' | 'stale';
  readonly report_age_ms: number;
};

/**
 * One row per output; `instances`: the sinks instances whose reports name it
 * (0: its figures come from metrics, or it is known only from a dead letter).
 */
type OutputRow = Deliveries & {
  readonly name: string;
  readonly instances: number;
  readonly source: 'reports' | 'metrics' | 'dead_letters';
};

interface DeadLetterError {
  readonly output: string;
  readonly error: string;
}

export interface OutputsHealthOptions {
  readonly logger: Logger;
  /** The process's own registry (the sinks' counters inside `saker run`). */
  readonly metrics: MetricsRegistry;
  readonly metricsUrls: readonly string[];
}

export class OutputsHealth {
  readonly #o: OutputsHealthOptions;
  readonly #reports = new Map<string, { stats: SinksStats; seen: number }>();

  constructor(options: OutputsHealthOptions) {
    this.#o = options;
  }

  /** Keeps an instance's newest report (its subject token is its key). */
  keep(token: string, stats: SinksStats, now: number): void {
    if (!this.#reports.has(token) && this.#reports.size >= INSTANCES_MAX) {
      this.#forget(now);
      if (this.#reports.size >= INSTANCES_MAX) return;
    }
    this.#reports.set(token, { stats, seen: now });
  }

  #forget(now: number): void {
    for (const [token, r] of this.#reports) if (now - r.seen > FORGET_MS) this.#reports.delete(token);
  }

  /** Per instance and output, sorted by instance then output. */
  instances(now: number): InstanceOutputRow[] {
    this.#forget(now);
    const rows: InstanceOutputRow[] = [];
    for (const token of [...this.#reports.keys()].sort()) {
      const { stats, seen } = this.#reports.get(token) as { stats: SinksStats; seen: number };
      const age = now - seen;
      const stale = age > Math.max(STALE_MIN_MS, STALE_INTERVALS * stats.intervalMs);
      for (const out of stats.outputs) {
        rows.push({
          instance: stats.instance,
          output: out.name,
          delivered: out.delivered,
          failed: out.failed,
          retried: out.retried,
          dead_lettered: out.deadLettered,
          filtered: out.filtered,
          ...lastError(out.lastError),
          version: stats.version,
          status: stale ? 'stale' : stats.state,
          report_age_ms: age,
        });
      }
    }
    return rows;
  }

  /**
   * Per output: the sums of its instances' reports, or for an output no
   * report names, the sinks' counters in the metrics. `deadLetters`, newest
   * first, give an error to an output whose reports carry none.
   */
  async outputs(now: number, deadLetters: readonly DeadLetterError[]): Promise<OutputRow[]> {
    const byName = new Map<string, Counts & { instances: number; lastError: SinksLastError | null }>();
    this.#forget(now);
    for (const { stats } of this.#reports.values()) {
      for (const out of stats.outputs) {
        const o = byName.get(out.name) ?? {
          delivered: 0,
          failed: 0,
          retried: 0,
          dead_lettered: 0,
          instances: 0,
          lastError: null,
        };
        o.delivered += out.delivered;
        o.failed += out.failed;
        o.retried += out.retried;
        o.dead_lettered += out.deadLettered;
        o.instances++;
        if (out.lastError !== null && out.lastError.time >= (o.lastError?.time ?? -1))
          o.lastError = out.lastError;
        byName.set(out.name, o);
      }
    }
    const metrics = await this.#metricsCounts();
    const names = new Set([...byName.keys(), ...metrics.keys(), ...deadLetters.map((d) => d.output)]);
    return [...names].sort().map((name): OutputRow => {
      const dead = deadLetters.find((d) => d.output === name)?.error ?? null;
      const r = byName.get(name);
      if (r !== undefined) {
        const { instances, lastError: last, ...counts } = r;
        const err = lastError(last);
        return {
          name,
          ...counts,
          ...(err.last_error === null ? { last_error: dead, last_error_at: null } : err),
          instances,
          source: 'reports',
        };
      }
      const m = metrics.get(name);
      return {
        name,
        delivered: m?.delivered ?? 0,
        failed: m?.failed ?? 0,
        retried: m?.retried ?? 0,
        dead_lettered: m?.dead_lettered ?? 0,
        last_error: dead,
        last_error_at: null,
        instances: 0,
        source: m === undefined ? 'dead_letters' : 'metrics',
      };
    });
  }

  /** The sinks' counters by output, summed over the process's registry and every metrics URL. */
  async #metricsCounts(): Promise<Map<string, Counts>> {
    const texts = [this.#o.metrics.render()];
    await Promise.all(
      this.#o.metricsUrls.map(async (url) => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
          if (res.ok) texts.push(await res.text());
        } catch (err) {
          this.#o.logger.warn(`health: ${url}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    const out = new Map<string, Counts>();
    for (const text of texts) {
      for (const [counter, metric] of Object.entries(COUNTERS) as [Counter, string][]) {
        for (const [name, v] of sumByLabel(text, metric, 'output')) {
          const c = out.get(name) ?? { delivered: 0, failed: 0, retried: 0, dead_lettered: 0 };
          c[counter] += v;
          out.set(name, c);
        }
      }
    }
    return out;
  }
}

function lastError(e: SinksLastError | null): { last_error: string | null; last_error_at: string | null } {
  return e === null
    ? { last_error: null, last_error_at: null }
    : { last_error: e.message, last_error_at: new Date(e.time).toISOString() };
}
