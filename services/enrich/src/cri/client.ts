/**
 * A CRI (runtime.v1) client over a unix socket: @grpc/grpc-js with the proto
 * loaded at run time. Every reply is checked (validate.ts) before it is
 * returned typed; a call that fails rejects with the gRPC error or a
 * CriReplyError, never with a half-read reply.
 */
import {
  type CallOptions,
  type Client,
  type ClientReadableStream,
  Metadata,
  type ServiceError,
  credentials,
  status as grpcStatus,
} from '@grpc/grpc-js';
import { loadCriProto } from './proto.js';
import type {
  Container,
  ContainerConfig,
  ContainerEvent,
  ContainerStatusResponse,
  Image,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxStatusResponse,
  StringMap,
  VersionResponse,
} from './types.js';
import {
  CriReplyError,
  missingReply,
  parseContainerEvent,
  parseContainerStatus,
  parseImageStatus,
  parseListContainers,
  parseListPodSandbox,
  parsePodSandboxStatus,
  parseVersion,
} from './validate.js';

export interface CriClientOptions {
  /** Deadline of each unary call. Default 5000 ms. */
  readonly timeoutMs?: number;
}

type Callback = (err: ServiceError | null, value?: unknown) => void;
type UnaryMethod = (request: object, metadata: Metadata, options: CallOptions, callback: Callback) => void;
type StreamMethod = (
  request: object,
  metadata: Metadata,
  options: CallOptions,
) => ClientReadableStream<unknown>;

/** True for the gRPC error of a call the runtime does not implement (containerd < 1.7: GetContainerEvents). */
export function isUnimplemented(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { code?: unknown }).code === grpcStatus.UNIMPLEMENTED
  );
}

/** A gRPC error's code name, or the error's class name, for metrics labels. */
export function errorKind(err: unknown): string {
  if (err instanceof CriReplyError) return 'invalid_reply';
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'number') return (grpcStatus[code] ?? 'UNKNOWN').toLowerCase();
  return 'error';
}

export class CriClient {
  readonly socket: string;
  readonly #runtime: Client;
  readonly #image: Client;
  readonly #timeoutMs: number;

  constructor(socket: string, options: CriClientOptions = {}) {
    this.socket = socket.startsWith('unix://') ? socket.slice('unix://'.length) : socket;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    const proto = loadCriProto();
    const address = `unix://${this.socket}`;
    // No keepalive pings: the runtime is a local socket, and grpc-go servers
    // (containerd, CRI-O) answer pings more often than every 5 min with GOAWAY.
    // Every unary call has a deadline; the event stream has none (it is long-lived).
    const channel = {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      // The runtime is local: reconnect quickly after a runtime restart.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    };
    this.#runtime = new proto.RuntimeService(address, credentials.createInsecure(), channel);
    this.#image = new proto.ImageService(address, credentials.createInsecure(), {
      channelOverride: this.#runtime.getChannel(),
    });
  }

  #unary(client: Client, method: string, request: object): Promise<unknown> {
    const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`CRI client has no method ${method}`));
    return new Promise((resolve, reject) => {
      fn.call(client, request, new Metadata(), { deadline: Date.now() + this.#timeoutMs }, (err, value) => {
        if (err) reject(err);
        else if (value === undefined || value === null) reject(missingReply(method));
        else resolve(value);
      });
    });
  }

  async version(): Promise<VersionResponse> {
    return parseVersion(await this.#unary(this.#runtime, 'Version', { version: 'v1' }));
  }

  async listContainers(filter: { podSandboxId?: string; id?: string } = {}): Promise<Container[]> {
    return parseListContainers(await this.#unary(this.#runtime, 'ListContainers', { filter }));
  }

  async containerStatus(id: string, verbose = true): Promise<ContainerStatusResponse> {
    return parseContainerStatus(
      await this.#unary(this.#runtime, 'ContainerStatus', { containerId: id, verbose }),
    );
  }

  async podSandboxStatus(id: string, verbose = true): Promise<PodSandboxStatusResponse> {
    return parsePodSandboxStatus(
      await this.#unary(this.#runtime, 'PodSandboxStatus', { podSandboxId: id, verbose }),
    );
  }

  async listPodSandbox(filter: { id?: string; labelSelector?: StringMap } = {}): Promise<PodSandbox[]> {
    return parseListPodSandbox(await this.#unary(this.#runtime, 'ListPodSandbox', { filter }));
  }

  /** The image by reference or id; null when the runtime does not have it. */
  async imageStatus(image: string): Promise<Image | null> {
    return parseImageStatus(await this.#unary(this.#image, 'ImageStatus', { image: { image } }));
  }

  /**
   * Container lifecycle events until `signal` aborts (then it ends quietly)
   * or the stream fails (then it throws: isUnimplemented() tells a runtime
   * that has no events). An event that fails validation is passed to
   * `onInvalid` and skipped; the stream goes on.
   */
  async *containerEvents(
    signal: AbortSignal,
    onInvalid: (err: CriReplyError) => void,
  ): AsyncGenerator<ContainerEvent, void, undefined> {
    const fn = (this.#runtime as unknown as Record<string, StreamMethod | undefined>).GetContainerEvents;
    if (typeof fn !== 'function') throw new Error('CRI client has no method GetContainerEvents');
    const call = fn.call(this.#runtime, {}, new Metadata(), {});
    const queue: unknown[] = [];
    let failure: unknown;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    call.on('data', (d: unknown) => {
      queue.push(d);
      notify();
    });
    call.on('error', (err: ServiceError) => {
      if (!(signal.aborted && err.code === grpcStatus.CANCELLED)) failure = err;
      ended = true;
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          try {
            yield parseContainerEvent(next);
          } catch (err) {
            if (err instanceof CriReplyError) onInvalid(err);
            else throw err;
          }
          continue;
        }
        if (ended) break;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      if (failure !== undefined) throw failure;
    } finally {
      signal.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  // --- making pods and containers (what kubelet does; tests use these) ---

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = (await this.#unary(this.#runtime, 'RunPodSandbox', { config })) as { podSandboxId?: unknown };
    if (typeof r.podSandboxId !== 'string' || r.podSandboxId === '')
      throw new CriReplyError('RunPodSandbox', 'podSandboxId', 'missing');
    return r.podSandboxId;
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const r = (await this.#unary(this.#runtime, 'CreateContainer', {
      podSandboxId,
      config,
      sandboxConfig,
    })) as { containerId?: unknown };
    if (typeof r.containerId !== 'string' || r.containerId === '')
      throw new CriReplyError('CreateContainer', 'containerId', 'missing');
    return r.containerId;
  }

  async startContainer(id: string): Promise<void> {
    await this.#unary(this.#runtime, 'StartContainer', { containerId: id });
  }

  async stopContainer(id: string, timeoutS = 0): Promise<void> {
    await this.#unary(this.#runtime, 'StopContainer', { containerId: id, timeout: String(timeoutS) });
  }

  async removeContainer(id: string): Promise<void> {
    await this.#unary(this.#runtime, 'RemoveContainer', { containerId: id });
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.#unary(this.#runtime, 'StopPodSandbox', { podSandboxId: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.#unary(this.#runtime, 'RemovePodSandbox', { podSandboxId: id });
  }

  close(): void {
    this.#image.close();
    this.#runtime.close();
  }
}
