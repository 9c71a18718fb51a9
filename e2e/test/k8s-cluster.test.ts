/**
 * The Helm chart on a real single-node Kubernetes (scripts/k8s/up.sh: etcd,
 * kube-apiserver, controller-manager, scheduler, a kubelet on containerd,
 * kube-proxy, CoreDNS), with Saker's images built here and imported into the
 * node. Runs as root, as CI does.
 *
 * - `helm install --wait`: every pod Ready (the web UI's too), each service as its own NATS user
 *   (nats.users); the bundled NATS refuses a client without a user and a
 *   service's user publishing another's subject;
 * - `kubectl exec -it` into a test pod raises Falco's "Terminal shell in
 *   container" with k8s.ns.name, k8s.pod.name and container.image.repository
 *   from the kubelet's CRI;
 * - the API server's audit webhook points at Saker's audit Service: a
 *   ClusterRoleBinding to cluster-admin raises "Binding to cluster-admin written";
 * - both alerts reach a webhook receiver in the cluster (a sidekick output)
 *   and the SAKER_ALERTS stream;
 * - the web UI (as its NATS user) shows the sinks pod's delivery report for
 *   the webhook output, and an admin redelivers a dead letter the sinks user
 *   wrote: it is stored again and reaches the webhook;
 * - `helm upgrade` with a new custom rule: it fires, and no pod restarted;
 * - `helm test` passes; `helm uninstall` leaves no Saker object.
 *
 * Timings of each step are printed (bring-up, install, alerts, upgrade).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Bus,
  BusPermissionError,
  STREAMS,
  SUBJECTS,
  type SakerService,
  connectBus,
  natsInboxPrefix,
} from '@saker/bus';
import { sharedPath, uiLogin } from '@saker/testing';
import { CHART } from './helm.js';
import { enrichOnClusterTests } from './k8s-enrich.js';
import {
  AUDIT_IP,
  REPO,
  STATE,
  VERSION,
  auditPki,
  busyboxSpec,
  clusterUp,
  helmCmd,
  isRoot,
  kubeEnv,
  kubectl,
  kubectlBin,
  kubectlIn,
  mark,
  portForward,
  sh,
  teardown,
  waitFor,
  work,
} from './k8s.js';
import { passwordHash } from './ui-harness.js';

const NS = 'saker';
const TEST_NS = 'saker-test';
const RELEASE = 'saker';
const FALCO_RULES = sharedPath('falco-rules/falco_rules.yaml');
const CLI = join(REPO, 'services/cli/dist/src/main.js');

let natsForward: ChildProcess | undefined;
let bus: Bus | undefined;

const TEST_OBJECTS = `
apiVersion: v1
kind: Namespace
metadata: {name: ${TEST_NS}}
---
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: ${TEST_NS}}
spec:
  # busybox sh ignores SIGTERM unless told: exit at once on pod deletion.
${busyboxSpec('shell', "trap 'exit 0' TERM; while true; do sleep 1; done", 2, 2)}
---
# The sidekick webhook output's receiver: busybox httpd; each POST body is appended to /tmp/alerts.
apiVersion: v1
kind: ConfigMap
metadata: {name: receiver, namespace: ${TEST_NS}}
data:
  alert: |
    #!/bin/sh
    body=$(head -c "\${CONTENT_LENGTH:-0}")
    # One write per alert, a line each, however many POSTs run at once.
    printf '%s\\n' "$body" >> /tmp/alerts
    printf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'
---
apiVersion: v1
kind: Pod
metadata: {name: receiver, namespace: ${TEST_NS}, labels: {app: receiver}}
spec:
${busyboxSpec('httpd', "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait", 2, 2)}
      ports: [{containerPort: 8080}]
      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
      volumeMounts: [{name: cgi, mountPath: /www/cgi-bin}]
  volumes: [{name: cgi, configMap: {name: receiver, defaultMode: 0755}}]
---
apiVersion: v1
kind: Service
metadata: {name: receiver, namespace: ${TEST_NS}}
spec:
  selector: {app: receiver}
  ports: [{port: 8080, targetPort: 8080}]
`;

interface Alert {
  rule: string;
  output: string;
  output_fields: Record<string, unknown>;
}

function parseAlerts(text: string): Alert[] {
  const out: Alert[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const a = JSON.parse(line) as Alert;
      if (typeof a.rule === 'string') out.push(a);
    } catch {
      // a partial line of a POST still being written
    }
  }
  return out;
}

/** Alerts the receiver got so far. */
function receiverAlerts(): Alert[] {
  const r = sh(kubectlBin(), ['-n', TEST_NS, 'exec', 'receiver', '--', 'cat', '/tmp/alerts'], {
    env: kubeEnv(),
  });
  return r.status === 0 ? parseAlerts(r.stdout) : [];
}

