import type { ContainerMount } from '@saker/events';
import { globMatcher } from '../../compile/glob.js';
import type { Extractor } from '../types.js';
import {
  type Def,
  type Ev,
  field,
  fieldWithArg,
  isIndex,
  keyOf,
  nonZeroTs,
  nsDiff,
  renderLabels,
  unavailable,
} from './helpers.js';

const isHost = (e: Ev): boolean => e.container.id === 'host';

/** One mount as Falco prints it: `source:dest:mode:rdwr:propagation`. */
function renderMount(m: ContainerMount): string {
  return `${m.source}:${m.dest}:${m.mode ?? ''}:${m.rdwr ? 'true' : 'false'}:${m.propagation ?? ''}`;
}

/**
 * Binds a mount selector: a number picks the mount by position; anything else
 * is a glob (`*` crosses `/`) matched against the mount source, or against the
 * destination for container.mount.source, and the first match wins.
 */
function mountSelector(arg: string, matchDest: boolean): (e: Ev) => ContainerMount | undefined {
  if (isIndex(arg)) {
    const i = Number(arg);
    return (e) => e.container.mounts?.[i];
  }
  const match = globMatcher(arg, false);
  return (e) => {
    const ms = e.container.mounts;
    if (ms === undefined) return undefined;
    for (const m of ms) if (match(matchDest ? m.dest : m.source)) return m;
    return undefined;
  };
}

function mountField(
  name: string,
  matchDest: boolean,
  pick: (m: ContainerMount) => string,
  description: string,
): Def {
  return fieldWithArg({
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: true, kind: 'index-or-key' },
    description,
    bind: (arg) => {
      const select = mountSelector(arg as string, matchDest);
      return (e) => {
        const m = select(e);
        return m === undefined ? undefined : pick(m);
      };
    },
  });
}

function containerStart(e: Ev): string | undefined {
  // The container starts when its pid namespace does; either the enricher or the sensor may know it.
  return nonZeroTs(e.container.start_ts) ?? (isHost(e) ? undefined : nonZeroTs(e.proc.pidns_init_start_ts));
}

const LOOKUP_NOTE = 'Missing until enrichment has joined the container metadata.';

function meta(
  name: string,
  description: string,
  extract: Extractor<Ev>,
  kind: 'string' | 'bool' = 'string',
): Def {
  return field({
    name,
    kind,
    falcoType: kind === 'bool' ? 'BOOL' : 'CHARBUF',
    description: `${description} ${LOOKUP_NOTE}`,
    extract,
  });
}

const DEPRECATED_PROBE = 'Falco deprecated it and no longer fills it either.';

