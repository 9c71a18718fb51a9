/**
 * From an API object to the `saker_meta` record cluster mode writes, checked
 * on the way: the API server's objects are input like any other, and one that
 * lacks what a record needs (metadata.uid, a name, a namespace) is refused
 * with every problem named, never half-written.
 */
import { META_KEYS } from '@saker/bus';
import type { NamespaceRecord, OwnerRef, PodRecord, WorkloadKind, WorkloadRecord } from '@saker/events';

/** The ten resources cluster mode watches, by their API collection name. */
export const CLUSTER_RESOURCES = [
  'pods',
  'namespaces',
  'deployments',
  'replicasets',
  'daemonsets',
  'statefulsets',
  'jobs',
  'cronjobs',
  'replicationcontrollers',
  'services',
] as const;
export type ClusterResource = (typeof CLUSTER_RESOURCES)[number];

/** The workload kind (WorkloadRecord.workload) of each workload resource. */
const WORKLOAD_OF: Readonly<Record<Exclude<ClusterResource, 'pods' | 'namespaces'>, WorkloadKind>> = {
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  daemonsets: 'DaemonSet',
  statefulsets: 'StatefulSet',
  jobs: 'Job',
  cronjobs: 'CronJob',
  replicationcontrollers: 'ReplicationController',
  services: 'Service',
};

/** A record as cluster mode derives it, before the writer stamps `updated_ts`. */
export type RecordBody =
  | Omit<PodRecord, 'updated_ts' | 'deleted_ts'>
  | Omit<NamespaceRecord, 'updated_ts' | 'deleted_ts'>
  | Omit<WorkloadRecord, 'updated_ts' | 'deleted_ts'>;

export interface Derived {
  readonly key: string;
  readonly body: RecordBody;
}

/** An API object that cannot become a record; `problems` lists each thing wrong. */
export class BadObjectError extends Error {
  override readonly name = 'BadObjectError';
  readonly resource: ClusterResource;
  /** `namespace/name`, or what could be told of the object. */
  readonly object: string;
  readonly problems: readonly string[];

