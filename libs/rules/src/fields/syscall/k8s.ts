import { type Def, type Ev, field, fieldWithArg, renderLabels, unavailable } from './helpers.js';

// The enricher joins pod metadata into `k8s`. Before that, the runtime's own
// container labels (set by the kubelet) still name the pod, as Falco reads them.
const POD_NAME = 'io.kubernetes.pod.name';
const POD_NAMESPACE = 'io.kubernetes.pod.namespace';
const POD_UID = 'io.kubernetes.pod.uid';
const SHORT_ID = 12;

function runtimeLabel(e: Ev, key: string): string | undefined {
  const labels = e.container.labels;
  return labels !== undefined && Object.hasOwn(labels, key) ? labels[key] : undefined;
}

const podUid = (e: Ev): string | undefined => e.k8s?.pod_uid ?? runtimeLabel(e, POD_UID);

const LOOKUP_NOTE = 'Missing outside Kubernetes and until enrichment has joined the pod.';

function pod(name: string, description: string, extract: (e: Ev) => string | undefined): Def {
  return field({
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    description: `${description} ${LOOKUP_NOTE}`,
    extract,
  });
}

const DEPRECATED = 'Falco deprecated it in favour of the k8smeta plugin and no longer fills it.';

function deprecatedKind(kind: 'rc' | 'svc' | 'ns' | 'rs' | 'deployment', what: string): Def[] {
  const fields: Def[] = [];
  if (kind !== 'ns') {
    fields.push(
      unavailable({
        name: `k8s.${kind}.name`,
        kind: 'string',
        falcoType: 'CHARBUF',
        description: `The ${what} name.`,
        why: DEPRECATED,
      }),
    );
  }
  fields.push(
    unavailable({
      name: `k8s.${kind}.id`,
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The ${what} uid.`,
      why: DEPRECATED,
    }),
    unavailable({
      name: `k8s.${kind}.label`,
      kind: 'string',
      falcoType: 'CHARBUF',
      arg: { required: true, kind: 'key', dotted: true },
      description: `One ${what} label.`,
      why: DEPRECATED,
    }),
    unavailable({
      name: `k8s.${kind}.labels`,
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `All ${what} labels.`,
      why: DEPRECATED,
    }),
  );
  return fields;
}

export const k8sFields: readonly Def[] = [
  pod(
    'k8s.pod.name',
    'The name of the pod the container belongs to.',
    (e) => e.k8s?.pod_name ?? runtimeLabel(e, POD_NAME),
  ),
  pod('k8s.ns.name', 'The namespace of the pod.', (e) => e.k8s?.ns_name ?? runtimeLabel(e, POD_NAMESPACE)),
  pod('k8s.pod.id', 'The pod uid (legacy name of k8s.pod.uid).', podUid),
  pod('k8s.pod.uid', 'The pod uid: `3e41dc6b-08a8-44db-bc2a-3724b18ab19a`.', podUid),
  pod('k8s.pod.sandbox_id', 'The short (12-character) id of the pod sandbox.', (e) => {
    const id = e.k8s?.pod_sandbox_id ?? e.k8s?.pod_full_sandbox_id;
    return id !== undefined && id.length > SHORT_ID ? id.slice(0, SHORT_ID) : id;
  }),
  pod(
    'k8s.pod.full_sandbox_id',
    'The full id of the pod sandbox.',
    (e) => e.k8s?.pod_full_sandbox_id ?? e.k8s?.pod_sandbox_id,
  ),
  fieldWithArg({
    name: 'k8s.pod.label',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: true, kind: 'key', dotted: true },
    description: `One pod label: \`k8s.pod.label[app.kubernetes.io/name]\` or \`k8s.pod.label.app\`. ${LOOKUP_NOTE}`,
    bind: (arg) => {
      const key = arg as string;
      return (e) => {
        const labels = e.k8s?.pod_labels;
        return labels !== undefined && Object.hasOwn(labels, key) ? labels[key] : undefined;
      };
    },
  }),
  pod('k8s.pod.labels', 'The pod labels as `k1:v1, k2:v2`, sorted by key.', (e) =>
    renderLabels(e.k8s?.pod_labels),
  ),
  pod(
    'k8s.pod.ip',
    'The IPv4 address of the pod.',
    (e) => e.k8s?.pod_ip ?? (e.k8s ? e.container.ip : undefined),
  ),
  pod('k8s.pod.cni.json', "The pod's CNI result as JSON text (the same as container.cni.json).", (e) =>
    e.k8s ? e.container.cni_json : undefined,
  ),
  ...deprecatedKind('rc', 'replication controller'),
  ...deprecatedKind('svc', 'service'),
  ...deprecatedKind('ns', 'namespace'),
  ...deprecatedKind('rs', 'replica set'),
  ...deprecatedKind('deployment', 'deployment'),
];
