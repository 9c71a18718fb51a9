/**
 * Audit events as the API server's webhook backend sends them: a kubectl
 * pod create at RequestResponse level, the commonest large event, and the
 * EventList that carries a batch.
 */
import type { AuditEvent } from '@saker/events';

export function podCreateEvent(
  i: number,
  opts: { privileged?: boolean; namespace?: string } = {},
): AuditEvent {
  const ns = opts.namespace ?? 'default';
  const name = `web-${i}`;
  const pod = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace: ns, labels: { app: 'web' } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'ghcr.io/acme/shop:2.3.1',
          resources: {},
          ...(opts.privileged ? { securityContext: { privileged: true } } : {}),
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
    },
  };
  const second = String(i % 60).padStart(2, '0');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `5b6f0a34-0c9e-4b8e-9a57-${String(i).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/${ns}/pods?fieldManager=kubectl-run`,
    verb: 'create',
    user: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
    sourceIPs: ['10.0.12.7'],
    userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
    objectRef: { resource: 'pods', namespace: ns, name, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestObject: pod,
    responseObject: {
      ...pod,
      metadata: { ...pod.metadata, uid: '6c1d3b0e-2f4a-4b7e-9d8c-5a2f1e0b7c93', resourceVersion: '184467' },
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    },
    requestReceivedTimestamp: `2024-05-14T09:30:${second}.338678Z`,
    stageTimestamp: `2024-05-14T09:30:${second}.345678Z`,
    annotations: {
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason':
        'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
    },
  };
}

export function eventList(items: readonly unknown[]): string {
  return JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
}

export function batch(from: number, n: number): string {
  return eventList(Array.from({ length: n }, (_, k) => podCreateEvent(from + k)));
}