  constructor(resource: ClusterResource, object: string, problems: readonly string[]) {
    super(`${resource} ${object}: ${problems.join('; ')}`);
    this.resource = resource;
    this.object = object;
    this.problems = problems;
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function what(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** uids and names become KV key tokens. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

class Checker {
  readonly problems: string[] = [];

  str(o: Obj, key: string, path: string, required: boolean): string | undefined {
    const v = o[key];
    if (v === undefined || v === null || v === '') {
      if (required) this.problems.push(`${path}.${key} is missing`);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.problems.push(`${path}.${key}: expected a string, got ${what(v)}`);
      return undefined;
    }
    return v;
  }

  token(o: Obj, key: string, path: string): string | undefined {
    const v = this.str(o, key, path, true);
    if (v !== undefined && !TOKEN.test(v)) {
      this.problems.push(`${path}.${key}: ${JSON.stringify(v)} is not a valid key token ([A-Za-z0-9_-])`);
      return undefined;
    }
    return v;
  }

  strings(o: Obj, key: string, path: string): Readonly<Record<string, string>> | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      this.problems.push(`${path}.${key}: expected a map of strings, got ${what(v)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const k of Object.keys(v).sort()) {
      const s = v[k];
      if (typeof s !== 'string') {
        this.problems.push(`${path}.${key}[${JSON.stringify(k)}]: expected a string, got ${what(s)}`);
        return undefined;
      }
      out[k] = s;
    }
    return out;
  }

  /** The controller among ownerReferences (controller: true), if any. */
  owner(meta: Obj): OwnerRef | undefined {
    const refs = meta.ownerReferences;
    if (refs === undefined || refs === null) return undefined;
    if (!Array.isArray(refs)) {
      this.problems.push(`metadata.ownerReferences: expected an array, got ${what(refs)}`);
      return undefined;
    }
    for (const [i, ref] of refs.entries()) {
      const path = `metadata.ownerReferences[${i}]`;
      if (!isObj(ref)) {
        this.problems.push(`${path}: expected an object, got ${what(ref)}`);
        continue;
      }
      if (ref.controller !== true) continue;
      const kind = this.str(ref, 'kind', path, true);
      const name = this.str(ref, 'name', path, true);
      const uid = this.str(ref, 'uid', path, true);
      if (kind !== undefined && name !== undefined && uid !== undefined) return { kind, name, uid };
    }
    return undefined;
  }
}

function describeObject(o: unknown): string {
  if (!isObj(o) || !isObj(o.metadata)) return '(no metadata)';
  const name = typeof o.metadata.name === 'string' ? o.metadata.name : '(no name)';
  const ns = o.metadata.namespace;
  return typeof ns === 'string' && ns !== '' ? `${ns}/${name}` : name;
}

/**
 * The key and record body of an API object. Throws BadObjectError naming
 * every problem; never anything else.
 */
export function deriveRecord(resource: ClusterResource, object: unknown): Derived {
  const c = new Checker();
  const label = describeObject(object);
  if (!isObj(object)) throw new BadObjectError(resource, label, [`expected an object, got ${what(object)}`]);
  const meta = object.metadata;
  if (!isObj(meta))
    throw new BadObjectError(resource, label, [`metadata: expected an object, got ${what(meta)}`]);
  const uid = c.token(meta, 'uid', 'metadata');
  const labels = c.strings(meta, 'labels', 'metadata');
  const owner = c.owner(meta);

  if (resource === 'namespaces') {
    const name = c.token(meta, 'name', 'metadata');
    if (c.problems.length > 0 || uid === undefined || name === undefined) {
      throw new BadObjectError(resource, label, c.problems);
    }
    const body: Omit<NamespaceRecord, 'updated_ts' | 'deleted_ts'> = {
      v: 1,
      kind: 'namespace',
      name,
      uid,
      ...(labels === undefined ? {} : { labels }),
    };
    return { key: META_KEYS.namespace(name), body };
  }

  const name = c.str(meta, 'name', 'metadata', true);
  const namespace = c.str(meta, 'namespace', 'metadata', true);

  if (resource === 'pods') {
    const spec = object.spec;
    const status = object.status;
    let node: string | undefined;
    let ip: string | undefined;
    if (spec !== undefined && spec !== null) {
      if (isObj(spec)) node = c.str(spec, 'nodeName', 'spec', false);
      else c.problems.push(`spec: expected an object, got ${what(spec)}`);
    }
    if (status !== undefined && status !== null) {
      if (isObj(status)) ip = c.str(status, 'podIP', 'status', false);
      else c.problems.push(`status: expected an object, got ${what(status)}`);
    }
    if (c.problems.length > 0 || uid === undefined || name === undefined || namespace === undefined) {
      throw new BadObjectError(resource, label, c.problems);
    }
    const body: Omit<PodRecord, 'updated_ts' | 'deleted_ts'> = {
      v: 1,
      kind: 'pod',
      ...(node === undefined ? {} : { node }),
      k8s: {
        pod_name: name,
        pod_uid: uid,
        ns_name: namespace,
        pod_labels: labels ?? {},
        ...(ip === undefined ? {} : { pod_ip: ip }),
      },
      ...(owner === undefined ? {} : { owner }),
    };
    return { key: META_KEYS.pod(uid), body };
  }

  const workload = WORKLOAD_OF[resource];
  let selector: Readonly<Record<string, string>> | undefined;
  if (resource === 'services') {
    const spec = object.spec;
    if (isObj(spec)) selector = c.strings(spec, 'selector', 'spec');
    else if (spec !== undefined && spec !== null)
      c.problems.push(`spec: expected an object, got ${what(spec)}`);
  }
  if (c.problems.length > 0 || uid === undefined || name === undefined || namespace === undefined) {
    throw new BadObjectError(resource, label, c.problems);
  }
  const body: Omit<WorkloadRecord, 'updated_ts' | 'deleted_ts'> = {
    v: 1,
    kind: 'workload',
    workload,
    namespace,
    name,
    uid,
    ...(labels === undefined ? {} : { labels }),
    ...(selector === undefined ? {} : { selector }),
    ...(owner === undefined ? {} : { owner }),
  };
  return { key: META_KEYS.workload(workload, uid), body };
}
