import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { K8sAuditEvent } from '@saker/events';
import { repoRoot, sharedPath, sharedSkip } from '@saker/testing';
import { loadRules } from '../src/loader/load.js';
import {
  anonymousRequest,
  auditEvent,
  configMap,
  podCreate,
  podEphemeralContainers,
  podExec,
  role,
  roleBinding,
  secret,
  service,
  serviceAccount,
} from './fixtures/audit-events.js';
import {
  type RuleCase,
  checkCases,
  diagnosticsOf,
  loadRepoRules,
  ruleNamesIn,
  topLevelNames,
  yamlBlocks,
} from './fixtures/default-rules-harness.js';

const { path: RULES_PATH, content, loaded } = loadRepoRules('saker_k8s_audit_rules.yaml');

const PRIVILEGED = 'Privileged pod created';
const HOSTPATH = 'Pod with a sensitive hostPath volume created';
const HOST_NET = 'Pod using the host network created';
const HOST_PID = 'Pod using the host PID namespace created';
const HOST_IPC = 'Pod using the host IPC namespace created';
const EXEC = 'Exec or attach into a pod';
const EPHEMERAL = 'Ephemeral container added to a pod';
const WILDCARD = 'Role granting wildcard access written';
const WRITE = 'Role granting write access written';
const POD_EXEC = 'Role granting pod exec or attach written';
const CLUSTER_ADMIN = 'Binding to cluster-admin written';
const SECRET_READ = 'Secret read by a non-system user';
const CONFIGMAP = 'ConfigMap holding credentials written';
const ANONYMOUS = 'Anonymous request allowed';
const NODEPORT = 'NodePort service written';
const KUBE_SA = 'Service account created in a system namespace';

const app = { name: 'app', image: 'ghcr.io/acme/shop:2.3.1' };

/** A Service changed in place (kubectl patch svc web -p '{"spec":{"type":"NodePort"}}'). */
function servicePatchedTo(type: string): K8sAuditEvent {
  return auditEvent({
    verb: 'patch',
    requestURI: '/api/v1/namespaces/shop/services/web',
    objectRef: { resource: 'services', namespace: 'shop', name: 'web' },
    requestObject: { spec: { type } },
    responseObject: { kind: 'Service', apiVersion: 'v1', metadata: { name: 'web', namespace: 'shop' } },
  });
}

function secretList(user: string): K8sAuditEvent {
  return auditEvent({
    user,
    verb: 'list',
    level: 'Metadata',
    requestURI: '/api/v1/namespaces/shop/secrets?limit=500',
    objectRef: { resource: 'secrets', namespace: 'shop' },
  });
}

