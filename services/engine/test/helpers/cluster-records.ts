/**
 * Cluster-mode records (namespaces, workloads, pods with an owner) for the
 * tests of the metadata cache's k8s.ns/rs/deployment/rc/svc join.
 */
import { type KvStore, META_KEYS } from '@saker/bus';
import {
  type NamespaceRecord,
  type OwnerRef,
  type PodInfo,
  type PodRecord,
  type WorkloadKind,
  type WorkloadRecord,
  encodeMetaRecord,
} from '@saker/events';
import { NODE, nowNs } from './metadata-records.js';

type Labels = Readonly<Record<string, string>>;

export function putNamespace(
  kv: KvStore,
  name: string,
  uid: string,
  labels?: Labels,
  deletedTs?: string,
): Promise<number> {
  const record: NamespaceRecord = {
    v: 1,
    kind: 'namespace',
    updated_ts: nowNs(),
    ...(deletedTs === undefined ? {} : { deleted_ts: deletedTs }),
    name,
    uid,
    ...(labels === undefined ? {} : { labels }),
  };
  return kv.put(META_KEYS.namespace(name), encodeMetaRecord(record));
}

export interface WorkloadSpec {
  readonly workload: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels?: Labels;
  readonly selector?: Labels;
  readonly owner?: OwnerRef;
  readonly deletedTs?: string;
}

export function putWorkload(kv: KvStore, spec: WorkloadSpec): Promise<number> {
  const { deletedTs, ...rest } = spec;
  const record: WorkloadRecord = {
    v: 1,
    kind: 'workload',
    updated_ts: nowNs(),
    ...(deletedTs === undefined ? {} : { deleted_ts: deletedTs }),
    ...rest,
  };
  return kv.put(META_KEYS.workload(spec.workload, spec.uid), encodeMetaRecord(record));
}

export function putOwnedPod(kv: KvStore, k8s: PodInfo, owner?: OwnerRef): Promise<number> {
  const uid = k8s.pod_uid;
  if (uid === undefined) throw new Error('a pod record needs k8s.pod_uid');
  const record: PodRecord = {
    v: 1,
    kind: 'pod',
    updated_ts: nowNs(),
    node: NODE,
    k8s,
    ...(owner === undefined ? {} : { owner }),
  };
  return kv.put(META_KEYS.pod(uid), encodeMetaRecord(record));
}
