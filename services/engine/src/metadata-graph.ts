/**
 * The Kubernetes object graph around a pod (cluster mode): its namespace,
 * its controller chain (ReplicaSet → Deployment, ReplicationController) and
 * the Services selecting it, completed into the pod's `k8s` object. The
 * cache (metadata-cache.ts) holds the mirrored records; this module only
 * reads them. Pure: no I/O.
 */
import type { K8sServiceRef, OwnerRef, PodInfo, WorkloadKind } from '@saker/events';
import type { Labels, NamespaceEntry, WorkloadEntry } from './metadata-entries.js';

/**
 * The pod as the join shows it: identity (name, uid, namespace, sandbox) from
 * the container record, which the node's runtime wrote; labels and ip from the
 * API server's pod record when cluster mode wrote one (they can change during
 * the pod's life, the runtime's copy cannot); the rest filled from either.
 */
export function mergePod(own: PodInfo | undefined, api: PodInfo | undefined): PodInfo | undefined {
  if (api === undefined) return own;
  if (own === undefined) return api;
  const merged: { -readonly [K in keyof PodInfo]: PodInfo[K] } = { ...api, ...own };
  if (api.pod_labels !== undefined) merged.pod_labels = api.pod_labels;
  if (api.pod_ip !== undefined) merged.pod_ip = api.pod_ip;
  return merged;
}

type MutablePod = { -readonly [K in keyof PodInfo]: PodInfo[K] };

/** Whether every pair of a (non-empty) selector is among the pod's labels. */
function selects(selector: Labels | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  let pairs = 0;
  for (const k in selector) {
    if (!Object.hasOwn(labels, k) || labels[k] !== selector[k]) return false;
    pairs++;
  }
  return pairs > 0;
}

function byName(a: K8sServiceRef, b: K8sServiceRef): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0;
}

/** The mirrored records the graph reads. */
export interface MirroredObjects {
  /** By namespace name. */
  readonly namespaces: ReadonlyMap<string, NamespaceEntry>;
  /** By uid. */
  readonly workloads: ReadonlyMap<string, WorkloadEntry>;
  /** Namespace name to its Services. */
  readonly services: ReadonlyMap<string, ReadonlySet<WorkloadEntry>>;
}

function workloadOf(
  m: MirroredObjects,
  uid: string,
  kind: WorkloadKind,
  ns: string,
): WorkloadEntry | undefined {
  const w = m.workloads.get(uid);
  return w !== undefined && w.workload === kind && w.namespace === ns ? w : undefined;
}

/**
 * The pod with what cluster mode knows around it, or `pod` itself when it
 * knows nothing. The controller's name and uid come from the ownerReference
 * even before (or without) the controller's own record; its labels, and a
 * ReplicaSet's Deployment, need that record.
 */
export function completePod(m: MirroredObjects, pod: PodInfo, owner: OwnerRef | undefined): PodInfo {
  const ns = pod.ns_name;
  if (ns === undefined) return pod;
  const out: MutablePod = {};
  let added = false;
  const namespace = m.namespaces.get(ns);
  if (namespace !== undefined) {
    out.ns_uid = namespace.uid;
    if (namespace.labels !== undefined) out.ns_labels = namespace.labels;
    added = true;
  }
  if (owner?.kind === 'ReplicaSet') {
    out.rs_name = owner.name;
    out.rs_uid = owner.uid;
    added = true;
    const rs = workloadOf(m, owner.uid, 'ReplicaSet', ns);
    if (rs?.labels !== undefined) out.rs_labels = rs.labels;
    const up = rs?.owner;
    if (up?.kind === 'Deployment') {
      out.deployment_name = up.name;
      out.deployment_uid = up.uid;
      const deployment = workloadOf(m, up.uid, 'Deployment', ns);
      if (deployment?.labels !== undefined) out.deployment_labels = deployment.labels;
    }
  } else if (owner?.kind === 'ReplicationController') {
    out.rc_name = owner.name;
    out.rc_uid = owner.uid;
    added = true;
    const rc = workloadOf(m, owner.uid, 'ReplicationController', ns);
    if (rc?.labels !== undefined) out.rc_labels = rc.labels;
  }
  const services = m.services.get(ns);
  const labels = pod.pod_labels;
  if (services !== undefined && labels !== undefined) {
    let matched: K8sServiceRef[] | undefined;
    for (const s of services) {
      if (!selects(s.selector, labels)) continue;
      if (matched === undefined) matched = [s.ref];
      else matched.push(s.ref);
    }
    if (matched !== undefined) {
      out.services = matched.sort(byName);
      added = true;
    }
  }
  return added ? { ...pod, ...out } : pod;
}
