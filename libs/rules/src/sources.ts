import type { EventSourceName, K8sAuditEvent, SakerEvent, SyscallEvent } from '@saker/events';
import { k8sAuditFields } from './fields/k8s-audit/mod.js';
import type { FieldRegistry } from './fields/registry.js';
import { syscallFields } from './fields/syscall/mod.js';

/**
 * An event source as the rule engine sees it: its fields, and whether its
 * rules are indexed by event type. Only syscall events have types; rules of
 * other sources are all checked against every event of their source.
 */
interface SourceDef<E extends SakerEvent> {
  readonly name: EventSourceName;
  readonly fields: FieldRegistry<E>;
  readonly typed: boolean;
  /**
   * Fields `append_output`'s `suggested_output` appends to every rule of the
   * source, in this order (Falco: the fields its plugins flag as suggested).
   */
  readonly suggestedOutputFields: readonly string[];
  eventType(event: E): string;
}

const syscallSource: SourceDef<SyscallEvent> = {
  name: 'syscall',
  fields: syscallFields,
  typed: true,
  // The container plugin's suggested fields.
  suggestedOutputFields: [
    'container.id',
    'container.name',
    'container.image.repository',
    'container.image.tag',
    'k8s.pod.name',
    'k8s.ns.name',
  ],
  eventType: (e) => e.type,
};

const k8sAuditSource: SourceDef<K8sAuditEvent> = {
  name: 'k8s_audit',
  fields: k8sAuditFields,
  typed: false,
  // The k8saudit plugin flags none.
  suggestedOutputFields: [],
  eventType: () => 'k8s_audit',
};

export type AnySourceDef = SourceDef<SyscallEvent> | SourceDef<K8sAuditEvent>;

export const SOURCES: ReadonlyMap<string, AnySourceDef> = new Map<string, AnySourceDef>([
  ['syscall', syscallSource],
  ['k8s_audit', k8sAuditSource],
]);
