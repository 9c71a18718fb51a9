/**
 * Container id from a cgroup path, for the runtimes and cgroup drivers seen in
 * practice. Returns the 12-character short id Falco uses, or `host`.
 *
 * Layouts recognised (cgroupfs and systemd drivers, v1 and v2):
 *   /docker/<64hex>                                   docker, cgroupfs
 *   /system.slice/docker-<64hex>.scope                docker, systemd
 *   /kubepods/besteffort/pod<uid>/<64hex>             kubelet cgroupfs (any runtime)
 *   /kubepods.slice/.../cri-containerd-<64hex>.scope  containerd, systemd
 *   /kubepods.slice/.../crio-<64hex>.scope            cri-o, systemd
 *   /kubepods.slice/.../docker-<64hex>.scope          dockershim, systemd
 *   /system.slice/containerd.service/<ns>/<64hex>     plain containerd (nerdctl, ctr), cgroupfs-ish
 *   /machine.slice/libpod-<64hex>.scope[/container]   podman, systemd
 *   /libpod_parent/libpod-<64hex>                     podman, cgroupfs
 *   /user.slice/.../libpod-<64hex>.scope              rootless podman
 *   /crio-<64hex>                                     cri-o outside kubelet
 *   /actions_job/<64hex>                              GitHub runner docker
 * A `crio-conmon-<id>.scope` is the monitor, not the container: it is the host.
 */
export const HOST_CONTAINER_ID = 'host';

const HEX64 = /^[0-9a-f]{64}$/;
const SCOPED = /^(?:docker|cri-containerd|crio|libpod|containerd)-([0-9a-f]{64})(?:\.scope)?$/;

export interface ContainerIdentity {
  /** 12-character id, or `host`. */
  readonly id: string;
  readonly fullId?: string;
  /** Runtime guessed from the layout: docker, containerd, cri-o, podman; undefined on the host. */
  readonly runtime?: string;
}

function runtimeOf(prefix: string | undefined, path: string): string {
  switch (prefix) {
    case 'docker':
      return 'docker';
    case 'cri-containerd':
    case 'containerd':
      return 'containerd';
    case 'crio':
      return 'cri-o';
    case 'libpod':
      return 'podman';
    default:
      if (path.includes('/docker/') || path.startsWith('/docker')) return 'docker';
      if (path.includes('containerd')) return 'containerd';
      if (path.includes('crio')) return 'cri-o';
      if (path.includes('libpod')) return 'podman';
      return 'cri';
  }
}

export function containerIdFromCgroup(path: string): ContainerIdentity {
  const segments = path.split('/').filter((s) => s.length > 0);
  // The innermost segment carrying an id wins: podman nests `/container` under its scope.
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i] ?? '';
    if (seg.startsWith('crio-conmon-')) return { id: HOST_CONTAINER_ID };
    const m = SCOPED.exec(seg);
    if (m?.[1]) {
      const prefix = seg.slice(0, seg.indexOf('-'));
      const full = m[1];
      return {
        id: full.slice(0, 12),
        fullId: full,
        runtime: runtimeOf(prefix === 'cri' ? 'cri-containerd' : prefix, path),
      };
    }
    if (HEX64.test(seg)) {
      return { id: seg.slice(0, 12), fullId: seg, runtime: runtimeOf(undefined, path) };
    }
  }
  return { id: HOST_CONTAINER_ID };
}

/**
 * Picks the cgroup path to use from a /proc/<pid>/cgroup text: the first one
 * that names a container, else the v2 (`0::`) path, else the first line's.
 */
export function cgroupPathFromProcFile(text: string): string {
  let v2: string | undefined;
  let first: string | undefined;
  for (const line of text.split('\n')) {
    const idx = line.indexOf(':', line.indexOf(':') + 1);
    if (idx < 0) continue;
    const p = line.slice(idx + 1);
    first ??= p;
    if (line.startsWith('0::')) v2 = p;
    if (containerIdFromCgroup(p).id !== HOST_CONTAINER_ID) return p;
  }
  return v2 ?? first ?? '/';
}
