/**
 * Falco's k8s_audit_rules.yaml, unmodified, against audit events built the
 * way the API server writes them (fixtures/audit-events.ts). Every rule the
 * file can fire out of the box gets an event it must fire on and a near
 * miss it must stay quiet on; the rules the file ships switched off (through
 * an always-true exception macro) get a check that they stay off.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { K8sAuditEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import { type LoadResult, loadRules } from '../src/loader/load.js';
import {
  anonymousRequest,
  auditEvent,
  configMap,
  deployment,
  ingress,
  namespaceEvent,
  nodeCreate,
  podCreate,
  podEphemeralContainers,
  podExec,
  podPortForward,
  role,
  roleBinding,
  secret,
  service,
  serviceAccount,
} from './fixtures/audit-events.js';
import { type RuleCase, checkCases, diagnosticsOf, ruleNamesIn } from './fixtures/default-rules-harness.js';
import { K8S_SCENARIOS } from './fixtures/k8s-scenarios.js';

const app = { name: 'app', image: 'ghcr.io/acme/shop:2.3.1' };

/** Rules the file defines but keeps from ever firing (their exception macro is always true). */
const FALCO_K8S_OFF: readonly string[] = [
  'Create Disallowed Pod',
  'All K8s Audit Events',
  'Full K8s Administrative Access',
  'Untrusted Node Successfully Joined the Cluster',
  'Untrusted Node Unsuccessfully Tried to Join the Cluster',
];

const rawRole = (verb: 'update' | 'patch' | 'delete', name: string, kind: 'Role' | 'ClusterRole') =>
  role({ kind, name, verb, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });

