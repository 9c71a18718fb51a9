/**
 * Builds the saker_meta ContainerRecord of one container from what the CRI
 * says: ContainerStatus (verbose) and its PodSandboxStatus (verbose). The
 * rules follow Falco's container engine for CRI: the image from the status
 * (or, when that is an id, from the runtime's image-name annotation), the
 * digest from image_ref, privileged from the verbose info (containerd's
 * container config, CRI-O's `privileged`), mounts' propagation rendered
 * private/rslave/rshared, host namespaces from the sandbox's namespace modes.
 */
import type { ContainerRecord, PodInfo } from '@saker/events';
import type { ContainerInfo, ContainerMount } from '@saker/events';
import type { ContainerStatusResponse, Mount, PodSandboxStatusResponse } from '../cri/types.js';
import { parseImageRef, stripAlgorithm } from './image.js';

/** `container.type` by the CRI runtime name (VersionResponse.runtimeName). */
export function containerType(runtimeName: string): string {
  const n = runtimeName.toLowerCase();
  if (n === 'containerd') return 'containerd';
  if (n === 'cri-o' || n === 'crio') return 'cri-o';
  return 'cri';
}

/** The cni_json Falco keeps: at most this many characters. */
const MAX_CNI_JSON = 4096;

const K8S_LABEL_PREFIX = 'io.kubernetes.';

type Json = Readonly<Record<string, unknown>>;

function at(value: unknown, ...keys: string[]): unknown {
  let v = value;
  for (const k of keys) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Json)[k];
  }
  return v;
}

/** Privileged, from the verbose info: containerd's config, the runtime spec, or CRI-O's top-level flag. */
export function privilegedFromInfo(info: unknown): boolean {
  for (const path of [
    ['runtimeSpec', 'linux', 'security_context', 'privileged'],
    ['config', 'linux', 'security_context', 'privileged'],
    ['privileged'],
  ]) {
    const v = at(info, ...path);
    if (typeof v === 'boolean') return v;
  }
  return false;
}

function propagation(p: Mount['propagation']): string {
  switch (p) {
    case 'PROPAGATION_PRIVATE':
      return 'private';
    case 'PROPAGATION_HOST_TO_CONTAINER':
      return 'rslave';
    case 'PROPAGATION_BIDIRECTIONAL':
      return 'rshared';
  }
}

function mounts(ms: readonly Mount[]): ContainerMount[] {
  return ms.map((m) => ({
    source: m.hostPath,
    dest: m.containerPath,
    mode: '',
    rdwr: !m.readonly,
    propagation: propagation(m.propagation),
  }));
}

/** The sandbox's CNI result as Falco keeps it: interfaces other than lo and veth, as JSON. */
function cniJson(sandboxInfo: unknown): string | undefined {
  const interfaces = at(sandboxInfo, 'cniResult', 'interfaces');
  let text: string | undefined;
  if (Array.isArray(interfaces)) {
    const kept = interfaces.filter((i) => {
      const name = at(i, 'name');
      return name !== 'lo' && name !== 'veth';
    });
    text = JSON.stringify(kept);
  } else {
    const crio = at(sandboxInfo, 'runtimeSpec', 'annotations', 'io.kubernetes.cri-o.CNIResult');
    if (typeof crio === 'string' && crio !== '') text = crio;
  }
  return text === undefined ? undefined : text.slice(0, MAX_CNI_JSON);
}

function imageName(c: ContainerStatusResponse): string {
  const spec = c.status.image.image;
  if (spec !== '' && !spec.startsWith('sha256:')) return spec;
  // The status names the image by id: the runtimes keep the name in an annotation of the spec.
  for (const key of [
    'io.kubernetes.cri.image-name',
    'io.kubernetes.cri-o.Image',
    'io.kubernetes.cri-o.ImageName',
  ]) {
    const v = at(c.info.info, 'runtimeSpec', 'annotations', key);
    if (typeof v === 'string' && v !== '') return v;
  }
  return spec;
}

export interface RecordInput {
  readonly node: string;
  /** VersionResponse.runtimeName of the socket. */
  readonly runtimeName: string;
  readonly container: ContainerStatusResponse;
  /** Null when the sandbox could not be read (it was removed meanwhile). */
  readonly sandbox: PodSandboxStatusResponse | null;
  /** The sandbox id from ListContainers, used when the sandbox status is missing. */
  readonly podSandboxId: string;
  /** The image as ImageStatus describes it: its id and repo digests. */
  readonly image?: { readonly id: string; readonly repoDigests: readonly string[] };
  /** Now, nanoseconds since the epoch. */
  readonly nowNs: string;
}

