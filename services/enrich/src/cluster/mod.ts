/**
 * Cluster mode of @saker/enrich: pods, namespaces, workloads and services
 * from the API server into KV `saker_meta`, split over instances by shard
 * leases (docs/enrich.md, "Cluster mode").
 */
export type { ClusterEnrich, ClusterEnrichStats } from './service.js';
export { startClusterEnrich } from './service.js';
export type {
  ClusterEnrichOptions,
  ClusterLogLevel,
  ClusterLogger,
  ResolvedClusterEnrichOptions,
} from './options.js';
export {
  ClusterEnrichConfigError,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_TOMBSTONE_TTL_MS,
  resolveClusterEnrichOptions,
  stderrClusterLogger,
} from './options.js';
export type { ClusterResource, Derived, RecordBody } from './objects.js';
export { BadObjectError, CLUSTER_RESOURCES, deriveRecord } from './objects.js';
export { fnv1a, recordSlot, slotOf } from './slots.js';
export type { InformerStats } from './informers.js';
export type { WriterStats } from './writer.js';
