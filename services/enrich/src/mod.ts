/**
 * @saker/enrich: container and Kubernetes metadata for the engine's join.
 * Node mode reads the CRI socket; cluster mode watches the API server in
 * shards; both write KV `saker_meta` (records: @saker/events metadata.ts).
 */
export { CriClient } from './cri/client.js';
export { kubeletContainerConfig, kubeletPodConfig } from './cri/kubelet.js';

export type { PodSandboxConfig } from './cri/types.js';

export { startEnrich } from './embedded.js';
/** Cluster mode's shard of a node (or namespace, or uid): tests place objects in a shard with it. */
export { slotOf } from './cluster/slots.js';
