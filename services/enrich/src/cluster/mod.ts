/**
 * Cluster mode of @saker/enrich: pods, namespaces, workloads and services
 * from the API server into KV `saker_meta`, split over instances by shard
 * leases (docs/enrich.md, "Cluster mode").
 */
export type { ClusterEnrich } from './service.js';
export { startClusterEnrich } from './service.js';
export type { ClusterLogger } from './options.js';
export { ClusterEnrichConfigError } from './options.js';
export { BadObjectError, deriveRecord } from './objects.js';
export { slotOf } from './slots.js';
