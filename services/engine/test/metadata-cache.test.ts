/**
 * The KV metadata cache (createKvMetadataProvider) on the in-memory bus and on
 * a real nats-server: the join of every container.* and k8s.* field through
 * the rule engine's extractors, the bounded wait, bad records, LRU, TTL and
 * tombstones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, META_KEYS, connectBus } from '@saker/bus';
import type { ContainerInfo, K8sAuditEvent, PodInfo, SakerEvent, SyscallEvent } from '@saker/events';
import { loadRules } from '@saker/rules';
import { MetricsRegistry } from '@saker/telemetry';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { type KvMetadataProvider, createKvMetadataProvider } from '../src/metadata-cache.js';
import type { KvMetadataOptions } from '../src/metadata-options.js';
import {
  NODE,
  bareEvent,
  containerId,
  containerRecord,
  nowNs,
  podRecord,
  putContainer,
  putPod,
  until,
} from './helpers/metadata-records.js';

const ID = 'a1b2c3d4e5f6';
const UID = '3e41dc6b-08a8-44db-bc2a-3724b18ab19a';
const SANDBOX = '63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a';

const CONTAINER: ContainerInfo = {
  id: ID,
  full_id: `${ID}8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e`,
  name: 'api',
  type: 'containerd',
  image: 'registry.example.com/shop/api:2.8.1',
  image_id: '6f7e2741b66b',
  image_repository: 'registry.example.com/shop/api',
  image_tag: '2.8.1',
  image_digest: 'sha256:d977378f890d445c15e51795296e4e5062f109ce6da83e0a355fc4ad8699d27',
  privileged: true,
  mounts: [
    {
      source: '/var/lib/kubelet/pods/x/volumes/data',
      dest: '/data',
      mode: 'rw',
      rdwr: true,
      propagation: 'rprivate',
    },
    {
      source: '/var/run/docker.sock',
      dest: '/var/run/docker.sock',
      mode: 'ro',
      rdwr: false,
      propagation: 'rslave',
    },
  ],
  labels: { team: 'payments', 'io.kubernetes.pod.uid': UID, 'io.kubernetes.pod.name': 'api-7c9f8d-x2x4q' },
  start_ts: '1715677900000000000',
  ip: '10.244.1.7',
  cni_json: '{"eth0":{"ip":"10.244.1.7"}}',
  host_pid: false,
  host_network: true,
  host_ipc: false,
  healthcheck: 'curl -f localhost',
  liveness_probe: 'wget -q /healthz',
  readiness_probe: 'wget -q /ready',
};

/** The pod as the node's runtime saw it (labels as they were at creation). */
const RUNTIME_POD: PodInfo = {
  pod_name: 'api-7c9f8d-x2x4q',
  pod_uid: UID,
  ns_name: 'shop',
  pod_full_sandbox_id: SANDBOX,
  pod_labels: { app: 'stale' },
};

/** The pod as the API server has it now (cluster mode). */
const API_POD: PodInfo = {
  pod_name: 'api-7c9f8d-x2x4q',
  pod_uid: UID,
  ns_name: 'shop',
  pod_labels: { app: 'api', tier: 'backend' },
  pod_ip: '10.244.1.9',
};

/** Every container.* and k8s.* field of the container plugin's classes, with what the join must give. */
const FIELDS: readonly (readonly [string, string])[] = [
  ['container.id', ID],
  ['container.full_id', CONTAINER.full_id as string],
  ['container.name', 'api'],
  ['container.image', 'registry.example.com/shop/api:2.8.1'],
  ['container.image.id', '6f7e2741b66b'],
  ['container.type', 'containerd'],
  ['container.privileged', 'true'],
  [
    'container.mounts',
    '/var/lib/kubelet/pods/x/volumes/data:/data:rw:true:rprivate,/var/run/docker.sock:/var/run/docker.sock:ro:false:rslave',
  ],
  ['container.mount[1]', '/var/run/docker.sock:/var/run/docker.sock:ro:false:rslave'],
  ['container.mount.source[/data]', '/var/lib/kubelet/pods/x/volumes/data'],
  ['container.mount.dest[/var/run/docker.sock]', '/var/run/docker.sock'],
  ['container.mount.mode[0]', 'rw'],
  ['container.mount.rdwr[/var/run/docker.sock]', 'false'],
  ['container.mount.propagation[1]', 'rslave'],
  ['container.image.repository', 'registry.example.com/shop/api'],
  ['container.image.tag', '2.8.1'],
  ['container.image.digest', CONTAINER.image_digest as string],
  ['container.healthcheck', 'curl -f localhost'],
  ['container.liveness_probe', 'wget -q /healthz'],
  ['container.readiness_probe', 'wget -q /ready'],
  ['container.start_ts', '1715677900000000000'],
  ['container.duration', '23000000000'],
  ['container.ip', '10.244.1.7'],
  ['container.cni.json', '{"eth0":{"ip":"10.244.1.7"}}'],
  ['container.host_pid', 'false'],
  ['container.host_network', 'true'],
  ['container.host_ipc', 'false'],
  ['container.label.team', 'payments'],
  ['container.labels', 'team:payments'],
  ['k8s.pod.name', 'api-7c9f8d-x2x4q'],
  ['k8s.ns.name', 'shop'],
  ['k8s.pod.id', UID],
  ['k8s.pod.uid', UID],
  ['k8s.pod.sandbox_id', SANDBOX.slice(0, 12)],
  ['k8s.pod.full_sandbox_id', SANDBOX],
  // Labels and ip come from the API server's pod record, fresher than the runtime's.
  ['k8s.pod.label[app]', 'api'],
  ['k8s.pod.labels', 'app:api, tier:backend'],
  ['k8s.pod.ip', '10.244.1.9'],
  ['k8s.pod.cni.json', '{"eth0":{"ip":"10.244.1.7"}}'],
];

