/**
 * The records enrichment writes to the KV bucket `saker_meta` and the engine
 * reads back: the one schema both sides share. Values are JSON with `v: 1`.
 *
 * Keys (built by `META_KEYS` in @saker/bus):
 * - `containers.<node>.<id>`: a ContainerRecord, from the node's CRI socket;
 * - `pods.<uid>`: a PodRecord, from the API server (cluster mode);
 * - `namespaces.<name>`: a NamespaceRecord;
 * - `workloads.<kind>.<uid>`: a WorkloadRecord (deployments, replicasets,
 *   daemonsets, statefulsets, jobs, cronjobs, replicationcontrollers,
 *   services);
 * - `shards.<index>`: a ShardLease (cluster mode's shard ownership).
 *
 * Deletion leaves a tombstone: the last record with `deleted_ts` set. Readers
 * keep using a tombstoned record (late events of a dead container still get
 * its metadata) until `deleted_ts + ttl`; the writer purges it then.
 */
import {
  type Obj,
  badInt,
  badNsTime,
  badObject,
  badStr,
  describe,
  fail,
  isInt,
  isNsTime,
  isObject,
  str,
  stringRecord,
} from './check.js';
import type { ContainerInfo, PodInfo } from './syscall.js';
import { checkContainer, checkK8s } from './validate.js';

const META_RECORD_VERSION = 1;

interface RecordBase {
  readonly v: 1;
  /** When the writer last wrote it, nanoseconds since the epoch. */
  readonly updated_ts: string;
  /** Set on a tombstone: when the object was deleted, nanoseconds since the epoch. */
  readonly deleted_ts?: string;
}

/** A container as its node's runtime describes it (node mode). */
export interface ContainerRecord extends RecordBase {
  readonly kind: 'container';
  /** The node (hostname) the container runs on. */
  readonly node: string;
  /** Everything of `container.*`; `id` is the 12-character id. */
  readonly container: ContainerInfo;
  /** The pod, from the runtime's `io.kubernetes.*` labels, when kubelet made the container. */
  readonly k8s?: PodInfo;
}

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** A pod as the API server describes it (cluster mode). */
export interface PodRecord extends RecordBase {
  readonly kind: 'pod';
  readonly node?: string;
  /** pod_name, pod_uid, ns_name, pod_labels, pod_ip. */
  readonly k8s: PodInfo;
  /** The pod's controller (ownerReferences with controller: true). */
  readonly owner?: OwnerRef;
}

export interface NamespaceRecord extends RecordBase {
  readonly kind: 'namespace';
  readonly name: string;
  readonly uid: string;
  readonly labels?: Readonly<Record<string, string>>;
}

const WORKLOAD_KINDS = [
  'Deployment',
  'ReplicaSet',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'ReplicationController',
  'Service',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadRecord extends RecordBase {
  readonly kind: 'workload';
  readonly workload: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** A Service's pod selector. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly owner?: OwnerRef;
}

/** Who holds a cluster-mode shard, until when. Updated by compare-and-set on the KV revision. */
export interface ShardLease {
  readonly v: 1;
  readonly kind: 'lease';
  readonly shard: number;
  readonly shards: number;
  /** The holder's instance name. */
  readonly holder: string;
  /** Nanoseconds since the epoch after which another instance may take the shard. */
  readonly expires_ts: string;
}

export type MetaRecord = ContainerRecord | PodRecord | NamespaceRecord | WorkloadRecord | ShardLease;

function base(o: Obj, path: string): void {
  if (o.v !== META_RECORD_VERSION)
    fail(`${path}.v`, `expected ${META_RECORD_VERSION}, got ${JSON.stringify(o.v)}`);
  if (!isNsTime(o.updated_ts)) badNsTime(path, 'updated_ts', o.updated_ts);
  if (o.deleted_ts !== undefined && !isNsTime(o.deleted_ts)) badNsTime(path, 'deleted_ts', o.deleted_ts);
}

function owner(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!isObject(value)) badObject(path, value);
  str(value, 'kind', path);
  str(value, 'name', path);
  str(value, 'uid', path);
}

/**
 * Checks one decoded `saker_meta` value and returns it typed. Throws
 * EventValidationError naming the JSON path of what was wrong. The container
 * and pod parts are checked by the same code as events' (paths `$.container`
 * and `$.k8s`).
 */
export function parseMetaRecord(value: unknown): MetaRecord {
  if (!isObject(value)) badObject('$', value);
  const o = value;
  switch (o.kind) {
    case 'container':
      base(o, '$');
      str(o, 'node', '$');
      checkContainer(o.container);
      if (o.k8s !== undefined) checkK8s(o.k8s);
      return o as unknown as ContainerRecord;
    case 'pod':
      base(o, '$');
      if (o.node !== undefined && typeof o.node !== 'string') badStr('$', 'node', o.node);
      checkK8s(o.k8s);
      owner(o.owner, '$.owner');
      return o as unknown as PodRecord;
    case 'namespace':
      base(o, '$');
      str(o, 'name', '$');
      str(o, 'uid', '$');
      stringRecord(o.labels, 'labels', '$');
      return o as unknown as NamespaceRecord;
    case 'workload':
      base(o, '$');
      if (!(WORKLOAD_KINDS as readonly unknown[]).includes(o.workload)) {
        fail('$.workload', `expected one of ${WORKLOAD_KINDS.join(', ')}, got ${JSON.stringify(o.workload)}`);
      }
      str(o, 'namespace', '$');
      str(o, 'name', '$');
      str(o, 'uid', '$');
      stringRecord(o.labels, 'labels', '$');
      stringRecord(o.selector, 'selector', '$');
      owner(o.owner, '$.owner');
      return o as unknown as WorkloadRecord;
    case 'lease':
      if (o.v !== META_RECORD_VERSION)
        fail('$.v', `expected ${META_RECORD_VERSION}, got ${JSON.stringify(o.v)}`);
      if (!isInt(o.shard) || o.shard < 0) badInt('$', 'shard', o.shard);
      if (!isInt(o.shards) || o.shards < 1) badInt('$', 'shards', o.shards);
      str(o, 'holder', '$');
      if (!isNsTime(o.expires_ts)) badNsTime('$', 'expires_ts', o.expires_ts);
      return o as unknown as ShardLease;
    default:
      return fail(
        '$.kind',
        `expected container, pod, namespace, workload or lease, got ${typeof o.kind === 'string' ? JSON.stringify(o.kind) : describe(o.kind)}`,
      );
  }
}

/** Decodes and checks a KV value (UTF-8 JSON). Throws EventValidationError with the path. */
export function decodeMetaRecord(bytes: Uint8Array): MetaRecord {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return fail('$', `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseMetaRecord(value);
}

export function encodeMetaRecord(record: MetaRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

/** Whether a record is a tombstone that has outlived `ttlMs` at `nowNs`. */
export function isExpiredTombstone(record: MetaRecord, ttlMs: number, nowNs: bigint): boolean {
  if (record.kind === 'lease' || record.deleted_ts === undefined) return false;
  return BigInt(record.deleted_ts) + BigInt(ttlMs) * 1_000_000n <= nowNs;
}
