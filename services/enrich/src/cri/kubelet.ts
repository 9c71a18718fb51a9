/**
 * Pod and container configs shaped the way kubelet sends them over CRI: the
 * `io.kubernetes.*` labels, the pod's cgroup parent under /kubepods, host
 * networking (no CNI needed). Tests and tools use these to make pods on a
 * real runtime that look like kubelet's to enrich and to the sensor.
 */
import { randomUUID } from 'node:crypto';
import type { ContainerConfig, PodSandboxConfig, StringMap } from './types.js';

export interface KubeletPodOptions {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  /** The pod's own labels (pod_labels). */
  readonly labels?: StringMap;
  /** Where the runtime writes container logs (must exist). */
  readonly logDirectory: string;
  /** Needed for any privileged container in the pod. Default false. */
  readonly privileged?: boolean;
  /** Share the node's PID namespace. Default false. */
  readonly hostPid?: boolean;
}

/** A BestEffort pod on the node's network, with kubelet's labels and cgroupfs parent. */
export function kubeletPodConfig(o: KubeletPodOptions): PodSandboxConfig {
  const uid = o.uid ?? randomUUID();
  return {
    metadata: { name: o.name, uid, namespace: o.namespace, attempt: 0 },
    logDirectory: o.logDirectory,
    labels: {
      ...o.labels,
      'io.kubernetes.pod.name': o.name,
      'io.kubernetes.pod.namespace': o.namespace,
      'io.kubernetes.pod.uid': uid,
    },
    annotations: { 'kubernetes.io/config.source': 'api' },
    linux: {
      cgroupParent: `/kubepods/besteffort/pod${uid}`,
      securityContext: {
        privileged: o.privileged ?? false,
        namespaceOptions: { network: 'NODE', pid: o.hostPid ? 'NODE' : 'CONTAINER', ipc: 'POD' },
      },
    },
  };
}

export interface KubeletContainerOptions {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly privileged?: boolean;
  readonly tty?: boolean;
  readonly stdin?: boolean;
  readonly mounts?: ContainerConfig['mounts'];
  readonly labels?: StringMap;
}

/** A container of `pod` with kubelet's labels. */
export function kubeletContainerConfig(pod: PodSandboxConfig, o: KubeletContainerOptions): ContainerConfig {
  return {
    metadata: { name: o.name, attempt: 0 },
    image: { image: o.image },
    command: o.command,
    logPath: `${o.name}/0.log`,
    labels: {
      ...o.labels,
      'io.kubernetes.container.name': o.name,
      'io.kubernetes.pod.name': pod.metadata.name,
      'io.kubernetes.pod.namespace': pod.metadata.namespace,
      'io.kubernetes.pod.uid': pod.metadata.uid,
    },
    ...(o.mounts === undefined ? {} : { mounts: o.mounts }),
    ...(o.tty === undefined ? {} : { tty: o.tty }),
    ...(o.stdin === undefined ? {} : { stdin: o.stdin }),
    linux: {
      securityContext: {
        privileged: o.privileged ?? false,
        namespaceOptions: pod.linux?.securityContext?.namespaceOptions ?? {},
      },
    },
  };
}
