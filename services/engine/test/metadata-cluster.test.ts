/**
 * The metadata cache's cluster-mode join on a real nats-server: namespace,
 * ReplicaSet, Deployment, ReplicationController and Service records in KV
 * saker_meta complete the `k8s` object of the containers of their namespace,
 * so Falco's k8s.ns.*, k8s.rs.*, k8s.deployment.*, k8s.rc.* and k8s.svc.*
 * fields work; changes and tombstones reach later events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUCKETS,
  type Bus,
  type KvStore,
  META_KEYS,
  STREAMS,
  batchHeaders,
  connectBus,
  encodeBatch,
} from '@saker/bus';
import { type PodInfo, type SyscallEvent, encodeMetaRecord } from '@saker/events';
import { type RulesetDocument, loadRules } from '@saker/rules';
import { startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import { type KvMetadataProvider, createKvMetadataProvider } from '../src/metadata-cache.js';
import { readAlerts } from './helpers/alerts.js';
import { putNamespace, putOwnedPod, putWorkload } from './helpers/cluster-records.js';
import {
  bareEvent,
  containerId,
  containerRecord,
  nowNs,
  putContainer,
  until,
} from './helpers/metadata-records.js';

const RULE = `- rule: Shell in web deployment
  desc: a shell in a pod of the web deployment of a payments namespace
  condition: >
    evt.type = execve and proc.name = bash
    and k8s.deployment.name = web and k8s.ns.label.team = payments
  output: >
    Shell (deploy=%k8s.deployment.name rs=%k8s.rs.name svc=%k8s.svc.name
    team=%k8s.ns.label.team nsid=%k8s.ns.id deplabels=%k8s.deployment.labels)
  priority: NOTICE
`;

const POD_UID = '11111111-2222-4333-8444-555555555555';
const RC_POD_UID = '11111111-2222-4333-8444-666666666666';
const WEB = containerId(0xc1);
const LEGACY = containerId(0xc2);

const webPod: PodInfo = {
  pod_name: 'web-5d9c-x1',
  pod_uid: POD_UID,
  ns_name: 'shop',
  pod_labels: { app: 'web', tier: 'front' },
};

/** The cluster of the tests: what cluster mode writes for one Deployment and its pod. */
async function seed(kv: KvStore): Promise<void> {
  await putNamespace(kv, 'shop', 'ns-shop-uid', { team: 'payments' });
  await putNamespace(kv, 'ops', 'ns-ops-uid', { team: 'sre' });
  await putWorkload(kv, {
    workload: 'Deployment',
    namespace: 'shop',
    name: 'web',
    uid: 'dep-web',
    labels: { app: 'web' },
  });
  await putWorkload(kv, {
    workload: 'ReplicaSet',
    namespace: 'shop',
    name: 'web-5d9c',
    uid: 'rs-web',
    labels: { app: 'web', 'pod-template-hash': '5d9c' },
    owner: { kind: 'Deployment', name: 'web', uid: 'dep-web' },
  });
  // Matches: every selector pair is among the pod's labels.
  await putWorkload(kv, {
    workload: 'Service',
    namespace: 'shop',
    name: 'web',
    uid: 'svc-web',
    labels: { expose: 'public' },
    selector: { app: 'web' },
  });
  // No match: another label value; no selector at all; the same selector in another namespace.
  await putWorkload(kv, {
    workload: 'Service',
    namespace: 'shop',
    name: 'db',
    uid: 'svc-db',
    selector: { app: 'db' },
  });
  await putWorkload(kv, { workload: 'Service', namespace: 'shop', name: 'external', uid: 'svc-ext' });
  await putWorkload(kv, {
    workload: 'Service',
    namespace: 'ops',
    name: 'web',
    uid: 'svc-ops-web',
    selector: { app: 'web' },
  });
  // A kind no k8s field reads: not held.
  await putWorkload(kv, { workload: 'DaemonSet', namespace: 'shop', name: 'agent', uid: 'ds-1' });
  await putOwnedPod(kv, webPod, { kind: 'ReplicaSet', name: 'web-5d9c', uid: 'rs-web' });
  // The container record carries the pod's identity as the node's runtime knows it.
  await putContainer(
    kv,
    containerRecord(
      { id: WEB, name: 'web', image: 'registry.example.com/shop/web:1' },
      { k8s: { pod_name: webPod.pod_name, pod_uid: POD_UID, ns_name: 'shop' } },
    ),
  );
}

async function joined(cache: KvMetadataProvider, id: string): Promise<SyscallEvent> {
  const e = await cache.join(bareEvent(id));
  assert.ok(e.source === 'syscall');
  return e;
}

