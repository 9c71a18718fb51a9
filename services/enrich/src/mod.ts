/**
 * @saker/enrich: container and Kubernetes metadata for the engine's join.
 * Node mode reads the CRI socket; cluster mode watches the API server in
 * shards; both write KV `saker_meta` (records: @saker/events metadata.ts).
 */
export { CriClient, type CriClientOptions, errorKind, isUnimplemented } from './cri/client.js';
export {
  type KubeletContainerOptions,
  type KubeletPodOptions,
  kubeletContainerConfig,
  kubeletPodConfig,
} from './cri/kubelet.js';
export { CRI_PROTO_LOADER_OPTIONS, criProtoPath, loadCriProto } from './cri/proto.js';
export type {
  Container,
  ContainerConfig,
  ContainerEvent,
  ContainerEventType,
  ContainerMetadata,
  ContainerState,
  ContainerStatus,
  ContainerStatusResponse,
  Image,
  ImageSpec,
  Mount,
  MountPropagation,
  NamespaceMode,
  NamespaceOption,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxMetadata,
  PodSandboxState,
  PodSandboxStatus,
  PodSandboxStatusResponse,
  StringMap,
  VersionResponse,
} from './cri/types.js';
export {
  CriReplyError,
  parseContainerEvent,
  parseContainerStatus,
  parseListContainers,
  parsePodSandboxStatus,
  parseVersion,
} from './cri/validate.js';
export {
  type FollowMode,
  NodeEnricher,
  type NodeEnricherOptions,
  type NodeEnricherStats,
} from './node/enricher.js';
export { type ImageParts, parseImageRef } from './node/image.js';
export {
  MAX_CNI_JSON,
  buildContainerRecord,
  buildSandboxRecord,
  cniJson,
  containerType,
  privilegedFromInfo,
  sameRecord,
} from './node/record.js';
export { DEFAULT_CRI_SOCKETS, findCriSockets } from './node/sockets.js';
export {
  type EnrichService,
  type EnrichServiceOptions,
  EnrichStartError,
  type NodeModeOptions,
  start,
} from './service.js';
export { type EnrichMode, type RunningEnrich, type StartEnrichOptions, startEnrich } from './embedded.js';
/** Cluster mode's shard of a node (or namespace, or uid): tests place objects in a shard with it. */
export { slotOf } from './cluster/slots.js';
