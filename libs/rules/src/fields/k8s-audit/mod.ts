import type { K8sAuditEvent } from '@saker/events';
import { FieldRegistry } from '../registry.js';
import { jevtFields } from './jevt.js';
import { objectFields } from './ka-objects.js';
import { podFields } from './ka-pod.js';
import { requestFields } from './ka-request.js';

/**
 * The fields of the `k8s_audit` source: the k8saudit plugin's `ka.*` and the
 * json plugin's `jevt.*`/`json.*`, with the same names, arguments and text
 * values, so that Falco's k8s_audit rules load and match unmodified.
 */
export const k8sAuditFields = new FieldRegistry<K8sAuditEvent>('k8s_audit', [
  ...requestFields,
  ...objectFields,
  ...podFields,
  ...jevtFields,
]);
