import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { K8sAuditEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import { k8sAuditFields } from '../src/fields/k8s-audit/mod.js';
import type { FieldValue } from '../src/fields/types.js';
import { FieldArgumentError } from '../src/fields/types.js';
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
  withEvent,
} from './fixtures/audit-events.js';

/** Splits `name[arg]` as the condition parser does, resolves it and binds it. */
function bind(field: string): (ev: K8sAuditEvent) => FieldValue {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(field);
  assert.ok(m, `bad field syntax ${field}`);
  const name = m[1] as string;
  const arg = m[2];
  const found = k8sAuditFields.lookup(name, arg);
  assert.ok(found, `${field} is not a k8s_audit field`);
  return found.def.bind(found.arg);
}

function x(ev: K8sAuditEvent, field: string): FieldValue {
  return bind(field)(ev);
}

/** Checks many fields of one event at once; `undefined` means the field must be missing (<NA>). */
function expectFields(ev: K8sAuditEvent, want: Record<string, FieldValue>): void {
  for (const [field, value] of Object.entries(want)) {
    assert.deepEqual(x(ev, field), value, field);
  }
}

/** Falco's `intersects` on a list field, as the compiler will do it. */
function intersects(value: FieldValue, set: readonly string[]): boolean {
  if (value === undefined) return false;
  const vals = Array.isArray(value) ? value : [value];
  return vals.some((v) => set.includes(String(v)));
}

const TIME = '2024-05-14T09:30:12.345678Z';
const TS = '1715679012345678000';

