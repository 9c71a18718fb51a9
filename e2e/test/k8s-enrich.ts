/**
 * Cluster-mode enrich against the real API server of the test cluster
 * (registered by k8s-cluster.test.ts, which owns the cluster's lifetime).
 *
 * Each shard is a `saker enrich --mode cluster` process configured the way a
 * pod is: KUBERNETES_SERVICE_HOST/PORT name the `kubernetes` Service
 * (10.96.0.1:443, through kube-proxy's rules), and a service-account token,
 * the cluster's CA and the namespace are mounted at
 * /var/run/secrets/kubernetes.io/serviceaccount in the process's own mount
 * namespace, so @kubernetes/client-node's loadFromCluster reads them and
 * speaks HTTPS verified by that CA. The token is the chart's enrich
 * ServiceAccount's, bound to the chart's ClusterRole (rendered by helm
 * template): the chart's RBAC is what the test runs with.
 *
 * Records go to a real nats-server on loopback (KV saker_meta).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, META_KEYS, connectBus } from '@saker/bus';
import { slotOf } from '@saker/enrich';
import { type MetaRecord, decodeMetaRecord } from '@saker/events';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { CHART } from './helm.js';
import {
  PKI_DIR,
  REPO,
  apply,
  busyboxSpec,
  clusterUp,
  helmCmd,
  isRoot,
  kubectl,
  kubectlIn,
  mark,
  onTeardown,
  sleep,
  waitFor,
  work,
} from './k8s.js';
import { type KubeWatchStream, kubeWatch, realApiServer } from './kube-raw.js';
import { compareWireFormat } from './kube-wire.js';

const CLI = join(REPO, 'services/cli/dist/src/main.js');
const SA_NS = 'saker-enrich-e2e';
const SA_RELEASE = 'enrich-e2e';
const APP_NS = 'enrich-app';
const SCALE_NS = 'enrich-scale';
const SHARDS = 2;
const LEASE_TTL_MS = 3000;
const FAKE_NODES = 10;
const PODS = 100;
const NODE = hostname().toLowerCase();
const API = 'https://10.245.0.1:6443';

/** Runs the command with the service account's files where a pod has them. */
const IN_POD = `set -e
mount -t tmpfs -o size=1m,mode=0755 saker-serviceaccount /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
cp "$SAKER_E2E_SA"/token "$SAKER_E2E_SA"/ca.crt "$SAKER_E2E_SA"/namespace /run/secrets/kubernetes.io/serviceaccount/
unset SAKER_E2E_SA
exec "$@"
`;

