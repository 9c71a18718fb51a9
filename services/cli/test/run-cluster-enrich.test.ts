/**
 * `saker run` with cluster-mode enrichment, end to end: the saker binary over
 * a real nats-server, enrich.cluster.kubeconfig pointing at the Kubernetes
 * list+watch stand-in of @saker/testing, and recorded syscall events dropped
 * into --replay-dir. A pod created in the API server (owned by a ReplicaSet of
 * a Deployment, selected by a Service, in a labelled namespace) makes its
 * Deployment, ReplicaSet, Service and namespace label appear in the alert.
 *
 * The container record stands for node mode (the CRI socket of the node,
 * tested in services/enrich and e2e/): it is written to KV saker_meta by the
 * test, as node mode would.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUCKETS, META_KEYS, connectBus } from '@saker/bus';
import { type ContainerRecord, encodeMetaRecord } from '@saker/events';
import { startKubeApiServer, startNatsServer } from '@saker/testing';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const NODE = 'worker-1';
const CONTAINER = '5e1f00c0ffee';

const RULE = `- rule: Shell in web deployment
  desc: a shell in a pod of the web deployment of a payments namespace
  condition: >
    evt.type = execve and proc.name = bash
    and k8s.deployment.name = web and k8s.ns.label.team = payments
  output: >
    Shell in deployment (deploy=%k8s.deployment.name rs=%k8s.rs.name
    svc=%k8s.svc.name team=%k8s.ns.label.team pod=%k8s.pod.name)
  priority: NOTICE
`;

function execEvent(i: number): string {
  return JSON.stringify({
    source: 'syscall',
    ts: String(1715677923000000000n + BigInt(i) * 1000n),
    num: i,
    hostname: NODE,
    type: 'execve',
    res: 0,
    args: {},
    proc: { pid: 4000 + i, tid: 4000 + i, name: 'bash', exe: 'bash', exepath: '/usr/bin/bash', args: ['-i'] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    container: { id: CONTAINER },
  });
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('saker run: cluster-mode enrichment end to end', () => {
  it('a pod created in the API server → its deployment, replica set, service and namespace label in the alert', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using kube = await startKubeApiServer();
    const dir = mkdtempSync(join(tmpdir(), 'saker-run-cluster-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'drop'));
    writeFileSync(join(dir, 'rules', 'r.yaml'), RULE);
    writeFileSync(
      join(dir, 'saker.yaml'),
      [
        'enrich:',
        '  node:',
        '    enabled: false',
        '  cluster:',
        `    kubeconfig: ${kube.writeKubeconfig('saker-run')}`,
        '',
      ].join('\n'),
    );

    const child = spawn(
      process.execPath,
      [
        MAIN,
        'run',
        '-c',
        'saker.yaml',
        '--nats',
        nats.url,
        '-r',
        'rules',
        '--replay-dir',
        'drop',
        '--no-sensor',
        '--control-listen',
        'off',
        '--metrics-listen',
        'off',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = async (
      what: string,
      test: () => boolean | Promise<boolean>,
      ms = 20_000,
    ): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await test())) {
        if (child.exitCode !== null) assert.fail(`saker run exited while waiting for ${what}\n${stderr}`);
        if (Date.now() > deadline)
          assert.fail(`timed out waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('saker run up', () => stderr.includes('saker: running:'));
    assert.match(stderr, /enrich\(mode=auto [^)]*cluster/);

    // Node mode's part: the container's record, naming its pod.
    const podUid = randomUUID();
    const bus = await connectBus({ url: nats.url });
    try {
      const kv = await bus.kv(BUCKETS.meta);
      const record: ContainerRecord = {
        v: 1,
        kind: 'container',
        node: NODE,
        updated_ts: String(BigInt(Date.now()) * 1_000_000n),
        container: { id: CONTAINER, name: 'web', image: 'registry.example.com/shop/web:1' },
        k8s: { pod_name: 'web-5d9c-x1', pod_uid: podUid, ns_name: 'shop' },
      };
      await kv.put(META_KEYS.container(NODE, CONTAINER), encodeMetaRecord(record));

      // The cluster, created in the API server while saker runs.
      kube.apply('namespaces', { metadata: { name: 'shop', uid: 'ns-shop', labels: { team: 'payments' } } });
      kube.apply('deployments', {
        metadata: { name: 'web', namespace: 'shop', uid: 'dep-web', labels: { app: 'web' } },
      });
      kube.apply('replicasets', {
        metadata: {
          name: 'web-5d9c',
          namespace: 'shop',
          uid: 'rs-web',
          labels: { app: 'web' },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-web', controller: true },
          ],
        },
      });
      kube.apply('services', {
        metadata: { name: 'web', namespace: 'shop', uid: 'svc-web' },
        spec: { selector: { app: 'web' } },
      });
      kube.apply('pods', {
        metadata: {
          name: 'web-5d9c-x1',
          namespace: 'shop',
          uid: podUid,
          labels: { app: 'web' },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9c', uid: 'rs-web', controller: true },
          ],
        },
        spec: { nodeName: NODE, containers: [] },
        status: { phase: 'Running', podIP: '10.1.2.3' },
      });
      await until('cluster mode wrote the pod, its controllers and its service', async () => {
        const keys = [
          META_KEYS.pod(podUid),
          META_KEYS.namespace('shop'),
          META_KEYS.workload('ReplicaSet', 'rs-web'),
          META_KEYS.workload('Deployment', 'dep-web'),
          META_KEYS.workload('Service', 'svc-web'),
        ];
        for (const k of keys) if ((await kv.get(k)) === null) return false;
        return true;
      });
    } finally {
      await bus.close();
    }

    // The engine's cache follows KV through its watches: a file per try, until the alert shows.
    let n = 0;
    await until('the alert', () => {
      if (stdout.includes('Shell in deployment')) return true;
      n++;
      const tmp = join(dir, 'drop', `.e${n}.tmp`);
      writeFileSync(tmp, `${execEvent(n)}\n`);
      renameSync(tmp, join(dir, 'drop', `e${String(n).padStart(3, '0')}.jsonl`));
      return false;
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const alerts = stdout.split('\n').filter((l) => l.includes('Shell in deployment'));
    assert.ok(alerts.length >= 1);
    assert.match(
      alerts[0] ?? '',
      /: Notice Shell in deployment \(deploy=web rs=web-5d9c svc=web team=payments pod=web-5d9c-x1\)/,
    );
  });
});
