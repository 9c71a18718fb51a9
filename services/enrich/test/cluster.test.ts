/**
 * Cluster mode against a real nats-server and the Kubernetes list+watch
 * stand-in of @saker/testing (kube-api.ts), for what a real API server does
 * not produce on demand: 410 Gone (a compacted history, an expired watch),
 * bookmarks at a chosen moment, an outage, objects and watch lines a real
 * server never sends (no uid, no metadata, broken JSON), the exact requests
 * made. The stand-in's wire format is checked against the real API server,
 * and cluster mode runs against the real one (in-cluster config, HTTPS,
 * service-account token, graceful deletion, shards killed with SIGKILL) in
 * e2e/test/k8s-cluster.test.ts (k8s-enrich.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, META_KEYS, connectBus } from '@saker/bus';
import { type MetaRecord, decodeMetaRecord } from '@saker/events';
import {
  KUBE_RESOURCES,
  type KubeApiServer,
  type KubeResource,
  type KubeTestObject,
  startKubeApiServer,
  startNatsServer,
} from '@saker/testing';
import {
  BadObjectError,
  type ClusterEnrich,
  ClusterEnrichConfigError,
  type ClusterLogger,
  deriveRecord,
  slotOf,
  startClusterEnrich,
} from '../src/cluster/mod.js';

const RESOURCES = Object.keys(KUBE_RESOURCES) as KubeResource[];

const logs: string[] = [];
const log: ClusterLogger = (level, message) => {
  logs.push(`${level}: ${message}`);
};

async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function read(kv: KvStore, key: string): Promise<MetaRecord | undefined> {
  const e = await kv.get(key);
  return e === null ? undefined : decodeMetaRecord(e.value);
}

function pod(name: string, node: string | undefined, labels: Record<string, string> = {}): KubeTestObject {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: randomUUID(),
      labels,
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9c', uid: 'rs-uid-1', controller: true },
      ],
    },
    spec: node === undefined ? { containers: [] } : { nodeName: node, containers: [] },
    status: node === undefined ? { phase: 'Pending' } : { phase: 'Running', podIP: '10.1.2.3' },
  };
}

function workload(name: string, uid: string, extra: Record<string, unknown> = {}): KubeTestObject {
  return { metadata: { name, namespace: 'shop', uid, labels: { app: name } }, ...extra };
}

/** A small cluster: two namespaces, one object of each workload kind, three pods. */
function seed(kube: KubeApiServer): { pods: KubeTestObject[] } {
  kube.apply('namespaces', { metadata: { name: 'shop', uid: 'ns-shop', labels: { team: 'a' } } });
  kube.apply('namespaces', { metadata: { name: 'ops', uid: 'ns-ops' } });
  kube.apply('deployments', workload('web', 'dep-1'));
  kube.apply('replicasets', {
    metadata: {
      name: 'web-5d9c',
      namespace: 'shop',
      uid: 'rs-uid-1',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-1', controller: true },
      ],
    },
  });
  kube.apply('daemonsets', workload('agent', 'ds-1'));
  kube.apply('statefulsets', workload('db', 'sts-1'));
  kube.apply('jobs', workload('migrate', 'job-1'));
  kube.apply('cronjobs', workload('nightly', 'cj-1'));
  kube.apply('replicationcontrollers', workload('legacy', 'rc-1'));
  kube.apply('services', workload('web-svc', 'svc-1', { spec: { selector: { app: 'web' }, ports: [] } }));
  const pods = [
    kube.apply('pods', pod('web-1', 'node-a', { app: 'web' })),
    kube.apply('pods', pod('web-2', 'node-b', { app: 'web' })),
    kube.apply('pods', pod('pending-1', undefined)),
  ];
  return { pods };
}

const uidOf = (o: KubeTestObject): string => o.metadata.uid ?? '';

interface Rig extends AsyncDisposable {
  readonly kube: KubeApiServer;
  readonly bus: Bus;
  readonly kv: KvStore;
  readonly natsUrl: string;
}

async function rig(): Promise<Rig> {
  const nats = await startNatsServer({ jetstream: true });
  const kube = await startKubeApiServer();
  const bus = await connectBus({ url: nats.url });
  const kv = await bus.kv(BUCKETS.meta);
  return {
    kube,
    bus,
    kv,
    natsUrl: nats.url,
    async [Symbol.asyncDispose]() {
      await bus.close();
      await kube.close();
      await nats.stop();
    },
  };
}

