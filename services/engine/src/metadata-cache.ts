/**
 * The engine's metadata cache over KV `saker_meta` (docs/engine.md, "Metadata
 * cache"). Four watches (`containers.>`, `pods.*`, `namespaces.*`,
 * `workloads.>`) feed it; the join reads it.
 *
 * - An entry per record, on one recency list with a second chance
 *   (metadata-lru.ts): bounded by `maxEntries`, least recently used out
 *   first, and dropped when neither updated nor used for `ttlMs` (swept on
 *   a timer, every ttlMs/4 at most 1 s).
 * - A tombstone (record with `deleted_ts`) keeps serving until
 *   `deleted_ts + ttlMs`, or until its key is deleted or purged.
 * - Per container the joined `container` and `k8s` objects are built (and
 *   frozen) when a record arrives, not per event: a hit costs an index
 *   lookup (metadata-index.ts), a flag store and two stores into the event
 *   (joinOwned, and joinOwnedRun for a run of them in one call; join makes
 *   one shallow copy instead).
 * - Namespaces, ReplicaSets, Deployments, ReplicationControllers and
 *   Services (cluster mode) are mirrored, not cached on use: the watch never
 *   sends a record again, and a namespace's services cannot be read back by
 *   key, so they are held until deleted (or their tombstone expires), at
 *   most maxEntries of them. They complete the `k8s` object of the
 *   containers of their namespace (namespace uid and labels, the pod's
 *   controller chain, the services selecting it), which is rebuilt when one
 *   of them changes, never per event.
 * The entries it holds are metadata-entries.ts; the Kubernetes object graph
 * (namespace, controller chain, Services) is metadata-graph.ts; the joined
 * event is built by metadata-join.ts; waits for unknown containers are
 * metadata-waits.ts.
 *
 * - An event of an unknown container waits up to `waitMs` for its record
 *   (one shared wait per id; a KV get runs meanwhile in case the record was
 *   dropped from the cache or the watch lags). After a timeout, the id is
 *   remembered for `negativeTtlMs` so its later events do not wait again,
 *   unless the record shows up. Events that arrive with container metadata
 *   of their own (name or image) never wait.
 */
import { BUCKETS, type Bus, type KvStore, type KvWatch, type KvWatchEntry, META_KEYS } from '@saker/bus';
import {
  type ContainerInfo,
  type ContainerRecord,
  type K8sServiceRef,
  type NamespaceRecord,
  type PodRecord,
  type SakerEvent,
  type SyscallEvent,
  type WorkloadKind,
  type WorkloadRecord,
  decodeMetaRecord,
} from '@saker/events';
import { RateLimitedLog } from './log.js';
import {
  type ContainerEntry,
  type Entry,
  type MirrorEntry,
  type NamespaceEntry,
  type PodEntry,
  type WorkloadEntry,
  deepFreeze,
  unlisted,
} from './metadata-entries.js';
import { completePod, mergePod } from './metadata-graph.js';
import { ContainerIndex } from './metadata-index.js';
import { joinInto, joined } from './metadata-join.js';
import { LruList } from './metadata-lru.js';
import { type CounterName, type KvMetadataStats, MetadataCacheMetrics } from './metadata-metrics.js';
import type { KvMetadataOptions, ResolvedKvMetadataOptions } from './metadata-options.js';
import { ContainerWaits } from './metadata-waits.js';
import type { MetadataProvider } from './metadata.js';
import { resolveKvMetadataOptions } from './options.js';

export type { KvMetadataStats } from './metadata-metrics.js';

/** A MetadataProvider backed by the KV cache; dispose it (or close()) to stop its watches. */
export interface KvMetadataProvider extends MetadataProvider, AsyncDisposable {
  joinOwned(event: SakerEvent): SakerEvent | Promise<SakerEvent>;
  joinOwnedRun(events: SakerEvent[], from: number): number;
  stats(): KvMetadataStats;
  close(): Promise<void>;
}

const HOST = 'host';