/** A key of a Secret of the release's namespace, decoded. */
function secretValue(name: string, key: string): string {
  const jsonKey = key.replaceAll('.', '\\.');
  return Buffer.from(
    kubectl('-n', NS, 'get', 'secret', name, '-o', `jsonpath={.data.${jsonKey}}`),
    'base64',
  ).toString('utf8');
}

/** The port of a port-forward to the bundled NATS's client port (made on first use, again once it exited). */
let natsPort = 0;
async function natsClientPort(): Promise<number> {
  if (natsForward !== undefined && (natsForward.exitCode !== null || natsForward.signalCode !== null)) {
    natsPort = 0;
  }
  if (natsPort === 0) {
    const forwarded = await portForward(NS, `svc/${RELEASE}-nats`, 4222);
    natsForward = forwarded.child;
    natsPort = forwarded.port;
  }
  return natsPort;
}

/**
 * `connect` through the port-forward to the bundled NATS. A forward can stop
 * taking connections (kubectl exits when its stream to the pod breaks; a CI
 * rehearsal's connect was refused at the forward's local port): a refused
 * connect is tried again through a new forward, at most three times.
 */
async function viaNatsForward<T>(connect: (url: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(`nats://127.0.0.1:${await natsClientPort()}`);
    } catch (err) {
      const refused = /ECONNREFUSED|connection refused/.test(
        `${String(err)} ${String((err as Error).cause)}`,
      );
      if (!refused || attempt >= 3) throw err;
      natsForward?.kill('SIGKILL');
      natsPort = 0;
    }
  }
}

/** A connection to the bundled NATS as one of the chart's users (nats.users), with its inbox prefix. */
async function connectAs(user: string, service: SakerService): Promise<Bus> {
  const passwordFile = join(work(), `nats-${user}.pw`);
  writeFileSync(passwordFile, secretValue(`${RELEASE}-nats-users`, user), { mode: 0o600 });
  return viaNatsForward((url) =>
    connectBus({
      url,
      name: `saker-e2e-${user}`,
      auth: { user, passwordFile },
      inboxPrefix: natsInboxPrefix(service),
      maxReconnectAttempts: 0,
    }),
  );
}

/** Alerts stored in SAKER_ALERTS so far (through a port-forward to the bundled NATS, as its admin user). */
const streamAlerts: Alert[] = [];
async function followStream(): Promise<void> {
  const started = Date.now();
  bus = await connectAs('admin', 'admin');
  const consumer = await bus.consumer('SAKER_ALERTS', 'saker-e2e', { deliverPolicy: 'all' });
  void (async () => {
    for await (const m of consumer) {
      streamAlerts.push(...parseAlerts(new TextDecoder().decode(m.data)));
      m.ack();
    }
  })().catch(() => undefined);
  mark('following SAKER_ALERTS', started);
}

