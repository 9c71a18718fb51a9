/**
 * saker_meta records and bare events (as the sensor sends them: container.id
 * only) for the metadata cache tests and the enrich benchmark.
 */
import { type KvStore, META_KEYS } from '@saker/bus';
import {
  type ContainerInfo,
  type ContainerRecord,
  type PodInfo,
  type PodRecord,
  type SyscallEvent,
  encodeMetaRecord,
} from '@saker/events';

export const NODE = 'node-1.example';

export function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

export function containerRecord(
  container: ContainerInfo,
  opts: { node?: string; k8s?: PodInfo; deletedTs?: string } = {},
): ContainerRecord {
  return {
    v: 1,
    kind: 'container',
    updated_ts: nowNs(),
    ...(opts.deletedTs === undefined ? {} : { deleted_ts: opts.deletedTs }),
    node: opts.node ?? NODE,
    container,
    ...(opts.k8s === undefined ? {} : { k8s: opts.k8s }),
  };
}

export function podRecord(k8s: PodInfo, deletedTs?: string): PodRecord {
  return {
    v: 1,
    kind: 'pod',
    updated_ts: nowNs(),
    ...(deletedTs === undefined ? {} : { deleted_ts: deletedTs }),
    node: NODE,
    k8s,
  };
}

/** Writes a container record under `containers.<node>.<id>`; resolves with the revision. */
export function putContainer(kv: KvStore, record: ContainerRecord): Promise<number> {
  return kv.put(META_KEYS.container(record.node, record.container.id), encodeMetaRecord(record));
}

export function putPod(kv: KvStore, record: PodRecord): Promise<number> {
  const uid = record.k8s.pod_uid;
  if (uid === undefined) throw new Error('a pod record needs k8s.pod_uid');
  return kv.put(META_KEYS.pod(uid), encodeMetaRecord(record));
}

/** A 12-character hex container id from a number. */
export function containerId(n: number): string {
  return n.toString(16).padStart(12, '0');
}

/** An execve in container `id` with nothing else known about the container. */
export function bareEvent(
  id: string,
  opts: { hostname?: string; name?: string; ts?: string; num?: number; tty?: number } = {},
): SyscallEvent {
  const name = opts.name ?? 'bash';
  return {
    source: 'syscall',
    ts: opts.ts ?? '1715677923000000000',
    num: opts.num ?? 1,
    hostname: opts.hostname ?? NODE,
    type: 'execve',
    res: 0,
    args: {},
    proc: {
      pid: 4242,
      tid: 4242,
      ppid: 4200,
      name,
      exe: name,
      exepath: `/usr/bin/${name}`,
      args: ['-i'],
      tty: opts.tty ?? 34816,
    },
    user: { uid: 0, name: 'root', loginuid: -1 },
    group: { gid: 0, name: 'root' },
    container: { id },
  };
}

export async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
