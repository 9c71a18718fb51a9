/**
 * What the metadata cache (metadata-cache.ts) holds per KV record: a
 * container, a pod, or a mirrored namespace or workload, each with its place
 * on the recency list (metadata-lru.ts). Records are frozen once, when they
 * arrive, and shared by every event joined with them.
 */
import type { ContainerInfo, K8sServiceRef, OwnerRef, PodInfo, WorkloadKind } from '@saker/events';
import type { IndexedContainer } from './metadata-index.js';
import type { LruNode } from './metadata-lru.js';

interface EntryBase extends LruNode {
  readonly key: string;
  revision: number;
  /** ms since the epoch when its tombstone stops serving; undefined for a live record. */
  expiresAt: number | undefined;
}

export interface ContainerEntry extends EntryBase {
  readonly kind: 'container';
  readonly id: string;
  node: string;
  /** The record's container, with the key's id; frozen, shared by every joined event. */
  container: ContainerInfo;
  /** The record's own pod info. */
  ownK8s: PodInfo | undefined;
  /** ownK8s completed from the pod record and the mirrored objects; frozen, shared. */
  k8s: PodInfo | undefined;
  podUid: string | undefined;
  pod: PodEntry | undefined;
  /** The namespace it is listed under in #nsContainers (its k8s.ns_name). */
  ns: string | undefined;
  /** The next entry under the same index key (see metadata-index.ts). */
  sameKey: IndexedContainer | undefined;
}

export interface PodEntry extends EntryBase {
  readonly kind: 'pod';
  readonly uid: string;
  k8s: PodInfo;
  /** The pod's controller. */
  owner: OwnerRef | undefined;
}

export type Labels = Readonly<Record<string, string>>;

/** A mirrored namespace; never on the recency list. */
export interface NamespaceEntry extends EntryBase {
  readonly kind: 'namespace';
  readonly name: string;
  uid: string;
  labels: Labels | undefined;
}

/** A mirrored ReplicaSet, Deployment, ReplicationController or Service; never on the recency list. */
export interface WorkloadEntry extends EntryBase {
  readonly kind: 'workload';
  readonly uid: string;
  workload: WorkloadKind;
  namespace: string;
  name: string;
  labels: Labels | undefined;
  /** A Service's selector; one that is empty or absent selects no pod. */
  selector: Labels | undefined;
  owner: OwnerRef | undefined;
  /** A Service as the pods it selects show it; frozen, shared. */
  ref: K8sServiceRef;
}

export type MirrorEntry = NamespaceEntry | WorkloadEntry;
export type Entry = ContainerEntry | PodEntry | MirrorEntry;

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The recency-list fields of an entry that is never on the list (a mirrored one). */
export function unlisted(revision: number): LruNode & { revision: number; expiresAt: undefined } {
  return {
    revision,
    expiresAt: undefined,
    newer: undefined,
    older: undefined,
    listedAt: 0,
    used: false,
    listed: false,
  };
}
