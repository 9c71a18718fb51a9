/**
 * joinBatch over the KV metadata cache (in-memory bus): runs of hits joined in
 * one call (joinOwnedRun), misses one by one (waiting when the record comes),
 * and a provider whose run throws.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, type Bus, type KvStore, connectBus } from '@saker/bus';
import type { ContainerInfo, PodInfo, SakerEvent, SyscallEvent } from '@saker/events';
import { type KvMetadataProvider, createKvMetadataProvider } from '../src/metadata-cache.js';
import { joinBatch } from '../src/metadata-join.js';
import type { MetadataProvider } from '../src/metadata.js';
import {
  bareEvent,
  containerId,
  containerRecord,
  podRecord,
  putContainer,
  putPod,
  until,
} from './helpers/metadata-records.js';

function container(n: number): ContainerInfo {
  return { id: containerId(n), name: `app-${n}`, image: `registry.example.com/app:${n}` };
}

function pod(n: number): PodInfo {
  return { pod_name: `app-${n}`, pod_uid: `00000000-0000-4000-8000-${containerId(n)}`, ns_name: 'shop' };
}

function hostEvent(): SyscallEvent {
  const e = bareEvent('host');
  return { ...e, container: { id: 'host' } };
}

describe('joinBatch', () => {
  let bus: Bus;
  let kv: KvStore;
  let cache: KvMetadataProvider;

  before(async () => {
    bus = await connectBus({ memory: true });
    kv = await bus.kv(BUCKETS.meta);
    for (let n = 1; n <= 3; n++) {
      await putContainer(kv, containerRecord(container(n), { k8s: pod(n) }));
      await putPod(kv, podRecord(pod(n)));
    }
    cache = await createKvMetadataProvider(bus, { waitMs: 2000 });
    await until('records cached', () => cache.stats().containers === 3);
  });

  after(async () => {
    await cache.close();
    await bus.close();
  });

  it('joins hits before and after a miss that waits, in place, and leaves host events alone', async () => {
    const events: SakerEvent[] = [
      bareEvent(containerId(1)),
      hostEvent(),
      bareEvent(containerId(2)),
      bareEvent(containerId(9)), // not known yet: waits for its record
      bareEvent(containerId(3)),
      bareEvent(containerId(1)),
    ];
    const originals = [...events];
    const hits0 = cache.stats().joinHits;
    const failures: unknown[] = [];
    const waiting = joinBatch(cache, events, (err) => failures.push(err));
    assert.ok(waiting instanceof Promise, 'the unknown id makes the batch wait');
    // The hits around the miss are already joined, in the events themselves.
    for (const at of [0, 2, 4, 5]) {
      assert.equal(events[at], originals[at]);
      assert.equal((events[at] as SyscallEvent).container.image !== undefined, true, `event ${at} joined`);
    }
    assert.equal((events[0] as SyscallEvent).k8s?.pod_name, 'app-1');
    assert.equal((events[4] as SyscallEvent).k8s?.pod_name, 'app-3');
    assert.deepEqual((events[1] as SyscallEvent).container, { id: 'host' });
    assert.equal((events[1] as SyscallEvent).k8s, undefined);
    assert.equal((events[3] as SyscallEvent).container.image, undefined);
    await putContainer(kv, containerRecord(container(9), { k8s: pod(9) }));
    await waiting;
    assert.deepEqual(failures, []);
    assert.equal((events[3] as SyscallEvent).container.image, 'registry.example.com/app:9');
    assert.equal((events[3] as SyscallEvent).k8s?.pod_name, 'app-9');
    assert.equal(cache.stats().joinHits - hits0, 5, 'four hits and the one that waited');
  });

  it("goes one by one when the provider's run throws, and reports the event that fails", () => {
    let calls = 0;
    const provider: MetadataProvider = {
      join: (e) => e,
      joinOwned(e) {
        if ((e as SyscallEvent).container.id === containerId(2)) throw new Error('bad event');
        return cache.joinOwned(e);
      },
      joinOwnedRun() {
        calls++;
        throw new Error('run broke');
      },
    };
    const events: SakerEvent[] = [containerId(1), containerId(2), containerId(3)].map((id) => bareEvent(id));
    const failures: unknown[] = [];
    assert.equal(
      joinBatch(provider, events, (err) => failures.push(err)),
      undefined,
    );
    assert.equal(calls, 1, 'no run after one threw');
    assert.deepEqual(
      failures.map((f) => (f as Error).message),
      ['bad event'],
    );
    assert.equal((events[0] as SyscallEvent).container.name, 'app-1');
    assert.equal((events[1] as SyscallEvent).container.name, undefined);
    assert.equal((events[2] as SyscallEvent).container.name, 'app-3');
  });
});
