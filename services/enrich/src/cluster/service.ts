/**
 * Cluster mode: one list+watch per resource from the API server, records in
 * KV `saker_meta` for the shard slots this instance holds (docs/enrich.md,
 * "Cluster mode").
 *
 * Every instance watches everything (one watch per resource), so when it
 * takes over a dead instance's slot it already has that slot's objects and
 * only has to write what KV lacks.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { BUCKETS } from '@saker/bus';
import { type InformerStats, Informers } from './informers.js';
import { ShardLeases } from './leases.js';
import { BadObjectError, CLUSTER_RESOURCES, type ClusterResource, deriveRecord } from './objects.js';
import { type ClusterEnrichOptions, resolveClusterEnrichOptions } from './options.js';
import { MetaWriter, type WriterStats } from './writer.js';

interface ClusterEnrichStats {
  readonly instance: string;
  readonly shards: number;
  /** The slots this instance holds now. */
  readonly owned: readonly number[];
  /** Every informer has listed once, and leases are being taken. */
  readonly synced: boolean;
  /** API objects refused (no uid, no name, wrong types), by resource. */
  readonly badObjects: Readonly<Record<string, number>>;
  readonly leaseAcquisitions: number;
  readonly leaseLosses: number;
  readonly writes: WriterStats;
  /** Lists, watches, restarts and the current resourceVersion, by resource. */
  readonly informers: Readonly<Record<string, InformerStats>>;
}

export interface ClusterEnrich extends AsyncDisposable {
  readonly instance: string;
  /** Resolves once every informer has listed and leases are being taken (or on stop). */
  readonly ready: Promise<void>;
  /** The slots this instance holds now. */
  owned(): number[];
  stats(): ClusterEnrichStats;
  /** Resolves when no record is waiting to be written. */
  idle(): Promise<void>;
  /** Stops the watches and the writes; releases the leases unless releaseLeasesOnStop is false. Idempotent. */
  stop(): Promise<void>;
}

const LOG_BAD_FIRST = 100;

