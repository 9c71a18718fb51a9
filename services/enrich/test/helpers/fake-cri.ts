/**
 * A CRI runtime.v1 server on a unix socket (@grpc/grpc-js with the same
 * proto): the real wire format, with replies a test controls. It stands in
 * for what the containerd here cannot do: send a broken reply on purpose,
 * and stream GetContainerEvents (containerd 1.6 has no events).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { loadCriProto } from '../../src/cri/proto.js';

export type Wire = Record<string, unknown>;

export interface FakeContainer {
  /** A ListContainers entry. */
  list: Wire;
  /** The ContainerStatusResponse. */
  status: Wire;
}

const NOW = (): string => (BigInt(Date.now()) * 1_000_000n).toString();

/** A well-formed container and its status, by kubelet's labels. */
export function fakeContainer(
  id: string,
  name: string,
  sandboxId: string,
  privileged = false,
): FakeContainer {
  const labels = {
    'io.kubernetes.container.name': name,
    'io.kubernetes.pod.name': 'pod-1',
    'io.kubernetes.pod.namespace': 'ns-1',
    'io.kubernetes.pod.uid': 'uid-1',
  };
  const createdAt = NOW();
  return {
    list: {
      id,
      podSandboxId: sandboxId,
      metadata: { name, attempt: 0 },
      image: { image: 'quay.io/acme/tool:2' },
      imageRef: 'quay.io/acme/tool@sha256:' + 'ab'.repeat(32),
      state: 'CONTAINER_RUNNING',
      createdAt,
      labels,
    },
    status: {
      status: {
        id,
        metadata: { name, attempt: 0 },
        state: 'CONTAINER_RUNNING',
        createdAt,
        startedAt: createdAt,
        image: { image: 'quay.io/acme/tool:2' },
        imageRef: 'quay.io/acme/tool@sha256:' + 'ab'.repeat(32),
        labels,
        mounts: [
          {
            containerPath: '/host',
            hostPath: '/',
            readonly: false,
            propagation: 'PROPAGATION_BIDIRECTIONAL',
          },
        ],
      },
      // CRI-O's verbose info shape.
      info: { info: JSON.stringify({ privileged, runtimeSpec: { annotations: {} } }) },
    },
  };
}

export function fakeSandbox(id: string): Wire {
  return {
    status: {
      id,
      metadata: { name: 'pod-1', uid: 'uid-1', namespace: 'ns-1', attempt: 0 },
      state: 'SANDBOX_READY',
      createdAt: NOW(),
      network: { ip: '10.1.2.3' },
      linux: { namespaces: { options: { network: 'POD', pid: 'NODE', ipc: 'POD' } } },
      labels: { app: 'tool', 'io.kubernetes.pod.name': 'pod-1' },
    },
    info: {
      info: JSON.stringify({
        cniResult: {
          interfaces: [
            { name: 'lo', mtu: 65536 },
            { name: 'eth0', mtu: 1450 },
          ],
        },
      }),
    },
  };
}

export class FakeCri {
  readonly containers = new Map<string, FakeContainer>();
  readonly sandboxes = new Map<string, Wire>();
  runtimeName = 'cri-o';
  /** Replaces the ListContainers reply when set. */
  listOverride: Wire | undefined;
  /** Whether GetContainerEvents exists (else: Unimplemented). */
  events = true;
  readonly calls = new Map<string, number>();
  readonly #streams = new Set<ServerWritableStream<Wire, Wire>>();

  private constructor(
    readonly socket: string,
    private readonly server: Server,
    private readonly dir: string,
  ) {}

  static async start(): Promise<FakeCri> {
    const dir = mkdtempSync(join(tmpdir(), 'saker-fake-cri-'));
    const socket = join(dir, 'cri.sock');
    const server = new Server();
    const fake = new FakeCri(socket, server, dir);
    const proto = loadCriProto();
    const count = (m: string): void => {
      fake.calls.set(m, (fake.calls.get(m) ?? 0) + 1);
    };
    const unary =
      (name: string, fn: (req: Wire) => Wire | Error) =>
      (call: ServerUnaryCall<Wire, Wire>, cb: sendUnaryData<Wire>): void => {
        count(name);
        const r = fn(call.request);
        if (r instanceof Error) cb({ code: status.NOT_FOUND, details: r.message });
        else cb(null, r);
      };
    server.addService(proto.RuntimeService.service as ServiceDefinition, {
      Version: unary('Version', () => ({
        version: '0.1.0',
        runtimeName: fake.runtimeName,
        runtimeVersion: '1.30.0',
        runtimeApiVersion: 'v1',
      })),
      ListContainers: unary('ListContainers', (req) => {
        if (fake.listOverride !== undefined) return fake.listOverride;
        const filter = (req.filter ?? {}) as { id?: string };
        const list = [...fake.containers.values()].map((c) => c.list);
        return { containers: filter.id ? list.filter((c) => c.id === filter.id) : list };
      }),
      ContainerStatus: unary('ContainerStatus', (req) => {
        const c = fake.containers.get(String(req.containerId));
        return c === undefined ? new Error(`container ${String(req.containerId)} not found`) : c.status;
      }),
      ListPodSandbox: unary('ListPodSandbox', (req) => {
        const filter = (req.filter ?? {}) as { id?: string };
        const items = [...fake.sandboxes.values()].map((s) => {
          const st = s.status as Wire;
          return {
            id: st.id,
            metadata: st.metadata,
            state: st.state,
            createdAt: st.createdAt,
            labels: st.labels,
          };
        });
        return { items: filter.id ? items.filter((i) => i.id === filter.id) : items };
      }),
      PodSandboxStatus: unary('PodSandboxStatus', (req) => {
        const s = fake.sandboxes.get(String(req.podSandboxId));
        return s === undefined ? new Error(`sandbox ${String(req.podSandboxId)} not found`) : s;
      }),
      GetContainerEvents: (call: ServerWritableStream<Wire, Wire>) => {
        count('GetContainerEvents');
        if (!fake.events) {
          call.emit('error', {
            code: status.UNIMPLEMENTED,
            details: 'method GetContainerEvents not implemented',
          });
          return;
        }
        fake.#streams.add(call);
        call.on('cancelled', () => fake.#streams.delete(call));
        call.on('close', () => fake.#streams.delete(call));
      },
    });
    server.addService(proto.ImageService.service as ServiceDefinition, {
      ImageStatus: unary('ImageStatus', () => ({
        image: { id: 'sha256:' + 'cd'.repeat(32), repoTags: ['quay.io/acme/tool:2'], repoDigests: [] },
      })),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return fake;
  }

  /** Streams one event (a wire ContainerEventResponse) to every open GetContainerEvents call. */
  emit(event: Wire): number {
    for (const s of this.#streams) s.write(event);
    return this.#streams.size;
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  async stop(): Promise<void> {
    for (const s of this.#streams) s.end();
    await new Promise<void>((r) => this.server.tryShutdown(() => r()));
    this.server.forceShutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