export const containerFields: readonly Def[] = [
  field({
    name: 'container.id',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The short (12-character) container id, taken from the cgroup of the process, or `host` for a process outside containers. Always present.',
    extract: (e) => e.container.id,
  }),
  meta(
    'container.full_id',
    'The full 64-character container id (`host` outside containers).',
    (e) => e.container.full_id ?? (isHost(e) ? 'host' : undefined),
  ),
  meta(
    'container.name',
    'The container name (`host` outside containers).',
    (e) => e.container.name ?? (isHost(e) ? 'host' : undefined),
  ),
  meta('container.image', 'The image reference: `falcosecurity/falco:latest`.', (e) => e.container.image),
  meta('container.image.id', 'The image id: `6f7e2741b66b`.', (e) => e.container.image_id),
  meta(
    'container.type',
    'The container runtime: docker, containerd, cri-o, podman, ...',
    (e) => e.container.type,
  ),
  meta(
    'container.privileged',
    'Whether the container runs privileged.',
    (e) => e.container.privileged,
    'bool',
  ),
  meta(
    'container.mounts',
    'All mounts, comma-separated, each as `source:dest:mode:rdwr:propagation`.',
    (e) => {
      const ms = e.container.mounts;
      if (ms === undefined) return undefined;
      let out = '';
      for (const m of ms) out += (out.length > 0 ? ',' : '') + renderMount(m);
      return out;
    },
  ),
  mountField(
    'container.mount',
    false,
    renderMount,
    'One mount as `source:dest:mode:rdwr:propagation`, chosen by position (`container.mount[0]`) or by a glob on its source (`container.mount[/usr/local/*]`); missing when none matches.',
  ),
  mountField(
    'container.mount.source',
    true,
    (m) => m.source,
    'The host source of a mount, chosen by position or by a glob on its destination (`container.mount.source[/host/lib/modules]`).',
  ),
  mountField(
    'container.mount.dest',
    false,
    (m) => m.dest,
    'The in-container destination of a mount, chosen by position or by a glob on its host source: `container.mount.dest[/var/run/docker.sock]` is present when the docker socket is mounted in.',
  ),
  mountField(
    'container.mount.mode',
    false,
    (m) => m.mode ?? '',
    'The mode of a mount, chosen by position or by a glob on its source.',
  ),
  mountField(
    'container.mount.rdwr',
    false,
    (m) => (m.rdwr ? 'true' : 'false'),
    'Whether a mount is writable (`true`/`false`), chosen by position or by a glob on its source.',
  ),
  mountField(
    'container.mount.propagation',
    false,
    (m) => m.propagation ?? '',
    'The propagation of a mount, chosen by position or by a glob on its source.',
  ),
  meta(
    'container.image.repository',
    'The image repository: `falcosecurity/falco`.',
    (e) => e.container.image_repository,
  ),
  meta('container.image.tag', 'The image tag: `latest`.', (e) => e.container.image_tag),
  meta('container.image.digest', 'The image digest: `sha256:...`.', (e) => e.container.image_digest),
  meta(
    'container.healthcheck',
    'The health check command of the container (deprecated in Falco).',
    (e) => e.container.healthcheck,
  ),
  meta(
    'container.liveness_probe',
    'The Kubernetes liveness probe command of the container (deprecated in Falco).',
    (e) => e.container.liveness_probe,
  ),
  meta(
    'container.readiness_probe',
    'The Kubernetes readiness probe command of the container (deprecated in Falco).',
    (e) => e.container.readiness_probe,
  ),
  field({
    name: 'container.start_ts',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      'When the container started (its pid namespace began), nanoseconds since the epoch, as an exact decimal string.',
    extract: containerStart,
  }),
  field({
    name: 'container.duration',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Nanoseconds from container.start_ts to this event.',
    extract: (e) => {
      const start = containerStart(e);
      return start === undefined ? undefined : nsDiff(e.ts, start);
    },
  }),
  meta('container.ip', "The container's (pod's) primary IPv4 address.", (e) => e.container.ip),
  meta(
    'container.cni.json',
    "The pod's CNI result as JSON text, with the addresses of every interface.",
    (e) => e.container.cni_json,
  ),
  meta(
    'container.host_pid',
    'Whether the container shares the host pid namespace.',
    (e) => e.container.host_pid,
    'bool',
  ),
  meta(
    'container.host_network',
    'Whether the container shares the host network namespace.',
    (e) => e.container.host_network,
    'bool',
  ),
  meta(
    'container.host_ipc',
    'Whether the container shares the host IPC namespace.',
    (e) => e.container.host_ipc,
    'bool',
  ),
  fieldWithArg({
    name: 'container.label',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: true, kind: 'key', dotted: true },
    description: `One container label: \`container.label.foo\` or \`container.label[app.kubernetes.io/name]\`. ${LOOKUP_NOTE}`,
    bind: (arg) => keyOf((e) => e.container.labels, arg as string),
  }),
  meta(
    'container.labels',
    'The container labels as `k1:v1, k2:v2`, sorted by key, without annotations and io.kubernetes.* labels.',
    (e) => renderLabels(e.container.labels),
  ),
  ...(['healthcheck', 'liveness_probe', 'readiness_probe'] as const).map((probe) =>
    unavailable({
      name: `proc.is_container_${probe}`,
      kind: 'bool',
      falcoType: 'BOOL',
      description: `Whether the process is the container's ${probe.replace('_', ' ')}.`,
      why: DEPRECATED_PROBE,
    }),
  ),
];
