import type { EventSourceName, K8sAuditEvent, SakerEvent, SyscallEvent } from '@saker/events';
import { k8sAuditFields } from './fields/k8s-audit/mod.js';
import type { FieldRegistry } from './fields/registry.js';
import { syscallFields } from './fields/syscall/mod.js';

/**
 * An event source as the rule engine sees it: its fields, and whether its
 * rules are indexed by event type. Only syscall events have types; rules of
 * other sources are all checked against every event of their source.
 */
export interface SourceDef<E extends SakerEvent> {
  readonly name: EventSourceName;
  readonly fields: FieldRegistry<E>;
  readonly typed: boolean;
  eventType(event: E): string;
}

export const syscallSource: SourceDef<SyscallEvent> = {
  name: 'syscall',
  fields: syscallFields,
  typed: true,
  eventType: (e) => e.type,
};

export const k8sAuditSource: SourceDef<K8sAuditEvent> = {
  name: 'k8s_audit',
  fields: k8sAuditFields,
  typed: false,
  eventType: () => 'k8s_audit',
};

export type AnySourceDef = SourceDef<SyscallEvent> | SourceDef<K8sAuditEvent>;

export const SOURCES: ReadonlyMap<string, AnySourceDef> = new Map<string, AnySourceDef>([
  ['syscall', syscallSource],
  ['k8s_audit', k8sAuditSource],
]);