interface PodState {
  uid: string;
  restarts: number;
}
function sakerPods(): Map<string, PodState> {
  const list = JSON.parse(kubectl('-n', NS, 'get', 'pods', '-o', 'json')) as {
    items: {
      metadata: { name: string; uid: string };
      status: { containerStatuses?: { restartCount: number }[] };
    }[];
  };
  return new Map(
    list.items.map((p) => [
      p.metadata.name,
      {
        uid: p.metadata.uid,
        restarts: (p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
      },
    ]),
  );
}

/** The values of the test install: local images, one NATS, the audit Service at a fixed address, Falco's rules. */
function installValues(): object {
  return {
    image: { repository: 'saker', tag: VERSION, pullPolicy: 'Never' },
    // The default 3 servers (R3 streams), on the one node.
    nats: { image: { pullPolicy: 'Never' }, jetstream: { storageClass: '-', size: '4Gi' } },
    engine: { replicas: 1 },
    // Two sinks replicas sharing each output's durable consumer: the UI adds up their reports.
    sinks: { replicas: 2 },
    // The web UI too (its own NATS user, `ui`): anonymous viewers, and an admin who may redeliver.
    ui: {
      enabled: true,
      auth: {
        anonymous: true,
        users: [{ name: 'admin', role: 'admin', hash: passwordHash(UI_ADMIN_PASSWORD) }],
      },
    },
    audit: {
      replicas: 1,
      service: { clusterIP: AUDIT_IP },
      tls: { secretName: 'audit-tls', clientCaSecret: 'audit-client-ca' },
    },
    nodeEnrich: { criSockets: [join(STATE, 'containerd/containerd.sock')] },
    sidekick: {
      config: { webhook: { address: `http://receiver.${TEST_NS}.svc:8080/cgi-bin/alert`, concurrency: 1 } },
    },
    // Saker's own "Interactive shell in a container" comes first and would take the exec under
    // Falco's default rule_matching (first); the test asks for Falco's rule.
    falco: { json_output: true, rule_matching: 'all' },
    customRules: {
      // The receiver is busybox httpd running a CGI: each POST dup2()s the socket onto the
      // script's stdin, which Falco's rule reports, whose alert is POSTed... A rule turned off the
      // way Falco's users do it.
      'zz_e2e_receiver.yaml':
        '- rule: Redirect STDOUT/STDIN to Network Connection in Container\n  enabled: false\n',
    },
  };
}

/** The web UI's admin in the test install (ui.auth.users). */
const UI_ADMIN_PASSWORD = `e2e-${randomBytes(9).toString('hex')}`;

interface UiHealth {
  outputs: { name: string; delivered: number; source: string; instances: number }[];
  sinks: { instance: string; output: string; status: string; delivered: number }[];
  dead_letters: { id: string; output: string; redelivered: boolean }[];
}

const hasAlert = (alerts: readonly Alert[], rule: string, match: (a: Alert) => boolean): Alert | undefined =>
  alerts.find((a) => a.rule === rule && match(a));

/** Waits until an alert of `rule` matching `match` is at the receiver and in SAKER_ALERTS; returns the stream's. */
async function alertEverywhere(
  rule: string,
  match: (a: Alert) => boolean,
  timeoutMs: number,
): Promise<Alert> {
  const started = Date.now();
  const stored = await waitFor(`"${rule}" in SAKER_ALERTS`, timeoutMs, () =>
    hasAlert(streamAlerts, rule, match),
  );
  mark(`"${rule}" in SAKER_ALERTS`, started);
  await waitFor(`"${rule}" at the webhook receiver`, timeoutMs, () =>
    hasAlert(receiverAlerts(), rule, match),
  );
  mark(`"${rule}" at the webhook receiver`, started);
  return stored;
}

// Cluster-mode enrich as processes against the real API server, and the stand-in's wire format.
enrichOnClusterTests();

describe(
  'chart on a real cluster',
  { skip: !isRoot && 'needs root (CI runs as root)', timeout: 30 * 60_000 },
  () => {
    before(async () => {
      await clusterUp();
      const pki = auditPki();
      kubectlIn(TEST_OBJECTS, 'apply', '-f', '-');
      kubectl('create', 'namespace', NS);
      kubectl(
        '-n',
        NS,
        'create',
        'secret',
        'tls',
        'audit-tls',
        `--cert=${pki.files.serverCert}`,
        `--key=${pki.files.serverKey}`,
      );
      kubectl(
        '-n',
        NS,
        'create',
        'secret',
        'generic',
        'audit-client-ca',
        `--from-file=ca.crt=${pki.files.caCert}`,
      );
      const values = join(work(), 'values.json');
      writeFileSync(values, JSON.stringify(installValues()));
      const started = Date.now();
      helmCmd(
        'install',
        RELEASE,
        CHART,
        '-n',
        NS,
        '-f',
        values,
        '--wait',
        '--timeout',
        '10m',
        '--set-file',
        `customRules.falco_rules\\.yaml=${FALCO_RULES}`,
      );
      mark('helm install --wait', started);
      kubectl('-n', TEST_NS, 'wait', '--for=condition=Ready', 'pod/shell', 'pod/receiver', '--timeout=120s');
      await followStream();
    });

    after(async () => {
      await bus?.close().catch(() => undefined);
      bus = undefined;
    });

    it('helm install --wait: every Saker pod is Ready, the node pod runs all four containers', () => {
      const pods = JSON.parse(kubectl('-n', NS, 'get', 'pods', '-o', 'json')) as {
        items: {
          metadata: { name: string };
          spec: { containers: { name: string }[] };
          status: { conditions?: { type: string; status: string }[] };
        }[];
      };
      const notReady = pods.items
        .filter((p) => !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.metadata.name);
      assert.deepEqual(notReady, []);
      const kinds = pods.items.map((p) =>
        p.metadata.name.replace(/-[a-z0-9]{5}$|-[a-z0-9]{8,10}-[a-z0-9]{5}$|-\d+$/, ''),
      );
      for (const c of ['node', 'engine', 'control', 'audit', 'sinks', 'enrich', 'ui', 'nats']) {
        assert.ok(kinds.includes(`${RELEASE}-${c}`), `no ${c} pod in ${kinds.join(', ')}`);
      }
      const node = pods.items.find((p) => p.metadata.name.startsWith(`${RELEASE}-node-`));
      assert.deepEqual(
        node?.spec.containers.map((c) => c.name),
        ['nats-leaf', 'sensor', 'engine', 'enrich'],
      );
    });

    it("the bundled NATS is a JetStream cluster of 3 and Saker's streams and KV buckets are R3", async () => {
      const { port, child } = await portForward(NS, `svc/${RELEASE}-nats`, 8222);
      try {
        const jsz = await waitFor('SAKER_ALERTS in /jsz', 60_000, async () => {
          const r = await fetch(`http://127.0.0.1:${port}/jsz?streams=true&config=true`);
          const j = (await r.json()) as {
            meta_cluster?: { cluster_size?: number };
            account_details?: {
              stream_detail?: {
                name: string;
                config?: { num_replicas?: number };
                cluster?: { replicas?: unknown[] };
              }[];
            }[];
          };
          const streams = (j.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
          const want = ['SAKER_ALERTS', 'KV_saker_rules', 'KV_saker_meta'];
          return want.every((n) => streams.some((x) => x.name === n)) ? { j, streams } : undefined;
        });
        assert.equal(jsz.j.meta_cluster?.cluster_size, 3);
        for (const name of ['SAKER_ALERTS', 'SAKER_AUDIT', 'KV_saker_rules', 'KV_saker_meta']) {
          const st = jsz.streams.find((x) => x.name === name);
          assert.equal(st?.config?.num_replicas, 3, `${name}: ${JSON.stringify(st)}`);
          // Two followers beside the leader: the stream survives the loss of a server.
          assert.equal(st?.cluster?.replicas?.length, 2, `${name} followers`);
        }
      } finally {
        child.kill();
      }
    });

    it("control serves gRPC over TLS with the chart's certificate: saker ctl with its CA and the token; plain gRPC fails", async () => {
      const ca = join(work(), 'control-ca.crt');
      writeFileSync(ca, secretValue(`${RELEASE}-control-tls`, 'ca.crt'));
      const token = secretValue(`${RELEASE}-control-token`, 'token');
      const { port, child } = await portForward(NS, `svc/${RELEASE}-control`, 5060);
      try {
        const ctl = (...args: string[]) =>
          sh(process.execPath, [
            CLI,
            'ctl',
            'rules',
            'list',
            '--addr',
            `127.0.0.1:${port}`,
            '--token',
            token,
            '--timeout',
            '10s',
            ...args,
          ]);
        const tls = ctl('--ca', ca, '--json');
        assert.equal(tls.status, 0, tls.stderr);
        assert.match(tls.stdout, /Terminal shell in container/);
        const plain = ctl();
        assert.notEqual(plain.status, 0, 'plain gRPC to a TLS server must fail');
      } finally {
        child.kill();
      }
    });

    it("the bundled NATS refuses a client without a user, and a service's user another service's subject", async () => {
      await assert.rejects(
        viaNatsForward((url) => connectBus({ url, name: 'saker-e2e-anonymous', maxReconnectAttempts: 0 })),
        /authoriz|authentic/i,
      );
      // The sinks' user may not publish an audit batch (the audit service's subject, SAKER_AUDIT).
      const sinks = await connectAs('sinks', 'sinks');
      try {
        await assert.rejects(
          sinks.publishDurable(SUBJECTS.k8sAuditEvents, new TextEncoder().encode('[]')),
          BusPermissionError,
        );
      } finally {
        await sinks.close();
      }
      // The engine's user may not delete the stream it writes to.
      const engine = await connectAs('engine', 'engine');
      try {
        await assert.rejects(
          engine.request(`$JS.API.STREAM.DELETE.${STREAMS.alerts.name}`, new Uint8Array(), {
            timeoutMs: 5_000,
          }),
          BusPermissionError,
        );
      } finally {
        await engine.close();
      }
    });

    it('kubectl exec -it into a pod raises "Terminal shell in container" with the pod and image from the CRI', async () => {
      const started = Date.now();
      // kubectl allocates a TTY only when its own stdin is one: script(1) gives it a pseudo-terminal.
      const marker = `saker-e2e-${Date.now()}`;
      const exec = sh(
        'script',
        [
          '-qfec',
          `${kubectlBin()} -n ${TEST_NS} exec -it shell -- sh -c 'echo ${marker}; exit 0'`,
          '/dev/null',
        ],
        { env: kubeEnv() },
      );
      assert.equal(exec.status, 0, exec.stderr + exec.stdout);
      assert.match(exec.stdout, new RegExp(marker));
      mark('kubectl exec -it', started);
      const alert = await alertEverywhere(
        'Terminal shell in container',
        (a) => a.output_fields['k8s.pod.name'] === 'shell',
        90_000,
      );
      assert.equal(alert.output_fields['k8s.ns.name'], TEST_NS);
      assert.equal(alert.output_fields['k8s.pod.name'], 'shell');
      assert.match(String(alert.output_fields['container.image.repository']), /local\/busybox$/);
    });

    it("the web UI as its NATS user: the sinks' delivery reports per output and instance; an admin redelivers a dead letter", async () => {
      const { port, child } = await portForward(NS, `svc/${RELEASE}-ui`, 2802);
      try {
        const base = `http://127.0.0.1:${port}/`;
        const health = async (): Promise<UiHealth> =>
          (await (await fetch(new URL('api/health', base))).json()) as UiHealth;
        // The webhook delivered the exec's alert (the test before): its sinks pod reported it.
        // Both replicas report (each its own pod: instance <pod name>-<pid>), summed per output.
        const seen = await waitFor(
          "the webhook output from both sinks replicas' reports",
          60_000,
          async () => {
            const h = await health();
            const w = h.outputs.find((o) => o.name === 'webhook');
            return w?.source === 'reports' && w.instances === 2 && w.delivered > 0 ? h : undefined;
          },
        );
        const rows = seen.sinks.filter((r) => r.output === 'webhook');
        assert.equal(rows.length, 2, JSON.stringify(seen.sinks));
        for (const r of rows) {
          assert.match(r.instance, new RegExp(`^${RELEASE}-sinks-[a-z0-9]+-[a-z0-9]+-\\d+$`));
          assert.equal(r.status, 'running');
        }
        assert.notEqual(rows[0]?.instance, rows[1]?.instance);
        const webhook = seen.outputs.find((o) => o.name === 'webhook');
        assert.equal(
          webhook?.delivered,
          rows.reduce((n, r) => n + r.delivered, 0),
        );
        // A dead letter as the sinks write one (as the sinks user), read and redelivered by the ui user.
        const marker = `saker-e2e-redeliver-${Date.now()}`;
        const record = {
          output: 'e2e',
          reason: 'permanent',
          error: 'HTTP 400 (e2e)',
          attempts: 1,
          count: 1,
          dead_lettered_at: new Date().toISOString(),
          stream_sequences: [1],
          alert: {
            hostname: 'e2e',
            output: marker,
            priority: 'Notice',
            rule: 'E2E redelivered',
            source: 'syscall',
            tags: [],
            time: new Date().toISOString(),
            output_fields: {},
          },
        };
        const sinks = await connectAs('sinks', 'sinks');
        try {
          await sinks.publishDurable(
            SUBJECTS.deadLetter('e2e'),
            new TextEncoder().encode(JSON.stringify(record)),
          );
        } finally {
          await sinks.close();
        }
        const admin = await uiLogin(base, { username: 'admin', password: UI_ADMIN_PASSWORD });
        const id = await waitFor('the dead letter in the health view', 60_000, async () => {
          const h = (await (await admin.get('api/health')).json()) as UiHealth;
          return h.dead_letters.find((d) => d.output === 'e2e')?.id;
        });
        const res = await admin.post(`api/dead-letters/${id}/redeliver`, {});
        assert.equal(res.status, 200, await res.text());
        // Stored on SAKER_ALERTS again by the ui user, and delivered by the sinks to the webhook.
        await alertEverywhere('E2E redelivered', (a) => a.output === marker, 90_000);
      } finally {
        child.kill();
      }
    });

    it('the audit webhook: a ClusterRoleBinding to cluster-admin raises the k8s_audit rule', async () => {
      const name = `saker-e2e-admin-${Date.now()}`;
      kubectl('create', 'clusterrolebinding', name, '--clusterrole=cluster-admin', '--user=saker-e2e-user');
      const alert = await alertEverywhere(
        'Binding to cluster-admin written',
        (a) => a.output.includes(name),
        90_000,
      );
      assert.match(alert.output, /kind=clusterrolebindings/);
      kubectl('delete', 'clusterrolebinding', name);
    });

    it('helm upgrade with a new custom rule: the rule fires and no pod restarts', async () => {
      const before = sakerPods();
      const rules = join(work(), 'e2e_rules.yaml');
      writeFileSync(
        rules,
        `- rule: E2E ConfigMap created
  desc: a ConfigMap whose name starts with saker-e2e-cm- was created
  condition: ka.verb = create and ka.target.resource = configmaps and ka.target.name startswith saker-e2e-cm- and ka.response.code startswith 2
  output: e2e configmap created (name=%ka.target.name ns=%ka.target.namespace)
  priority: NOTICE
  source: k8s_audit
`,
      );
      const started = Date.now();
      helmCmd(
        'upgrade',
        RELEASE,
        CHART,
        '-n',
        NS,
        '--reuse-values',
        '--wait',
        '--timeout',
        '5m',
        '--set-file',
        `customRules.e2e_rules\\.yaml=${rules}`,
      );
      mark('helm upgrade (new custom rule)', started);
      // The kubelet swaps the mounted ConfigMap at its next sync; control loads it into the engines.
      let n = 0;
      const alert = await waitFor('the new rule to fire', 180_000, () => {
        kubectl('-n', TEST_NS, 'create', 'configmap', `saker-e2e-cm-${n++}`, '--from-literal=a=b');
        return hasAlert(streamAlerts, 'E2E ConfigMap created', () => true);
      });
      mark('new custom rule fired after helm upgrade', started);
      assert.match(alert.output, /name=saker-e2e-cm-\d+ ns=saker-test/);
      assert.deepEqual(sakerPods(), before);
    });

    it('helm test passes (an alert flows end to end)', () => {
      const started = Date.now();
      const out = helmCmd('test', RELEASE, '-n', NS, '--logs', '--timeout', '5m');
      mark('helm test', started);
      assert.match(out, /Phase:\s+Succeeded/);
      assert.match(out, /selftest: ok/);
    });

    it('helm uninstall leaves no Saker object behind', async () => {
      await bus?.close().catch(() => undefined);
      bus = undefined;
      natsForward?.kill();
      const started = Date.now();
      helmCmd('uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '5m');
      mark('helm uninstall --wait', started);
      const kinds =
        'all,configmaps,secrets,serviceaccounts,persistentvolumeclaims,poddisruptionbudgets,networkpolicies,roles,rolebindings,clusterroles,clusterrolebindings';
      const left = await waitFor('Saker objects to go', 60_000, () => {
        const out = kubectl(
          'get',
          kinds,
          '-A',
          '-l',
          `app.kubernetes.io/instance=${RELEASE}`,
          '-o',
          'name',
        ).trim();
        return out === '' ? out : undefined;
      });
      assert.equal(left, '');
      // Only the test's own Secrets stay in the namespace (made by kubectl, not by the chart).
      const secrets = kubectl('-n', NS, 'get', 'secrets', '-o', 'name').trim().split('\n').sort();
      assert.deepEqual(secrets, ['secret/audit-client-ca', 'secret/audit-tls']);
    });
  },
);

after(() => teardown());
