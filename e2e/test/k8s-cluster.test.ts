/**
 * The Helm chart on a real single-node Kubernetes (scripts/k8s/up.sh: etcd,
 * kube-apiserver, controller-manager, scheduler, a kubelet on containerd,
 * kube-proxy, CoreDNS), with Saker's images built here and imported into the
 * node. Runs as root, as CI does.
 *
 * - `helm install --wait`: every pod Ready;
 * - `kubectl exec -it` into a test pod raises Falco's "Terminal shell in
 *   container" with k8s.ns.name, k8s.pod.name and container.image.repository
 *   from the kubelet's CRI;
 * - the API server's audit webhook points at Saker's audit Service: a
 *   ClusterRoleBinding to cluster-admin raises "Binding to cluster-admin written";
 * - both alerts reach a webhook receiver in the cluster (a sidekick output)
 *   and the SAKER_ALERTS stream;
 * - `helm upgrade` with a new custom rule: it fires, and no pod restarted;
 * - `helm test` passes; `helm uninstall` leaves no Saker object.
 *
 * Timings of each step are printed (bring-up, install, alerts, upgrade).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Bus, connectBus } from '@saker/bus';
import { type TestPki, makeTestPki, repoRoot, sharedPath } from '@saker/testing';
import { CHART, toolBin } from './helm.js';

const REPO = repoRoot();
const STATE = process.env.SAKER_K8S ?? '/var/lib/saker-k8s';
const NS = 'saker';
const TEST_NS = 'saker-test';
const RELEASE = 'saker';
const AUDIT_IP = '10.96.200.200';
const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'services/cli/package.json'), 'utf8')) as { version: string }
).version;
const FALCO_RULES = sharedPath('falco-rules/falco_rules.yaml');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const t0 = Date.now();
const timings: string[] = [];
function mark(what: string, since: number): void {
  const line = `${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`;
  timings.push(line);
  process.stderr.write(`k8s-cluster: ${line}\n`);
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sh(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
    // Nothing here may block the test for ever: signals wait for a synchronous child.
    timeout: 15 * 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): string {
  const r = sh(cmd, args, opts);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let kubectlPath = '';
let helmPath = '';
const kubeEnv = (): NodeJS.ProcessEnv => ({ KUBECONFIG: join(STATE, 'pki/admin.kubeconfig') });
const kubectl = (...args: string[]): string => must(kubectlPath, args, { env: kubeEnv() });
const helmCmd = (...args: string[]): string =>
  must(helmPath, args, {
    env: { ...kubeEnv(), HELM_CACHE_HOME: work, HELM_CONFIG_HOME: work, HELM_DATA_HOME: work },
  });

function down(): void {
  spawnSync('bash', [join(REPO, 'scripts/k8s/down.sh'), '--wipe'], { stdio: 'inherit' });
}

let work = '';
let pki: TestPki | undefined;
let portForward: ChildProcess | undefined;
let bus: Bus | undefined;
let tornDown = false;

function teardown(): void {
  if (tornDown) return;
  tornDown = true;
  portForward?.kill('SIGKILL');
  down();
  pki?.[Symbol.dispose]();
  if (work !== '') rmSync(work, { recursive: true, force: true });
}

/** A busybox image with every applet linked, for the shell pod and the webhook receiver. */
function busyboxImage(): string {
  const tar = join(STATE, 'images/busybox-e2e.tar');
  if (existsSync(tar)) return tar;
  const applets = must('/bin/busybox', ['--list'])
    .split('\n')
    .filter((a) => /^[a-z0-9_.-]+$/.test(a));
  must('bash', [
    join(REPO, 'scripts/k8s/image.sh'),
    tar,
    'local/busybox:e2e',
    '["/bin/sh"]',
    '/bin/busybox=/bin/busybox',
    ...applets.filter((a) => a !== 'busybox').map((a) => `/bin/${a}->busybox`),
  ]);
  return tar;
}

/** Saker's images (scripts/images.sh: docker-archive tars of saker and saker-nats). */
function sakerImages(): string[] {
  const started = Date.now();
  must('bash', [join(REPO, 'scripts/images.sh')]);
  mark('images built (scripts/images.sh)', started);
  const dir = join(REPO, 'build/images');
  return [join(dir, `saker-${VERSION}.tar`), join(dir, `saker-nats-${VERSION}.tar`)];
}