const ALL_FIELDS_RULE = `- rule: Shell in api container
  desc: reads container and pod fields in its condition and prints every one
  condition: >
    evt.type = execve and proc.name = bash and container.image.repository = registry.example.com/shop/api
    and k8s.ns.name = shop and container.privileged = true and container.mount.dest[/var/run/docker.sock] exists
  output: "${FIELDS.map(([f]) => `${f}=%${f}`).join(' | ')}"
  priority: WARNING
`;

const ruleset = loadRules([{ name: 'meta.yaml', content: ALL_FIELDS_RULE }]).ruleset;

function render(event: SakerEvent): string | undefined {
  return ruleset.evaluate(event)[0]?.output;
}

async function joinOf(p: KvMetadataProvider, e: SakerEvent): Promise<SakerEvent> {
  return await p.join(e);
}

interface Target {
  readonly name: string;
  connect(): Promise<Bus>;
}

/** Each test gets a fresh bucket state: the NATS server is shared, so its bucket is cleared. */
async function freshKv(bus: Bus): Promise<KvStore> {
  const kv = await bus.kv(BUCKETS.meta);
  for (const key of await kv.keys()) await kv.purge(key);
  return kv;
}

async function withCache(
  target: Target,
  options: KvMetadataOptions,
  fn: (kv: KvStore, cache: KvMetadataProvider, logs: string[], bus: Bus) => Promise<void>,
): Promise<void> {
  const bus = await target.connect();
  const logs: string[] = [];
  try {
    const kv = await freshKv(bus);
    await using cache = await createKvMetadataProvider(bus, { log: (l) => logs.push(l), ...options });
    await fn(kv, cache, logs, bus);
  } finally {
    await bus.close();
  }
}

