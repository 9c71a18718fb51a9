import type { AuditExtractor, AuditFieldDef } from './define.js';
import { indexed, keyed, plain } from './define.js';
import { child, collect, getPath, jsonText, textsSkipMissing, textsStrict } from './json.js';
import { listAt, textAt } from './ka-request.js';

/**
 * The fields that read a pod from the request object (`requestObject.spec`).
 * They see a pod only when the request body is one: a pod create or update,
 * not a deployment (whose pod is under spec.template).
 *
 * Per-container lists follow the plugin: a container that lacks the member is
 * skipped (so `privileged` lists only the containers that set the flag, and a
 * pod where none does has no value at all), except for name and image, where
 * one missing member voids the whole list.
 */

type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

function containerKeys(list: ContainerList, ...keys: string[]): string[] {
  return ['requestObject', 'spec', list, ...keys];
}

/** One member of each container, skipping containers that do not set it. */
function eachContainer(
  list: ContainerList,
  ...member: string[]
): (index: number | undefined) => AuditExtractor {
  const keys = containerKeys(list, ...member);
  return (index) => (ev) => textsSkipMissing(collect(ev.event, index, keys));
}

function securityContextMember(
  list: ContainerList,
  member: string,
): (index: number | undefined) => AuditExtractor {
  return eachContainer(list, 'securityContext', member);
}

/** One member of every container; a container without it voids the list. */
function everyContainer(
  list: ContainerList,
  member: string,
  map?: (value: string) => string,
): (index: number | undefined) => AuditExtractor {
  const keys = containerKeys(list, member);
  return (index) => (ev) => {
    const texts = textsStrict(collect(ev.event, index, keys));
    return map === undefined || texts === undefined ? texts : texts.map(map);
  };
}

/**
 * The repository part of an image reference: everything before the first `:`,
 * then before the first `@`. This is the plugin's rule, and like it, it cuts a
 * registry port (`registry:5000/app` gives `registry`).
 */
function imageRepository(image: string): string {
  const colon = image.indexOf(':');
  const noTag = colon < 0 ? image : image.slice(0, colon);
  const at = noTag.indexOf('@');
  return at < 0 ? noTag : noTag.slice(0, at);
}

/** Each container's command (or args) joined with spaces; containers without one are skipped. */
function joinedWords(
  list: ContainerList,
  member: 'command' | 'args',
): (index: number | undefined) => AuditExtractor {
  const keys = containerKeys(list, member);
  return (index) => (ev) => {
    const slots = collect(ev.event, index, keys);
    if (slots === undefined) return undefined;
    const out: string[] = [];
    for (const s of slots) {
      if (s === undefined) continue;
      if (!Array.isArray(s)) return undefined;
      const words: string[] = [];
      for (const w of s) {
        if (typeof w !== 'string') return undefined;
        words.push(w);
      }
      out.push(words.join(' '));
    }
    return out.length > 0 ? out : undefined;
  };
}

/** Every port's hostPort, or its containerPort when no hostPort is set (the same port under hostNetwork). */
function hostPorts(list: ContainerList): (index: number | undefined) => AuditExtractor {
  const keys = containerKeys(list, 'ports');
  return (index) => (ev) => {
    const slots = collect(ev.event, index, keys);
    if (slots === undefined) return undefined;
    const out: string[] = [];
    for (const ports of slots) {
      if (ports === undefined) continue;
      if (!Array.isArray(ports)) return undefined;
      for (const port of ports) {
        const p = child(port, 'hostPort') ?? child(port, 'containerPort');
        if (p !== undefined) out.push(jsonText(p));
      }
    }
    return out.length > 0 ? out : undefined;
  };
}

/**
 * The id a container starts with: its own securityContext value, else the
 * pod's, else 0. (The upstream plugin reads both from the wrong place and so
 * always answers 0; Saker follows the documented meaning.)
 */
function effectiveId(
  list: ContainerList,
  member: 'runAsUser' | 'runAsGroup',
): (index: number | undefined) => AuditExtractor {
  const listKeys = ['requestObject', 'spec', list];
  const podKeys = ['requestObject', 'spec', 'securityContext', member];
  const ownKeys = ['securityContext', member];
  return (index) => (ev) => {
    const all = getPath(ev.event, listKeys);
    if (!Array.isArray(all)) return undefined;
    const picked = index === undefined ? all : all.slice(index, index + 1);
    if (picked.length === 0) return undefined;
    const pod = getPath(ev.event, podKeys);
    const fallback = pod === undefined ? '0' : jsonText(pod);
    return picked.map((c) => {
      const own = getPath(c, ownKeys);
      return own === undefined ? fallback : jsonText(own);
    });
  };
}