export async function startClusterEnrich(
  options: ClusterEnrichOptions,
  signal: AbortSignal,
): Promise<ClusterEnrich> {
  const o = resolveClusterEnrichOptions(options);
  const { log } = o;
  const kv = await o.bus.kv(BUCKETS.meta);

  const metrics = o.metrics && {
    records: o.metrics.counter(
      'saker_enrich_cluster_records_total',
      'saker_meta operations of cluster mode, by operation (written, tombstoned, purged) and record kind.',
      ['op', 'kind'],
    ),
    bad: o.metrics.counter(
      'saker_enrich_cluster_bad_objects_total',
      'API objects refused (no uid, no name, wrong types), by resource.',
      ['resource'],
    ),
    owned: o.metrics.gauge('saker_enrich_cluster_owned_shards', 'Shard slots this instance holds.'),
  };

  // Its callbacks run once leases.start() is called, after everything below exists.
  const leases: ShardLeases = new ShardLeases({
    kv,
    shards: o.shards,
    instance: o.instance,
    ttlMs: o.leaseTtlMs,
    log,
    onAcquired: (slot) => {
      metrics?.owned.set(leases.held().length);
      takeOver(slot);
    },
    onLost: () => metrics?.owned.set(leases.held().length),
  });
  const writer = new MetaWriter({
    kv,
    shards: o.shards,
    owns: (slot) => leases.owns(slot),
    tombstoneTtlMs: o.tombstoneTtlMs,
    concurrency: o.writeConcurrency,
    log,
    onWrite: (op, kind) => metrics?.records.inc({ op, kind }),
  });

  const badObjects: Record<string, number> = {};
  let badTotal = 0;
  const bad = (resource: ClusterResource, problem: string): void => {
    badObjects[resource] = (badObjects[resource] ?? 0) + 1;
    badTotal += 1;
    metrics?.bad.inc({ resource });
    if (badTotal <= LOG_BAD_FIRST || badTotal % 1000 === 0) {
      log('warn', `refused ${problem} (${badTotal} refused so far)`);
    }
  };

  // The key each object (by namespace/name) was last written under: a delete
  // may carry an object too broken to derive one, and a relist may show a
  // name now held by a new object (new uid) without a delete of the old one.
  const keyByName = new Map<string, string>();
  const nameKey = (resource: ClusterResource, obj: KubernetesObject): string =>
    `${resource}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

  const listedOnce = new Set<ClusterResource>();
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const informers = new Informers(o.kubeConfig, CLUSTER_RESOURCES, {
    upsert(resource, obj) {
      const nk = nameKey(resource, obj);
      let derived: ReturnType<typeof deriveRecord>;
      try {
        derived = deriveRecord(resource, obj);
      } catch (err) {
        if (err instanceof BadObjectError) {
          bad(resource, err.message);
          // What this name held before is gone from the API's view.
          const old = keyByName.get(nk);
          if (old !== undefined) {
            keyByName.delete(nk);
            writer.removeLive(old);
          }
          return;
        }
        throw err;
      }
      const old = keyByName.get(nk);
      if (old !== undefined && old !== derived.key) writer.removeLive(old);
      keyByName.set(nk, derived.key);
      writer.setLive(derived.key, derived.body);
    },
    remove(resource, obj) {
      const nk = nameKey(resource, obj);
      const key = keyByName.get(nk);
      keyByName.delete(nk);
      if (key !== undefined) writer.removeLive(key);
    },
    bad,
    listed(resource) {
      if (listedOnce.has(resource)) {
        log('info', `${resource}: listed again (relist)`);
        return;
      }
      listedOnce.add(resource);
      if (listedOnce.size === CLUSTER_RESOURCES.length) markSynced();
    },
    error(resource, message) {
      log('warn', `${resource}: ${message}`);
    },
  });

  // Slots taken are read and reconciled one batch at a time.
  let takeOvers: Promise<void> = Promise.resolve();
  const pendingTake = new Set<number>();
  const takeOver = (slot: number): void => {
    pendingTake.add(slot);
    takeOvers = takeOvers.then(async () => {
      if (pendingTake.size === 0) return;
      const slots = new Set(pendingTake);
      pendingTake.clear();
      try {
        await writer.takeOver(slots);
      } catch (err) {
        log(
          'error',
          `shards ${[...slots].join(',')}: reading KV on take-over failed, retrying: ${String(err)}`,
        );
        setTimeout(() => {
          for (const s of slots) if (leases.owns(s)) takeOver(s);
        }, 1000);
      }
    });
  };

  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  let isSynced = false;
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stoppedPromise = new Promise<void>((resolve) => {
    markStopped = resolve;
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      markStopped();
      signal.removeEventListener('abort', onAbort);
      for (const t of timers) clearInterval(t);
      await informers.stop();
      // Writes end before the leases go, so nothing is written into a slot
      // another instance may already hold.
      await writer.close();
      await leases.stop(o.releaseLeasesOnStop);
    })();
    return stopping;
  };
  const onAbort = (): void => {
    void stop();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });

  informers.start();
  const ready = Promise.race([synced, stoppedPromise]).then(() => {
    if (stopped) return;
    isSynced = true;
    log('info', `${o.instance}: informers synced; taking shard leases (${o.shards} shards)`);
    leases.start();
    const sweepMs = Math.max(100, Math.min(5000, Math.floor(o.tombstoneTtlMs / 4)));
    timers.push(setInterval(() => writer.sweep(), sweepMs));
    if (o.resyncMs > 0) {
      timers.push(setInterval(() => writer.markSlots(new Set(leases.held())), o.resyncMs));
    }
  });

  return {
    instance: o.instance,
    ready,
    owned: () => leases.held(),
    stats: () => {
      const counts = leases.counts();
      return {
        instance: o.instance,
        shards: o.shards,
        owned: leases.held(),
        synced: isSynced,
        badObjects: { ...badObjects },
        leaseAcquisitions: counts.acquisitions,
        leaseLosses: counts.losses,
        writes: writer.stats(),
        informers: informers.stats(),
      };
    },
    idle: async () => {
      await takeOvers;
      await writer.idle();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