function contract(target: Target): void {
  it('joins every container.* and k8s.* field, completed from the pod record', async () => {
    await withCache(target, {}, async (kv, cache) => {
      const bare = bareEvent(ID, { ts: '1715677923000000000' });
      assert.equal(render(bare), undefined, 'without metadata the rule cannot match');
      await putPod(kv, podRecord(API_POD));
      await putContainer(kv, containerRecord(CONTAINER, { k8s: RUNTIME_POD }));
      await until('both records cached', () => cache.stats().containers === 1 && cache.stats().pods === 1);
      const joined = cache.join(bare);
      assert.ok(!(joined instanceof Promise), 'a cached container joins at once');
      const output = render(joined);
      assert.equal(output, FIELDS.map(([f, v]) => `${f}=${v}`).join(' | '));
      assert.equal(bare.container.image, undefined, 'the incoming event is not modified');
      // The same frozen objects serve every event of the container.
      const again = cache.join(bareEvent(ID)) as SyscallEvent;
      assert.equal(again.container, (joined as SyscallEvent).container);
      assert.ok(Object.isFrozen(again.container) && Object.isFrozen(again.k8s));
      // An event the caller owns gets the metadata written into it: same result, no copy.
      const owned = bareEvent(ID, { ts: '1715677923000000000' });
      assert.equal(cache.joinOwned(owned), owned);
      assert.equal(render(owned), output);
      assert.equal(cache.stats().joinHits, 3);
    });
  });

  it('passes host events and k8s_audit events through untouched', async () => {
    await withCache(target, {}, async (_kv, cache) => {
      const host = bareEvent('host');
      assert.equal(cache.join(host), host);
      const audit = { source: 'k8s_audit', ts: '1', auditID: 'x' } as unknown as K8sAuditEvent;
      assert.equal(cache.join(audit), audit);
      const s = cache.stats();
      assert.equal(s.joinHits + s.joinMisses + s.waits, 0);
    });
  });

  it('an unknown container waits for its record: written 100 ms later, the events are joined', async () => {
    await withCache(target, { waitMs: 2000 }, async (kv, cache) => {
      const t0 = Date.now();
      const waiting = [cache.join(bareEvent(ID)), cache.join(bareEvent(ID)), cache.join(bareEvent(ID))];
      assert.ok(waiting.every((w) => w instanceof Promise));
      await new Promise((r) => setTimeout(r, 100));
      await putContainer(kv, containerRecord(CONTAINER, { k8s: RUNTIME_POD }));
      const joined = await Promise.all(waiting);
      const ms = Date.now() - t0;
      assert.ok(ms >= 100 && ms < 2000, `joined after ${ms} ms, when the record came`);
      for (const e of joined)
        assert.match(render(e) ?? '', /container.image.repository=registry.example.com\/shop\/api/);
      const s = cache.stats();
      assert.equal(s.waits, 1, 'concurrent events of one container share one wait');
      assert.equal(s.waitHits, 1);
      assert.equal(s.waitedEvents, 3);
      assert.equal(s.waitTimeouts, 0);
      assert.equal(s.joinHits, 3);
    });
  });

  it('a record never written: evaluated after ~wait_ms, counted, and later events do not wait', async () => {
    const metrics = new MetricsRegistry();
    await withCache(target, { waitMs: 300, metrics }, async (kv, cache) => {
      const t0 = Date.now();
      const result = await joinOf(cache, bareEvent(ID));
      const ms = Date.now() - t0;
      assert.ok(ms >= 290 && ms < 3000, `gave up after ${ms} ms`);
      assert.equal((result as SyscallEvent).container.image, undefined);
      let s = cache.stats();
      assert.equal(s.waits, 1);
      assert.equal(s.waitTimeouts, 1);
      assert.equal(s.joinMisses, 1);
      // Negative cache: the next event is evaluated at once.
      const next = cache.join(bareEvent(ID));
      assert.ok(!(next instanceof Promise));
      assert.equal(cache.stats().negativeSkips, 1);
      // ... until the record shows up.
      await putContainer(kv, containerRecord(CONTAINER));
      await until('record cached', () => cache.stats().containers === 1);
      const joined = cache.join(bareEvent(ID));
      assert.ok(!(joined instanceof Promise));
      assert.equal((joined as SyscallEvent).container.name, 'api');
      s = cache.stats();
      assert.equal(s.waits, 1);
      await until('metrics published', () =>
        metrics.render().includes('saker_engine_metadata_wait_timeouts_total 1'),
      );
      assert.match(metrics.render(), /saker_engine_metadata_join_misses_total 2/);
    });
  });

  it('a bad KV value is counted and logged with its key and path; the cache keeps working', async () => {
    await withCache(target, {}, async (kv, cache, logs) => {
      const bad = META_KEYS.container(NODE, containerId(7));
      await kv.put(
        bad,
        new TextEncoder().encode(
          '{"v":1,"kind":"container","updated_ts":"1","node":"n","container":{"id":7}}',
        ),
      );
      await kv.put(META_KEYS.pod('p1'), new TextEncoder().encode('not json'));
      await putContainer(kv, containerRecord(CONTAINER));
      await until('good record cached', () => cache.stats().containers === 1);
      assert.equal(cache.stats().badRecords, 2);
      assert.ok(
        logs.some((l) => l.includes(bad) && l.includes('$.container.id')),
        `a log line names the key and the path: ${logs.join('\n')}`,
      );
      assert.ok(logs.some((l) => l.includes('pods.p1') && l.includes('not JSON')));
      const joined = cache.join(bareEvent(ID));
      assert.equal((joined as SyscallEvent).container.image_tag, '2.8.1');
    });
  });
}