describe('enrich cluster mode: objects and options', () => {
  it('refuses objects a record cannot be made of, naming every problem', () => {
    assert.throws(
      () => deriveRecord('namespaces', { metadata: { name: 'a.b', labels: { x: 1 } } }),
      (err: unknown) =>
        err instanceof BadObjectError &&
        err.problems.includes('metadata.uid is missing') &&
        err.problems.some((p) => p.includes('"a.b" is not a valid key token')) &&
        err.problems.some((p) => p.includes('metadata.labels["x"]: expected a string, got number')),
    );
    assert.throws(
      () =>
        deriveRecord('deployments', {
          metadata: { name: 'd', uid: 'u1', ownerReferences: 'rs' },
        }),
      (err: unknown) =>
        err instanceof BadObjectError &&
        err.message ===
          'deployments d: metadata.ownerReferences: expected an array, got string; metadata.namespace is missing',
    );
    assert.throws(() => deriveRecord('pods', null), BadObjectError);
    assert.throws(() => deriveRecord('pods', { metadata: 'x' }), /metadata: expected an object, got string/);
    const ok = deriveRecord('services', {
      metadata: { name: 's', namespace: 'n', uid: 'u2' },
      spec: { selector: { b: '2', a: '1' } },
    });
    assert.equal(ok.key, 'workloads.service.u2');
    assert.deepEqual(ok.body, {
      v: 1,
      kind: 'workload',
      workload: 'Service',
      namespace: 'n',
      name: 's',
      uid: 'u2',
      selector: { a: '1', b: '2' },
    });
  });

  it('rejects bad options by their config key', async () => {
    const bus = await connectBus({ memory: true });
    try {
      for (const [opts, key] of [
        [{ shards: 0 }, 'shards'],
        [{ leaseTtlMs: 5 }, 'lease_ttl_ms'],
        [{ tombstoneTtlMs: -1 }, 'tombstone_ttl_ms'],
        [{ kubeconfig: '/nonexistent/kubeconfig' }, 'kubeconfig'],
      ] as const) {
        await assert.rejects(
          startClusterEnrich(
            { bus, kubeconfig: '/nonexistent/kubeconfig', ...opts },
            new AbortController().signal,
          ),
          (err: unknown) => err instanceof ClusterEnrichConfigError && err.option === key,
        );
      }
    } finally {
      await bus.close();
    }
  });
});