const CASES: readonly RuleCase<K8sAuditEvent>[] = [
  // Who may act at all.
  {
    rule: 'Disallowed K8s User',
    alert: true,
    what: 'a request by user "mallory"',
    event: podCreate({ user: 'mallory' }),
  },
  {
    rule: 'Disallowed K8s User',
    alert: false,
    what: 'a request by kubernetes-admin (allowed)',
    event: podCreate({ user: 'kubernetes-admin' }),
  },
  {
    rule: 'Disallowed K8s User',
    alert: false,
    what: 'a request by a system: service account',
    event: podCreate({ user: 'system:serviceaccount:kube-system:replicaset-controller' }),
  },

  // Pods.
  {
    rule: 'Create Privileged Pod',
    alert: true,
    what: 'a pod with a privileged container',
    event: podCreate({ name: 'debug', containers: [{ ...app, privileged: true }] }),
    output: ['user=kubernetes-admin', 'pod=debug', 'images=(ghcr.io/acme/shop:2.3.1)'],
  },
  {
    rule: 'Create Privileged Pod',
    alert: true,
    what: 'a pod with a privileged init container',
    event: podCreate({ initContainers: [{ name: 'init', image: 'busybox:1.36', privileged: true }] }),
  },
  {
    rule: 'Create Privileged Pod',
    alert: false,
    what: 'an unprivileged pod',
    event: podCreate({ containers: [{ ...app, privileged: false }] }),
  },
  {
    rule: 'Create Privileged Pod',
    alert: false,
    what: 'a privileged kube-proxy (allowed image)',
    event: podCreate({
      containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.30.1', privileged: true }],
    }),
  },
  {
    rule: 'Create Privileged Pod',
    alert: false,
    what: 'the RequestReceived stage of a privileged pod',
    event: podCreate({ containers: [{ ...app, privileged: true }], stage: 'RequestReceived' }),
  },
  {
    rule: 'Create Sensitive Mount Pod',
    alert: true,
    what: 'a pod mounting the Docker socket',
    event: podCreate({ volumes: [{ name: 'sock', hostPath: '/var/run/docker.sock', type: 'Socket' }] }),
    output: ['/var/run/docker.sock'],
  },
  {
    rule: 'Create Sensitive Mount Pod',
    alert: true,
    what: 'a pod mounting /etc/kubernetes',
    event: podCreate({ volumes: [{ name: 'k8s', hostPath: '/etc/kubernetes' }] }),
  },
  {
    rule: 'Create Sensitive Mount Pod',
    alert: false,
    what: 'a pod mounting /var/log (not sensitive)',
    event: podCreate({ volumes: [{ name: 'logs', hostPath: '/var/log' }] }),
  },
  {
    rule: 'Create Sensitive Mount Pod',
    alert: false,
    what: 'Falco itself mounting /proc (allowed image)',
    event: podCreate({
      containers: [{ name: 'falco', image: 'docker.io/falcosecurity/falco:0.38.0' }],
      volumes: [{ name: 'proc', hostPath: '/proc' }],
    }),
  },
  {
    rule: 'Create HostNetwork Pod',
    alert: true,
    what: 'a pod with hostNetwork: true',
    event: podCreate({ hostNetwork: true }),
  },
  {
    rule: 'Create HostNetwork Pod',
    alert: false,
    what: 'a pod with hostNetwork: false',
    event: podCreate({ hostNetwork: false }),
  },
  {
    rule: 'Create HostNetwork Pod',
    alert: false,
    what: 'a hostNetwork pod of an allowed image',
    event: podCreate({
      hostNetwork: true,
      containers: [{ name: 'ip-masq', image: 'registry.k8s.io/ip-masq-agent-amd64:v2.9.3' }],
    }),
  },
  {
    rule: 'Create HostPid Pod',
    alert: true,
    what: 'a pod with hostPID: true',
    event: podCreate({ hostPID: true }),
  },
  { rule: 'Create HostPid Pod', alert: false, what: 'a pod without hostPID', event: podCreate({}) },
  {
    rule: 'Create HostIPC Pod',
    alert: true,
    what: 'a pod with hostIPC: true',
    event: podCreate({ hostIPC: true }),
  },
  {
    rule: 'Create HostIPC Pod',
    alert: false,
    what: 'a pod with hostIPC: false',
    event: podCreate({ hostIPC: false }),
  },
  {
    rule: 'Pod Created in Kube Namespace',
    alert: true,
    what: 'a pod of an arbitrary image in kube-system',
    event: podCreate({ namespace: 'kube-system', containers: [app] }),
  },
  {
    rule: 'Pod Created in Kube Namespace',
    alert: false,
    what: 'the same pod in default',
    event: podCreate({ namespace: 'default', containers: [app] }),
  },
  {
    rule: 'Pod Created in Kube Namespace',
    alert: false,
    what: 'kube-apiserver in kube-system (allowed image)',
    event: podCreate({
      namespace: 'kube-system',
      containers: [{ name: 'kube-apiserver', image: 'registry.k8s.io/kube-apiserver:v1.30.1' }],
    }),
  },

  // Exec, attach, port-forward, debug.
  {
    rule: 'Attach/Exec Pod',
    alert: true,
    what: 'kubectl exec',
    event: podExec({ command: ['sh', '-c', 'id'] }),
    output: ['action=exec', 'command=sh'],
  },
  { rule: 'Attach/Exec Pod', alert: true, what: 'kubectl attach', event: podExec({ subresource: 'attach' }) },
  {
    rule: 'Attach/Exec Pod',
    alert: false,
    what: 'an exec at ResponseComplete (the rule reads the ResponseStarted stage)',
    event: podExec({ stage: 'ResponseComplete' }),
  },
  { rule: 'Attach/Exec Pod', alert: false, what: 'kubectl port-forward', event: podPortForward() },
  { rule: 'port-forward', alert: true, what: 'kubectl port-forward', event: podPortForward() },
  { rule: 'port-forward', alert: false, what: 'kubectl exec', event: podExec() },
  {
    rule: 'EphemeralContainers Created',
    alert: true,
    what: 'kubectl debug (PATCH pods/ephemeralcontainers)',
    event: podEphemeralContainers(),
  },
  {
    rule: 'EphemeralContainers Created',
    alert: true,
    what: 'kubectl debug on Kubernetes 1.16-1.21 (PUT)',
    event: podEphemeralContainers({ shape: 'legacy' }),
  },
  { rule: 'EphemeralContainers Created', alert: false, what: 'a pod create', event: podCreate() },

  // Services, config maps, namespaces, service accounts.
  {
    rule: 'Create NodePort Service',
    alert: true,
    what: 'a NodePort service',
    event: service({ type: 'NodePort' }),
    output: ['service=web', 'ns=default'],
  },
  {
    rule: 'Create NodePort Service',
    alert: false,
    what: 'a ClusterIP service',
    event: service({ type: 'ClusterIP', ports: [{ port: 80 }] }),
  },
  {
    rule: 'Create/Modify Configmap With Private Credentials',
    alert: true,
    what: 'a ConfigMap with a password key',
    event: configMap({ data: { 'db.password': 'hunter2' } }),
    output: ['configmap=app-config', 'verb=create'],
  },
  {
    rule: 'Create/Modify Configmap With Private Credentials',
    alert: true,
    what: 'a ConfigMap updated to hold an AWS access key id',
    event: configMap({ verb: 'update', data: { aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE' } }),
  },
  {
    rule: 'Create/Modify Configmap With Private Credentials',
    alert: false,
    what: 'a ConfigMap of log levels',
    event: configMap({ data: { 'log.level': 'debug' } }),
  },
  {
    rule: 'Create/Modify Configmap With Private Credentials',
    alert: false,
    what: 'a ConfigMap with a password deleted',
    event: configMap({ verb: 'delete', data: { password: 'x' } }),
  },
  {
    rule: 'Create Disallowed Namespace',
    alert: true,
    what: 'namespace team-a',
    event: namespaceEvent({ name: 'team-a' }),
  },
  {
    rule: 'Create Disallowed Namespace',
    alert: false,
    what: 'namespace default',
    event: namespaceEvent({ name: 'default' }),
  },
  {
    rule: 'Service Account Created in Kube Namespace',
    alert: true,
    what: 'a service account in kube-system',
    event: serviceAccount({ namespace: 'kube-system' }),
    output: ['serviceaccount=backup-agent', 'ns=kube-system'],
  },
  {
    rule: 'Service Account Created in Kube Namespace',
    alert: false,
    what: 'a service account in default',
    event: serviceAccount({ namespace: 'default' }),
  },
  {
    rule: 'Service Account Created in Kube Namespace',
    alert: false,
    what: 'a known controller service account in kube-system',
    event: serviceAccount({ namespace: 'kube-system', name: 'replicaset-controller' }),
  },
  {
    rule: 'Service Account Created in Kube Namespace',
    alert: false,
    what: 'a service account create in kube-system that was refused',
    event: serviceAccount({ namespace: 'kube-system', code: 403, user: 'mallory' }),
  },

  // RBAC.
  {
    rule: 'System ClusterRole Modified/Deleted',
    alert: true,
    what: 'system:node ClusterRole patched',
    event: rawRole('patch', 'system:node', 'ClusterRole'),
  },
  {
    rule: 'System ClusterRole Modified/Deleted',
    alert: true,
    what: 'system:aggregate-to-edit ClusterRole deleted',
    event: rawRole('delete', 'system:aggregate-to-edit', 'ClusterRole'),
  },
  {
    rule: 'System ClusterRole Modified/Deleted',
    alert: false,
    what: 'system:coredns updated (allowed)',
    event: rawRole('update', 'system:coredns', 'ClusterRole'),
  },
  {
    rule: 'System ClusterRole Modified/Deleted',
    alert: false,
    what: 'app-reader patched',
    event: rawRole('patch', 'app-reader', 'ClusterRole'),
  },
  {
    rule: 'Attach to cluster-admin Role',
    alert: true,
    what: 'a ClusterRoleBinding to cluster-admin',
    event: roleBinding({ subjects: [{ kind: 'User', name: 'mallory' }] }),
    output: ['mallory'],
  },
  {
    rule: 'Attach to cluster-admin Role',
    alert: false,
    what: 'a ClusterRoleBinding to view',
    event: roleBinding({ roleRef: { kind: 'ClusterRole', name: 'view' } }),
  },
  {
    rule: 'ClusterRole With Wildcard Created',
    alert: true,
    what: 'a ClusterRole with resources ["*"] and verbs ["*"]',
    event: role({ name: 'god-mode', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }),
  },
  {
    rule: 'ClusterRole With Wildcard Created',
    alert: true,
    what: 'a Role with verbs ["*"] on configmaps',
    event: role({ kind: 'Role', rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }] }),
  },
  {
    rule: 'ClusterRole With Wildcard Created',
    alert: false,
    what: 'a ClusterRole listing its verbs',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] }),
  },
  {
    rule: 'ClusterRole With Write Privileges Created',
    alert: true,
    what: 'a ClusterRole that may create and patch deployments',
    event: role({
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'create', 'patch'] }],
    }),
    output: ['role=pod-reader', 'resource=clusterroles'],
  },
  {
    rule: 'ClusterRole With Write Privileges Created',
    alert: false,
    what: 'a read-only ClusterRole',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] }),
  },
  {
    rule: 'ClusterRole With Pod Exec Created',
    alert: true,
    what: 'a ClusterRole granting pods/exec',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get', 'create'] }] }),
  },
  {
    rule: 'ClusterRole With Pod Exec Created',
    alert: false,
    what: 'a ClusterRole granting pods/log',
    event: role({ rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] }] }),
  },

  // Activity: one created/deleted pair per kind.
  { rule: 'K8s Deployment Created', alert: true, what: 'a deployment create', event: deployment() },
  {
    rule: 'K8s Deployment Created',
    alert: false,
    what: 'a deployment create that failed (409)',
    event: deployment({ code: 409 }),
  },
  {
    rule: 'K8s Deployment Deleted',
    alert: true,
    what: 'a deployment delete',
    event: deployment({ verb: 'delete' }),
  },
  {
    rule: 'K8s Deployment Deleted',
    alert: false,
    what: 'a deployment patch',
    event: deployment({ verb: 'patch' }),
  },
  {
    rule: 'K8s Service Created',
    alert: true,
    what: 'a service create',
    event: service({ type: 'ClusterIP' }),
  },
  { rule: 'K8s Service Created', alert: false, what: 'a service delete', event: service({ verb: 'delete' }) },
  { rule: 'K8s Service Deleted', alert: true, what: 'a service delete', event: service({ verb: 'delete' }) },
  {
    rule: 'K8s Service Deleted',
    alert: false,
    what: 'a service delete that was refused',
    event: service({ verb: 'delete', code: 403, user: 'dev' }),
  },
  { rule: 'K8s ConfigMap Created', alert: true, what: 'a configmap create', event: configMap() },
  {
    rule: 'K8s ConfigMap Created',
    alert: false,
    what: 'a configmap update',
    event: configMap({ verb: 'update' }),
  },
  {
    rule: 'K8s ConfigMap Deleted',
    alert: true,
    what: 'a configmap delete',
    event: configMap({ verb: 'delete' }),
  },
  { rule: 'K8s ConfigMap Deleted', alert: false, what: 'a configmap create', event: configMap() },
  { rule: 'K8s Namespace Created', alert: true, what: 'a namespace create', event: namespaceEvent() },
  {
    rule: 'K8s Namespace Created',
    alert: false,
    what: 'a namespace create still at RequestReceived',
    event: namespaceEvent({ stage: 'RequestReceived' }),
  },
  {
    rule: 'K8s Namespace Deleted',
    alert: true,
    what: 'a namespace delete by a person',
    event: namespaceEvent({ verb: 'delete', user: 'alice' }),
  },
  {
    rule: 'K8s Namespace Deleted',
    alert: false,
    what: 'a namespace delete by the namespace controller (system user)',
    event: namespaceEvent({ verb: 'delete', user: 'system:serviceaccount:kube-system:namespace-controller' }),
  },
  {
    rule: 'K8s Serviceaccount Created',
    alert: true,
    what: 'a service account create',
    event: serviceAccount({ namespace: 'default' }),
  },
  {
    rule: 'K8s Serviceaccount Created',
    alert: false,
    what: 'a service account delete',
    event: serviceAccount({ verb: 'delete' }),
  },
  {
    rule: 'K8s Serviceaccount Deleted',
    alert: true,
    what: 'a service account delete',
    event: serviceAccount({ verb: 'delete' }),
  },
  {
    rule: 'K8s Serviceaccount Deleted',
    alert: false,
    what: 'a service account create',
    event: serviceAccount(),
  },
  { rule: 'K8s Role Created', alert: true, what: 'a Role create', event: role({ kind: 'Role' }) },
  {
    rule: 'K8s Role Created',
    alert: false,
    what: 'a ClusterRole create',
    event: role({ kind: 'ClusterRole' }),
  },
  {
    rule: 'K8s Role Deleted',
    alert: true,
    what: 'a Role delete',
    event: role({ kind: 'Role', verb: 'delete' }),
  },
  { rule: 'K8s Role Deleted', alert: false, what: 'a ClusterRole delete', event: role({ verb: 'delete' }) },
  { rule: 'K8s ClusterRole Created', alert: true, what: 'a ClusterRole create', event: role() },
  { rule: 'K8s ClusterRole Created', alert: false, what: 'a Role create', event: role({ kind: 'Role' }) },
  {
    rule: 'K8s ClusterRole Deleted',
    alert: true,
    what: 'a ClusterRole delete',
    event: role({ verb: 'delete' }),
  },
  {
    rule: 'K8s ClusterRole Deleted',
    alert: false,
    what: 'a ClusterRole update',
    event: role({ verb: 'update' }),
  },
  {
    rule: 'K8s RoleBinding Created',
    alert: true,
    what: 'a RoleBinding create',
    event: roleBinding({
      kind: 'RoleBinding',
      namespace: 'default',
      roleRef: { kind: 'Role', name: 'config-editor' },
    }),
  },
  {
    rule: 'K8s RoleBinding Created',
    alert: false,
    what: 'a ClusterRoleBinding create',
    event: roleBinding(),
  },
  {
    rule: 'K8s RoleBinding Deleted',
    alert: true,
    what: 'a RoleBinding delete',
    event: roleBinding({ kind: 'RoleBinding', namespace: 'default', verb: 'delete' }),
  },
  {
    rule: 'K8s RoleBinding Deleted',
    alert: false,
    what: 'a ClusterRoleBinding delete',
    event: roleBinding({ verb: 'delete' }),
  },
  {
    rule: 'K8s ClusterRoleBinding Created',
    alert: true,
    what: 'a ClusterRoleBinding create',
    event: roleBinding(),
  },
  {
    rule: 'K8s ClusterRoleBinding Created',
    alert: false,
    what: 'a ClusterRoleBinding delete',
    event: roleBinding({ verb: 'delete' }),
  },
  {
    rule: 'K8s ClusterRoleBinding Deleted',
    alert: true,
    what: 'a ClusterRoleBinding delete',
    event: roleBinding({ verb: 'delete' }),
  },
  {
    rule: 'K8s ClusterRoleBinding Deleted',
    alert: false,
    what: 'a ClusterRoleBinding create',
    event: roleBinding(),
  },
  {
    rule: 'K8s Secret Created',
    alert: true,
    what: 'a secret create in shop by a person',
    event: secret({ verb: 'create', namespace: 'shop' }),
  },
  {
    rule: 'K8s Secret Created',
    alert: false,
    what: 'a secret create in kube-system',
    event: secret({ verb: 'create', namespace: 'kube-system' }),
  },
  {
    rule: 'K8s Secret Deleted',
    alert: true,
    what: 'a secret delete in shop',
    event: secret({ verb: 'delete', namespace: 'shop' }),
  },
  {
    rule: 'K8s Secret Deleted',
    alert: false,
    what: 'a secret delete by a system user',
    event: secret({ verb: 'delete', namespace: 'shop', user: 'system:serviceaccount:shop:cleaner' }),
  },
  { rule: 'K8s Secret Get Successfully', alert: true, what: 'a secret get', event: secret({ verb: 'get' }) },
  {
    rule: 'K8s Secret Get Successfully',
    alert: false,
    what: 'a secret get refused (403)',
    event: secret({ verb: 'get', code: 403, user: 'dev' }),
  },
  {
    rule: 'K8s Secret Get Unsuccessfully Tried',
    alert: true,
    what: 'a secret get refused (403)',
    event: secret({ verb: 'get', code: 403, user: 'dev' }),
    output: ['resp=403', 'decision=forbid'],
  },
  {
    rule: 'K8s Secret Get Unsuccessfully Tried',
    alert: false,
    what: 'a secret get that succeeded',
    event: secret({ verb: 'get' }),
  },

  // Anonymous access, ingress.
  {
    rule: 'Anonymous Request Allowed',
    alert: true,
    what: 'an anonymous list of secrets, allowed',
    event: anonymousRequest({ allowed: true }),
    output: ['user=system:anonymous', 'verb=list'],
  },
  {
    rule: 'Anonymous Request Allowed',
    alert: false,
    what: 'an anonymous list of secrets, forbidden',
    event: anonymousRequest({ allowed: false }),
  },
  {
    rule: 'Anonymous Request Allowed',
    alert: false,
    what: 'an anonymous /healthz',
    event: anonymousRequest({ uri: '/healthz' }),
  },
  {
    rule: 'Anonymous Request Allowed',
    alert: false,
    what: 'an anonymous /readyz?verbose',
    event: anonymousRequest({ uri: '/readyz?verbose' }),
  },
  {
    rule: 'Ingress Object without TLS Certificate Created',
    alert: true,
    what: 'an ingress without tls',
    event: ingress(),
  },
  {
    rule: 'Ingress Object without TLS Certificate Created',
    alert: false,
    what: 'an ingress with tls hosts',
    event: ingress({ tlsHosts: ['web.example.com'] }),
  },
];

