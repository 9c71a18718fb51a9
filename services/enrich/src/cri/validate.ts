/**
 * Checks of CRI replies. proto-loader guarantees the wire types; these check
 * what the protocol leaves to the runtime: required messages present, ids
 * that can key a record, timestamps that are non-negative integers, verbose
 * `info` documents that are JSON. A reply that fails throws CriReplyError
 * naming the call and the field (`ContainerStatus: status.id: …`).
 */
import type {
  Container,
  ContainerEvent,
  ContainerEventType,
  ContainerMetadata,
  ContainerState,
  ContainerStatus,
  ContainerStatusResponse,
  Image,
  Mount,
  MountPropagation,
  NamespaceMode,
  NamespaceOption,
  PodSandbox,
  PodSandboxMetadata,
  PodSandboxState,
  PodSandboxStatus,
  PodSandboxStatusResponse,
  StringMap,
  VersionResponse,
} from './types.js';

export class CriReplyError extends Error {
  override readonly name = 'CriReplyError';
  constructor(
    /** The CRI call whose reply was wrong. */
    readonly method: string,
    /** The field, as a path in the reply (`status.mounts[0].hostPath`). */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`CRI ${method} reply: ${path === '' ? '' : `${path}: `}${problem}`);
  }
}

type Obj = Readonly<Record<string, unknown>>;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Walks one reply, failing with its method and the path of the field. */
class Reader {
  constructor(readonly method: string) {}

  fail(path: string, problem: string): never {
    throw new CriReplyError(this.method, path, problem);
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.fail(path, `expected a message, got ${show(v)}`);
    return v as Obj;
  }

  str(o: Obj, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(join(path, key), `expected a string, got ${show(v)}`);
    return v;
  }

  bool(o: Obj, key: string, path: string): boolean {
    const v = o[key];
    if (typeof v !== 'boolean') this.fail(join(path, key), `expected a boolean, got ${show(v)}`);
    return v;
  }

  uint(o: Obj, key: string, path: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      this.fail(join(path, key), `expected an unsigned integer, got ${show(v)}`);
    return v;
  }

  /** An int64 timestamp in nanoseconds: a decimal string >= 0, normalized (no leading zeros). */
  ns(o: Obj, key: string, path: string, positive = false): string {
    const v = o[key];
    const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (typeof s !== 'string' || !/^\d{1,19}$/.test(s))
      this.fail(join(path, key), `expected nanoseconds since the epoch (an integer >= 0), got ${show(v)}`);
    const n = BigInt(s);
    if (positive && n === 0n) this.fail(join(path, key), 'must be > 0');
    return n.toString();
  }

  /** A container or sandbox id: what a KV key and the sensor's cgroup parsing can use. */
  id(o: Obj, key: string, path: string): string {
    const v = this.str(o, key, path);
    if (!/^[0-9a-f]{12,64}$/.test(v))
      this.fail(join(path, key), `expected a 12 to 64 character lowercase hex id, got ${show(v)}`);
    return v;
  }