function containerListFields(list: ContainerList, label: string, withHostPort: boolean): AuditFieldDef[] {
  const p = `ka.req.pod.${list}`;
  const defs: AuditFieldDef[] = [
    indexed(`${p}.name`, `The names of the pod's ${label}.`, everyContainer(list, 'name')),
    indexed(
      `${p}.image`,
      `The images of the pod's ${label}, as written in the spec.`,
      everyContainer(list, 'image'),
    ),
    indexed(
      `${p}.image.repository`,
      `The images of the pod's ${label} without tag or digest (e.g. falcosecurity/falco).`,
      everyContainer(list, 'image', imageRepository),
    ),
    indexed(
      `${p}.command`,
      `The command of each of the pod's ${label}, words joined by spaces.`,
      joinedWords(list, 'command'),
    ),
    indexed(
      `${p}.args`,
      `The args of each of the pod's ${label}, words joined by spaces.`,
      joinedWords(list, 'args'),
    ),
    indexed(
      `${p}.privileged`,
      `The securityContext.privileged flag (\`true\`/\`false\`) of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'privileged'),
    ),
    indexed(
      `${p}.allow_privilege_escalation`,
      `The securityContext.allowPrivilegeEscalation flag of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'allowPrivilegeEscalation'),
    ),
    indexed(
      `${p}.read_only_fs`,
      `The securityContext.readOnlyRootFilesystem flag of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'readOnlyRootFilesystem'),
    ),
    indexed(
      `${p}.run_as_user`,
      `The securityContext.runAsUser uid of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'runAsUser'),
    ),
    indexed(
      `${p}.eff_run_as_user`,
      `The uid each of the pod's ${label} starts with: its own runAsUser, else the pod's, else 0.`,
      effectiveId(list, 'runAsUser'),
    ),
    indexed(
      `${p}.run_as_group`,
      `The securityContext.runAsGroup gid of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'runAsGroup'),
    ),
    indexed(
      `${p}.eff_run_as_group`,
      `The gid each of the pod's ${label} starts with: its own runAsGroup, else the pod's, else 0.`,
      effectiveId(list, 'runAsGroup'),
    ),
    indexed(
      `${p}.proc_mount`,
      `The securityContext.procMount type of each of the pod's ${label} that sets it.`,
      securityContextMember(list, 'procMount'),
    ),
    indexed(
      `${p}.add_capabilities`,
      `The capabilities each of the pod's ${label} adds, one JSON array per container (e.g. ["NET_ADMIN"]).`,
      eachContainer(list, 'securityContext', 'capabilities', 'add'),
    ),
  ];
  if (withHostPort) {
    defs.push(
      indexed(
        `${p}.host_port`,
        `The host ports of the pod's ${label}: each port's hostPort, or its containerPort when none is set.`,
        hostPorts(list),
      ),
    );
  }
  return defs;
}

/** The first container's image, or its repository. */
function firstImage(repository: boolean): AuditExtractor {
  const keys = containerKeys('containers', 'image');
  return (ev) => {
    const first = textsStrict(collect(ev.event, 0, keys))?.[0];
    if (first === undefined) return undefined;
    return repository ? imageRepository(first) : first;
  };
}

const PRIVILEGED_KEYS = containerKeys('containers', 'securityContext', 'privileged');

/** `true` if any container sets privileged: true, else `false`; missing without containers. */
const anyPrivileged: AuditExtractor = (ev) => {
  const slots = collect(ev.event, undefined, PRIVILEGED_KEYS);
  if (slots === undefined) return undefined;
  return slots.some((s) => s === true) ? 'true' : 'false';
};

function volumeMember(...keys: string[]): (index: number | undefined) => AuditExtractor {
  const path = ['requestObject', 'spec', 'volumes', ...keys];
  return (index) => (ev) => textsSkipMissing(collect(ev.event, index, path));
}

/** The source kind of each volume: every member of the volume other than its name (hostPath, configMap, ...). */
function volumeTypes(index: number | undefined): AuditExtractor {
  const path = ['requestObject', 'spec', 'volumes', ''];
  return (ev) => {
    const slots = collect(ev.event, index, path);
    if (slots === undefined) return undefined;
    const out: string[] = [];
    for (const v of slots) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
      for (const k of Object.keys(v)) if (k !== 'name') out.push(k);
    }
    return out.length > 0 ? out : undefined;
  };
}