/** Polls an async condition (the join of a container dropped after ttl reads it back from KV). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function output(ruleset: ReturnType<typeof rules>, e: SyscallEvent): string | undefined {
  return ruleset.evaluate(e)[0]?.output;
}

function rules() {
  const load = loadRules([{ name: 'cluster.yaml', content: RULE }]);
  assert.ok(load.ok, 'the rule loads');
  return load.ruleset;
}

describe('metadata cache: cluster-mode objects around the pod', () => {
  it('joins namespace, ReplicaSet, Deployment and Services; changes and tombstones reach later events', async () => {
    await using server = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url });
    const logs: string[] = [];
    try {
      const kv = await bus.kv(BUCKETS.meta);
      await seed(kv);
      await using cache = await createKvMetadataProvider(bus, {
        waitMs: 2000,
        ttlMs: 1000,
        log: (l) => logs.push(l),
      });
      await until('the records cached', () => {
        const s = cache.stats();
        return s.containers === 1 && s.pods === 1 && s.namespaces === 2 && s.workloads === 6;
      });
      const ruleset = rules();

      let e = await joined(cache, WEB);
      assert.deepEqual(e.k8s, {
        ...webPod,
        ns_uid: 'ns-shop-uid',
        ns_labels: { team: 'payments' },
        rs_name: 'web-5d9c',
        rs_uid: 'rs-web',
        rs_labels: { app: 'web', 'pod-template-hash': '5d9c' },
        deployment_name: 'web',
        deployment_uid: 'dep-web',
        deployment_labels: { app: 'web' },
        services: [{ name: 'web', uid: 'svc-web', labels: { expose: 'public' } }],
      });
      assert.equal(
        output(ruleset, e),
        'Shell (deploy=web rs=web-5d9c svc=web team=payments nsid=ns-shop-uid deplabels=app:web)',
      );
      // Built once per record change, not per event: every event shares the frozen object.
      const again = await joined(cache, WEB);
      assert.equal(again.k8s, e.k8s);
      assert.ok(Object.isFrozen(e.k8s) && Object.isFrozen(e.k8s?.services));

      // A Deployment's labels change: later events see the new ones.
      await putWorkload(kv, {
        workload: 'Deployment',
        namespace: 'shop',
        name: 'web',
        uid: 'dep-web',
        labels: { app: 'web', version: 'v2' },
      });
      await until('the new deployment labels', () => {
        const k = cache.join(bareEvent(WEB));
        return (
          !(k instanceof Promise) && k.source === 'syscall' && k.k8s?.deployment_labels?.version === 'v2'
        );
      });
      e = await joined(cache, WEB);
      assert.match(output(ruleset, e) ?? '', /deplabels=app:web, version:v2\)$/);

      // A second matching service: both, in name order.
      await putWorkload(kv, {
        workload: 'Service',
        namespace: 'shop',
        name: 'front',
        uid: 'svc-front',
        selector: { tier: 'front', app: 'web' },
      });
      await eventually('two services', async () => (await joined(cache, WEB)).k8s?.services?.length === 2);
      assert.match(output(ruleset, await joined(cache, WEB)) ?? '', /svc=front, web /);

      // The service is deleted: its tombstone serves until deleted_ts + ttl, then it no longer matches.
      const deletedAt = Date.now();
      await putWorkload(kv, {
        workload: 'Service',
        namespace: 'shop',
        name: 'web',
        uid: 'svc-web',
        labels: { expose: 'public' },
        selector: { app: 'web' },
        deletedTs: nowNs(),
      });
      await until(
        'the tombstone expired',
        () => {
          const k = cache.join(bareEvent(WEB));
          return !(k instanceof Promise) && k.source === 'syscall' && k.k8s?.services?.length === 1;
        },
        5000,
      );
      assert.ok(Date.now() - deletedAt >= 900, `served until its expiry (${Date.now() - deletedAt} ms)`);
      assert.match(output(ruleset, await joined(cache, WEB)) ?? '', /svc=front /);

      // The namespace's label changes: the rule no longer matches.
      await putNamespace(kv, 'shop', 'ns-shop-uid', { team: 'retail' });
      await eventually('the new namespace label', async () => {
        return (await joined(cache, WEB)).k8s?.ns_labels?.team === 'retail';
      });
      assert.equal(output(ruleset, await joined(cache, WEB)), undefined);

      // The pod record goes (KV delete): no controller known any more; the namespace still is.
      await kv.delete(META_KEYS.pod(POD_UID));
      await until('the pod dropped', () => cache.stats().pods === 0);
      e = await joined(cache, WEB);
      assert.equal(e.k8s?.rs_name, undefined);
      assert.equal(e.k8s?.deployment_name, undefined);
      assert.equal(e.k8s?.ns_uid, 'ns-shop-uid');
      assert.equal(e.k8s?.services, undefined, 'no pod labels known: no service can be matched');
    } finally {
      await bus.close();
    }
  });

  it('joins a ReplicationController, names its controller before its record comes, and skips records that do not fit their key', async () => {
    await using server = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url });
    const logs: string[] = [];
    try {
      const kv = await bus.kv(BUCKETS.meta);
      await putOwnedPod(
        kv,
        { pod_name: 'legacy-abcde', pod_uid: RC_POD_UID, ns_name: 'old', pod_labels: { app: 'legacy' } },
        { kind: 'ReplicationController', name: 'legacy', uid: 'rc-legacy' },
      );
      await putContainer(
        kv,
        containerRecord({ id: LEGACY, name: 'legacy' }, { k8s: { pod_uid: RC_POD_UID, ns_name: 'old' } }),
      );
      await using cache = await createKvMetadataProvider(bus, { waitMs: 2000, log: (l) => logs.push(l) });
      await until('the records cached', () => cache.stats().containers === 1 && cache.stats().pods === 1);
      // From the ownerReference alone: name and uid, no labels.
      let e = await joined(cache, LEGACY);
      assert.equal(e.k8s?.rc_name, 'legacy');
      assert.equal(e.k8s?.rc_uid, 'rc-legacy');
      assert.equal(e.k8s?.rc_labels, undefined);
      assert.equal(e.k8s?.rs_name, undefined);

      await putWorkload(kv, {
        workload: 'ReplicationController',
        namespace: 'old',
        name: 'legacy',
        uid: 'rc-legacy',
        labels: { app: 'legacy', gen: '1' },
      });
      await until('the controller record', () => cache.stats().workloads === 1);
      e = await joined(cache, LEGACY);
      assert.deepEqual(e.k8s?.rc_labels, { app: 'legacy', gen: '1' });

      // Skipped, counted and logged with the reason; what is held keeps serving.
      const bad = await kv.put(
        META_KEYS.namespace('old'),
        encodeMetaRecord({ v: 1, kind: 'namespace', name: 'other', uid: 'x', updated_ts: nowNs() }),
      );
      await kv.put(
        META_KEYS.workload('replicationcontroller', 'rc-legacy'),
        encodeMetaRecord({
          v: 1,
          kind: 'workload',
          workload: 'Service',
          namespace: 'old',
          name: 'legacy',
          uid: 'rc-legacy',
          updated_ts: nowNs(),
        }),
      );
      await kv.put(
        META_KEYS.workload('service', 'svc-x'),
        new TextEncoder().encode('{"v":1,"kind":"workload"'),
      );
      assert.ok(bad > 0);
      await until('three bad records', () => cache.stats().badRecords === 3);
      assert.equal(cache.stats().namespaces, 0);
      assert.deepEqual((await joined(cache, LEGACY)).k8s?.rc_labels, { app: 'legacy', gen: '1' });
      assert.ok(logs.some((l) => l.includes('namespaces.old') && l.includes("is not the key's name")));
      assert.ok(logs.some((l) => l.includes('expected ReplicationController, got Service')));
      assert.ok(logs.some((l) => l.includes('workloads.service.svc-x') && l.includes('not JSON')));
    } finally {
      await bus.close();
    }
  });

  it('holds at most maxEntries namespace and workload records, counting what it skipped', async () => {
    const bus = await connectBus({ memory: true });
    try {
      const kv = await bus.kv(BUCKETS.meta);
      for (let i = 0; i < 5; i++) await putNamespace(kv, `ns-${i}`, `uid-${i}`);
      await using cache = await createKvMetadataProvider(bus, { maxEntries: 3, log: () => {} });
      await until('three held, two skipped', () => cache.stats().mirrorFull === 2);
      assert.equal(cache.stats().namespaces, 3);
      // An update of one held is applied; a delete makes room.
      await kv.delete(META_KEYS.namespace('ns-0'));
      await putNamespace(kv, 'ns-9', 'uid-9');
      await until('the new one held', () => cache.stats().namespaces === 3 && cache.stats().mirrorFull === 2);
    } finally {
      await bus.close();
    }
  });
});

function doc(content: string): RulesetDocument {
  return {
    format: 1,
    files: [{ name: 'cluster.yaml', content }],
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

async function engineRun(bus: Bus): Promise<void> {
  await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const kv = await bus.kv(BUCKETS.meta);
  await seed(kv);
  const ctl = new AbortController();
  const engine = await start(
    { bus, name: 'cluster', rules: doc(RULE), watchRules: false, metadata: { kv: {} }, log: () => {} },
    ctl.signal,
  );
  try {
    await until('the records cached', () => {
      const s = engine.metadataStats();
      return s?.containers === 1 && s.pods === 1 && s.workloads === 6 && s.namespaces === 2;
    });
    const b = encodeBatch([bareEvent(WEB, { num: 1 }), bareEvent(WEB, { num: 2, name: 'sh' })]);
    bus.publish('saker.v1.events.syscall.cluster', b.data, batchHeaders(b.count));
    const alerts = await readAlerts(bus, 'cluster-e2e', { expected: 1, idleMs: 200 });
    assert.deepEqual(
      alerts.map((a) => a.output.replace(/^\S+ Notice /, '')),
      ['Shell (deploy=web rs=web-5d9c svc=web team=payments nsid=ns-shop-uid deplabels=app:web)'],
    );
  } finally {
    ctl.abort();
    await engine.stopped;
  }
}

describe('engine: a rule on k8s.deployment.name, k8s.rs.name, k8s.svc.name, k8s.ns.label.team', () => {
  it('fires on a real nats-server with the rendered output', async () => {
    await using server = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url });
    try {
      await engineRun(bus);
    } finally {
      await bus.close();
    }
  });
});