  map(o: Obj, key: string, path: string): StringMap {
    const v = o[key];
    if (v === undefined || v === null) return {};
    const m = this.obj(v, join(path, key));
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(m)) {
      if (typeof val !== 'string')
        this.fail(`${join(path, key)}[${JSON.stringify(k)}]`, `expected a string, got ${show(val)}`);
      out[k] = val;
    }
    return out;
  }

  list(o: Obj, key: string, path: string): readonly unknown[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(join(path, key), `expected a list, got ${show(v)}`);
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      this.fail(join(path, key), `expected one of ${values.join(', ')}, got ${show(v)}`);
    return v as T;
  }

  /** Verbose `info`: each value must be a JSON document. */
  info(o: Obj, path: string): Readonly<Record<string, unknown>> {
    const m = this.map(o, 'info', path);
    const out: Record<string, unknown> = {};
    for (const [k, text] of Object.entries(m)) {
      try {
        out[k] = JSON.parse(text);
      } catch (err) {
        this.fail(
          `${join(path, 'info')}[${JSON.stringify(k)}]`,
          `not JSON (${err instanceof Error ? err.message : String(err)}): ${show(text)}`,
        );
      }
    }
    return out;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

const NAMESPACE_MODES: readonly NamespaceMode[] = ['POD', 'CONTAINER', 'NODE', 'TARGET'];
const PROPAGATIONS: readonly MountPropagation[] = [
  'PROPAGATION_PRIVATE',
  'PROPAGATION_HOST_TO_CONTAINER',
  'PROPAGATION_BIDIRECTIONAL',
];
const CONTAINER_STATES: readonly ContainerState[] = [
  'CONTAINER_CREATED',
  'CONTAINER_RUNNING',
  'CONTAINER_EXITED',
  'CONTAINER_UNKNOWN',
];
const SANDBOX_STATES: readonly PodSandboxState[] = ['SANDBOX_READY', 'SANDBOX_NOTREADY'];
const EVENT_TYPES: readonly ContainerEventType[] = [
  'CONTAINER_CREATED_EVENT',
  'CONTAINER_STARTED_EVENT',
  'CONTAINER_STOPPED_EVENT',
  'CONTAINER_DELETED_EVENT',
];

function containerMetadata(r: Reader, v: unknown, path: string): ContainerMetadata {
  const o = r.obj(v, path);
  return { name: r.str(o, 'name', path), attempt: r.uint(o, 'attempt', path) };
}

function imageSpec(r: Reader, v: unknown, path: string): { image: string } {
  if (v === null || v === undefined) return { image: '' };
  const o = r.obj(v, path);
  return { image: r.str(o, 'image', path) };
}

function mount(r: Reader, v: unknown, path: string): Mount {
  const o = r.obj(v, path);
  return {
    containerPath: r.str(o, 'containerPath', path),
    hostPath: r.str(o, 'hostPath', path),
    readonly: r.bool(o, 'readonly', path),
    propagation: r.oneOf(o, 'propagation', path, PROPAGATIONS),
  };
}

function sandboxMetadata(r: Reader, v: unknown, path: string): PodSandboxMetadata {
  const o = r.obj(v, path);
  return {
    name: r.str(o, 'name', path),
    uid: r.str(o, 'uid', path),
    namespace: r.str(o, 'namespace', path),
    attempt: r.uint(o, 'attempt', path),
  };
}

function namespaceOption(r: Reader, v: unknown, path: string): NamespaceOption {
  const o = r.obj(v, path);
  return {
    network: r.oneOf(o, 'network', path, NAMESPACE_MODES),
    pid: r.oneOf(o, 'pid', path, NAMESPACE_MODES),
    ipc: r.oneOf(o, 'ipc', path, NAMESPACE_MODES),
  };
}

export function parseVersion(v: unknown): VersionResponse {
  const r = new Reader('Version');
  const o = r.obj(v, '');
  const name = r.str(o, 'runtimeName', '');
  if (name === '') r.fail('runtimeName', 'must not be empty');
  return {
    version: r.str(o, 'version', ''),
    runtimeName: name,
    runtimeVersion: r.str(o, 'runtimeVersion', ''),
    runtimeApiVersion: r.str(o, 'runtimeApiVersion', ''),
  };
}

function container(r: Reader, v: unknown, path: string): Container {
  const o = r.obj(v, path);
  return {
    id: r.id(o, 'id', path),
    podSandboxId: r.str(o, 'podSandboxId', path),
    metadata: containerMetadata(r, o.metadata, join(path, 'metadata')),
    image: imageSpec(r, o.image, join(path, 'image')),
    imageRef: r.str(o, 'imageRef', path),
    state: r.oneOf(o, 'state', path, CONTAINER_STATES),
    createdAt: r.ns(o, 'createdAt', path),
    labels: r.map(o, 'labels', path),
    annotations: r.map(o, 'annotations', path),
  };
}

/**
 * ListContainers. One bad entry fails the whole reply: a list with a broken
 * entry says the runtime (or what sits on its socket) is not speaking CRI.
 */
export function parseListContainers(v: unknown): Container[] {
  const r = new Reader('ListContainers');
  const o = r.obj(v, '');
  return r.list(o, 'containers', '').map((c, i) => container(r, c, `containers[${i}]`));
}

export function parseContainerStatus(v: unknown): ContainerStatusResponse {
  const r = new Reader('ContainerStatus');
  const o = r.obj(v, '');
  if (o.status === null || o.status === undefined) r.fail('status', 'missing');
  const s = r.obj(o.status, 'status');
  const p = 'status';
  const status: ContainerStatus = {
    id: r.id(s, 'id', p),
    metadata: containerMetadata(r, s.metadata, join(p, 'metadata')),
    state: r.oneOf(s, 'state', p, CONTAINER_STATES),
    createdAt: r.ns(s, 'createdAt', p, true),
    startedAt: r.ns(s, 'startedAt', p),
    finishedAt: r.ns(s, 'finishedAt', p),
    image: imageSpec(r, s.image, join(p, 'image')),
    imageRef: r.str(s, 'imageRef', p),
    imageId: r.str(s, 'imageId', p),
    labels: r.map(s, 'labels', p),
    annotations: r.map(s, 'annotations', p),
    mounts: r.list(s, 'mounts', p).map((m, i) => mount(r, m, `${p}.mounts[${i}]`)),
  };
  return { status, info: r.info(o, '') };
}

export function parsePodSandboxStatus(v: unknown): PodSandboxStatusResponse {
  const r = new Reader('PodSandboxStatus');
  const o = r.obj(v, '');
  if (o.status === null || o.status === undefined) r.fail('status', 'missing');
  const s = r.obj(o.status, 'status');
  const p = 'status';
  let ip = '';
  if (s.network !== null && s.network !== undefined)
    ip = r.str(r.obj(s.network, `${p}.network`), 'ip', `${p}.network`);
  let namespaces: NamespaceOption | null = null;
  if (s.linux !== null && s.linux !== undefined) {
    const linux = r.obj(s.linux, `${p}.linux`);
    if (linux.namespaces !== null && linux.namespaces !== undefined) {
      const ns = r.obj(linux.namespaces, `${p}.linux.namespaces`);
      if (ns.options !== null && ns.options !== undefined)
        namespaces = namespaceOption(r, ns.options, `${p}.linux.namespaces.options`);
    }
  }
  const status: PodSandboxStatus = {
    id: r.id(s, 'id', p),
    metadata: sandboxMetadata(r, s.metadata, join(p, 'metadata')),
    state: r.oneOf(s, 'state', p, SANDBOX_STATES),
    createdAt: r.ns(s, 'createdAt', p),
    ip,
    namespaces,
    labels: r.map(s, 'labels', p),
    annotations: r.map(s, 'annotations', p),
  };
  return { status, info: r.info(o, '') };
}

export function parseListPodSandbox(v: unknown): PodSandbox[] {
  const r = new Reader('ListPodSandbox');
  const o = r.obj(v, '');
  return r.list(o, 'items', '').map((item, i) => {
    const p = `items[${i}]`;
    const s = r.obj(item, p);
    return {
      id: r.id(s, 'id', p),
      metadata: sandboxMetadata(r, s.metadata, join(p, 'metadata')),
      state: r.oneOf(s, 'state', p, SANDBOX_STATES),
      createdAt: r.ns(s, 'createdAt', p),
      labels: r.map(s, 'labels', p),
    };
  });
}

export function parseContainerEvent(v: unknown): ContainerEvent {
  const r = new Reader('GetContainerEvents');
  const o = r.obj(v, '');
  return {
    containerId: r.id(o, 'containerId', ''),
    type: r.oneOf(o, 'containerEventType', '', EVENT_TYPES),
    createdAt: r.ns(o, 'createdAt', ''),
  };
}

export function parseImageStatus(v: unknown): Image | null {
  const r = new Reader('ImageStatus');
  const o = r.obj(v, '');
  if (o.image === null || o.image === undefined) return null;
  const i = r.obj(o.image, 'image');
  const strings = (key: string): string[] =>
    r.list(i, key, 'image').map((s, n): string => {
      if (typeof s !== 'string') return r.fail(`image.${key}[${n}]`, `expected a string, got ${show(s)}`);
      return s;
    });
  return { id: r.str(i, 'id', 'image'), repoTags: strings('repoTags'), repoDigests: strings('repoDigests') };
}

/** A CRI call's own error when the reply is empty (unary calls never are, unless the peer is broken). */
export function missingReply(method: string): CriReplyError {
  return new CriReplyError(method, '', 'empty reply');
}
