/**
 * The CRI runtime.v1 messages Saker reads and writes, as TypeScript sees them
 * after proto-loader (camelCase, int64 as decimal strings, enums as names).
 * Replies are typed only after validate.ts has checked them.
 */

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type MountPropagation =
  | 'PROPAGATION_PRIVATE'
  | 'PROPAGATION_HOST_TO_CONTAINER'
  | 'PROPAGATION_BIDIRECTIONAL';
export type ContainerState =
  | 'CONTAINER_CREATED'
  | 'CONTAINER_RUNNING'
  | 'CONTAINER_EXITED'
  | 'CONTAINER_UNKNOWN';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerEventType =
  | 'CONTAINER_CREATED_EVENT'
  | 'CONTAINER_STARTED_EVENT'
  | 'CONTAINER_STOPPED_EVENT'
  | 'CONTAINER_DELETED_EVENT';

export type StringMap = Readonly<Record<string, string>>;

export interface VersionResponse {
  readonly version: string;
  readonly runtimeName: string;
  readonly runtimeVersion: string;
  readonly runtimeApiVersion: string;
}

export interface NamespaceOption {
  readonly network: NamespaceMode;
  readonly pid: NamespaceMode;
  readonly ipc: NamespaceMode;
}

export interface Mount {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly readonly: boolean;
  readonly propagation: MountPropagation;
}

interface ImageSpec {
  readonly image: string;
}

export interface ContainerMetadata {
  readonly name: string;
  readonly attempt: number;
}

/** One entry of ListContainers. */
export interface Container {
  readonly id: string;
  readonly podSandboxId: string;
  readonly metadata: ContainerMetadata;
  readonly image: ImageSpec;
  readonly imageRef: string;
  readonly state: ContainerState;
  /** Nanoseconds since the epoch. */
  readonly createdAt: string;
  readonly labels: StringMap;
  readonly annotations: StringMap;
}

export interface ContainerStatus {
  readonly id: string;
  readonly metadata: ContainerMetadata;
  readonly state: ContainerState;
  readonly createdAt: string;
  /** '0' until the container started. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly image: ImageSpec;
  readonly imageRef: string;
  readonly imageId: string;
  readonly labels: StringMap;
  readonly annotations: StringMap;
  readonly mounts: readonly Mount[];
}

export interface ContainerStatusResponse {
  readonly status: ContainerStatus;
  /** Verbose: JSON documents by name, parsed; `info` is the runtime's own description. */
  readonly info: Readonly<Record<string, unknown>>;
}

export interface PodSandboxMetadata {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly attempt: number;
}

export interface PodSandboxStatus {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: PodSandboxState;
  readonly createdAt: string;
  /** The pod IP; '' with host networking. */
  readonly ip: string;
  /** The sandbox's namespace modes; absent when the runtime did not say. */
  readonly namespaces: NamespaceOption | null;
  readonly labels: StringMap;
  readonly annotations: StringMap;
}

export interface PodSandboxStatusResponse {
  readonly status: PodSandboxStatus;
  readonly info: Readonly<Record<string, unknown>>;
}

export interface PodSandbox {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: PodSandboxState;
  readonly createdAt: string;
  readonly labels: StringMap;
}

export interface ContainerEvent {
  readonly containerId: string;
  readonly type: ContainerEventType;
  readonly createdAt: string;
}

export interface Image {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
}

// --- requests (for creating pods and containers: tests, tools) ---

export interface PodSandboxConfig {
  readonly metadata: {
    readonly name: string;
    readonly uid: string;
    readonly namespace: string;
    readonly attempt?: number;
  };
  readonly hostname?: string;
  readonly logDirectory?: string;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
  readonly linux?: {
    readonly cgroupParent?: string;
    readonly securityContext?: {
      readonly namespaceOptions?: Partial<NamespaceOption>;
      readonly privileged?: boolean;
    };
  };
}

export interface ContainerConfig {
  readonly metadata: { readonly name: string; readonly attempt?: number };
  readonly image: { readonly image: string };
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly envs?: readonly { readonly key: string; readonly value: string }[];
  readonly mounts?: readonly {
    readonly containerPath: string;
    readonly hostPath: string;
    readonly readonly?: boolean;
    readonly propagation?: MountPropagation;
  }[];
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
  readonly logPath?: string;
  readonly stdin?: boolean;
  readonly tty?: boolean;
  readonly linux?: {
    readonly securityContext?: {
      readonly privileged?: boolean;
      readonly namespaceOptions?: Partial<NamespaceOption>;
    };
  };
}
