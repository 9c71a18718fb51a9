/**
 * Cluster-mode options in three steps: the caller's ClusterEnrichOptions
 * (shaped like the `enrich.cluster` config keys), checked and copied, then
 * defaults, giving ResolvedClusterEnrichOptions in which nothing is
 * undefined. A bad value throws ClusterEnrichConfigError naming it.
 */
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Bus } from '@saker/bus';
import { type LogFn, OptionError, createLogger } from '@saker/runtime';
import type { MetricsRegistry } from '@saker/telemetry';

/** Where cluster mode says what happened (the runtime's log function). Injected, so tests and `saker run` choose. */
export type ClusterLogger = LogFn;

const stderrClusterLogger: ClusterLogger = createLogger({ name: 'enrich(cluster)' }).log;

const DEFAULT_LEASE_TTL_MS = 5000;
const DEFAULT_TOMBSTONE_TTL_MS = 300_000;

export interface ClusterEnrichOptions {
  /** A connected bus. The service does not close it. */
  readonly bus: Bus;
  /**
   * `enrich.cluster.kubeconfig`: the path of a kubeconfig, or a KubeConfig.
   * '' or absent: the in-cluster service account (KUBERNETES_SERVICE_HOST).
   */
  readonly kubeconfig?: string | KubeConfig;
  /** `shards`: how many slots split the work; every instance needs the same. Default 1. */
  readonly shards?: number;
  /** `instance`: this instance's name in leases. Default the hostname. */
  readonly instance?: string;
  /** `lease_ttl_ms`: a lease not renewed for this long may be taken over. Default 5000. */
  readonly leaseTtlMs?: number;
  /** `tombstone_ttl_ms`: a deleted object's record stays this long (with deleted_ts), then is purged. Default 300000. */
  readonly tombstoneTtlMs?: number;
  /** `resync_ms`: every so often, check every owned record against the informers' cache. 0: never (default). */
  readonly resyncMs?: number;
  /** KV operations in flight at once. Default 64. */
  readonly writeConcurrency?: number;
  /**
   * On stop, delete the leases held so other instances take the slots at once.
   * Default true; false leaves them to expire (what a crash does: tests).
   */
  readonly releaseLeasesOnStop?: boolean;
  readonly metrics?: MetricsRegistry;
  /** Default: stderr. */
  readonly log?: ClusterLogger;
}

export interface ResolvedClusterEnrichOptions {
  readonly bus: Bus;
  readonly kubeConfig: KubeConfig;
  readonly shards: number;
  readonly instance: string;
  readonly leaseTtlMs: number;
  readonly tombstoneTtlMs: number;
  readonly resyncMs: number;
  readonly writeConcurrency: number;
  readonly releaseLeasesOnStop: boolean;
  readonly metrics: MetricsRegistry | undefined;
  readonly log: ClusterLogger;
}

export class ClusterEnrichConfigError extends OptionError {
  override readonly name = 'ClusterEnrichConfigError';
  /** The option at fault, e.g. `shards` (the runtime's `key` is `enrich.cluster.shards`). */
  readonly option: string;

  constructor(option: string, reason: string, options?: { cause?: unknown }) {
    super(`enrich.cluster.${option}`, reason, undefined, options);
    this.option = option;
  }
}

function int(key: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClusterEnrichConfigError(key, `expected an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

function loadKubeConfig(value: string | KubeConfig | undefined): KubeConfig {
  if (value instanceof KubeConfig) return value;
  const kc = new KubeConfig();
  if ((value === undefined || value === '') && !process.env.KUBERNETES_SERVICE_HOST) {
    throw new ClusterEnrichConfigError(
      'kubeconfig',
      'empty, and not running in a pod (KUBERNETES_SERVICE_HOST unset): give the path of a kubeconfig',
    );
  }
  try {
    if (value === undefined || value === '') kc.loadFromCluster();
    else kc.loadFromFile(value);
  } catch (err) {
    throw new ClusterEnrichConfigError(
      'kubeconfig',
      `cannot load ${JSON.stringify(value ?? '')}: ${String(err)}`,
      {
        cause: err,
      },
    );
  }
  if (kc.getCurrentCluster() === null) {
    throw new ClusterEnrichConfigError(
      'kubeconfig',
      `${String(value)} has no current cluster (current-context)`,
    );
  }
  return kc;
}

export function resolveClusterEnrichOptions(options: ClusterEnrichOptions): ResolvedClusterEnrichOptions {
  const instance = options.instance ?? hostname();
  if (instance === '') throw new ClusterEnrichConfigError('instance', 'must not be empty');
  const shards = int('shards', options.shards, 1, 1, 1024);
  const leaseTtlMs = int('lease_ttl_ms', options.leaseTtlMs, DEFAULT_LEASE_TTL_MS, 100, 3_600_000);
  const day = 86_400_000;
  const tombstoneTtlMs = int(
    'tombstone_ttl_ms',
    options.tombstoneTtlMs,
    DEFAULT_TOMBSTONE_TTL_MS,
    0,
    30 * day,
  );
  const resyncMs = int('resync_ms', options.resyncMs, 0, 0, 30 * day);
  const writeConcurrency = int('writeConcurrency', options.writeConcurrency, 64, 1, 4096);
  return {
    bus: options.bus,
    // Last: the checks above cost nothing and name their key.
    kubeConfig: loadKubeConfig(options.kubeconfig),
    shards,
    instance,
    leaseTtlMs,
    tombstoneTtlMs,
    resyncMs,
    writeConcurrency,
    releaseLeasesOnStop: options.releaseLeasesOnStop ?? true,
    metrics: options.metrics,
    log: options.log ?? stderrClusterLogger,
  };
}
