import type { K8sAuditEvent } from '@saker/events';
import { FieldRegistry } from '../registry.js';

// Placeholder until the ka.* and jevt.* classes land.
export const k8sAuditFields = new FieldRegistry<K8sAuditEvent>('k8s_audit', []);
