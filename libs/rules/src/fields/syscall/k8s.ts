import type { K8sServiceRef } from '@saker/events';
import { type Def, type Ev, field, fieldWithArg, keyOf, renderLabels } from './helpers.js';

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

type LabelMap = Readonly<Record<string, string>> | undefined;

// Falco deprecated these in favour of the k8smeta plugin and no longer fills
// them; Saker fills them when cluster-mode enrichment runs (docs/enrich.md).
const CLUSTER_NOTE = 'Filled when cluster-mode enrichment runs (enrich.cluster); missing otherwise.';

/** One object around the pod (`ns`, `rs`, `deployment`, `rc`): name, id, label, labels. */
function objectFields(
  kind: 'ns' | 'rs' | 'deployment' | 'rc',
  what: string,
  get: {
    readonly name?: (e: Ev) => string | undefined;
    readonly uid: (e: Ev) => string | undefined;
    readonly labels: (e: Ev) => LabelMap;
  },
): Def[] {
  const fields: Def[] = [];
  if (get.name !== undefined) {
    fields.push(
      field({
        name: `k8s.${kind}.name`,
        kind: 'string',
        falcoType: 'CHARBUF',
        description: `The name of the ${what}. ${CLUSTER_NOTE}`,
        extract: get.name,
      }),
    );
  }
  const labelsOf = get.labels;
  fields.push(
    field({
      name: `k8s.${kind}.id`,
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The uid of the ${what}. ${CLUSTER_NOTE}`,
      extract: get.uid,
    }),
    fieldWithArg({
      name: `k8s.${kind}.label`,
      kind: 'string',
      falcoType: 'CHARBUF',
      arg: { required: true, kind: 'key', dotted: true },
      description: `One label of the ${what}: \`k8s.${kind}.label[team]\` or \`k8s.${kind}.label.team\`. ${CLUSTER_NOTE}`,
      bind: (arg) => keyOf(labelsOf, arg as string),
    }),
    field({
      name: `k8s.${kind}.labels`,
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The labels of the ${what} as \`k1:v1, k2:v2\`, sorted by key. ${CLUSTER_NOTE}`,
      extract: (e) => renderLabels(labelsOf(e)),
    }),
  );
  return fields;
}

/**
 * `k8s.svc.*`: a pod can match several services. As libsinsp's Kubernetes
 * client did, each field covers all of them, joined with `, ` (services in
 * name order): every name, every uid, the value of the label in each service
 * that has it (missing when none has), every service's labels.
 */
function serviceFields(): Def[] {
  const SVC_NOTE = `Several matching services give their values joined with \`, \`, in service name order. ${CLUSTER_NOTE}`;
  const each =
    (pick: (s: K8sServiceRef) => string) =>
    (e: Ev): string | undefined => {
      const services = e.k8s?.services;
      if (services === undefined || services.length === 0) return undefined;
      let out = pick(services[0] as K8sServiceRef);
      for (let i = 1; i < services.length; i++) out += `, ${pick(services[i] as K8sServiceRef)}`;
      return out;
    };
  return [
    field({
      name: 'k8s.svc.name',
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The name of the services whose selector matches the pod. ${SVC_NOTE}`,
      extract: each((s) => s.name),
    }),
    field({
      name: 'k8s.svc.id',
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The uid of the services whose selector matches the pod. ${SVC_NOTE}`,
      extract: each((s) => s.uid),
    }),
    fieldWithArg({
      name: 'k8s.svc.label',
      kind: 'string',
      falcoType: 'CHARBUF',
      arg: { required: true, kind: 'key', dotted: true },
      description: `One label of the services matching the pod: \`k8s.svc.label[tier]\`. ${SVC_NOTE}`,
      bind: (arg) => {
        const key = arg as string;
        return (e) => {
          const services = e.k8s?.services;
          if (services === undefined) return undefined;
          let out: string | undefined;
          for (const s of services) {
            const labels = s.labels;
            if (labels === undefined || !Object.hasOwn(labels, key)) continue;
            out = out === undefined ? labels[key] : `${out}, ${labels[key]}`;
          }
          return out;
        };
      },
    }),
    field({
      name: 'k8s.svc.labels',
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The labels of the services matching the pod as \`k1:v1, k2:v2\`, each service's sorted by key. ${SVC_NOTE}`,
      extract: (e) => {
        const services = e.k8s?.services;
        if (services === undefined || services.length === 0) return undefined;
        let out = '';
        for (const s of services) {
          const text = renderLabels(s.labels);
          if (text === undefined || text === '') continue;
          out = out === '' ? text : `${out}, ${text}`;
        }
        return out;
      },
    }),
  ];
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
    bind: (arg) => keyOf((e) => e.k8s?.pod_labels, arg as string),
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
  ...objectFields('rc', 'replication controller controlling the pod', {
    name: (e) => e.k8s?.rc_name,
    uid: (e) => e.k8s?.rc_uid,
    labels: (e) => e.k8s?.rc_labels,
  }),
  ...serviceFields(),
  ...objectFields('ns', "pod's namespace", { uid: (e) => e.k8s?.ns_uid, labels: (e) => e.k8s?.ns_labels }),
  ...objectFields('rs', 'replica set controlling the pod', {
    name: (e) => e.k8s?.rs_name,
    uid: (e) => e.k8s?.rs_uid,
    labels: (e) => e.k8s?.rs_labels,
  }),
  ...objectFields('deployment', "deployment controlling the pod's replica set", {
    name: (e) => e.k8s?.deployment_name,
    uid: (e) => e.k8s?.deployment_uid,
    labels: (e) => e.k8s?.deployment_labels,
  }),
];
