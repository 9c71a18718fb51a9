/**
 * The metadata cache's counters. The join counts in plain fields on the hot
 * path; `MetadataCacheMetrics.publish` adds what changed since the last call
 * to the registry (on the cache's sweep timer and on stats()).
 */
import type { Counter, Gauge, MetricsRegistry } from '@saker/telemetry';

/** Everything the cache counts; also what `KvMetadataProvider.stats()` returns. */
export interface KvMetadataStats {
  /** Container records held (tombstones included). */
  readonly containers: number;
  /** Pod records held (tombstones included). */
  readonly pods: number;
  /** Namespace records held (tombstones included). */
  readonly namespaces: number;
  /** ReplicaSet, Deployment, ReplicationController and Service records held (tombstones included). */
  readonly workloads: number;
  /** Events joined with their container's record (at once or after a wait). */
  readonly joinHits: number;
  /** Events of a container (not `host`) evaluated without its record. */
  readonly joinMisses: number;
  /** Waits started: one per unknown container id, shared by its concurrent events. */
  readonly waits: number;
  /** Waits that ended with the record arriving in time. */
  readonly waitHits: number;
  /** Waits that ended after waitMs without a record. */
  readonly waitTimeouts: number;
  /** Events that waited (hit or not). */
  readonly waitedEvents: number;
  /** Events evaluated at once because their container recently timed out (negative cache). */
  readonly negativeSkips: number;
  /** KV values that did not decode or did not fit their key; skipped. */
  readonly badRecords: number;
  /** Records read with a get after a miss (the record had left the cache, or the watch lagged). */
  readonly fetched: number;
  /** Records dropped: least recently used past maxEntries, not used for ttlMs, tombstones expired, deleted in KV. */
  readonly evictedLru: number;
  readonly expired: number;
  readonly removed: number;
  /** Namespace and workload records skipped because maxEntries of them were held. */
  readonly mirrorFull: number;
}

export type CounterName = Exclude<keyof KvMetadataStats, 'containers' | 'pods' | 'namespaces' | 'workloads'>;

const COUNTERS: readonly (readonly [CounterName, string, string])[] = [
  ['joinHits', 'saker_engine_metadata_join_hits_total', 'Events joined with their container metadata'],
  [
    'joinMisses',
    'saker_engine_metadata_join_misses_total',
    'Events of a container evaluated without its metadata (unknown container)',
  ],
  [
    'waits',
    'saker_engine_metadata_waits_total',
    'Waits for an unknown container record (one per container id, shared by its events)',
  ],
  ['waitHits', 'saker_engine_metadata_wait_hits_total', 'Waits that ended with the record arriving in time'],
  [
    'waitTimeouts',
    'saker_engine_metadata_wait_timeouts_total',
    'Waits that ended after wait_ms without a record',
  ],
  ['waitedEvents', 'saker_engine_metadata_waited_events_total', 'Events that waited for their metadata'],
  [
    'negativeSkips',
    'saker_engine_metadata_negative_skips_total',
    'Events not made to wait because their container recently timed out',
  ],
  [
    'badRecords',
    'saker_engine_metadata_bad_records_total',
    'saker_meta values that did not decode or did not fit their key',
  ],
  ['fetched', 'saker_engine_metadata_fetched_total', 'Records read with a KV get after a cache miss'],
  ['evictedLru', 'saker_engine_metadata_evicted_total', 'Records dropped as least recently used'],
  [
    'expired',
    'saker_engine_metadata_expired_total',
    'Records dropped after ttl_ms unused, or tombstones expired',
  ],
  [
    'removed',
    'saker_engine_metadata_removed_total',
    'Records dropped because their key was deleted or purged',
  ],
  [
    'mirrorFull',
    'saker_engine_metadata_mirror_full_total',
    'Namespace and workload records skipped because max_entries of them were held',
  ],
];

export class MetadataCacheMetrics {
  readonly #counters: readonly (readonly [CounterName, Counter])[];
  readonly #entries: Gauge;
  readonly #published = new Map<CounterName, number>();

  constructor(registry: MetricsRegistry) {
    this.#counters = COUNTERS.map(([key, name, help]) => [key, registry.counter(name, help)] as const);
    this.#entries = registry.gauge(
      'saker_engine_metadata_cache_entries',
      'Records in the engine metadata cache, by kind',
      ['kind'],
    );
  }

  publish(stats: KvMetadataStats): void {
    for (const [key, counter] of this.#counters) {
      const before = this.#published.get(key) ?? 0;
      const now = stats[key];
      if (now > before) counter.inc(undefined, now - before);
      this.#published.set(key, now);
    }
    this.#entries.set(stats.containers, { kind: 'container' });
    this.#entries.set(stats.pods, { kind: 'pod' });
    this.#entries.set(stats.namespaces, { kind: 'namespace' });
    this.#entries.set(stats.workloads, { kind: 'workload' });
  }
}
