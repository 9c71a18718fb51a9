/**
 * Node mode against a CRI server whose replies the test controls (the real
 * wire format over a unix socket): replies that fail validation are counted
 * and the service keeps going; GetContainerEvents drives updates where the
 * runtime has it. KV is a real nats-server with JetStream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, META_KEYS, connectBus } from '@saker/bus';
import { type ContainerRecord, decodeMetaRecord } from '@saker/events';
import { MetricsRegistry } from '@saker/telemetry';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { CriClient } from '../src/cri/client.js';
import { NodeEnricher } from '../src/node/enricher.js';
import { FakeCri, fakeContainer, fakeSandbox } from './helpers/fake-cri.js';

const NODE = 'n1';
const SANDBOX = 'f'.repeat(64);
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function record(kv: KvStore, id: string): Promise<ContainerRecord | undefined> {
  const e = await kv.get(META_KEYS.container(NODE, id.slice(0, 12)));
  return e === null ? undefined : (decodeMetaRecord(e.value) as ContainerRecord);
}

function counter(metrics: MetricsRegistry, name: string, labels: string): number {
  const line = metrics
    .render()
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('node mode: replies and events', { timeout: 60_000 }, () => {
  let nats: NatsServerHandle;
  let bus: Bus;
  let kv: KvStore;

  before(async () => {
    nats = await startNatsServer({ jetstream: true });
    bus = await connectBus({ url: nats.url, name: 'enrich-replies-test' });
    kv = await bus.kv(BUCKETS.meta);
  });

  after(async () => {
    await bus?.close();
    await nats?.stop();
  });

  it('counts a reply that fails validation, writes the rest and keeps going', async () => {
    const fake = await FakeCri.start();
    fake.events = false;
    fake.sandboxes.set(SANDBOX, fakeSandbox(SANDBOX));
    fake.containers.set(A, fakeContainer(A, 'good', SANDBOX, true));
    const bad = fakeContainer(B, 'bad', SANDBOX);
    // A verbose info document that is not JSON.
    fake.containers.set(B, { ...bad, status: { ...bad.status, info: { info: '{"privileged": tru' } } });
    const cri = new CriClient(fake.socket);
    const metrics = new MetricsRegistry();
    const logs: string[] = [];
    const enricher = new NodeEnricher({
      kv,
      cri,
      node: NODE,
      pollIntervalMs: 100,
      metrics,
      log: (l) => logs.push(l),
    });
    const stop = new AbortController();
    const running = enricher.run(stop.signal);
    try {
      const a = await waitFor('the good record', () => record(kv, A));
      // CRI-O's shapes: privileged at the top of info, cni from the sandbox info.
      assert.equal(a.container.type, 'cri-o');
      assert.equal(a.container.privileged, true);
      assert.equal(a.container.image_repository, 'quay.io/acme/tool');
      assert.equal(a.container.image_tag, '2');
      assert.equal(a.container.image_digest, `sha256:${'ab'.repeat(32)}`);
      assert.equal(a.container.image_id, 'cd'.repeat(32));
      assert.deepEqual(a.container.mounts, [
        { source: '/', dest: '/host', mode: '', rdwr: true, propagation: 'rshared' },
      ]);
      assert.equal(a.container.ip, '10.1.2.3');
      assert.equal(a.container.cni_json, '[{"name":"eth0","mtu":1450}]');
      assert.equal(a.container.host_pid, true);
      assert.equal(a.container.host_network, false);
      assert.deepEqual(a.k8s?.pod_labels, { app: 'tool' });
      assert.equal(a.k8s?.pod_ip, '10.1.2.3');
      // The sandbox's own (pause) container has a record too, named after the pod.
      const sb = await waitFor('the sandbox record', () => record(kv, SANDBOX));
      assert.equal(sb.container.name, 'pod-1');
      assert.equal(sb.container.host_pid, true);
      assert.equal(sb.container.cni_json, '[{"name":"eth0","mtu":1450}]');
      assert.equal(sb.k8s?.ns_name, 'ns-1');

      await waitFor('the error counted', () =>
        counter(metrics, 'saker_enrich_node_errors_total', 'call="ContainerStatus",kind="invalid_reply"') >= 2
          ? true
          : undefined,
      );
      assert.equal(await record(kv, B), undefined);
      assert.ok(
        logs.some((l) => l.includes('CRI ContainerStatus reply: info["info"]: not JSON')),
        logs.join('\n'),
      );
      // The same failure each poll is logged once.
      assert.equal(logs.filter((l) => l.includes('not JSON')).length, 1);

      // The runtime mends its reply: the next listing writes it.
      fake.containers.set(B, bad);
      const b = await waitFor('the mended record', () => record(kv, B));
      assert.equal(b.container.name, 'bad');

      // A listing that fails validation tombstones nothing.
      const listings = enricher.stats().listings;
      fake.listOverride = { containers: [{ ...bad.list, id: '../../etc/passwd' }] };
      await waitFor('the bad listing counted', () =>
        counter(metrics, 'saker_enrich_node_errors_total', 'call="ListContainers",kind="invalid_reply"') >= 2
          ? true
          : undefined,
      );
      assert.equal(enricher.stats().listings, listings);
      assert.match(
        enricher.stats().lastError ?? '',
        /containers\[0\]\.id: expected a 12 to 64 character lowercase hex id/,
      );
      assert.equal((await record(kv, A))?.deleted_ts, undefined);
      assert.equal((await record(kv, B))?.deleted_ts, undefined);
      fake.listOverride = undefined;
      await waitFor('listings again', () => (enricher.stats().listings > listings ? true : undefined));
      assert.equal(enricher.stats().lastError, undefined);
    } finally {
      stop.abort();
      await running;
      cri.close();
      await fake.stop();
    }
  });

  it('follows GetContainerEvents where the runtime has it', async () => {
    const fake = await FakeCri.start();
    fake.runtimeName = 'containerd';
    fake.sandboxes.set(SANDBOX, fakeSandbox(SANDBOX));
    fake.containers.set(A, fakeContainer(A, 'first', SANDBOX));
    const cri = new CriClient(fake.socket);
    const metrics = new MetricsRegistry();
    const node = 'n-events';
    const enricher = new NodeEnricher({
      kv,
      cri,
      node,
      pollIntervalMs: 100,
      resyncIntervalMs: 60_000,
      metrics,
      log: () => {},
    });
    const stop = new AbortController();
    const running = enricher.run(stop.signal);
    const get = async (id: string): Promise<ContainerRecord | undefined> => {
      const e = await kv.get(META_KEYS.container(node, id.slice(0, 12)));
      return e === null ? undefined : (decodeMetaRecord(e.value) as ContainerRecord);
    };
    try {
      await waitFor('the first record', () => get(A));
      await waitFor('events mode', () => (enricher.stats().mode === 'events' ? true : undefined));
      await sleep(250); // a listing sleep begun before the mode changed has ended
      const listings = enricher.stats().listings;

      fake.containers.set(C, fakeContainer(C, 'second', SANDBOX));
      const now = (BigInt(Date.now()) * 1_000_000n).toString();
      assert.equal(
        fake.emit({ containerId: C, containerEventType: 'CONTAINER_STARTED_EVENT', createdAt: now }),
        1,
      );
      const c = await waitFor('the record from the event', () => get(C));
      assert.equal(c.container.name, 'second');

      // An event that fails validation is counted; the stream goes on.
      fake.emit({ containerId: 'not-an-id', containerEventType: 'CONTAINER_CREATED_EVENT', createdAt: now });
      fake.containers.delete(C);
      fake.emit({ containerId: C, containerEventType: 'CONTAINER_DELETED_EVENT', createdAt: now });
      const tomb = await waitFor('the tombstone from the event', async () => {
        const r = await get(C);
        return r?.deleted_ts !== undefined ? r : undefined;
      });
      assert.equal(tomb.container.name, 'second');
      assert.equal(
        counter(metrics, 'saker_enrich_node_errors_total', 'call="GetContainerEvents",kind="invalid_reply"'),
        1,
      );
      assert.equal(enricher.stats().events, 2);
      assert.equal(enricher.stats().listings, listings, 'the events did it, not a listing');
      assert.equal(fake.calls.get('GetContainerEvents'), 1);
    } finally {
      stop.abort();
      await running;
      cri.close();
      await fake.stop();
    }
  });
});