const CASES: readonly RuleCase<K8sAuditEvent>[] = [
  // Privileged pods.
  {
    rule: PRIVILEGED,
    alert: true,
    what: 'a pod with a privileged container',
    event: podCreate({ name: 'debug', containers: [{ ...app, privileged: true }] }),
    output: ['kubernetes-admin', 'ghcr.io/acme/shop:2.3.1'],
  },
  {
    rule: PRIVILEGED,
    alert: true,
    what: 'a pod with a privileged init container',
    event: podCreate({ initContainers: [{ name: 'init', image: 'busybox:1.36', privileged: true }] }),
  },
  {
    rule: PRIVILEGED,
    alert: true,
    what: 'a privileged pod created by a ReplicaSet (generateName)',
    event: podCreate({ generateName: 'web-7c9f8d-', containers: [{ ...app, privileged: true }] }),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'a pod with privileged: false',
    event: podCreate({ containers: [{ ...app, privileged: false }] }),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'a privileged kube-proxy pod (known node agent)',
    event: podCreate({
      namespace: 'kube-system',
      containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.30.1', privileged: true }],
    }),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'a privileged pod the API server refused (403)',
    event: podCreate({ containers: [{ ...app, privileged: true }], code: 403, user: 'dev' }),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'the RequestReceived stage of a privileged pod',
    event: podCreate({ containers: [{ ...app, privileged: true }], stage: 'RequestReceived' }),
  },

  // hostPath volumes.
  {
    rule: HOSTPATH,
    alert: true,
    what: 'a pod mounting the containerd socket',
    event: podCreate({
      volumes: [{ name: 'sock', hostPath: '/run/containerd/containerd.sock', type: 'Socket' }],
    }),
    output: ['/run/containerd/containerd.sock'],
  },
  {
    rule: HOSTPATH,
    alert: true,
    what: "a pod mounting the node's /",
    event: podCreate({
      volumes: [
        { name: 'host', hostPath: '/' },
        { name: 'tmp', emptyDir: true },
      ],
    }),
  },
  {
    rule: HOSTPATH,
    alert: true,
    what: 'a pod mounting /etc/kubernetes',
    event: podCreate({ volumes: [{ name: 'k8s', hostPath: '/etc/kubernetes', type: 'Directory' }] }),
  },
  {
    rule: HOSTPATH,
    alert: false,
    what: 'a pod mounting /var/log (a log shipper)',
    event: podCreate({ volumes: [{ name: 'logs', hostPath: '/var/log' }] }),
  },
  {
    rule: HOSTPATH,
    alert: false,
    what: 'a pod with only emptyDir and configMap volumes',
    event: podCreate({
      volumes: [
        { name: 'tmp', emptyDir: true },
        { name: 'cfg', configMap: 'app-config' },
      ],
    }),
  },
  {
    rule: HOSTPATH,
    alert: false,
    what: 'node-exporter mounting /proc and /sys',
    event: podCreate({
      containers: [{ name: 'node-exporter', image: 'quay.io/prometheus/node-exporter:v1.8.0' }],
      volumes: [
        { name: 'proc', hostPath: '/proc' },
        { name: 'sys', hostPath: '/sys' },
      ],
    }),
  },

  // Host namespaces.
  {
    rule: HOST_NET,
    alert: true,
    what: 'a pod with hostNetwork: true',
    event: podCreate({ hostNetwork: true }),
  },
  {
    rule: HOST_NET,
    alert: false,
    what: 'a pod with hostNetwork: false',
    event: podCreate({ hostNetwork: false }),
  },
  {
    rule: HOST_NET,
    alert: false,
    what: 'a cilium pod on the host network',
    event: podCreate({
      hostNetwork: true,
      containers: [{ name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.15.5' }],
    }),
  },
  {
    rule: HOST_PID,
    alert: true,
    what: 'a pod with hostPID: true',
    event: podCreate({ hostPID: true }),
  },
  {
    rule: HOST_PID,
    alert: false,
    what: 'a pod with hostNetwork but not hostPID',
    event: podCreate({ hostNetwork: true }),
  },
  {
    rule: HOST_IPC,
    alert: true,
    what: 'a pod with hostIPC: true',
    event: podCreate({ hostIPC: true }),
  },
  {
    rule: HOST_IPC,
    alert: false,
    what: 'a pod with hostIPC: false',
    event: podCreate({ hostIPC: false }),
  },

  // Exec, attach, debug.
  {
    rule: EXEC,
    alert: true,
    what: 'kubectl exec -it web -- sh',
    event: podExec({ pod: 'web', namespace: 'shop', command: ['sh'], tty: true }),
    output: ['web', 'exec', 'sh'],
  },
  {
    rule: EXEC,
    alert: true,
    what: 'kubectl ≥ 1.30 exec over websocket (verb get)',
    event: podExec({ verb: 'get', command: ['cat', '/etc/passwd'] }),
  },
  {
    rule: EXEC,
    alert: true,
    what: 'kubectl attach',
    event: podExec({ subresource: 'attach' }),
  },
  {
    rule: EXEC,
    alert: false,
    what: 'the ResponseComplete of the same exec (reported once, at the start)',
    event: podExec({ stage: 'ResponseComplete', code: 200 }),
  },
  {
    rule: EXEC,
    alert: false,
    what: 'a plain pod get',
    event: auditEvent({
      verb: 'get',
      stage: 'ResponseStarted',
      requestURI: '/api/v1/namespaces/default/pods/nginx',
      objectRef: { resource: 'pods', namespace: 'default', name: 'nginx' },
    }),
  },
  {
    rule: EPHEMERAL,
    alert: true,
    what: 'kubectl debug adding an ephemeral container',
    event: podEphemeralContainers({ pod: 'web', namespace: 'shop' }),
    output: ['web'],
  },
  {
    rule: EPHEMERAL,
    alert: false,
    what: 'an ephemeral container the API server refused',
    event: podEphemeralContainers({ code: 403, user: 'dev' }),
  },

  // RBAC.
  {
    rule: WILDCARD,
    alert: true,
    what: 'a ClusterRole with verbs ["*"]',
    event: role({ name: 'ops', rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] }),
    output: ['ops'],
  },
  {
    rule: WILDCARD,
    alert: true,
    what: 'a Role with resources ["*"] changed by update',
    event: role({
      kind: 'Role',
      verb: 'update',
      rules: [{ apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }],
    }),
  },
  {
    rule: WILDCARD,
    alert: false,
    what: 'a read-only ClusterRole',
    event: role(),
  },
  {
    rule: WILDCARD,
    alert: false,
    what: 'the API server reconciling cluster-admin at start',
    event: role({
      name: 'cluster-admin',
      verb: 'update',
      user: 'system:apiserver',
      groups: ['system:masters'],
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    }),
  },
  {
    rule: WRITE,
    alert: true,
    what: 'a Role that can create and delete deployments',
    event: role({
      kind: 'Role',
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'create', 'delete'] }],
    }),
  },
  {
    rule: WRITE,
    alert: false,
    what: 'a Role that can only get, list and watch',
    event: role({ kind: 'Role' }),
  },
  {
    rule: WRITE,
    alert: false,
    what: 'deleting a Role with write verbs',
    event: role({ kind: 'Role', verb: 'delete', rules: [{ resources: ['pods'], verbs: ['delete'] }] }),
  },
  {
    rule: POD_EXEC,
    alert: true,
    what: 'a ClusterRole granting pods/exec',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get', 'create'] }] }),
  },
  {
    rule: POD_EXEC,
    alert: true,
    what: 'a Role granting pods/attach',
    event: role({
      kind: 'Role',
      rules: [{ apiGroups: [''], resources: ['pods/attach'], verbs: ['create'] }],
    }),
  },
  {
    rule: POD_EXEC,
    alert: false,
    what: 'a ClusterRole granting pods/log',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] }] }),
  },
  {
    rule: CLUSTER_ADMIN,
    alert: true,
    what: 'a ClusterRoleBinding of alice to cluster-admin',
    event: roleBinding(),
    output: ['alice'],
  },
  {
    rule: CLUSTER_ADMIN,
    alert: true,
    what: 'a RoleBinding of a service account to cluster-admin',
    event: roleBinding({
      kind: 'RoleBinding',
      namespace: 'shop',
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'shop' }],
    }),
  },
  {
    rule: CLUSTER_ADMIN,
    alert: false,
    what: 'a ClusterRoleBinding to view',
    event: roleBinding({ roleRef: { kind: 'ClusterRole', name: 'view' } }),
  },
  {
    rule: CLUSTER_ADMIN,
    alert: false,
    what: 'deleting a cluster-admin binding',
    event: roleBinding({ verb: 'delete' }),
  },

  // Secrets and credentials.
  {
    rule: SECRET_READ,
    alert: true,
    what: 'kubernetes-admin getting a secret',
    event: secret({ namespace: 'shop', name: 'db-credentials' }),
    output: ['db-credentials', 'kubernetes-admin'],
  },
  {
    rule: SECRET_READ,
    alert: true,
    what: 'an OIDC user listing secrets',
    event: secretList('oidc:alice@example.com'),
  },
  {
    rule: SECRET_READ,
    alert: false,
    what: 'a service account reading a secret',
    event: secret({ user: 'system:serviceaccount:shop:api', groups: ['system:serviceaccounts'] }),
  },
  {
    rule: SECRET_READ,
    alert: false,
    what: 'a get of a secret that was forbidden',
    event: secret({ user: 'dev', code: 403 }),
  },
  {
    rule: SECRET_READ,
    alert: false,
    what: 'creating a secret (not a read)',
    event: secret({ verb: 'create' }),
  },
  {
    rule: CONFIGMAP,
    alert: true,
    what: 'a ConfigMap with aws_access_key_id',
    event: configMap({
      name: 'backup',
      data: { aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', region: 'eu-west-1' },
    }),
    output: ['backup'],
  },
  {
    rule: CONFIGMAP,
    alert: true,
    what: 'a ConfigMap patched with DB_PASSWORD',
    event: configMap({ verb: 'patch', data: { DB_PASSWORD: 'hunter2' } }),
  },
  {
    rule: CONFIGMAP,
    alert: true,
    what: 'a ConfigMap holding a PEM private key',
    event: configMap({
      data: { 'tls.key': '-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n' },
    }),
  },
  {
    rule: CONFIGMAP,
    alert: false,
    what: 'a ConfigMap with ordinary settings',
    event: configMap({ data: { 'log.level': 'debug', 'cache.size': '512Mi' } }),
  },
  {
    rule: CONFIGMAP,
    alert: false,
    what: 'deleting a ConfigMap',
    event: configMap({ verb: 'delete', data: { password: 'x' } }),
  },

  // Access and exposure.
  {
    rule: ANONYMOUS,
    alert: true,
    what: 'system:anonymous allowed to list secrets in kube-system',
    event: anonymousRequest(),
    output: ['/api/v1/namespaces/kube-system/secrets'],
  },
  {
    rule: ANONYMOUS,
    alert: false,
    what: 'system:anonymous allowed to read /healthz',
    event: anonymousRequest({ uri: '/healthz' }),
  },
  {
    rule: ANONYMOUS,
    alert: false,
    what: 'system:anonymous allowed to read /readyz?verbose',
    event: anonymousRequest({ uri: '/readyz?verbose' }),
  },
  {
    rule: ANONYMOUS,
    alert: false,
    what: 'system:anonymous denied',
    event: anonymousRequest({ allowed: false }),
  },
  {
    rule: NODEPORT,
    alert: true,
    what: 'a NodePort service created',
    event: service({ namespace: 'shop' }),
    output: ['web'],
  },
  {
    rule: NODEPORT,
    alert: true,
    what: 'a service patched to NodePort',
    event: servicePatchedTo('NodePort'),
  },
  {
    rule: NODEPORT,
    alert: false,
    what: 'a ClusterIP service created',
    event: service({ type: 'ClusterIP', ports: [{ port: 80, targetPort: 8080 }] }),
  },
  {
    rule: NODEPORT,
    alert: false,
    what: 'a service patched to LoadBalancer',
    event: servicePatchedTo('LoadBalancer'),
  },
  {
    rule: KUBE_SA,
    alert: true,
    what: 'a service account created in kube-system',
    event: serviceAccount(),
    output: ['backup-agent', 'kube-system'],
  },
  {
    rule: KUBE_SA,
    alert: true,
    what: 'a service account created in kube-node-lease',
    event: serviceAccount({ namespace: 'kube-node-lease', name: 'lease-helper' }),
  },
  {
    rule: KUBE_SA,
    alert: false,
    what: 'a service account created in an application namespace',
    event: serviceAccount({ namespace: 'shop' }),
  },
  {
    rule: KUBE_SA,
    alert: false,
    what: "the controller manager's own replicaset-controller account",
    event: serviceAccount({ name: 'replicaset-controller', user: 'system:kube-controller-manager' }),
  },
  {
    rule: KUBE_SA,
    alert: false,
    what: 'a service account create in kube-system that was forbidden',
    event: serviceAccount({ user: 'dev', code: 403 }),
  },
];

