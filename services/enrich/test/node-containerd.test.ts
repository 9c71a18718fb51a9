/**
 * Node mode against a real containerd (the Debian package, its own root,
 * state and socket, with the CRI plugin) and a real nats-server with
 * JetStream: pods and containers made through CRI the way kubelet makes them,
 * records checked in KV saker_meta, removal → tombstone → purge.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, META_KEYS, connectBus } from '@saker/bus';
import { type ContainerRecord, decodeMetaRecord } from '@saker/events';
import { MetricsRegistry } from '@saker/telemetry';
import {
  type BusyboxImage,
  Containerd,
  type NatsServerHandle,
  PAUSE_IMAGE,
  buildBusyboxImageInfo,
  removeCgroup,
  startNatsServer,
} from '@saker/testing';
import { CriClient } from '../src/cri/client.js';
import { kubeletContainerConfig, kubeletPodConfig } from '../src/cri/kubelet.js';
import type { PodSandboxConfig } from '../src/cri/types.js';
import { type EnrichService, start } from '../src/service.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'NOT ROOT: containerd and runc need root';
if (SKIP) console.error(`\n*** SKIPPING enrich containerd test: ${SKIP} ***\n`);

const NODE = 'node-a.example';
const IMAGE = 'registry.saker.test:5000/team/app:1.2.3';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function record(kv: KvStore, key: string): Promise<ContainerRecord | undefined> {
  const e = await kv.get(key);
  if (e === null) return undefined;
  const r = decodeMetaRecord(e.value);
  assert.equal(r.kind, 'container');
  return r as ContainerRecord;
}

// The skip sits on each test: a skipped describe drops its tests from Node 20's totals.
describe('node mode against containerd (CRI)', { timeout: 90_000 }, () => {
  let dir: string;
  let containerd: Containerd;
  let nats: NatsServerHandle;
  let bus: Bus;
  let kv: KvStore;
  let cri: CriClient;
  let image: BusyboxImage;
  let pod: PodSandboxConfig;
  let podId: string;
  const cgroups: string[] = [];

  before(async () => {
    if (SKIP) return;
    dir = mkdtempSync(join(tmpdir(), 'saker-enrich-cd-'));
    [containerd, nats] = await Promise.all([
      Containerd.start(join(dir, 'containerd'), { cri: true }),
      startNatsServer({ jetstream: true }),
    ]);
    image = buildBusyboxImageInfo(join(dir, 'img'), IMAGE);
    containerd.importBusyboxImage(image, 'k8s.io');
    bus = await connectBus({ url: nats.url, name: 'enrich-test' });
    kv = await bus.kv(BUCKETS.meta);
    cri = new CriClient(containerd.socket);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'data/hello'), 'hi\n');
    // A host-to-container (rslave) mount needs a source that is a shared mount.
    mkdirSync(join(dir, 'shared'), { recursive: true });
    for (const args of [
      ['--bind', join(dir, 'shared'), join(dir, 'shared')],
      ['--make-rshared', join(dir, 'shared')],
    ]) {
      const r = spawnSync('mount', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, `mount ${args.join(' ')}: ${r.stderr}`);
    }
    pod = kubeletPodConfig({
      name: 'web-7d4b9',
      namespace: 'shop',
      labels: { app: 'web', tier: 'front' },
      logDirectory: join(dir, 'logs'),
      privileged: true,
    });
    cgroups.push(pod.linux?.cgroupParent ?? '');
    podId = await cri.runPodSandbox(pod);
  });

  after(async () => {
    cri?.close();
    await bus?.close();
    await nats?.stop();
    await containerd?.stop();
    for (const c of cgroups) if (c !== '') removeCgroup(c);
    if (dir) spawnSync('umount', ['-l', join(dir, 'shared')]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'writes a record per container, tombstones a removed one and purges it after the TTL',
    { skip: SKIP },
    async () => {
      const privId = await cri.createContainer(
        podId,
        kubeletContainerConfig(pod, {
          name: 'admin',
          image: IMAGE,
          command: ['/bin/sleep', '300'],
          privileged: true,
          mounts: [
            { containerPath: '/data', hostPath: join(dir, 'data'), readonly: true },
            {
              containerPath: '/shared',
              hostPath: join(dir, 'shared'),
              propagation: 'PROPAGATION_HOST_TO_CONTAINER',
            },
          ],
        }),
        pod,
      );
      const plainId = await cri.createContainer(
        podId,
        kubeletContainerConfig(pod, { name: 'app', image: IMAGE, command: ['/bin/sleep', '300'] }),
        pod,
      );
      await cri.startContainer(privId);
      await cri.startContainer(plainId);

      const metrics = new MetricsRegistry();
      const logs: string[] = [];
      const stop = new AbortController();
      const service: EnrichService = await start(
        {
          bus,
          node: {
            enabled: true,
            criSockets: [`unix://${containerd.socket}`],
            pollIntervalMs: 200,
            nodeName: NODE,
            tombstoneTtlMs: 600,
          },
          metrics,
          log: (l) => logs.push(l),
        },
        stop.signal,
      );
      try {
        assert.deepEqual(service.sockets, [containerd.socket]);
        const privKey = META_KEYS.container(NODE, privId.slice(0, 12));
        const plainKey = META_KEYS.container(NODE, plainId.slice(0, 12));
        const priv = await waitFor('the privileged container record', () => record(kv, privKey));
        const plain = await waitFor('the plain container record', () => record(kv, plainKey));

        assert.equal(priv.node, NODE);
        assert.equal(priv.deleted_ts, undefined);
        const c = priv.container;
        assert.equal(c.id, privId.slice(0, 12));
        assert.equal(c.full_id, privId);
        assert.equal(c.name, 'admin');
        assert.equal(c.type, 'containerd');
        assert.equal(c.image, IMAGE);
        assert.equal(c.image_repository, 'registry.saker.test:5000/team/app');
        assert.equal(c.image_tag, '1.2.3');
        assert.equal(c.image_id, image.configDigest.slice('sha256:'.length));
        assert.equal(c.image_digest, image.manifestDigest);
        assert.equal(c.privileged, true);
        assert.equal(c.host_network, true);
        assert.equal(c.host_pid, false);
        assert.equal(c.host_ipc, false);
        assert.match(c.start_ts ?? '', /^\d{19}$/);
        assert.ok(Math.abs(Number(BigInt(c.start_ts ?? '0') / 1_000_000n) - Date.now()) < 60_000);
        assert.deepEqual(
          c.mounts?.map((m) => [m.source, m.dest, m.rdwr, m.propagation]),
          [
            [join(dir, 'data'), '/data', false, 'private'],
            [join(dir, 'shared'), '/shared', true, 'rslave'],
          ],
        );
        assert.equal(c.labels?.['io.kubernetes.container.name'], 'admin');
        assert.deepEqual(priv.k8s, {
          pod_name: 'web-7d4b9',
          pod_uid: pod.metadata.uid,
          ns_name: 'shop',
          pod_labels: { app: 'web', tier: 'front' },
          pod_sandbox_id: podId.slice(0, 12),
          pod_full_sandbox_id: podId,
        });

        assert.equal(plain.container.privileged, false);
        assert.equal(plain.container.name, 'app');
        assert.deepEqual(plain.container.mounts, []);
        assert.equal(plain.k8s?.pod_name, 'web-7d4b9');

        // The sandbox's pause container: named after the pod, the pause image, privileged as its pod.
        const sandbox = await waitFor('the sandbox record', () =>
          record(kv, META_KEYS.container(NODE, podId.slice(0, 12))),
        );
        assert.equal(sandbox.container.full_id, podId);
        assert.equal(sandbox.container.name, 'web-7d4b9');
        assert.equal(sandbox.container.image, PAUSE_IMAGE);
        assert.equal(sandbox.container.image_repository, 'saker.test/pause');
        assert.equal(sandbox.container.privileged, true);
        assert.equal(sandbox.container.host_network, true);
        assert.equal(sandbox.k8s?.pod_name, 'web-7d4b9');
        assert.equal(sandbox.k8s?.ns_name, 'shop');
        assert.deepEqual(sandbox.k8s?.pod_labels, { app: 'web', tier: 'front' });

        // Listings go on; nothing changed, so nothing more is written.
        // containerd 1.6 has no GetContainerEvents: Unimplemented → polling.
        await waitFor('polling mode', async () => (service.stats()[0]?.mode === 'poll' ? true : undefined));
        const stats0 = service.stats()[0];
        assert.ok(
          logs.some((l) => /no GetContainerEvents; listing containers every 200 ms/.test(l)),
          logs.join('\n'),
        );
        const writes = stats0?.writes ?? -1;
        const listings = stats0?.listings ?? -1;
        await waitFor('two more listings', async () =>
          (service.stats()[0]?.listings ?? 0) >= listings + 2 ? true : undefined,
        );
        assert.equal(service.stats()[0]?.writes, writes);
        assert.equal(service.stats()[0]?.containers, 3, 'two containers and the pod sandbox');

        // Removal: a tombstone (the last record with deleted_ts), then the purge.
        await cri.stopContainer(plainId);
        await cri.removeContainer(plainId);
        const tomb = await waitFor('the tombstone', async () => {
          const r = await record(kv, plainKey);
          return r?.deleted_ts !== undefined ? r : undefined;
        });
        assert.equal(tomb.container.name, 'app');
        assert.equal(tomb.k8s?.pod_name, 'web-7d4b9');
        assert.ok(BigInt(tomb.deleted_ts ?? '0') >= BigInt(plain.updated_ts));
        await waitFor('the purge', async () => ((await kv.get(plainKey)) === null ? true : undefined));
        assert.notEqual(await kv.get(privKey), null, 'the live container is kept');
        const text = metrics.render();
        assert.match(text, /saker_enrich_node_writes_total\{socket="[^"]+",op="tombstone"\} 1/);
        assert.match(text, /saker_enrich_node_writes_total\{socket="[^"]+",op="purge"\} 1/);
        assert.match(text, /saker_enrich_node_containers\{socket="[^"]+"\} 2/);
      } finally {
        await service.stop();
      }

      // A restarted enricher finds KV current: no write. A container removed
      // while it was down becomes a tombstone at its first listing.
      await cri.stopContainer(privId);
      await cri.removeContainer(privId);
      const again = await start({
        bus,
        node: {
          enabled: true,
          criSockets: [containerd.socket],
          pollIntervalMs: 200,
          nodeName: NODE,
          tombstoneTtlMs: 60_000,
        },
        log: () => {},
      });
      try {
        const privKey = META_KEYS.container(NODE, privId.slice(0, 12));
        const tomb = await waitFor('the tombstone after restart', async () => {
          const r = await record(kv, privKey);
          return r?.deleted_ts !== undefined ? r : undefined;
        });
        assert.equal(tomb.container.privileged, true);
        assert.equal(again.stats()[0]?.writes, 1, 'only the tombstone was written');
      } finally {
        await again.stop();
      }
    },
  );
});