describe('enrich cluster mode (real nats-server, Kubernetes list+watch stand-in)', () => {
  it('lists, then watches from the list resourceVersion; changes and deletions reach KV; tombstones are purged', async () => {
    await using r = await rig();
    const { kube, kv } = r;
    const { pods } = seed(kube);
    // An object the API should never send: no uid. Refused, counted, logged.
    kube.apply('pods', { metadata: { name: 'broken', namespace: 'shop' }, spec: { nodeName: 'node-a' } });
    const listedAt = String(kube.resourceVersion);
    const ac = new AbortController();
    await using enrich = await startClusterEnrich(
      {
        bus: r.bus,
        kubeconfig: kube.writeKubeconfig('solo'),
        instance: 'solo',
        shards: 1,
        leaseTtlMs: 1000,
        tombstoneTtlMs: 1000,
        log,
      },
      ac.signal,
    );
    await enrich.ready;
    const [web1, web2, pending] = pods as [KubeTestObject, KubeTestObject, KubeTestObject];
    await waitFor('the records of the seeded objects', async () => (await kv.keys('pods.*')).length === 3);
    await enrich.idle();

    // One list then one watch per resource, the watch from the list's version, with bookmarks.
    for (const res of RESOURCES) {
      const reqs = kube.requests().filter((q) => q.client === 'solo' && q.resource === res);
      assert.deepEqual(
        reqs.map((q) => (q.watch ? 'watch' : 'list')),
        ['list', 'watch'],
        res,
      );
      assert.equal(reqs[1]?.resourceVersion, listedAt, `${res} watch resourceVersion`);
      assert.equal(reqs[1]?.allowWatchBookmarks, true);
    }

    const p1 = await read(kv, META_KEYS.pod(uidOf(web1)));
    assert.equal(p1?.kind, 'pod');
    assert.deepEqual(p1, {
      ...p1,
      node: 'node-a',
      k8s: {
        pod_name: 'web-1',
        pod_uid: uidOf(web1),
        ns_name: 'shop',
        pod_labels: { app: 'web' },
        pod_ip: '10.1.2.3',
      },
      owner: { kind: 'ReplicaSet', name: 'web-5d9c', uid: 'rs-uid-1' },
    });
    const pp = await read(kv, META_KEYS.pod(uidOf(pending)));
    assert.ok(pp?.kind === 'pod' && pp.node === undefined && pp.k8s.pod_ip === undefined);
    const ns = await read(kv, META_KEYS.namespace('shop'));
    assert.deepEqual(ns, { ...ns, kind: 'namespace', name: 'shop', uid: 'ns-shop', labels: { team: 'a' } });
    const svc = await read(kv, META_KEYS.workload('service', 'svc-1'));
    assert.ok(svc?.kind === 'workload');
    assert.equal(svc.workload, 'Service');
    assert.deepEqual(svc.selector, { app: 'web' });
    const rs = await read(kv, META_KEYS.workload('replicaset', 'rs-uid-1'));
    assert.ok(rs?.kind === 'workload');
    assert.deepEqual(rs.owner, { kind: 'Deployment', name: 'web', uid: 'dep-1' });
    for (const [kind, uid] of [
      ['deployment', 'dep-1'],
      ['daemonset', 'ds-1'],
      ['statefulset', 'sts-1'],
      ['job', 'job-1'],
      ['cronjob', 'cj-1'],
      ['replicationcontroller', 'rc-1'],
    ] as const) {
      assert.equal((await read(kv, META_KEYS.workload(kind, uid)))?.kind, 'workload', kind);
    }
    assert.equal(enrich.stats().badObjects.pods, 1);
    assert.ok(logs.some((l) => l.includes('broken') && l.includes('metadata.uid is missing')));

    // A change the record does not carry is not written; one it carries is.
    const before = enrich.stats().writes.written;
    kube.apply('pods', { ...web1, status: { phase: 'Running', podIP: '10.1.2.3', startTime: 'now' } });
    kube.apply('pods', { ...web2, metadata: { ...web2.metadata, labels: { app: 'web', tier: 'front' } } });
    await waitFor('the relabelled pod', async () => {
      const rec = await read(kv, META_KEYS.pod(uidOf(web2)));
      return rec?.kind === 'pod' && rec.k8s.pod_labels?.tier === 'front';
    });
    await enrich.idle();
    assert.equal(enrich.stats().writes.written, before + 1);

    // A bad update is refused; the service goes on.
    kube.apply('pods', {
      ...pending,
      metadata: { ...pending.metadata, labels: { n: 5 } as unknown as Record<string, string> },
    });
    await waitFor('the bad update counted', () => enrich.stats().badObjects.pods === 2);
    assert.ok(
      logs.some((l) => l.includes('pending-1') && l.includes('metadata.labels["n"]: expected a string')),
    );

    // Broken watch lines: not JSON, an object without metadata, a null object.
    // The client's cache would throw on the last two; they are refused before it.
    await waitFor('every watch open', () => kube.openWatches() === RESOURCES.length);
    kube.injectWatchLine('pods', '{"type":"ADDED","object":');
    kube.injectWatchLine(
      'pods',
      JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1' } }),
    );
    kube.injectWatchLine('pods', JSON.stringify({ type: 'MODIFIED', object: null }));
    await waitFor('the broken events counted', () => enrich.stats().badObjects.pods === 4);
    assert.ok(logs.some((l) => l.includes('ADDED watch event whose object has no metadata')));

    // Deletion: a tombstone (the last record with deleted_ts), purged after the TTL.
    kube.remove('pods', 'web-1', 'shop');
    kube.remove('namespaces', 'ops');
    await waitFor('the tombstones', async () => {
      const t = await read(kv, META_KEYS.pod(uidOf(web1)));
      const n = await read(kv, META_KEYS.namespace('ops'));
      return (
        t?.kind === 'pod' &&
        t.deleted_ts !== undefined &&
        n?.kind === 'namespace' &&
        n.deleted_ts !== undefined
      );
    });
    const tomb = await read(kv, META_KEYS.pod(uidOf(web1)));
    assert.ok(tomb?.kind === 'pod');
    assert.equal(tomb.k8s.pod_name, 'web-1');
    const deletedAt = Date.now();
    await waitFor('the purge', async () => (await kv.get(META_KEYS.pod(uidOf(web1)))) === null, 5000);
    assert.ok(Date.now() - deletedAt >= 500, 'purged well before the tombstone TTL');
    assert.equal(await kv.get(META_KEYS.namespace('ops')), null);
    assert.ok(enrich.stats().writes.purged >= 2);

    // Steady state: still exactly one watch per resource.
    for (const res of RESOURCES) assert.equal(kube.watchCount({ client: 'solo', resource: res }), 1, res);
    ac.abort();
    await enrich.stop();
    assert.equal(await kv.get(META_KEYS.shard(0)), null, 'a clean stop releases its lease');
  });

  it('bookmarks advance the resourceVersion; after 410 Gone it lists again and KV catches up', async () => {
    await using r = await rig();
    const { kube, kv } = r;
    const { pods } = seed(kube);
    const [web1, web2] = pods as [KubeTestObject, KubeTestObject];
    await using enrich = await startClusterEnrich(
      { bus: r.bus, kubeconfig: kube.writeKubeconfig('solo'), instance: 'solo', leaseTtlMs: 1000, log },
      new AbortController().signal,
    );
    await enrich.ready;
    await waitFor('the pods', async () => (await kv.keys('pods.*')).length === 3);

    // Other resources move the version on; pods' watch hears of it only by bookmark.
    for (let i = 0; i < 5; i++) kube.apply('namespaces', { metadata: { name: `n${i}`, uid: `ns-n${i}` } });
    const rvBefore = enrich.stats().informers.pods?.resourceVersion;
    await waitFor('every watch open', () => kube.openWatches() === RESOURCES.length);
    kube.bookmark();
    const target = String(kube.resourceVersion);
    await waitFor('the bookmark', () => enrich.stats().informers.pods?.resourceVersion === target);
    assert.notEqual(rvBefore, target);
    // A dropped connection resumes from the bookmark, without listing again.
    kube.closeWatches();
    await waitFor('the watches to resume', () => kube.watchCount({ client: 'solo', resource: 'pods' }) === 2);
    const resumed = kube.requests().filter((q) => q.client === 'solo' && q.resource === 'pods' && q.watch);
    assert.equal(resumed[1]?.resourceVersion, target);
    assert.equal(enrich.stats().informers.pods?.lists, 1);

    // The API server goes away; meanwhile a pod changes, one is deleted, one is
    // created, and the history is compacted: the client's version is too old.
    kube.setUnavailable(true);
    kube.apply('pods', { ...web2, metadata: { ...web2.metadata, labels: { app: 'web', moved: 'yes' } } });
    kube.remove('pods', 'web-1', 'shop');
    const fresh = kube.apply('pods', pod('web-3', 'node-c', { app: 'web' }));
    kube.compact();
    await new Promise((res) => setTimeout(res, 300));
    kube.setUnavailable(false);

    await waitFor('KV to catch up after the relist', async () => {
      const changed = await read(kv, META_KEYS.pod(uidOf(web2)));
      const gone = await read(kv, META_KEYS.pod(uidOf(web1)));
      const added = await read(kv, META_KEYS.pod(uidOf(fresh)));
      return (
        changed?.kind === 'pod' &&
        changed.k8s.pod_labels?.moved === 'yes' &&
        gone?.kind === 'pod' &&
        gone.deleted_ts !== undefined &&
        added?.kind === 'pod' &&
        added.node === 'node-c'
      );
    });
    const podReqs = kube.requests().filter((q) => q.client === 'solo' && q.resource === 'pods');
    assert.ok(
      podReqs.some((q) => q.watch && q.gone),
      'a watch from the old version was answered 410',
    );
    assert.equal(enrich.stats().informers.pods?.lists, 2, 'pods listed again after 410');

    // A 410 ERROR event on an open watch (the watch cache fell behind) also relists.
    await waitFor('every watch open again', () => kube.openWatches() === RESOURCES.length);
    kube.expireWatches();
    await waitFor('the relist after an expired watch', () => enrich.stats().informers.pods?.lists === 3);
  });
});