describe('rules/saker_k8s_audit_rules.yaml', () => {
  it('loads with no errors and no warnings', () => {
    assert.equal(loaded.ok, true, diagnosticsOf(loaded.results));
    assert.deepEqual(diagnosticsOf(loaded.results), '');
  });

  it('names its lists and macros with the saker_k8s prefix and declares source k8s_audit on every rule', () => {
    const names = topLevelNames(content);
    for (const n of [...names.lists, ...names.macros]) assert.match(n, /^saker_k/, n);
    const sources = [...content.matchAll(/^- rule: .*$|^ {2}source: .*$/gm)].map((m) => m[0]);
    const rules = sources.filter((s) => s.startsWith('- rule:')).length;
    assert.equal(sources.filter((s) => s.trim() === 'source: k8s_audit').length, rules);
  });

  checkCases(CASES, ruleNamesIn(content), () => loaded.ruleset);
});

describe('rules/saker_k8s_audit_rules.yaml beside Falco', () => {
  const falcoPath = sharedPath('falco-rules', 'k8s_audit_rules.yaml');

  it('shares no list, macro or rule name with Falco k8s_audit_rules.yaml', { skip: sharedSkip() }, () => {
    const falco = topLevelNames(readFileSync(falcoPath ?? '', 'utf8'));
    const ours = topLevelNames(content);
    for (const kind of ['lists', 'macros', 'rules'] as const) {
      const clash = ours[kind].filter((n) => falco[kind].includes(n));
      assert.deepEqual(clash, [], `${kind} defined by both files`);
    }
  });

  it(
    'loads after Falco k8s_audit_rules.yaml without errors or warnings of its own',
    { skip: sharedSkip() },
    () => {
      const falcoFile = { name: falcoPath ?? '', content: readFileSync(falcoPath ?? '', 'utf8') };
      const both = loadRules([falcoFile, { name: RULES_PATH, content }]);
      const ours = both.results.find((r) => r.name === RULES_PATH);
      assert.ok(ours, 'a load result for saker_k8s_audit_rules.yaml');
      assert.equal(diagnosticsOf([ours]), '');
    },
  );
});