/**
 * `true` when a hostPath volume uses exactly this path, or, when the argument
 * ends in `*`, a path that starts with what precedes it; `false` otherwise.
 * (The upstream plugin only ever looks at the first volume; Saker checks them
 * all, as documented.)
 */
function hostPathUsed(arg: string): AuditExtractor {
  const prefix = arg.endsWith('*') ? arg.slice(0, -1) : undefined;
  const path = ['requestObject', 'spec', 'volumes', 'hostPath', 'path'];
  return (ev) => {
    const slots = collect(ev.event, undefined, path);
    if (slots === undefined) return undefined;
    for (const s of slots) {
      if (s === undefined) continue;
      const v = jsonText(s);
      if (v === arg || (prefix !== undefined && v.startsWith(prefix))) return 'true';
    }
    return 'false';
  };
}

function specFlag(key: string): AuditExtractor {
  return textAt('requestObject', 'spec', key);
}

function podSecurityContext(key: string): AuditExtractor {
  return textAt('requestObject', 'spec', 'securityContext', key);
}

const emptyKeyProblem = (key: string): string | undefined =>
  key.length === 0 ? 'the argument must be a path, or a path prefix ending in *' : undefined;

export const podFields: readonly AuditFieldDef[] = [
  ...containerListFields('containers', 'containers', true),
  ...containerListFields('initContainers', 'init containers', true),
  ...containerListFields('ephemeralContainers', 'ephemeral containers', false),
  plain(
    'ka.req.container.image',
    'The image of the first container. Deprecated: use ka.req.pod.containers.image.',
    false,
    firstImage(false),
  ),
  plain(
    'ka.req.container.image.repository',
    'The image repository of the first container. Deprecated: use ka.req.pod.containers.image.repository.',
    false,
    firstImage(true),
  ),
  plain(
    'ka.req.container.privileged',
    '`true` when any container is privileged, else `false`. Deprecated: use ka.req.pod.containers.privileged.',
    false,
    anyPrivileged,
  ),
  plain(
    'ka.req.pod.host_ipc',
    "The pod's hostIPC flag (`true`/`false`) when the spec sets it.",
    false,
    specFlag('hostIPC'),
  ),
  plain(
    'ka.req.pod.host_network',
    "The pod's hostNetwork flag (`true`/`false`) when the spec sets it.",
    false,
    specFlag('hostNetwork'),
  ),
  plain(
    'ka.req.container.host_network',
    "The pod's hostNetwork flag. Deprecated alias of ka.req.pod.host_network.",
    false,
    specFlag('hostNetwork'),
  ),
  plain(
    'ka.req.pod.host_pid',
    "The pod's hostPID flag (`true`/`false`) when the spec sets it.",
    false,
    specFlag('hostPID'),
  ),
  plain(
    'ka.req.pod.run_as_user',
    "The runAsUser uid of the pod-level securityContext (see ka.req.pod.containers.run_as_user for each container's).",
    false,
    podSecurityContext('runAsUser'),
  ),
  plain(
    'ka.req.pod.run_as_group',
    "The runAsGroup gid of the pod-level securityContext (see ka.req.pod.containers.run_as_group for each container's).",
    false,
    podSecurityContext('runAsGroup'),
  ),
  plain(
    'ka.req.pod.fs_group',
    'The fsGroup gid of the pod-level securityContext.',
    false,
    podSecurityContext('fsGroup'),
  ),
  plain(
    'ka.req.pod.supplemental_groups',
    'The supplementalGroups gids of the pod-level securityContext.',
    true,
    listAt('requestObject', 'spec', 'securityContext', 'supplementalGroups'),
  ),
  indexed(
    'ka.req.pod.volumes.hostpath',
    "The host paths of the pod's hostPath volumes.",
    volumeMember('hostPath', 'path'),
  ),
  keyed(
    'ka.req.volume.hostpath',
    '`true` when a hostPath volume mounts this path (or, with a trailing *, a path under this prefix), else `false`. Deprecated: use ka.req.pod.volumes.hostpath.',
    hostPathUsed,
    emptyKeyProblem,
  ),
  indexed(
    'ka.req.pod.volumes.flexvolume_driver',
    "The drivers of the pod's flexVolume volumes.",
    volumeMember('flexVolume', 'driver'),
  ),
  indexed(
    'ka.req.pod.volumes.volume_type',
    "The source type of each of the pod's volumes (hostPath, configMap, emptyDir, ...).",
    volumeTypes,
  ),
];