export function buildContainerRecord(input: RecordInput): ContainerRecord {
  const c = input.container;
  const s = c.status;
  const name = imageName(c);
  const parts = parseImageRef(name);
  let digest = parts.digest;
  let image = name;
  const ref = s.imageRef;
  const refAt = ref.indexOf('@');
  if (refAt > 0 && ref.slice(refAt + 1).startsWith('sha256:')) {
    // repo@sha256:… names the image by its repo digest.
    digest = ref.slice(refAt + 1);
  } else if (digest === '') {
    const repoDigest = input.image?.repoDigests.find((d) => d.includes('@sha256:'));
    if (repoDigest !== undefined) digest = repoDigest.slice(repoDigest.indexOf('@') + 1);
    else if (ref.startsWith('sha256:')) digest = ref;
  }
  if (image === '' && ref !== '') image = ref;
  // The image id: the status's (CRI >= 1.31), else the id containerd keeps in its container config, else the ref.
  const configImage = at(c.info.info, 'config', 'image', 'image');
  const imageIdSource =
    s.imageId !== ''
      ? s.imageId
      : typeof configImage === 'string' && configImage.startsWith('sha256:')
        ? configImage
        : input.image !== undefined && input.image.id !== ''
          ? input.image.id
          : ref.startsWith('sha256:')
            ? ref
            : '';

  const sandbox = input.sandbox?.status;
  const info: { -readonly [K in keyof ContainerInfo]: ContainerInfo[K] } = {
    id: s.id.slice(0, 12),
    full_id: s.id,
    name: s.metadata.name,
    type: containerType(input.runtimeName),
    image,
    image_repository: parts.repository,
    image_tag: parts.tag,
    image_digest: digest,
    image_id: stripAlgorithm(imageIdSource),
    privileged: privilegedFromInfo(c.info.info),
    mounts: mounts(s.mounts),
    labels: s.labels,
    start_ts: s.createdAt,
  };
  if (sandbox !== undefined) {
    if (sandbox.ip !== '') info.ip = sandbox.ip;
    const cni = cniJson(input.sandbox?.info.info);
    if (cni !== undefined) info.cni_json = cni;
    if (sandbox.namespaces !== null) {
      info.host_pid = sandbox.namespaces.pid === 'NODE';
      info.host_network = sandbox.namespaces.network === 'NODE';
      info.host_ipc = sandbox.namespaces.ipc === 'NODE';
    }
  }

  const labels = s.labels;
  const podLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(sandbox?.labels ?? {})) {
    if (!k.startsWith(K8S_LABEL_PREFIX)) podLabels[k] = v;
  }
  const podName = labels['io.kubernetes.pod.name'] ?? sandbox?.metadata.name ?? '';
  const sandboxId = sandbox?.id ?? input.podSandboxId;
  let k8s: PodInfo | undefined;
  if (podName !== '') {
    const pod: { -readonly [K in keyof PodInfo]: PodInfo[K] } = {
      pod_name: podName,
      pod_uid: labels['io.kubernetes.pod.uid'] ?? sandbox?.metadata.uid ?? '',
      ns_name: labels['io.kubernetes.pod.namespace'] ?? sandbox?.metadata.namespace ?? '',
      pod_labels: podLabels,
    };
    if (sandbox !== undefined && sandbox.ip !== '') pod.pod_ip = sandbox.ip;
    if (sandboxId !== '') {
      pod.pod_sandbox_id = sandboxId.slice(0, 12);
      pod.pod_full_sandbox_id = sandboxId;
    }
    k8s = pod;
  }
  return {
    v: 1,
    kind: 'container',
    node: input.node,
    updated_ts: input.nowNs,
    container: info,
    ...(k8s === undefined ? {} : { k8s }),
  };
}

export interface SandboxRecordInput {
  readonly node: string;
  readonly runtimeName: string;
  readonly sandbox: PodSandboxStatusResponse;
  readonly nowNs: string;
}

/**
 * The record of a pod sandbox's own (pause) container: processes in it carry
 * the sandbox id as their container id. Named after the pod, with the pause
 * image the runtime reports (containerd's verbose `image`, CRI-O's
 * annotation), privileged when the sandbox was made for privileged containers.
 */
export function buildSandboxRecord(input: SandboxRecordInput): ContainerRecord {
  const sb = input.sandbox.status;
  const info = input.sandbox.info.info;
  let image = '';
  for (const v of [at(info, 'image'), at(info, 'runtimeSpec', 'annotations', 'io.kubernetes.cri-o.Image')]) {
    if (typeof v === 'string' && v !== '') {
      image = v;
      break;
    }
  }
  const parts = parseImageRef(image);
  const c: { -readonly [K in keyof ContainerInfo]: ContainerInfo[K] } = {
    id: sb.id.slice(0, 12),
    full_id: sb.id,
    name: sb.metadata.name,
    type: containerType(input.runtimeName),
    image,
    image_repository: parts.repository,
    image_tag: parts.tag,
    image_digest: parts.digest,
    privileged: privilegedFromInfo(info),
    mounts: [],
    labels: sb.labels,
    start_ts: sb.createdAt,
  };
  if (sb.ip !== '') c.ip = sb.ip;
  const cni = cniJson(info);
  if (cni !== undefined) c.cni_json = cni;
  if (sb.namespaces !== null) {
    c.host_pid = sb.namespaces.pid === 'NODE';
    c.host_network = sb.namespaces.network === 'NODE';
    c.host_ipc = sb.namespaces.ipc === 'NODE';
  }
  const podLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(sb.labels)) if (!k.startsWith(K8S_LABEL_PREFIX)) podLabels[k] = v;
  const pod: { -readonly [K in keyof PodInfo]: PodInfo[K] } = {
    pod_name: sb.labels['io.kubernetes.pod.name'] ?? sb.metadata.name,
    pod_uid: sb.labels['io.kubernetes.pod.uid'] ?? sb.metadata.uid,
    ns_name: sb.labels['io.kubernetes.pod.namespace'] ?? sb.metadata.namespace,
    pod_labels: podLabels,
    pod_sandbox_id: sb.id.slice(0, 12),
    pod_full_sandbox_id: sb.id,
  };
  if (sb.ip !== '') pod.pod_ip = sb.ip;
  return { v: 1, kind: 'container', node: input.node, updated_ts: input.nowNs, container: c, k8s: pod };
}

/** The same record apart from when it was written: whether a write would change anything. */
export function sameRecord(a: ContainerRecord, b: ContainerRecord): boolean {
  return stableJson({ ...a, updated_ts: '' }) === stableJson({ ...b, updated_ts: '' });
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v).sort();
    return `{${keys
      .filter((k) => (v as Json)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