class Shard {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    config: string,
    saDir: string,
  ) {
    const { NODE_TEST_CONTEXT: _t, KUBECONFIG: _k, ...env } = process.env;
    this.child = spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'bash',
        '-c',
        IN_POD,
        'in-pod',
        process.execPath,
        CLI,
        'enrich',
        '--mode',
        'cluster',
        '--config',
        config,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...env,
          SAKER_E2E_SA: saDir,
          KUBERNETES_SERVICE_HOST: '10.96.0.1',
          KUBERNETES_SERVICE_PORT: '443',
          SAKER__ENRICH__CLUSTER__INSTANCE: name,
        },
      },
    );
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.log += d;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    const child = this.child;
    onTeardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  }

  async synced(): Promise<void> {
    await waitFor(
      `${this.name}: informers synced`,
      60_000,
      () => {
        if (this.child.exitCode !== null) assert.fail(`${this.name} exited:\n${this.log}`);
        return /informers synced/.test(this.log) ? true : undefined;
      },
      100,
    );
  }

  /** SIGKILL: no lease released, nothing flushed, as when a pod's node dies. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
}

export function enrichOnClusterTests(): void {
  describe(
    'enrich cluster mode against the real API server (in-cluster config, HTTPS, service-account token)',
    { skip: !isRoot && 'needs root (CI runs as root)', timeout: 15 * 60_000 },
    () => {
      let nats: NatsServerHandle | undefined;
      let bus: Bus | undefined;
      let kv: KvStore;
      let config = '';
      let saDir = '';
      const shards: Shard[] = [];
      const startShard = (name: string): Shard => {
        const s = new Shard(name, config, saDir);
        shards.push(s);
        return s;
      };
      const read = async (key: string): Promise<MetaRecord | undefined> => {
        const e = await kv.get(key);
        return e === null ? undefined : decodeMetaRecord(e.value);
      };
      const holders = async (): Promise<string[]> => {
        const out: string[] = [];
        for (let i = 0; i < SHARDS; i++) {
          const l = await read(META_KEYS.shard(i));
          out.push(
            l?.kind === 'lease' && BigInt(l.expires_ts) > BigInt(Date.now()) * 1_000_000n ? l.holder : '',
          );
        }
        return out;
      };

      before(async () => {
        await clusterUp();
        const started = Date.now();
        // The chart's enrich ServiceAccount and its ClusterRole, under a release of their own.
        kubectl('create', 'namespace', SA_NS);
        const rbac = helmCmd(
          'template',
          SA_RELEASE,
          CHART,
          '-n',
          SA_NS,
          '--show-only',
          'templates/rbac.yaml',
        );
        kubectlIn(rbac, 'apply', '-n', SA_NS, '-f', '-');
        const sa = `${SA_RELEASE}-saker-enrich`;
        kubectl('-n', SA_NS, 'create', 'serviceaccount', sa);
        saDir = join(work(), 'serviceaccount');
        mkdirSync(saDir);
        writeFileSync(
          join(saDir, 'token'),
          kubectl('-n', SA_NS, 'create', 'token', sa, '--duration=1h').trim(),
        );
        copyFileSync(join(PKI_DIR, 'ca.crt'), join(saDir, 'ca.crt'));
        writeFileSync(join(saDir, 'namespace'), SA_NS);
        nats = await startNatsServer({ jetstream: true });
        bus = await connectBus({ url: nats.url, name: 'saker-e2e-enrich' });
        kv = await bus.kv(BUCKETS.meta);
        config = join(work(), 'enrich.yaml');
        writeFileSync(
          config,
          [
            'nats:',
            `  url: ${nats.url}`,
            'telemetry:',
            "  listen: ''",
            'enrich:',
            '  cluster:',
            '    enabled: true',
            `    shards: ${SHARDS}`,
            `    lease_ttl_ms: ${LEASE_TTL_MS}`,
            '    tombstone_ttl_ms: 600000',
            '',
          ].join('\n'),
        );
        mark('enrich: ServiceAccount, token, nats-server', started);
      });

      after(async () => {
        // Pods of nodes without a kubelet never finish a graceful deletion: force them out, then
        // the nodes go (the chart installed next must see one node).
        try {
          kubectl(
            '-n',
            SCALE_NS,
            'delete',
            'pods',
            '--all',
            '--grace-period=0',
            '--force',
            '--ignore-not-found',
          );
          kubectl('delete', 'nodes', '-l', 'saker-e2e=fake', '--ignore-not-found');
          kubectl('delete', 'namespace', SCALE_NS, '--wait=false', '--ignore-not-found');
        } catch {
          // the cluster is not up: nothing to clean
        }
        for (const s of shards) if (s.child.exitCode === null) s.child.kill('SIGTERM');
        await Promise.all(shards.map((s) => s.exited));
        await bus?.close().catch(() => undefined);
        await nats?.stop();
      });

      it('two shards list and watch every resource; pods, namespaces and workloads reach saker_meta; graceful deletion tombstones only after DELETED', async () => {
        let started = Date.now();
        const [a, b] = [startShard('shard-a'), startShard('shard-b')];
        await Promise.all([a.synced(), b.synced()]);
        const held = await waitFor(
          'each shard to hold one slot',
          30_000,
          async () => {
            const h = await holders();
            return h.every((x) => x !== '') && new Set(h).size === SHARDS ? h : undefined;
          },
          200,
        );
        mark('enrich: two shards synced and holding a slot each', started);
        assert.deepEqual([...held].sort(), ['shard-a', 'shard-b']);
        // No warnings: the token, the CA and the RBAC were enough for every list and watch.
        for (const s of [a, b]) assert.doesNotMatch(s.log, /\bwarn|\berror|\b403\b|\bforbidden\b/i, s.log); // (403 as a word: not a port like 40403)

        started = Date.now();
        apply(`apiVersion: v1
kind: Namespace
metadata: {name: ${APP_NS}, labels: {team: e2e}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${APP_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
${busyboxSpec('web', "trap 'exit 0' TERM; while true; do sleep 1; done", 1, 6)}
`);
        kubectl('-n', APP_NS, 'rollout', 'status', 'deploy/web', '--timeout=120s');
        const nsUid = kubectl('get', 'namespace', APP_NS, '-o', 'jsonpath={.metadata.uid}');
        const depUid = kubectl('-n', APP_NS, 'get', 'deploy', 'web', '-o', 'jsonpath={.metadata.uid}');
        const rs = JSON.parse(kubectl('-n', APP_NS, 'get', 'rs', '-l', 'app=web', '-o', 'json')) as {
          items: { metadata: { name: string; uid: string } }[];
        };
        const rsMeta = rs.items[0]?.metadata;
        assert.ok(rsMeta);
        const pods = JSON.parse(kubectl('-n', APP_NS, 'get', 'pods', '-l', 'app=web', '-o', 'json')) as {
          items: (PodJson & { status: { podIP?: string } })[];
        };
        const webPod = pods.items[0];
        assert.ok(webPod);
        const podRec = await waitFor(
          'the web pod with its IP in saker_meta',
          60_000,
          async () => {
            const r = await read(META_KEYS.pod(webPod.metadata.uid));
            return r?.kind === 'pod' && r.k8s.pod_ip !== undefined ? r : undefined;
          },
          200,
        );
        assert.ok(podRec.kind === 'pod');
        assert.equal(podRec.node, NODE);
        assert.equal(podRec.k8s.pod_name, webPod.metadata.name);
        assert.equal(podRec.k8s.ns_name, APP_NS);
        assert.equal(podRec.k8s.pod_labels?.app, 'web');
        assert.deepEqual(podRec.owner, { kind: 'ReplicaSet', name: rsMeta.name, uid: rsMeta.uid });
        const nsRec = await waitFor(
          'the namespace record',
          30_000,
          () => read(META_KEYS.namespace(APP_NS)),
          200,
        );
        assert.ok(nsRec.kind === 'namespace');
        assert.equal(nsRec.uid, nsUid);
        assert.equal(nsRec.labels?.team, 'e2e');
        const rsRec = await waitFor(
          'the replicaset record',
          30_000,
          () => read(META_KEYS.workload('replicaset', rsMeta.uid)),
          200,
        );
        assert.ok(rsRec.kind === 'workload');
        assert.deepEqual(rsRec.owner, { kind: 'Deployment', name: 'web', uid: depUid });
        const depRec = await waitFor(
          'the deployment record',
          30_000,
          () => read(META_KEYS.workload('deployment', depUid)),
          200,
        );
        assert.ok(depRec.kind === 'workload' && depRec.name === 'web');
        mark('enrich: a Deployment, its ReplicaSet, its pod and the namespace in saker_meta', started);

        // Graceful deletion: the kubelet holds a pod that ignores SIGTERM for its grace period.
        apply(`apiVersion: v1
kind: Pod
metadata: {name: slow, namespace: ${APP_NS}}
spec:
${busyboxSpec('slow', "trap '' TERM; while true; do sleep 1; done", 6, 2)}
`);
        kubectl('-n', APP_NS, 'wait', '--for=condition=Ready', 'pod/slow', '--timeout=120s');
        const slow = JSON.parse(kubectl('-n', APP_NS, 'get', 'pod', 'slow', '-o', 'json')) as PodJson & {
          metadata: { resourceVersion: string };
        };
        await waitFor(
          'the slow pod in saker_meta',
          30_000,
          () => read(META_KEYS.pod(slow.metadata.uid)),
          200,
        );
        const ep = realApiServer(PKI_DIR, API);
        const watch: KubeWatchStream = await kubeWatch(
          ep,
          `/api/v1/namespaces/${APP_NS}/pods?watch=true&fieldSelector=metadata.name%3Dslow&resourceVersion=${slow.metadata.resourceVersion}`,
        );
        try {
          started = Date.now();
          kubectl('-n', APP_NS, 'delete', 'pod', 'slow', '--wait=false');
          const events = () => watch.events as { type: string; object: PodJson }[];
          await waitFor(
            'MODIFIED with deletionTimestamp',
            30_000,
            () =>
              events().some((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp !== undefined)
                ? true
                : undefined,
            200,
          );
          // Terminating, not gone: the record stays live.
          const during = await read(META_KEYS.pod(slow.metadata.uid));
          assert.ok(during?.kind === 'pod' && during.deleted_ts === undefined, 'live while terminating');
          await waitFor(
            'DELETED',
            60_000,
            () => (events().some((e) => e.type === 'DELETED') ? true : undefined),
            200,
          );
          const deletedAfterMs = Date.now() - started;
          const tomb = await waitFor(
            'the tombstone',
            30_000,
            async () => {
              const r = await read(META_KEYS.pod(slow.metadata.uid));
              return r?.kind === 'pod' && r.deleted_ts !== undefined ? r : undefined;
            },
            100,
          );
          mark('enrich: graceful pod deletion (6 s grace) to tombstone', started);
          assert.ok(
            deletedAfterMs >= 5000,
            `DELETED came ${deletedAfterMs} ms after the delete: no grace period seen`,
          );
          assert.ok(tomb.kind === 'pod' && tomb.k8s.pod_name === 'slow');
          // The real API server's order: a MODIFIED carrying deletionTimestamp, then DELETED.
          const types = events().map((e) => e.type);
          assert.equal(types.at(-1), 'DELETED');
          assert.ok(types.indexOf('MODIFIED') < types.indexOf('DELETED'), types.join(','));
        } finally {
          watch.close();
        }

        // The namespace is deleted gracefully too (Terminating, then gone), with all in it.
        started = Date.now();
        kubectl('delete', 'namespace', APP_NS, '--wait=false');
        await waitFor(
          'the tombstones of the namespace, its deployment, replicaset and pod',
          120_000,
          async () => {
            for (const key of [
              META_KEYS.namespace(APP_NS),
              META_KEYS.workload('deployment', depUid),
              META_KEYS.workload('replicaset', rsMeta.uid),
              META_KEYS.pod(webPod.metadata.uid),
            ]) {
              const r = await read(key);
              if (r === undefined || !('deleted_ts' in r) || r.deleted_ts === undefined) return undefined;
            }
            return true;
          },
          250,
        );
        mark('enrich: namespace deletion to tombstones', started);
      });

      it('a shard killed with SIGKILL: the other takes its nodes, the restarted one carries on, nothing is lost', async () => {
        const [a, b] = shards as [Shard, Shard];
        // NODES nodes without a kubelet (Node objects only), PODS pods bound to them.
        const nodes = Array.from({ length: FAKE_NODES }, (_, i) => `fake-node-${String(i).padStart(2, '0')}`);
        const objects: string[] = [`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${SCALE_NS}}`];
        // Tainted: no DaemonSet (the chart's node pods) or scheduler places anything there.
        for (const n of nodes)
          objects.push(
            `apiVersion: v1\nkind: Node\nmetadata: {name: ${n}, labels: {saker-e2e: fake}}\nspec: {taints: [{key: saker-e2e-fake, effect: NoSchedule}]}`,
          );
        const podYaml = (name: string, node: string, i: number): string =>
          `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${SCALE_NS}, labels: {i: "${i}"}}\nspec:\n  nodeName: ${node}\n  containers: [{name: c, image: docker.io/local/busybox:e2e}]`;
        for (let i = 0; i < PODS; i++) objects.push(podYaml(`p-${i}`, nodes[i % nodes.length] as string, i));

        // Every write of a pod record, whoever makes it.
        const puts = new Map<string, number>();
        const kvWatch = await kv.watch({ key: META_KEYS.allPods });
        const counting = (async () => {
          for await (const e of kvWatch)
            if (e.operation === 'PUT') puts.set(e.key, (puts.get(e.key) ?? 0) + 1);
        })();
        const podsNow = (): PodJson[] =>
          (JSON.parse(kubectl('-n', SCALE_NS, 'get', 'pods', '-o', 'json')) as { items: PodJson[] }).items;

        let started = Date.now();
        kubectlIn(objects.join('\n---\n'), 'create', '-f', '-');
        mark(`enrich: ${FAKE_NODES} nodes and ${PODS} pods created`, started);
        let all = podsNow();
        assert.equal(all.length, PODS);
        await waitFor(
          `${PODS} pod records`,
          60_000,
          () => (all.every((p) => puts.has(META_KEYS.pod(p.metadata.uid))) ? true : undefined),
          200,
        );
        mark(`enrich: ${PODS} pod records written`, started);
        await sleep(500);
        const dup = all
          .filter((p) => puts.get(META_KEYS.pod(p.metadata.uid)) !== 1)
          .map((p) => p.metadata.name);
        assert.deepEqual(dup, [], 'every pod written exactly once (each by its shard only)');

        const h = await holders();
        const slotB = h.indexOf('shard-b');
        const slotA = h.indexOf('shard-a');
        assert.ok(slotA >= 0 && slotB >= 0, `holders ${h.join(',')}`);
        const nodesOf = (slot: number) => nodes.filter((n) => slotOf(n, SHARDS) === slot);
        const podsOn = (slot: number) => all.filter((p) => nodesOf(slot).includes(p.spec.nodeName ?? ''));
        process.stdout.write(
          `# ${PODS} pods on ${FAKE_NODES} nodes over 2 shards: shard-a ${podsOn(slotA).length}, shard-b ${podsOn(slotB).length}\n`,
        );
        assert.ok(podsOn(slotA).length > 0 && podsOn(slotB).length > 0);

        // SIGKILL shard-b; its nodes keep changing.
        await b.kill();
        const killedAt = Date.now();
        // When the lease moves, watched from the kill on while the changes below are made.
        const leaseMoved = waitFor(
          "shard-b's lease to move to shard-a",
          30_000,
          async () => ((await holders())[slotB] === 'shard-a' ? Date.now() : undefined),
          100,
        );
        const victims = podsOn(slotB);
        const relabelled = victims.slice(0, 10).map((p) => p.metadata.name);
        kubectl('-n', SCALE_NS, 'label', 'pod', ...relabelled, 'moved=yes');
        const gone = victims.slice(10, 15);
        // No kubelet runs these pods: force deletion is their only way out.
        kubectl(
          '-n',
          SCALE_NS,
          'delete',
          'pod',
          ...gone.map((p) => p.metadata.name),
          '--grace-period=0',
          '--force',
        );
        kubectlIn(
          nodesOf(slotB)
            .slice(0, 5)
            .map((n, i) => podYaml(`new-${i}`, n, 1000 + i))
            .join('\n---\n'),
          'create',
          '-f',
          '-',
        );
        /** Every pod of the API has a live record with its labels and node; every deleted one a tombstone. */
        const consistent = async (deleted: readonly PodJson[]): Promise<true | undefined> => {
          for (const p of podsNow()) {
            const r = await read(META_KEYS.pod(p.metadata.uid));
            if (r?.kind !== 'pod' || r.deleted_ts !== undefined || r.node !== p.spec.nodeName)
              return undefined;
            if (JSON.stringify(r.k8s.pod_labels ?? {}) !== JSON.stringify(p.metadata.labels ?? {}))
              return undefined;
          }
          for (const p of deleted) {
            const r = await read(META_KEYS.pod(p.metadata.uid));
            if (r?.kind !== 'pod' || r.deleted_ts === undefined) return undefined;
          }
          return true;
        };
        const tookMs = (await leaseMoved) - killedAt;
        mark(`enrich: lease of the SIGKILLed shard taken over (lease ttl ${LEASE_TTL_MS} ms)`, killedAt);
        assert.ok(tookMs < 3 * LEASE_TTL_MS, `take-over took ${tookMs} ms`);
        await waitFor(
          "shard-a to write every change on shard-b's nodes",
          60_000,
          () => consistent(gone),
          500,
        );
        mark('enrich: every change made after the SIGKILL in saker_meta', killedAt);

        // shard-b restarts (the kubelet would); it syncs and stands by. Then shard-a is killed:
        // the restarted shard-b takes every slot and misses nothing of what changed meanwhile.
        const b2 = startShard('shard-b');
        await b2.synced();
        await a.kill();
        const killedA = Date.now();
        all = podsNow();
        kubectl('-n', SCALE_NS, 'label', 'pod', ...all.slice(0, 30).map((p) => p.metadata.name), 'round=2');
        const gone2 = all.slice(30, 35);
        kubectl(
          '-n',
          SCALE_NS,
          'delete',
          'pod',
          ...gone2.map((p) => p.metadata.name),
          '--grace-period=0',
          '--force',
        );
        started = Date.now();
        await waitFor(
          'the restarted shard-b to hold every slot with every change',
          60_000,
          async () => {
            const now = await holders();
            return now.every((x) => x === 'shard-b') ? consistent([...gone, ...gone2]) : undefined;
          },
          500,
        );
        mark('enrich: the restarted shard took over from a SIGKILLed one', killedA);
        assert.equal(podsNow().length, PODS - 5 + 5 - 5);
        kvWatch.stop();
        await counting;
      });

      it('the stand-in API server answers in the real one’s wire format (lists, watch events, errors)', async () => {
        await compareWireFormat(realApiServer(PKI_DIR, API));
      });
    },
  );
}
