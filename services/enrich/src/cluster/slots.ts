/**
 * Which shard slot a record belongs to. Every instance computes the same
 * answer from the record alone, so a survivor taking a dead instance's slot
 * knows which records (tombstones included) became its own.
 *
 * - a pod: by its node (all pods of a node go to one slot, so a node's churn
 *   stays with one writer); a pod not yet scheduled, by its uid;
 * - a namespace: by its name, which is its key (two objects of one name, the
 *   old one deleted and a new one created, must have one writer, or the old
 *   one's tombstone could land after the new one's record);
 * - a workload or service: by its uid.
 */
import type { MetaRecord } from '@saker/events';
import type { RecordBody } from './objects.js';

/** FNV-1a, 32 bits, over the UTF-16 code units (names here are ASCII). */
function fnv1a(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function slotOf(value: string, shards: number): number {
  return fnv1a(value) % shards;
}

/** The slot of a record, or undefined for a lease or a container record (not cluster mode's). */
export function recordSlot(record: RecordBody | MetaRecord, shards: number): number | undefined {
  switch (record.kind) {
    case 'pod':
      return slotOf(record.node ?? record.k8s.pod_uid ?? '', shards);
    case 'namespace':
      return slotOf(record.name, shards);
    case 'workload':
      return slotOf(record.uid, shards);
    default:
      return undefined;
  }
}