const TEST_OBJECTS = `
apiVersion: v1
kind: Namespace
metadata: {name: ${TEST_NS}}
---
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: ${TEST_NS}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: shell
      image: docker.io/local/busybox:e2e
      imagePullPolicy: Never
      # busybox sh ignores SIGTERM unless told: exit at once on pod deletion.
      command: [/bin/sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
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
  terminationGracePeriodSeconds: 2
  containers:
    - name: httpd
      image: docker.io/local/busybox:e2e
      imagePullPolicy: Never
      command: [/bin/sh, -c, "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
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

/** The API server's audit webhook configuration: Saker's audit Service by its fixed ClusterIP, mTLS. */
function webhookKubeconfig(p: TestPki): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: saker-audit
    cluster:
      server: https://${AUDIT_IP}:9765/k8s-audit
      certificate-authority: ${p.files.caCert}
users:
  - name: kube-apiserver
    user:
      client-certificate: ${p.files.clientCert}
      client-key: ${p.files.clientKey}
contexts:
  - name: default
    context: {cluster: saker-audit, user: kube-apiserver}
current-context: default
`;
}

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
  const r = sh(kubectlPath, ['-n', TEST_NS, 'exec', 'receiver', '--', 'cat', '/tmp/alerts'], {
    env: kubeEnv(),
  });
  return r.status === 0 ? parseAlerts(r.stdout) : [];
}

/** Alerts stored in SAKER_ALERTS so far (through a port-forward to the bundled NATS). */
const streamAlerts: Alert[] = [];
async function followStream(): Promise<void> {
  const started = Date.now();
  portForward = spawn(kubectlPath, ['-n', NS, 'port-forward', `svc/${RELEASE}-nats`, ':4222'], {
    env: { ...process.env, ...kubeEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    portForward?.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /127\.0\.0\.1:(\d+) ->/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    portForward?.once('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${text}`)));
  });
  bus = await connectBus({ url: `nats://127.0.0.1:${port}`, name: 'saker-e2e' });
  const consumer = await bus.consumer('SAKER_ALERTS', 'saker-e2e', { deliverPolicy: 'all' });
  void (async () => {
    for await (const m of consumer) {
      streamAlerts.push(...parseAlerts(new TextDecoder().decode(m.data)));
      m.ack();
    }
  })().catch(() => undefined);
  mark('following SAKER_ALERTS', started);
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1000);
  }
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
    nats: { replicas: 1, image: { pullPolicy: 'Never' }, jetstream: { storageClass: '-', size: '4Gi' } },
    engine: { replicas: 1 },
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

describe(
  'chart on a real cluster',
  { skip: !isRoot && 'needs root (CI runs as root)', timeout: 30 * 60_000 },
  () => {
    before(async () => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          teardown();
          process.exit(1);
        });
      }
      process.once('exit', teardown);
      work = mkdtempSync(join(tmpdir(), 'saker-k8s-e2e-'));
      let started = Date.now();
      kubectlPath = join(toolBin('kubernetes'), 'kubectl');
      helmPath = join(toolBin('helm'), 'helm');
      mark('tools (scripts/go-tools.sh)', started);
      const images = [...sakerImages(), busyboxImage()];

      pki = makeTestPki({
        prefix: 'saker-audit-pki-',
        serverSans: [`IP:${AUDIT_IP}`],
        clientCn: 'kube-apiserver',
      });
      const webhook = join(work, 'audit-webhook.yaml');
      writeFileSync(webhook, webhookKubeconfig(pki));

      down();
      started = Date.now();
      must('bash', [join(REPO, 'scripts/k8s/up.sh')], {
        env: { SAKER_K8S: STATE, SAKER_K8S_IMAGES: images.join(' '), SAKER_K8S_AUDIT_WEBHOOK: webhook },
      });
      mark('cluster up (scripts/k8s/up.sh, images imported)', started);

      must(kubectlPath, ['apply', '-f', '-'], { env: kubeEnv(), input: TEST_OBJECTS });
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
      const values = join(work, 'values.json');
      writeFileSync(values, JSON.stringify(installValues()));
      started = Date.now();
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
      process.stderr.write(
        `k8s-cluster timings (total ${((Date.now() - t0) / 1000).toFixed(0)} s):\n  ${timings.join('\n  ')}\n`,
      );
      await bus?.close().catch(() => undefined);
      teardown();
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
      for (const c of ['node', 'engine', 'control', 'audit', 'sinks', 'enrich', 'nats']) {
        assert.ok(kinds.includes(`${RELEASE}-${c}`), `no ${c} pod in ${kinds.join(', ')}`);
      }
      const node = pods.items.find((p) => p.metadata.name.startsWith(`${RELEASE}-node-`));
      assert.deepEqual(
        node?.spec.containers.map((c) => c.name),
        ['nats-leaf', 'sensor', 'engine', 'enrich'],
      );
    });

    it('kubectl exec -it into a pod raises "Terminal shell in container" with the pod and image from the CRI', async () => {
      const started = Date.now();
      // kubectl allocates a TTY only when its own stdin is one: script(1) gives it a pseudo-terminal.
      const marker = `saker-e2e-${Date.now()}`;
      const exec = sh(
        'script',
        [
          '-qfec',
          `${kubectlPath} -n ${TEST_NS} exec -it shell -- sh -c 'echo ${marker}; exit 0'`,
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
      const rules = join(work, 'e2e_rules.yaml');
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
      portForward?.kill();
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