/** The join tells syscall events by their `container`: no other source may have one. */
type HasContainer<T> = T extends unknown ? ('container' extends keyof T ? T : never) : never;
type NoContainer = [HasContainer<Exclude<SakerEvent, SyscallEvent>>] extends [never] ? true : false;
const onlySyscallEventsHaveContainer: NoContainer = true;
void onlySyscallEventsHaveContainer;
const POD_UID_LABEL = 'io.kubernetes.pod.uid';
const CONTAINERS_PREFIX = 'containers.';
/** What META_KEYS accepts as a container id (assertToken in @saker/bus). */
const KEY_TOKEN = /^[A-Za-z0-9_-]+$/;
const PODS_PREFIX = 'pods.';
const NAMESPACES_PREFIX = 'namespaces.';
const WORKLOADS_PREFIX = 'workloads.';
/** The workload kinds the k8s fields read, by their key token; the others are not held. */
const MIRRORED_WORKLOADS: ReadonlyMap<string, WorkloadKind> = new Map([
  ['replicaset', 'ReplicaSet'],
  ['deployment', 'Deployment'],
  ['replicationcontroller', 'ReplicationController'],
  ['service', 'Service'],
]);
/** Most waits at once (distinct unknown ids); past it, events of new unknown ids do not wait. */
const MAX_PENDING = 4096;
/** Most KV gets for missing records at once; the watch still ends waits beyond it. */
const MAX_FETCHES = 16;

function nsToMs(ns: string): number {
  return Number(BigInt(ns) / 1_000_000n);
}

/** Opens KV saker_meta on `bus`, starts the watches and returns the provider. */
export async function createKvMetadataProvider(
  bus: Bus,
  options: KvMetadataOptions = {},
): Promise<KvMetadataProvider> {
  const opts = resolveKvMetadataOptions(options);
  const kv = await bus.kv(BUCKETS.meta);
  const cache = new KvMetadataCache(kv, opts);
  await cache.begin();
  return cache;
}

class KvMetadataCache implements KvMetadataProvider {
  readonly #kv: KvStore;
  readonly #o: ResolvedKvMetadataOptions;
  readonly #warn: RateLimitedLog;
  readonly #metrics: MetadataCacheMetrics;
  readonly #lru = new LruList<Entry>();
  readonly #byKey = new Map<string, Entry>();
  readonly #byId = new ContainerIndex<ContainerEntry>();
  readonly #pods = new Map<string, PodEntry>();
  /** Pod uid to the containers that name it, whether its pod record is here or not. */
  readonly #podContainers = new Map<string, Set<ContainerEntry>>();
  readonly #namespaces = new Map<string, NamespaceEntry>();
  /** Mirrored workloads by uid. */
  readonly #workloads = new Map<string, WorkloadEntry>();
  /** Namespace name to its Services. */
  readonly #services = new Map<string, Set<WorkloadEntry>>();
  /** Namespace name to the cached containers in it: what a namespace or workload change rebuilds. */
  readonly #nsContainers = new Map<string, Set<ContainerEntry>>();
  readonly #waits: ContainerWaits;
  /** Keys deleted or purged, with the revision: a late get must not bring them back. */
  readonly #removedAt = new Map<string, number>();
  /** Entries holding a tombstone: swept by deleted_ts, used or not. */
  readonly #tombstones = new Set<Entry>();
  readonly #watches: KvWatch[] = [];
  readonly #loops: Promise<void>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The clock of the recency list (ms), read when records are written and on each sweep. */
  #now = Date.now();
  /** What completePod reads: the mirrored namespaces, workloads and Services. */
  readonly #mirrored = { namespaces: this.#namespaces, workloads: this.#workloads, services: this.#services };
  #containers = 0;
  #fetching = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  // Counters (see KvMetadataStats).
  #joinHits = 0;
  #joinMisses = 0;
  #waitCount = 0;
  #waitHits = 0;
  #waitTimeouts = 0;
  #waitedEvents = 0;
  #negativeSkips = 0;
  #badRecords = 0;
  #fetched = 0;
  #evictedLru = 0;
  #expired = 0;
  #removed = 0;
  #mirrorFull = 0;