/** Events that would match the switched-off rules if they were on. */
const OFF_EVENTS: readonly K8sAuditEvent[] = [
  podCreate({ containers: [{ name: 'x', image: 'docker.io/evil/miner:latest' }] }),
  auditEvent({
    verb: 'get',
    requestURI: '/api/v1/namespaces/default/pods',
    objectRef: { resource: 'pods', namespace: 'default' },
  }),
  nodeCreate({ name: 'rogue-node' }),
  nodeCreate({ name: 'rogue-node', code: 403 }),
];

describe('Falco k8s_audit_rules.yaml on audit events', () => {
  const path = sharedPath('falco-rules', 'k8s_audit_rules.yaml') ?? '';
  const skip = sharedSkip();
  let content = '';
  let loaded: LoadResult | undefined;
  const ruleset = () => {
    content ||= readFileSync(path, 'utf8');
    loaded ??= loadRules([{ name: path, content }]);
    return loaded.ruleset;
  };

  it('loads without errors', { skip }, () => {
    ruleset();
    assert.equal(loaded?.ok, true, diagnosticsOf(loaded?.results ?? []));
  });

  it('covers at least 30 of its rules, each with a firing case and a near miss', { skip }, () => {
    ruleset();
    const names = ruleNamesIn(content);
    assert.equal(names.length, 48);
    const covered = names.filter(
      (n) => CASES.some((c) => c.rule === n && c.alert) && CASES.some((c) => c.rule === n && !c.alert),
    );
    assert.ok(covered.length >= 30, `${covered.length} rules covered`);
    // Every rule is either covered or one of those the file switches off.
    assert.deepEqual(
      names.filter((n) => !covered.includes(n) && !FALCO_K8S_OFF.includes(n)),
      [],
    );
  });

  it('keeps the rules it ships switched off quiet, even on events they describe', { skip }, () => {
    for (const ev of OFF_EVENTS) {
      const fired = ruleset()
        .evaluate(ev, { ruleMatching: 'all' })
        .map((m) => m.rule.name);
      assert.deepEqual(
        fired.filter((n) => FALCO_K8S_OFF.includes(n)),
        [],
      );
    }
  });

  it('fires on every scenario of the issue', { skip }, () => {
    for (const s of K8S_SCENARIOS) {
      const fired = ruleset().evaluate(s.event, { ruleMatching: 'all' });
      assert.ok(fired.length > 0, `${s.name}: no Falco rule fired`);
    }
  });

  // The cases are this file's own: without the data they are there, skipped.
  const names = skip === false ? ruleNamesIn(readFileSync(path, 'utf8')) : [];
  checkCases(
    CASES,
    names.filter((n) => !FALCO_K8S_OFF.includes(n)),
    ruleset,
    names,
    skip,
  );
});