describe('k8s_audit field registry', () => {
  it(
    'has every ka.*/jevt.* field of the k8saudit plugin README, with the same argument forms',
    {
      skip: sharedSkip(),
    },
    () => {
      const readme = readFileSync(sharedPath('reference', 'k8saudit-plugin-README.md') as string, 'utf8');
      const rows = [
        ...readme.matchAll(/^\|\s*`((?:ka|jevt)\.[^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|/gm),
      ];
      assert.ok(rows.length >= 90, `expected the README field table, found ${rows.length} rows`);
      for (const [, name, type, arg] of rows) {
        const def = k8sAuditFields.get(name as string);
        assert.ok(def, `missing field ${name}`);
        assert.equal(def.kind, 'string', `${name} kind`);
        assert.equal(def.isList, (type as string).includes('list'), `${name} isList`);
        if (arg === 'None') assert.equal(def.arg, undefined, `${name} takes no argument`);
        else if (arg === 'Index')
          assert.deepEqual(def.arg, { required: false, kind: 'index' }, `${name} arg`);
        else if (arg === 'Key, Required')
          assert.deepEqual(def.arg, { required: true, kind: 'key' }, `${name} arg`);
        else assert.fail(`unexpected argument form ${arg} for ${name}`);
        assert.ok(def.description.length > 10, `${name} has a description`);
      }
    },
  );

  it(
    'resolves and binds every ka.*/jevt.* field used by k8s_audit_rules.yaml',
    { skip: sharedSkip() },
    () => {
      const text = readFileSync(sharedPath('falco-rules', 'k8s_audit_rules.yaml') as string, 'utf8');
      // Upper case too: ka.req.pod.initContainers.* and ka.req.pod.ephemeralContainers.*.
      const used = new Set(
        [...text.matchAll(/\b(?:ka|jevt)\.[A-Za-z0-9_.]+(?:\[[^\]]*\])?/g)].map((m) => m[0]),
      );
      assert.ok(used.size >= 35, `found only ${used.size} fields`);
      const events = [
        podCreate({ containers: [{ name: 'c', image: 'nginx', privileged: true }] }),
        podExec(),
        role(),
      ];
      for (const field of used) {
        const extract = bind(field);
        for (const ev of events) extract(ev); // never throws
      }
      assert.ok(used.has('ka.req.pod.ephemeralContainers.privileged'));
      assert.ok(used.has('ka.uri.param[command]'));
    },
  );

  it('rejects bad arguments at bind time', () => {
    const bad: [string, string | undefined][] = [
      ['ka.verb', '0'],
      ['ka.user.name', 'x'],
      ['ka.uri.param', undefined],
      ['ka.req.binding.subject.has_name', undefined],
      ['ka.req.volume.hostpath', undefined],
      ['ka.req.volume.hostpath', ''],
      ['ka.req.pod.containers.image', '01'],
      ['ka.req.pod.containers.image', '-1'],
      ['ka.req.pod.containers.image', 'nginx'],
      ['ka.req.pod.containers.image', ''],
      ['ka.req.role.rules.verbs', '1.5'],
      ['ka.sourceips', 'a'],
      ['jevt.value', undefined],
      ['jevt.obj', '/x'],
      ['jevt.rawtime', '0'],
    ];
    for (const [name, arg] of bad) {
      const def = k8sAuditFields.get(name);
      assert.ok(def, name);
      assert.throws(() => def.bind(arg), FieldArgumentError, `${name}[${arg}] should be rejected`);
    }
  });

  it('does not take dotted arguments or unknown names', () => {
    assert.equal(k8sAuditFields.lookup('ka.uri.param.command'), undefined);
    assert.equal(k8sAuditFields.lookup('ka.req.pod.ephemeral'), undefined);
    assert.equal(k8sAuditFields.lookup('jevt.value./stage'), undefined);
    assert.ok(k8sAuditFields.hasClass('ka'));
    assert.ok(k8sAuditFields.hasClass('jevt'));
  });
});

describe('request fields', () => {
  it('reads who, what and the outcome of a privileged pod create', () => {
    const ev = podCreate({
      name: 'web-1',
      namespace: 'prod',
      auditID: '4b1f5b39-5e57-4f0c-8b7e-2c8f1d0a9e61',
      time: TIME,
      user: 'alice',
      groups: ['devs', 'system:authenticated'],
      sourceIPs: ['10.1.2.3', '192.168.0.9'],
      annotations: { cluster_name: 'eu-prod-1' },
      containers: [{ name: 'app', image: 'nginx:1.25.4', privileged: true }],
    });
    expectFields(ev, {
      'ka.auditid': '4b1f5b39-5e57-4f0c-8b7e-2c8f1d0a9e61',
      'ka.stage': 'ResponseComplete',
      'ka.user.name': 'alice',
      'ka.user.groups': ['devs', 'system:authenticated'],
      'ka.impuser.name': undefined,
      'ka.verb': 'create',
      'ka.uri': '/api/v1/namespaces/prod/pods?fieldManager=kubectl-run',
      'ka.uri.param[fieldManager]': 'kubectl-run',
      'ka.uri.param[command]': undefined,
      'ka.target.name': 'web-1',
      'ka.target.namespace': 'prod',
      'ka.target.resource': 'pods',
      'ka.target.subresource': undefined,
      'ka.target.pod.name': 'web-1',
      'ka.resp.name': 'web-1',
      'ka.response.code': '201',
      'ka.response.reason': undefined,
      'ka.auth.decision': 'allow',
      'ka.auth.reason':
        'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
      'ka.auth.openshift.decision': undefined,
      'ka.auth.openshift.username': undefined,
      'ka.validations.admission.policy.failure': undefined,
      'ka.security.pod.violations': undefined,
      'ka.useragent': 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
      'ka.sourceips': ['10.1.2.3', '192.168.0.9'],
      'ka.sourceips[1]': ['192.168.0.9'],
      'ka.sourceips[2]': undefined,
      'ka.cluster.name': 'eu-prod-1',
      'jevt.rawtime': TS,
      'jevt.time': '09:30:12.345678000',
      'jevt.time.iso8601': '2024-05-14T09:30:12.345678000+0000',
      'jevt.value[/stage]': 'ResponseComplete',
      'json.value[/verb]': 'create',
      'json.rawtime': TS,
    });
  });

  it('reads impersonation and the annotations of admission plugins', () => {
    const ev = auditEvent({
      verb: 'get',
      requestURI: '/api/v1/namespaces/default/pods/nginx',
      objectRef: { resource: 'pods', namespace: 'default', name: 'nginx' },
      impersonatedUser: 'bob',
      annotations: {
        'pod-security.kubernetes.io/audit-violations': 'would violate PodSecurity "restricted:latest"',
        'validation.policy.admission.k8s.io/validation_failure': '[{"message":"no"}]',
        'authentication.openshift.io/decision': 'allow',
        'authentication.openshift.io/username': 'kube:admin',
      },
    });
    expectFields(ev, {
      'ka.impuser.name': 'bob',
      'ka.security.pod.violations': 'would violate PodSecurity "restricted:latest"',
      'ka.validations.admission.policy.failure': '[{"message":"no"}]',
      'ka.auth.openshift.decision': 'allow',
      'ka.auth.openshift.username': 'kube:admin',
      'ka.response.code': '200',
      // The pod name comes from the response object, which a get without one does not have.
      'ka.target.pod.name': undefined,
    });
  });

  it('decodes query parameters like Go, first value wins, broken queries give nothing', () => {
    const withUri = (uri: string) => auditEvent({ verb: 'get', requestURI: uri });
    expectFields(withUri('/x?a=1&a=2&b=hello+world&c=%2Fetc%2Fpasswd&d&e='), {
      'ka.uri.param[a]': '1',
      'ka.uri.param[b]': 'hello world',
      'ka.uri.param[c]': '/etc/passwd',
      'ka.uri.param[d]': '',
      'ka.uri.param[e]': '',
      'ka.uri.param[f]': undefined,
    });
    expectFields(withUri('/x?a=1;b=2'), { 'ka.uri.param[a]': undefined });
    expectFields(withUri('/x?a=%zz&b=2'), { 'ka.uri.param[b]': undefined });
    expectFields(withUri('/x?a=1#b=2'), { 'ka.uri.param[b]': undefined, 'ka.uri.param[a]': '1' });
    expectFields(withUri('/healthz'), { 'ka.uri.param[a]': undefined });
  });

  it('reports an anonymous request that was allowed', () => {
    const ev = anonymousRequest({ uri: '/api/v1/namespaces/kube-system/secrets' });
    expectFields(ev, {
      'ka.user.name': 'system:anonymous',
      'ka.user.groups': ['system:unauthenticated'],
      'ka.auth.decision': 'allow',
      'ka.auth.reason':
        'RBAC: allowed by ClusterRoleBinding "anonymous-read" of ClusterRole "view" to User "system:anonymous"',
      'ka.verb': 'list',
      'ka.target.resource': 'secrets',
      'ka.target.namespace': 'kube-system',
      'ka.target.name': undefined,
      'ka.response.code': '200',
      'ka.useragent': 'curl/8.5.0',
      'ka.sourceips': ['203.0.113.44'],
      'jevt.value[/requestObject]': undefined,
    });
  });

  it('reports an anonymous request that was forbidden, and health checks without objectRef', () => {
    const ev = anonymousRequest({
      uri: '/api/v1/namespaces/default/pods/nginx',
      verb: 'get',
      allowed: false,
    });
    expectFields(ev, {
      'ka.auth.decision': 'forbid',
      'ka.auth.reason': '',
      'ka.response.code': '403',
      'ka.response.reason': 'Forbidden',
      'ka.target.name': 'nginx',
      'jevt.value[/responseStatus/status]': 'Failure',
    });
    const health = anonymousRequest({ uri: '/readyz?verbose' });
    expectFields(health, {
      'ka.uri': '/readyz?verbose',
      'ka.target.resource': undefined,
      'ka.auth.decision': 'allow',
      'ka.verb': 'get',
    });
  });

  it('follows the stage of a request', () => {
    const received = podCreate({ stage: 'RequestReceived' });
    expectFields(received, {
      'ka.stage': 'RequestReceived',
      'ka.response.code': undefined,
      'ka.resp.name': undefined,
      'ka.req.pod.containers.image': ['nginx:1.25.4'],
    });
    const metadataOnly = podCreate({ level: 'Metadata' });
    expectFields(metadataOnly, { 'ka.req.pod.containers.image': undefined, 'ka.response.code': '201' });
  });
});

describe('pod fields', () => {
  const pod = podCreate({
    name: 'toolbox',
    namespace: 'kube-system',
    hostNetwork: true,
    hostPID: true,
    hostIPC: false,
    runAsUser: 1000,
    runAsGroup: 3000,
    fsGroup: 2000,
    supplementalGroups: [4000, 5000],
    volumes: [
      { name: 'proc', hostPath: '/proc' },
      { name: 'sock', hostPath: '/var/run/docker.sock', type: 'Socket' },
      { name: 'cfg', configMap: 'toolbox-config' },
      { name: 'scratch', emptyDir: true },
      { name: 'nfs', flexVolumeDriver: 'example.com/nfs' },
    ],
    initContainers: [
      {
        name: 'setup',
        image: 'busybox:1.36',
        command: ['sh', '-c'],
        args: ['chmod 700 /data'],
        privileged: true,
      },
    ],
    containers: [
      {
        name: 'app',
        image: 'registry.example.com/team/app:2.1@sha256:0123abcd',
        command: ['/app'],
        args: ['--port', '8080'],
        ports: [{ containerPort: 8080 }, { containerPort: 9090, hostPort: 19090 }],
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsUser: 1001,
        procMount: 'Default',
        addCapabilities: ['NET_ADMIN', 'SYS_TIME'],
      },
      { name: 'sidecar', image: 'falcosecurity/falco:0.38.0', privileged: true, runAsGroup: 42 },
      { name: 'plain', image: 'nginx' },
    ],
  });

  it('lists per-container values, skipping containers that do not set them', () => {
    expectFields(pod, {
      'ka.req.pod.containers.name': ['app', 'sidecar', 'plain'],
      'ka.req.pod.containers.name[2]': ['plain'],
      'ka.req.pod.containers.name[3]': undefined,
      'ka.req.pod.containers.image': [
        'registry.example.com/team/app:2.1@sha256:0123abcd',
        'falcosecurity/falco:0.38.0',
        'nginx',
      ],
      'ka.req.pod.containers.image[1]': ['falcosecurity/falco:0.38.0'],
      'ka.req.pod.containers.image.repository': [
        'registry.example.com/team/app',
        'falcosecurity/falco',
        'nginx',
      ],
      'ka.req.pod.containers.command': ['/app'],
      'ka.req.pod.containers.args': ['--port 8080'],
      'ka.req.pod.containers.args[1]': undefined,
      'ka.req.pod.containers.privileged': ['false', 'true'],
      'ka.req.pod.containers.privileged[0]': ['false'],
      'ka.req.pod.containers.privileged[2]': undefined,
      'ka.req.pod.containers.allow_privilege_escalation': ['false'],
      'ka.req.pod.containers.read_only_fs': ['true'],
      'ka.req.pod.containers.run_as_user': ['1001'],
      'ka.req.pod.containers.run_as_group': ['42'],
      'ka.req.pod.containers.eff_run_as_user': ['1001', '1000', '1000'],
      'ka.req.pod.containers.eff_run_as_group': ['3000', '42', '3000'],
      'ka.req.pod.containers.eff_run_as_user[1]': ['1000'],
      'ka.req.pod.containers.proc_mount': ['Default'],
      'ka.req.pod.containers.add_capabilities': ['["NET_ADMIN","SYS_TIME"]'],
      'ka.req.pod.containers.host_port': ['8080', '19090'],
      'ka.req.container.image': 'registry.example.com/team/app:2.1@sha256:0123abcd',
      'ka.req.container.image.repository': 'registry.example.com/team/app',
      'ka.req.container.privileged': 'true',
    });
  });

  it('keeps init and ephemeral containers apart from the regular ones', () => {
    expectFields(pod, {
      'ka.req.pod.initContainers.name': ['setup'],
      'ka.req.pod.initContainers.image': ['busybox:1.36'],
      'ka.req.pod.initContainers.image.repository': ['busybox'],
      'ka.req.pod.initContainers.command': ['sh -c'],
      'ka.req.pod.initContainers.args': ['chmod 700 /data'],
      'ka.req.pod.initContainers.privileged': ['true'],
      'ka.req.pod.initContainers.host_port': undefined,
      'ka.req.pod.initContainers.eff_run_as_user': ['1000'],
      'ka.req.pod.ephemeralContainers.name': undefined,
      'ka.req.pod.ephemeralContainers.privileged': undefined,
      'ka.req.pod.ephemeralContainers.eff_run_as_user': undefined,
    });
    assert.equal(k8sAuditFields.get('ka.req.pod.ephemeralContainers.host_port'), undefined);
  });

  it('reads pod-level flags, security context and volumes as text', () => {
    expectFields(pod, {
      'ka.req.pod.host_network': 'true',
      'ka.req.container.host_network': 'true',
      'ka.req.pod.host_pid': 'true',
      'ka.req.pod.host_ipc': 'false',
      'ka.req.pod.run_as_user': '1000',
      'ka.req.pod.run_as_group': '3000',
      'ka.req.pod.fs_group': '2000',
      'ka.req.pod.supplemental_groups': ['4000', '5000'],
      'ka.req.pod.volumes.hostpath': ['/proc', '/var/run/docker.sock'],
      'ka.req.pod.volumes.hostpath[1]': ['/var/run/docker.sock'],
      'ka.req.pod.volumes.hostpath[2]': undefined,
      'ka.req.pod.volumes.flexvolume_driver': ['example.com/nfs'],
      'ka.req.pod.volumes.volume_type': ['hostPath', 'hostPath', 'configMap', 'emptyDir', 'flexVolume'],
      'ka.req.pod.volumes.volume_type[2]': ['configMap'],
      'ka.req.volume.hostpath[/proc]': 'true',
      'ka.req.volume.hostpath[/var/run/*]': 'true',
      'ka.req.volume.hostpath[/var/run]': 'false',
      'ka.req.volume.hostpath[/etc*]': 'false',
    });
  });

  it('leaves the pod fields missing on a plain pod', () => {
    const plain = podCreate();
    expectFields(plain, {
      'ka.req.pod.containers.image': ['nginx:1.25.4'],
      'ka.req.pod.containers.image.repository': ['nginx'],
      'ka.req.pod.containers.privileged': undefined,
      'ka.req.pod.containers.add_capabilities': undefined,
      'ka.req.pod.containers.host_port': undefined,
      'ka.req.pod.containers.command': undefined,
      'ka.req.pod.containers.eff_run_as_user': ['0'],
      'ka.req.pod.initContainers.image': undefined,
      'ka.req.container.privileged': 'false',
      'ka.req.pod.host_network': undefined,
      'ka.req.pod.host_pid': undefined,
      'ka.req.pod.host_ipc': undefined,
      'ka.req.pod.run_as_user': undefined,
      'ka.req.pod.supplemental_groups': undefined,
      'ka.req.pod.volumes.hostpath': undefined,
      'ka.req.pod.volumes.volume_type': undefined,
      'ka.req.volume.hostpath[/proc]': undefined,
    });
  });

  it('voids name and image lists when a container lacks them', () => {
    const broken = withEvent(pod, {
      requestObject: { spec: { containers: [{ name: 'a', image: 'x:1' }, { name: 'b' }] } },
    });
    expectFields(broken, {
      'ka.req.pod.containers.image': undefined,
      'ka.req.pod.containers.image[0]': ['x:1'],
      'ka.req.pod.containers.name': ['a', 'b'],
      'ka.req.container.image': 'x:1',
    });
  });

  it('makes the privileged, host namespace and sensitive mount rules work as written', () => {
    const sensitive = ['/proc', '/var/run/docker.sock', '/', '/etc', '/root', '/var/lib/kubelet'];
    assert.ok(intersects(x(pod, 'ka.req.pod.containers.privileged'), ['true']));
    assert.ok(intersects(x(pod, 'ka.req.pod.initContainers.privileged'), ['true']));
    assert.ok(intersects(x(pod, 'ka.req.pod.host_network'), ['true']));
    assert.ok(intersects(x(pod, 'ka.req.pod.host_pid'), ['true']));
    assert.ok(!intersects(x(pod, 'ka.req.pod.host_ipc'), ['true']));
    assert.ok(intersects(x(pod, 'ka.req.pod.volumes.hostpath'), sensitive));

    const unprivileged = podCreate({ containers: [{ name: 'a', image: 'nginx', privileged: false }] });
    assert.ok(!intersects(x(unprivileged, 'ka.req.pod.containers.privileged'), ['true']));
    assert.ok(!intersects(x(unprivileged, 'ka.req.pod.volumes.hostpath'), sensitive));

    const debug = podCreate({ ephemeralContainers: [{ name: 'dbg', image: 'busybox', privileged: true }] });
    assert.ok(intersects(x(debug, 'ka.req.pod.ephemeralContainers.privileged'), ['true']));
    assert.ok(!intersects(x(debug, 'ka.req.pod.containers.privileged'), ['true']));
  });

  it('reads a pod created by a ReplicaSet with generateName', () => {
    const ev = podCreate({ generateName: 'web-5cdcc99dbf-', name: 'web-5cdcc99dbf-rgw6z' });
    expectFields(ev, {
      'ka.user.name': 'system:serviceaccount:kube-system:replicaset-controller',
      'ka.target.name': undefined,
      'ka.resp.name': 'web-5cdcc99dbf-rgw6z',
      'ka.target.pod.name': 'web-5cdcc99dbf-rgw6z',
      'ka.uri': '/api/v1/namespaces/default/pods',
    });
  });
});

describe('exec, attach, port-forward and ephemeral containers', () => {
  it('reads the command of an exec from the URI', () => {
    const ev = podExec({
      pod: 'db-0',
      namespace: 'data',
      container: 'postgres',
      command: ['sh', '-c', 'cat /etc/shadow'],
    });
    expectFields(ev, {
      'ka.stage': 'ResponseStarted',
      'ka.verb': 'create',
      'ka.target.resource': 'pods',
      'ka.target.subresource': 'exec',
      'ka.target.name': 'db-0',
      'ka.target.namespace': 'data',
      'ka.target.pod.name': undefined,
      'ka.uri.param[command]': 'sh',
      'ka.uri.param[container]': 'postgres',
      'ka.uri.param[tty]': 'false',
      'ka.response.code': '101',
      'ka.resp.name': undefined,
      'jevt.value[/stage]': 'ResponseStarted',
    });
    assert.equal(
      x(ev, 'ka.uri'),
      '/api/v1/namespaces/data/pods/db-0/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=postgres&stdin=true&stdout=true&stderr=true&tty=false',
    );
  });

  it('reads attach and port-forward', () => {
    expectFields(podExec({ subresource: 'attach', verb: 'get' }), {
      'ka.target.subresource': 'attach',
      'ka.verb': 'get',
      'ka.uri.param[command]': undefined,
    });
    expectFields(podPortForward({ pod: 'redis-0' }), {
      'ka.target.subresource': 'portforward',
      'ka.target.name': 'redis-0',
    });
  });

  it('reads an ephemeral container in both request shapes', () => {
    const patch = podEphemeralContainers({
      pod: 'web',
      container: { name: 'dbg', image: 'busybox:1.36', privileged: true },
    });
    expectFields(patch, {
      'ka.verb': 'patch',
      'ka.target.subresource': 'ephemeralcontainers',
      'ka.req.pod.ephemeralContainers.name': ['dbg'],
      'ka.req.pod.ephemeralContainers.image.repository': ['busybox'],
      'ka.req.pod.ephemeralContainers.privileged': ['true'],
      'jevt.value[/requestObject/spec/ephemeralContainers/0/name]': 'dbg',
      'jevt.value[/requestObject/ephemeralContainers/0/name]': undefined,
    });
    const legacy = podEphemeralContainers({ shape: 'legacy' });
    expectFields(legacy, {
      'ka.verb': 'update',
      'jevt.value[/requestObject/ephemeralContainers/0/name]': 'debugger-x7k2p',
      'jevt.value[/requestObject/ephemeralContainers/0/image]': 'busybox:1.36',
      'ka.req.pod.ephemeralContainers.name': undefined,
    });
  });
});

describe('RBAC fields', () => {
  it('reads the rules of a cluster role with wildcards and exec', () => {
    const ev = role({
      name: 'ops',
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['get', 'create'] },
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['/metrics'], verbs: ['get'] },
      ],
    });
    expectFields(ev, {
      'ka.target.resource': 'clusterroles',
      'ka.target.name': 'ops',
      'ka.target.namespace': undefined,
      'ka.req.role.rules': [
        '{"verbs":["get","create"],"apiGroups":[""],"resources":["pods","pods/exec"]}',
        '{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}',
        '{"verbs":["get"],"nonResourceURLs":["/metrics"]}',
      ],
      'ka.req.role.rules.verbs': ['get', 'create', '*', 'get'],
      'ka.req.role.rules.verbs[1]': ['*'],
      'ka.req.role.rules.verbs[3]': undefined,
      'ka.req.role.rules.resources': ['pods', 'pods/exec', '*'],
      'ka.req.role.rules.resources[2]': undefined,
      'ka.req.role.rules.apiGroups': ['', '*'],
      'ka.req.role.rules.nonResourceURLs': ['/metrics'],
    });
    assert.ok(intersects(x(ev, 'ka.req.role.rules.resources'), ['pods/exec']));
    assert.ok(
      intersects(x(ev, 'ka.req.role.rules.verbs'), [
        'create',
        'update',
        'patch',
        'delete',
        'deletecollection',
      ]),
    );
  });

  it('reads a namespaced role and a role without write verbs', () => {
    const ev = role({ kind: 'Role', name: 'reader', namespace: 'team-a' });
    expectFields(ev, {
      'ka.target.resource': 'roles',
      'ka.target.namespace': 'team-a',
      'ka.req.role.rules.verbs': ['get', 'list', 'watch'],
    });
    assert.ok(!intersects(x(ev, 'ka.req.role.rules.verbs'), ['create', 'update', 'patch', 'delete']));
    expectFields(role({ verb: 'delete', name: 'system:controller:foo' }), {
      'ka.verb': 'delete',
      'ka.target.name': 'system:controller:foo',
      'ka.req.role.rules': undefined,
    });
  });

  it('reads the subjects and role of a cluster role binding', () => {
    const ev = roleBinding({
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'Group', name: 'oncall' },
        { kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' },
      ],
    });
    expectFields(ev, {
      'ka.target.resource': 'clusterrolebindings',
      'ka.req.binding.role': 'cluster-admin',
      'ka.req.binding.subjects': [
        '{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"}',
        '{"kind":"Group","name":"oncall","apiGroup":"rbac.authorization.k8s.io"}',
        '{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}',
      ],
      'ka.req.binding.subjects.user_names': ['alice'],
      'ka.req.binding.subjects.group_names': ['oncall'],
      'ka.req.binding.subjects.serviceaccount_names': ['deployer'],
      'ka.req.binding.subjects.serviceaccount_ns_names': ['ci:deployer'],
      'ka.req.binding.subject.has_name[alice]': 'true',
    });
    const rb = roleBinding({
      kind: 'RoleBinding',
      namespace: 'team-a',
      roleRef: { kind: 'Role', name: 'reader' },
      subjects: [{ kind: 'User', name: 'bob' }],
    });
    expectFields(rb, {
      'ka.target.resource': 'rolebindings',
      'ka.target.namespace': 'team-a',
      'ka.req.binding.role': 'reader',
      'ka.req.binding.subjects.group_names': undefined,
      'ka.req.binding.subjects.serviceaccount_ns_names': undefined,
    });
  });
});

describe('config map, secret, service, service account, workloads', () => {
  it('reads a config map with credentials as JSON text', () => {
    const ev = configMap({ name: 'aws', data: { aws_access_key_id: 'AKIA0000', region: 'eu-west-1' } });
    expectFields(ev, {
      'ka.req.configmap.name': 'aws',
      'ka.req.configmap.obj': '{"aws_access_key_id":"AKIA0000","region":"eu-west-1"}',
    });
    assert.ok(String(x(ev, 'ka.req.configmap.obj')).includes('aws_access_key_id'));
    expectFields(configMap({ verb: 'patch', data: { password: 'x' } }), {
      'ka.verb': 'patch',
      'ka.req.configmap.obj': '{"password":"x"}',
    });
    expectFields(configMap({ verb: 'delete' }), {
      'ka.req.configmap.obj': undefined,
      'ka.req.configmap.name': 'app-config',
    });
  });

  it('reads a secret get, successful or forbidden', () => {
    const ok = secret({ name: 'db', namespace: 'prod', user: 'alice' });
    expectFields(ok, {
      'ka.verb': 'get',
      'ka.target.resource': 'secrets',
      'ka.target.name': 'db',
      'ka.response.code': '200',
      'jevt.value[/level]': 'Metadata',
      'jevt.value[/responseObject]': undefined,
    });
    const denied = secret({ name: 'db', namespace: 'prod', user: 'mallory', code: 403 });
    expectFields(denied, {
      'ka.response.code': '403',
      'ka.response.reason': 'Forbidden',
      'ka.auth.decision': 'forbid',
    });
    assert.match(
      String(x(denied, 'jevt.value[/responseStatus/message]')),
      /User "mallory" cannot get resource "secrets"/,
    );
  });

  it('reads a NodePort service: type, and the ports array as one JSON text', () => {
    const ev = service({
      name: 'web',
      ports: [
        { name: 'http', port: 80, targetPort: 8080, nodePort: 30080 },
        { name: 'https', port: 443, nodePort: 30443 },
      ],
    });
    const ports =
      '[{"name":"http","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080},{"name":"https","protocol":"TCP","port":443,"targetPort":443,"nodePort":30443}]';
    expectFields(ev, {
      'ka.target.resource': 'services',
      'ka.req.service.type': 'NodePort',
      'ka.req.service.ports': [ports],
      'ka.req.service.ports[0]': [ports],
      'jevt.value[/requestObject/spec/ports/1/nodePort]': '30443',
    });
    expectFields(service({ type: 'ClusterIP', ports: [{ port: 53, protocol: 'UDP' }] }), {
      'ka.req.service.type': 'ClusterIP',
      'ka.req.service.ports': ['[{"protocol":"UDP","port":53,"targetPort":53}]'],
    });
  });

  it('reads a service account created in kube-system', () => {
    expectFields(serviceAccount(), {
      'ka.target.resource': 'serviceaccounts',
      'ka.target.namespace': 'kube-system',
      'ka.target.name': 'backup-agent',
      'ka.response.code': '201',
      'ka.resp.name': 'backup-agent',
    });
  });

  it('reads deployments, namespaces, ingresses and nodes', () => {
    const dep = deployment({
      name: 'api',
      namespace: 'prod',
      containers: [{ name: 'api', image: 'api:1', privileged: true }],
    });
    expectFields(dep, {
      'ka.target.resource': 'deployments',
      'ka.target.name': 'api',
      'ka.uri': '/apis/apps/v1/namespaces/prod/deployments?fieldManager=kubectl-create',
      // A deployment's pod is under spec.template: the pod fields do not look there.
      'ka.req.pod.containers.image': undefined,
      'jevt.value[/requestObject/spec/template/spec/containers/0/image]': 'api:1',
      'jevt.value[/requestObject/spec/replicas]': '2',
    });
    expectFields(deployment({ name: 'api', verb: 'delete' }), {
      'ka.verb': 'delete',
      'ka.uri': '/apis/apps/v1/namespaces/default/deployments/api',
      'ka.response.code': '200',
    });
    expectFields(namespaceEvent({ name: 'crypto' }), {
      'ka.target.resource': 'namespaces',
      'ka.target.name': 'crypto',
      'ka.target.namespace': undefined,
    });
    expectFields(namespaceEvent({ name: 'crypto', verb: 'delete' }), { 'ka.verb': 'delete' });
    expectFields(ingress(), {
      'ka.target.resource': 'ingresses',
      'jevt.value[/requestObject/spec/tls]': undefined,
    });
    expectFields(ingress({ tlsHosts: ['web.example.com'] }), {
      'jevt.value[/requestObject/spec/tls]': '[{"hosts":["web.example.com"],"secretName":"web-tls"}]',
    });
    expectFields(nodeCreate({ name: 'worker-9' }), {
      'ka.target.resource': 'nodes',
      'ka.user.name': 'system:node:worker-9',
      'ka.user.groups': ['system:nodes', 'system:authenticated'],
    });
  });
});

describe('jevt.* fields', () => {
  const ev = withEvent(podCreate({ time: TIME }), {
    annotations: {
      'authorization.k8s.io/decision': 'allow',
      'odd~key': 'tilde',
      'a/b~c': 'both',
    },
    extra: { n: 1.5, t: true, f: false, z: null, e: [], o: {}, '': 'empty key' },
  });

  it('selects values by JSON pointer, with ~0 and ~1 escapes and array indices', () => {
    expectFields(ev, {
      'jevt.value[/annotations/authorization.k8s.io~1decision]': 'allow',
      'jevt.value[/annotations/odd~0key]': 'tilde',
      'jevt.value[/annotations/a~1b~0c]': 'both',
      'jevt.value[/annotations/a/b~c]': undefined,
      'jevt.value[/user/groups/1]': 'system:authenticated',
      'jevt.value[/user/groups/2]': undefined,
      'jevt.value[/user/groups/-]': undefined,
      'jevt.value[/requestObject/spec/containers/0/name]': 'nginx',
      'jevt.value[/requestObject/spec/containers/x]': undefined,
      'jevt.value[/stage/x]': undefined,
      // The leading slash may be left out, as the json plugin allows.
      'jevt.value[verb]': 'create',
      'jevt.value[/extra/]': 'empty key',
    });
  });

  it('renders numbers, booleans and null as text, objects and arrays as compact JSON', () => {
    expectFields(ev, {
      'jevt.value[/extra/n]': '1.5',
      'jevt.value[/extra/t]': 'true',
      'jevt.value[/extra/f]': 'false',
      'jevt.value[/extra/z]': 'null',
      'jevt.value[/extra/e]': '[]',
      'jevt.value[/extra/o]': '{}',
      'jevt.value[/user/groups]': '["kubeadm:cluster-admins","system:authenticated"]',
      'jevt.value[/objectRef]': '{"resource":"pods","namespace":"default","name":"nginx","apiVersion":"v1"}',
    });
  });

  it('returns the whole event for the empty pointer and for jevt.obj', () => {
    assert.equal(x(ev, 'jevt.value[]'), JSON.stringify(ev.event));
    const obj = x(ev, 'jevt.obj');
    assert.equal(typeof obj, 'string');
    assert.deepEqual(JSON.parse(obj as string), ev.event);
    assert.ok((obj as string).startsWith('{\n  "kind": "Event",\n  "apiVersion": "audit.k8s.io/v1"'));
    assert.equal(x(ev, 'json.obj'), obj);
  });

  it('gives the event time as nanoseconds and as Falco time strings', () => {
    expectFields(ev, {
      'jevt.rawtime': TS,
      'jevt.time': '09:30:12.345678000',
      'jevt.time.iso8601': '2024-05-14T09:30:12.345678000+0000',
    });
    const early = podCreate({ time: '1970-01-01T00:00:00.000000001Z' });
    expectFields(early, { 'jevt.rawtime': '1', 'jevt.time.iso8601': '1970-01-01T00:00:00.000000001+0000' });
  });

  it('never reaches into the prototype', () => {
    expectFields(ev, {
      'jevt.value[/constructor]': undefined,
      'jevt.value[/__proto__]': undefined,
      'jevt.value[/user/groups/length]': undefined,
      'ka.uri.param[constructor]': undefined,
    });
  });
});