  constructor(kv: KvStore, opts: ResolvedKvMetadataOptions) {
    this.#kv = kv;
    this.#o = opts;
    this.#warn = new RateLimitedLog(opts.log, { burst: 5, windowMs: 10_000 });
    this.#metrics = new MetadataCacheMetrics(opts.metrics);
    this.#waits = new ContainerWaits({
      waitMs: opts.waitMs,
      negativeTtlMs: opts.negativeTtlMs,
      maxNegative: opts.maxEntries,
      onTimeout: () => {
        this.#waitTimeouts++;
      },
    });
  }

  async begin(): Promise<void> {
    for (const key of [
      META_KEYS.allContainers,
      META_KEYS.allPods,
      META_KEYS.allNamespaces,
      META_KEYS.allWorkloads,
    ]) {
      const watch = await this.#kv.watch({ key });
      this.#watches.push(watch);
      this.#loops.push(this.#follow(watch, key));
    }
    const sweepMs = Math.max(5, Math.min(1000, Math.floor(this.#o.ttlMs / 4)));
    this.#timer = setInterval(() => this.#sweep(), sweepMs);
    this.#timer.unref();
  }

  async #follow(watch: KvWatch, key: string): Promise<void> {
    try {
      for await (const e of watch) this.#apply(e);
    } catch (err) {
      if (!this.#closed) this.#o.log(`engine: metadata watch ${BUCKETS.meta}/${key} ended: ${String(err)}`);
    }
  }

  // --- the join -------------------------------------------------------------

  join(event: SakerEvent): SakerEvent | Promise<SakerEvent> {
    return this.#join(event, false);
  }

  joinOwned(event: SakerEvent): SakerEvent | Promise<SakerEvent> {
    return this.#join(event, true);
  }

  #join(e: SakerEvent, owned: boolean): SakerEvent | Promise<SakerEvent> {
    // Only syscall events have a container (see NoContainer): one property read
    // instead of two on the hot path, where events come in many shapes.
    const container = (e as { readonly container?: ContainerInfo }).container;
    if (container === undefined) return e;
    const event = e as SyscallEvent;
    const id = container.id;
    // Validation made sure the id is not empty.
    if (id === HOST) return event;
    const entry = this.#lookup(id, event);
    if (entry !== undefined) {
      entry.used = true;
      this.#joinHits++;
      return owned ? joinInto(event, entry) : joined(event, entry);
    }
    return this.#miss(event, id, owned);
  }

  joinOwnedRun(events: SakerEvent[], from: number): number {
    // #join's hit path over a run of events: no call per event, one counter update per run.
    const index = this.#byId;
    let hits = 0;
    let i = from;
    for (; i < events.length; i++) {
      const e = events[i] as SakerEvent;
      const container = (e as { readonly container?: ContainerInfo }).container;
      if (container === undefined || container.id === HOST) continue;
      const entry = index.get(container.id, e as SyscallEvent);
      if (entry === undefined) break;
      entry.used = true;
      hits++;
      joinInto(e as SyscallEvent, entry);
    }
    this.#joinHits += hits;
    return i;
  }

  #lookup(id: string, event: { readonly hostname?: string | undefined }): ContainerEntry | undefined {
    return this.#byId.get(id, event);
  }

  #miss(event: SyscallEvent, id: string, owned: boolean): SakerEvent | Promise<SakerEvent> {
    // An id that cannot be a key token (`>`, `a.b`) has no record, and must not
    // reach a KV key or a keys() wildcard: no wait, no fetch.
    if (this.#closed || !KEY_TOKEN.test(id)) {
      this.#joinMisses++;
      return event;
    }
    if (this.#waits.isNegative(id, Date.now())) {
      this.#negativeSkips++;
      this.#joinMisses++;
      return event;
    }
    if (event.container.image !== undefined || event.container.name !== undefined) {
      // It came enriched already (a replayed recording, a sensor that knows its
      // containers): no reason to hold it back.
      this.#joinMisses++;
      return event;
    }
    let pending = this.#waits.get(id);
    if (pending === undefined) {
      // A flood of ids nobody knows (a broken sensor) must not pile up timers and gets.
      if (this.#waits.size >= MAX_PENDING) {
        this.#joinMisses++;
        return event;
      }
      pending = this.#startWait(id, event.hostname);
    }
    if (this.#o.waitMs === 0) {
      this.#joinMisses++;
      return event;
    }
    this.#waitedEvents++;
    return pending.then(() => this.#afterWait(event, id, owned));
  }

  #afterWait(event: SyscallEvent, id: string, owned: boolean): SakerEvent {
    const entry = this.#lookup(id, event);
    if (entry === undefined) {
      this.#joinMisses++;
      return event;
    }
    entry.used = true;
    this.#joinHits++;
    return owned ? joinInto(event, entry) : joined(event, entry);
  }

  #startWait(id: string, hostname: string | undefined): Promise<void> {
    this.#waitCount++;
    const wait = this.#waits.start(id);
    if (this.#fetching < MAX_FETCHES) {
      this.#fetching++;
      void this.#fetch(id, hostname).finally(() => {
        this.#fetching--;
      });
    }
    return wait;
  }

  /** Ends the wait for `id`, if any: its record is here. */
  #arrived(id: string): void {
    if (this.#waits.arrived(id)) this.#waitHits++;
  }

  /**
   * Reads the record with a get: the watch only brings changes, so a record
   * dropped from the cache (LRU, TTL) comes back this way. The event's node
   * first, then any node's.
   */
  async #fetch(id: string, hostname: string | undefined): Promise<void> {
    try {
      let found = false;
      if (hostname !== undefined && hostname !== '') {
        found = await this.#fetchKey(META_KEYS.container(hostname, id));
      }
      if (!found && !this.#closed) {
        for (const key of await this.#kv.keys(`${CONTAINERS_PREFIX}*.${id}`)) {
          if (await this.#fetchKey(key)) break;
        }
      }
      const entry = this.#lookup(id, { hostname });
      const uid = entry?.podUid;
      if (uid !== undefined && !this.#pods.has(uid) && !this.#closed)
        await this.#fetchKey(META_KEYS.pod(uid));
    } catch (err) {
      if (!this.#closed) {
        this.#warn.warn('metadata-get', `engine: metadata get for container ${id} failed: ${String(err)}`);
      }
    }
  }

  async #fetchKey(key: string): Promise<boolean> {
    const got = await this.#kv.get(key);
    if (got === null || this.#closed) return false;
    const removedAt = this.#removedAt.get(key);
    if (removedAt !== undefined && removedAt > got.revision) return false;
    this.#fetched++;
    this.#put(key, got.value, got.revision);
    return this.#byKey.has(key);
  }

  // --- keeping the cache ----------------------------------------------------

  #apply(e: KvWatchEntry): void {
    if (this.#closed) return;
    if (e.operation === 'PUT') {
      this.#put(e.key, e.value, e.revision);
      return;
    }
    this.#removedAt.delete(e.key);
    this.#removedAt.set(e.key, e.revision);
    if (this.#removedAt.size > this.#o.maxEntries) {
      const oldest = this.#removedAt.keys().next();
      if (oldest.done !== true) this.#removedAt.delete(oldest.value);
    }
    const entry = this.#byKey.get(e.key);
    if (entry !== undefined && entry.revision < e.revision) {
      this.#drop(entry);
      this.#removed++;
    }
  }

  #bad(key: string, reason: string): void {
    this.#badRecords++;
    this.#warn.warn('metadata-bad-record', `engine: skipped ${BUCKETS.meta}/${key}: ${reason}`);
  }

  #put(key: string, value: Uint8Array, revision: number): void {
    const existing = this.#byKey.get(key);
    if (existing !== undefined && existing.revision >= revision) return;
    let workload: WorkloadKind | undefined;
    if (key.startsWith(WORKLOADS_PREFIX)) {
      // Kinds no field reads (DaemonSet, Job, ...) are not even decoded.
      workload = MIRRORED_WORKLOADS.get(key.slice(WORKLOADS_PREFIX.length, key.lastIndexOf('.')));
      if (workload === undefined) return;
    }
    let record: ReturnType<typeof decodeMetaRecord>;
    try {
      record = decodeMetaRecord(value);
    } catch (err) {
      this.#bad(key, err instanceof Error ? err.message : String(err));
      return;
    }
    this.#now = Date.now();
    // A value that does not fit its key is skipped; an entry already here keeps serving.
    if (key.startsWith(CONTAINERS_PREFIX)) {
      const id = key.slice(key.lastIndexOf('.') + 1);
      if (record.kind !== 'container') this.#bad(key, `$.kind: expected container, got ${record.kind}`);
      else if (id.length === 0 || key.split('.').length !== 3) this.#bad(key, 'not containers.<node>.<id>');
      else this.#putContainer(key, id, record, revision, existing);
    } else if (key.startsWith(PODS_PREFIX)) {
      const uid = key.slice(PODS_PREFIX.length);
      if (record.kind !== 'pod') this.#bad(key, `$.kind: expected pod, got ${record.kind}`);
      else if (record.k8s.pod_uid !== undefined && record.k8s.pod_uid !== uid)
        this.#bad(key, `$.k8s.pod_uid: ${JSON.stringify(record.k8s.pod_uid)} is not the key's uid`);
      else this.#putPod(key, uid, record, revision, existing);
    } else if (key.startsWith(NAMESPACES_PREFIX)) {
      if (record.kind !== 'namespace') this.#bad(key, `$.kind: expected namespace, got ${record.kind}`);
      else if (record.name !== key.slice(NAMESPACES_PREFIX.length))
        this.#bad(key, `$.name: ${JSON.stringify(record.name)} is not the key's name`);
      else this.#putMirror(key, record, revision, existing);
    } else if (workload !== undefined) {
      if (record.kind !== 'workload') this.#bad(key, `$.kind: expected workload, got ${record.kind}`);
      else if (record.workload !== workload)
        this.#bad(key, `$.workload: expected ${workload}, got ${record.workload}`);
      else if (record.uid !== key.slice(key.lastIndexOf('.') + 1))
        this.#bad(key, `$.uid: ${JSON.stringify(record.uid)} is not the key's uid`);
      else this.#putMirror(key, record, revision, existing);
    }
  }

  /** When a tombstone stops serving; undefined for a live record. Throws nothing: deleted_ts is checked. */
  #expiry(record: ContainerRecord | PodRecord | NamespaceRecord | WorkloadRecord): number | undefined {
    return record.deleted_ts === undefined ? undefined : nsToMs(record.deleted_ts) + this.#o.ttlMs;
  }

  #putContainer(
    key: string,
    id: string,
    record: ContainerRecord,
    revision: number,
    existing: Entry | undefined,
  ): void {
    const expiresAt = this.#expiry(record);
    if (expiresAt !== undefined && expiresAt <= this.#now) {
      if (existing !== undefined) this.#drop(existing);
      return;
    }
    const container = deepFreeze(record.container.id === id ? record.container : { ...record.container, id });
    const ownK8s = deepFreeze(record.k8s);
    const podUid = ownK8s?.pod_uid ?? record.container.labels?.[POD_UID_LABEL];
    let entry: ContainerEntry;
    if (existing !== undefined && existing.kind === 'container') {
      entry = existing;
      entry.revision = revision;
      entry.expiresAt = expiresAt;
      entry.node = record.node;
      entry.container = container;
      entry.ownK8s = ownK8s;
      if (entry.podUid !== podUid) {
        this.#unlinkPod(entry);
        entry.podUid = podUid;
        this.#linkPod(entry);
      }
    } else {
      entry = {
        kind: 'container',
        key,
        id,
        revision,
        expiresAt,
        node: record.node,
        container,
        ownK8s,
        k8s: undefined,
        podUid,
        pod: undefined,
        ns: undefined,
        sameKey: undefined,
        newer: undefined,
        older: undefined,
        listedAt: 0,
        used: false,
        listed: false,
      };
      this.#byKey.set(key, entry);
      this.#byId.add(entry);
      this.#containers++;
      this.#linkPod(entry);
    }
    this.#rebuild(entry);
    if (expiresAt === undefined) this.#tombstones.delete(entry);
    else this.#tombstones.add(entry);
    this.#lru.front(entry, this.#now);
    this.#evict();
    this.#arrived(id);
  }

  #putPod(key: string, uid: string, record: PodRecord, revision: number, existing: Entry | undefined): void {
    const expiresAt = this.#expiry(record);
    if (expiresAt !== undefined && expiresAt <= this.#now) {
      if (existing !== undefined) this.#drop(existing);
      return;
    }
    let entry: PodEntry;
    if (existing !== undefined && existing.kind === 'pod') {
      entry = existing;
      entry.revision = revision;
      entry.expiresAt = expiresAt;
      entry.k8s = deepFreeze(record.k8s);
      entry.owner = deepFreeze(record.owner);
    } else {
      entry = {
        kind: 'pod',
        key,
        uid,
        revision,
        expiresAt,
        k8s: deepFreeze(record.k8s),
        owner: deepFreeze(record.owner),
        newer: undefined,
        older: undefined,
        listedAt: 0,
        used: false,
        listed: false,
      };
      this.#byKey.set(key, entry);
      this.#pods.set(uid, entry);
    }
    for (const c of this.#podContainers.get(uid) ?? []) {
      c.pod = entry;
      this.#rebuild(c);
    }
    if (expiresAt === undefined) this.#tombstones.delete(entry);
    else this.#tombstones.add(entry);
    this.#lru.front(entry, this.#now);
    this.#evict();
  }

  #linkPod(entry: ContainerEntry): void {
    const uid = entry.podUid;
    if (uid === undefined) return;
    let set = this.#podContainers.get(uid);
    if (set === undefined) {
      set = new Set();
      this.#podContainers.set(uid, set);
    }
    set.add(entry);
    entry.pod = this.#pods.get(uid);
  }

  #unlinkPod(entry: ContainerEntry): void {
    const uid = entry.podUid;
    entry.pod = undefined;
    if (uid === undefined) return;
    const set = this.#podContainers.get(uid);
    set?.delete(entry);
    if (set?.size === 0) this.#podContainers.delete(uid);
  }

  #drop(entry: Entry): void {
    if (this.#byKey.get(entry.key) !== entry) return;
    this.#byKey.delete(entry.key);
    this.#tombstones.delete(entry);
    this.#lru.remove(entry);
    switch (entry.kind) {
      case 'pod':
        this.#pods.delete(entry.uid);
        for (const c of this.#podContainers.get(entry.uid) ?? []) {
          c.pod = undefined;
          this.#rebuild(c);
        }
        return;
      case 'namespace':
        this.#namespaces.delete(entry.name);
        this.#rebuildNamespace(entry.name);
        return;
      case 'workload':
        this.#workloads.delete(entry.uid);
        this.#unlistService(entry);
        this.#rebuildNamespace(entry.namespace);
        return;
      case 'container':
        this.#containers--;
        this.#unlinkPod(entry);
        this.#listIn(entry, undefined);
        this.#byId.remove(entry);
    }
  }

  // --- namespaces and workloads (cluster mode) ---------------------------------

  #putMirror(
    key: string,
    record: NamespaceRecord | WorkloadRecord,
    revision: number,
    existing: Entry | undefined,
  ): void {
    const expiresAt = this.#expiry(record);
    if (expiresAt !== undefined && expiresAt <= this.#now) {
      if (existing !== undefined) this.#drop(existing);
      return;
    }
    if (existing === undefined && this.#namespaces.size + this.#workloads.size >= this.#o.maxEntries) {
      this.#mirrorFull++;
      this.#warn.warn(
        'metadata-mirror-full',
        `engine: skipped ${BUCKETS.meta}/${key}: ${this.#o.maxEntries} namespace and workload records held already (max_entries)`,
      );
      return;
    }
    const labels = deepFreeze(record.labels);
    let entry: MirrorEntry;
    if (record.kind === 'namespace') {
      if (existing?.kind === 'namespace') {
        entry = existing;
        entry.uid = record.uid;
        entry.labels = labels;
      } else {
        entry = { kind: 'namespace', key, name: record.name, uid: record.uid, labels, ...unlisted(revision) };
        this.#namespaces.set(entry.name, entry);
      }
    } else {
      const ref: K8sServiceRef = Object.freeze(
        labels === undefined
          ? { name: record.name, uid: record.uid }
          : { name: record.name, uid: record.uid, labels },
      );
      if (existing?.kind === 'workload') {
        entry = existing;
        const before = entry.namespace;
        this.#unlistService(entry);
        entry.workload = record.workload;
        entry.namespace = record.namespace;
        entry.name = record.name;
        entry.labels = labels;
        entry.selector = deepFreeze(record.selector);
        entry.owner = deepFreeze(record.owner);
        entry.ref = ref;
        if (before !== entry.namespace) this.#rebuildNamespace(before);
      } else {
        entry = {
          kind: 'workload',
          key,
          uid: record.uid,
          workload: record.workload,
          namespace: record.namespace,
          name: record.name,
          labels,
          selector: deepFreeze(record.selector),
          owner: deepFreeze(record.owner),
          ref,
          ...unlisted(revision),
        };
        this.#workloads.set(entry.uid, entry);
      }
      if (entry.workload === 'Service') {
        let set = this.#services.get(entry.namespace);
        if (set === undefined) {
          set = new Set();
          this.#services.set(entry.namespace, set);
        }
        set.add(entry);
      }
    }
    if (existing === undefined) this.#byKey.set(key, entry);
    entry.revision = revision;
    entry.expiresAt = expiresAt;
    if (expiresAt === undefined) this.#tombstones.delete(entry);
    else this.#tombstones.add(entry);
    this.#rebuildNamespace(entry.kind === 'namespace' ? entry.name : entry.namespace);
  }

  #unlistService(entry: WorkloadEntry): void {
    const set = this.#services.get(entry.namespace);
    if (set === undefined || !set.delete(entry)) return;
    if (set.size === 0) this.#services.delete(entry.namespace);
  }

  #rebuildNamespace(ns: string): void {
    const set = this.#nsContainers.get(ns);
    if (set === undefined) return;
    for (const c of set) this.#rebuild(c);
  }

  /** Files the container under namespace `ns` (undefined: under none). */
  #listIn(entry: ContainerEntry, ns: string | undefined): void {
    if (entry.ns === ns) return;
    if (entry.ns !== undefined) {
      const set = this.#nsContainers.get(entry.ns);
      set?.delete(entry);
      if (set?.size === 0) this.#nsContainers.delete(entry.ns);
    }
    entry.ns = ns;
    if (ns === undefined) return;
    let set = this.#nsContainers.get(ns);
    if (set === undefined) {
      set = new Set();
      this.#nsContainers.set(ns, set);
    }
    set.add(entry);
  }

  /** Builds the container's joined `k8s` object: its own, the pod record's, the mirrored objects'. */
  #rebuild(c: ContainerEntry): void {
    const pod = mergePod(c.ownK8s, c.pod?.k8s);
    this.#listIn(c, pod?.ns_name);
    c.k8s = pod === undefined ? undefined : deepFreeze(completePod(this.#mirrored, pod, c.pod?.owner));
  }

  #evict(): void {
    this.#lru.age(
      this.#now,
      () => this.#lru.size > this.#o.maxEntries,
      (e) => {
        if (this.#keepPod(e, this.#now)) return;
        this.#drop(e);
        this.#evictedLru++;
      },
    );
  }

  /**
   * The join marks only containers used; a pod counts as used while a
   * container of it is cached, and goes back in front then.
   */
  #keepPod(e: Entry, now: number): boolean {
    if (e.kind !== 'pod' || (this.#podContainers.get(e.uid)?.size ?? 0) === 0) return false;
    this.#lru.front(e, now);
    return true;
  }

  #sweep(): void {
    const now = Date.now();
    this.#now = now;
    // Entries put in front more than ttl ago: used since, they go back in front; else they expire.
    const cutoff = now - this.#o.ttlMs;
    this.#lru.age(
      now,
      (e) => e.listedAt <= cutoff,
      (e) => {
        if (this.#keepPod(e, now)) return;
        this.#drop(e);
        this.#expired++;
      },
    );
    // Tombstones stop serving at deleted_ts + ttlMs, used or not.
    for (const e of this.#tombstones) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.#drop(e);
        this.#expired++;
      }
    }
    this.#metrics.publish(this.stats());
  }

  // --- stats and closing ------------------------------------------------------

  stats(): KvMetadataStats {
    const counters: Record<CounterName, number> = {
      joinHits: this.#joinHits,
      joinMisses: this.#joinMisses,
      waits: this.#waitCount,
      waitHits: this.#waitHits,
      waitTimeouts: this.#waitTimeouts,
      waitedEvents: this.#waitedEvents,
      negativeSkips: this.#negativeSkips,
      badRecords: this.#badRecords,
      fetched: this.#fetched,
      evictedLru: this.#evictedLru,
      expired: this.#expired,
      removed: this.#removed,
      mirrorFull: this.#mirrorFull,
    };
    return {
      containers: this.#containers,
      pods: this.#pods.size,
      namespaces: this.#namespaces.size,
      workloads: this.#workloads.size,
      ...counters,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const w of this.#watches) w.stop();
    // Waiting events go on without metadata.
    this.#waits.endAll();
    // The loops end once their watch stops; a watch stuck in a dead connection must not hold the engine's stop.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(this.#loops),
      new Promise<void>((r) => {
        timer = setTimeout(r, 2000);
      }),
    ]);
    clearTimeout(timer);
    this.#metrics.publish(this.stats());
    this.#warn.flush();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