describe('the tuning examples of rules/README.md, on top of saker_k8s_audit_rules.yaml', () => {
  const readme = readFileSync(join(repoRoot(), 'rules', 'README.md'), 'utf8');
  const ours = ruleNamesIn(content);
  const isK8s = (b: string) => b.includes('saker_k8s') || ours.some((r) => b.includes(`- rule: ${r}`));
  const blocks = yamlBlocks(readme, '## Tuning').filter(isK8s);
  const local = { name: 'rules.d/local-k8s.yaml', content: blocks.join('\n\n') };
  const tuned = loadRules([{ name: RULES_PATH, content }, local]);
  const agent = { name: 'agent', image: 'registry.example.com/platform/node-agent:3.1', privileged: true };

  it('load without errors or warnings', () => {
    assert.equal(blocks.length, 2, 'the README still has two k8s tuning examples');
    assert.equal(diagnosticsOf(tuned.results), '');
  });

  checkCases(
    [
      {
        rule: PRIVILEGED,
        alert: false,
        what: 'a privileged pod of the appended node agent image',
        event: podCreate({ containers: [agent] }),
      },
      {
        rule: PRIVILEGED,
        alert: true,
        what: 'a privileged pod of any other image',
        event: podCreate({ containers: [{ ...app, privileged: true }] }),
      },
      {
        rule: WRITE,
        alert: false,
        what: 'a Role with write verbs (the rule is disabled)',
        event: role({ kind: 'Role', rules: [{ resources: ['pods'], verbs: ['delete'] }] }),
      },
      {
        rule: WILDCARD,
        alert: true,
        what: 'a wildcard Role (other rules stay enabled)',
        event: role({ kind: 'Role', rules: [{ resources: ['*'], verbs: ['delete'] }] }),
      },
    ],
    [PRIVILEGED],
    () => tuned.ruleset,
    ours,
  );
});
