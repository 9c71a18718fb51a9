/** Kubernetes audit events the end-to-end tests send through the audit source. */

const PWN_POD = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'pwn', namespace: 'default' },
  spec: { containers: [{ name: 'pwn', image: 'busybox:1.36', securityContext: { privileged: true } }] },
};

/**
 * The API server's RequestResponse event for `mallory` creating the
 * privileged pod default/pwn (allowed): what the "privileged pod" rules fire
 * on. `over` replaces top-level keys (each test its own auditID).
 */
export function privilegedPodCreated(over: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: '5b0e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'create',
    user: { username: 'mallory', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.12.7'],
    userAgent: 'kubectl/v1.30.1',
    objectRef: { resource: 'pods', namespace: 'default', name: 'pwn', apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestObject: PWN_POD,
    requestReceivedTimestamp: '2024-05-14T09:30:12.338678Z',
    stageTimestamp: '2024-05-14T09:30:12.345678Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
    ...over,
  };
}

/** The pod as the API server answers it (responseObject): PWN_POD with its uid. */
export const PWN_POD_CREATED = {
  ...PWN_POD,
  metadata: { ...PWN_POD.metadata, uid: '0d6c1f7e-2b1a-4c33-9e0f-5b7c8a6d4e21' },
};