describe('metadata cache, in-memory bus', () => {
  contract({ name: 'memory', connect: () => connectBus({ memory: true }) });

  const memory: Target = { name: 'memory', connect: () => connectBus({ memory: true }) };

  it('evicts the least recently used record past max_entries, and gets it back on a miss', async () => {
    await withCache(memory, { maxEntries: 3, waitMs: 0 }, async (kv, cache) => {
      const ids = [1, 2, 3, 4].map(containerId);
      for (const id of ids.slice(0, 3)) await putContainer(kv, containerRecord({ ...CONTAINER, id }));
      await until('three cached', () => cache.stats().containers === 3);
      assert.ok(!(cache.join(bareEvent(ids[0] as string)) instanceof Promise), 'touch the first');
      await putContainer(kv, containerRecord({ ...CONTAINER, id: ids[3] as string }));
      await until('fourth cached', () => cache.stats().evictedLru === 1);
      assert.equal(cache.stats().containers, 3);
      const first = cache.join(bareEvent(ids[0] as string)) as SyscallEvent;
      assert.equal(first.container.name, 'api', 'the recently used one stayed');
      const second = cache.join(bareEvent(ids[1] as string)) as SyscallEvent;
      assert.equal(second.container.name, undefined, 'the least recently used one went');
      // The miss read it back from KV (the watch will not send it again).
      await until('fetched back', () => cache.stats().fetched === 1);
      const back = cache.join(bareEvent(ids[1] as string)) as SyscallEvent;
      assert.equal(back.container.name, 'api');
    });
  });

  it('drops records neither used nor updated for ttl_ms; used ones stay', async () => {
    await withCache(memory, { ttlMs: 200, waitMs: 0, negativeTtlMs: 60_000 }, async (kv, cache) => {
      const [used, idle] = [containerId(1), containerId(2)];
      await putContainer(kv, containerRecord({ ...CONTAINER, id: used }));
      await putContainer(kv, containerRecord({ ...CONTAINER, id: idle }));
      await until('cached', () => cache.stats().containers === 2);
      const deadline = Date.now() + 600;
      while (Date.now() < deadline) {
        assert.equal((cache.join(bareEvent(used)) as SyscallEvent).container.name, 'api');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(cache.stats().expired, 1);
      assert.equal(cache.stats().containers, 1);
      assert.equal((cache.join(bareEvent(idle)) as SyscallEvent).container.name, undefined);
    });
  });

  it('serves a tombstone until deleted_ts + ttl_ms, then drops it; a KV delete drops at once', async () => {
    await withCache(memory, { ttlMs: 300, waitMs: 0, negativeTtlMs: 60_000 }, async (kv, cache) => {
      const [dying, old, deleted] = [containerId(1), containerId(2), containerId(3)];
      await putContainer(kv, containerRecord({ ...CONTAINER, id: dying }, { deletedTs: nowNs() }));
      const longAgo = (BigInt(Date.now() - 60_000) * 1_000_000n).toString();
      await putContainer(kv, containerRecord({ ...CONTAINER, id: old }, { deletedTs: longAgo }));
      await putContainer(kv, containerRecord({ ...CONTAINER, id: deleted }));
      await until('cached', () => cache.stats().containers === 2);
      assert.equal(
        (cache.join(bareEvent(dying)) as SyscallEvent).container.name,
        'api',
        'late events still joined',
      );
      assert.equal(
        (cache.join(bareEvent(old)) as SyscallEvent).container.name,
        undefined,
        'expired tombstone',
      );
      await kv.delete(META_KEYS.container(NODE, deleted));
      await until('deleted key dropped', () => cache.stats().removed === 1);
      // Used all along, the tombstone still goes at deleted_ts + ttl_ms.
      const t0 = Date.now();
      while (cache.stats().containers > 0) {
        cache.join(bareEvent(dying));
        assert.ok(Date.now() - t0 < 3000, 'the tombstone expired');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal((cache.join(bareEvent(dying)) as SyscallEvent).container.name, undefined);
    });
  });

  it('prefers the record of the event node; follows pod updates and removals', async () => {
    await withCache(memory, {}, async (kv, cache) => {
      await putContainer(
        kv,
        containerRecord({ ...CONTAINER, name: 'on-a' }, { node: 'node-a', k8s: RUNTIME_POD }),
      );
      await putContainer(kv, containerRecord({ ...CONTAINER, name: 'on-b' }, { node: 'node-b.example' }));
      await until('cached', () => cache.stats().containers === 2);
      const onA = cache.join(bareEvent(ID, { hostname: 'node-a' })) as SyscallEvent;
      const onB = cache.join(bareEvent(ID, { hostname: 'node-b.example' })) as SyscallEvent;
      assert.equal(onA.container.name, 'on-a');
      assert.equal(onB.container.name, 'on-b');
      assert.equal(onA.k8s?.pod_labels?.app, 'stale', 'the runtime labels until cluster mode writes the pod');
      await putPod(kv, podRecord(API_POD));
      await until('pod cached', () => cache.stats().pods === 1);
      const withPod = cache.join(bareEvent(ID, { hostname: 'node-a' })) as SyscallEvent;
      assert.deepEqual(withPod.k8s?.pod_labels, { app: 'api', tier: 'backend' });
      assert.equal(withPod.k8s?.pod_ip, '10.244.1.9');
      assert.equal(withPod.k8s?.pod_full_sandbox_id, SANDBOX);
      await kv.delete(META_KEYS.pod(UID));
      await until('pod dropped', () => cache.stats().pods === 0);
      const without = cache.join(bareEvent(ID, { hostname: 'node-a' })) as SyscallEvent;
      assert.equal(without.k8s?.pod_labels?.app, 'stale');
    });
  });
});

describe('metadata cache, real nats-server', () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  after(async () => {
    await server.stop();
  });
  contract({ name: 'nats', connect: () => connectBus({ url: server.url }) });
});
