/**
 * The metadata cache's pure parts, without KV or a bus: the Kubernetes
 * object graph that completes a pod (metadata-graph.ts) and the waits for
 * unknown containers (metadata-waits.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type NamespaceEntry, type WorkloadEntry, unlisted } from '../src/metadata-entries.js';
import { type MirroredObjects, completePod, mergePod } from '../src/metadata-graph.js';
import { ContainerWaits } from '../src/metadata-waits.js';

function workload(
  uid: string,
  kind: WorkloadEntry['workload'],
  name: string,
  more: Partial<Pick<WorkloadEntry, 'labels' | 'selector' | 'owner'>> = {},
): WorkloadEntry {
  return {
    kind: 'workload',
    key: `workloads.${uid}`,
    uid,
    workload: kind,
    namespace: 'shop',
    name,
    labels: more.labels,
    selector: more.selector,
    owner: more.owner,
    ref: { name, uid },
    ...unlisted(1),
  };
}

describe('metadata graph (completePod)', () => {
  const ns: NamespaceEntry = {
    kind: 'namespace',
    key: 'namespaces.shop',
    name: 'shop',
    uid: 'ns-1',
    labels: { team: 'a' },
    ...unlisted(1),
  };
  const rs = workload('rs-1', 'ReplicaSet', 'web-5d8', {
    labels: { app: 'web' },
    owner: { kind: 'Deployment', name: 'web', uid: 'dep-1' },
  });
  const dep = workload('dep-1', 'Deployment', 'web', { labels: { tier: 'front' } });
  const svcB = workload('svc-b', 'Service', 'web-b', { selector: { app: 'web' } });
  const svcA = workload('svc-a', 'Service', 'web-a', { selector: { app: 'web' } });
  const other = workload('svc-x', 'Service', 'db', { selector: { app: 'db' } });
  const empty = workload('svc-e', 'Service', 'all', { selector: {} });
  const m: MirroredObjects = {
    namespaces: new Map([['shop', ns]]),
    workloads: new Map([rs, dep, svcA, svcB, other, empty].map((w) => [w.uid, w])),
    services: new Map([['shop', new Set([svcB, svcA, other, empty])]]),
  };

  it('adds the namespace, the controller chain and the Services that select the pod, by name', () => {
    const pod = { ns_name: 'shop', pod_name: 'web-5d8-x', pod_labels: { app: 'web' } };
    const out = completePod(m, pod, { kind: 'ReplicaSet', name: 'web-5d8', uid: 'rs-1' });
    assert.equal(out.ns_uid, 'ns-1');
    assert.deepEqual(out.ns_labels, { team: 'a' });
    assert.deepEqual([out.rs_name, out.rs_uid, out.rs_labels], ['web-5d8', 'rs-1', { app: 'web' }]);
    assert.deepEqual(
      [out.deployment_name, out.deployment_uid, out.deployment_labels],
      ['web', 'dep-1', { tier: 'front' }],
    );
    assert.deepEqual(
      out.services?.map((s) => s.name),
      ['web-a', 'web-b'],
      'an empty selector selects nothing; sorted by name',
    );
  });

  it('returns the pod itself when it knows nothing around it', () => {
    const pod = { ns_name: 'elsewhere', pod_name: 'p' };
    assert.equal(completePod(m, pod, undefined), pod);
    const noNs = { pod_name: 'p' };
    assert.equal(completePod(m, noNs, { kind: 'ReplicaSet', name: 'x', uid: 'rs-1' }), noNs);
  });

  it("mergePod: identity from the runtime's record, labels and ip from the API server's", () => {
    const own = { pod_name: 'p', pod_uid: 'u', pod_labels: { old: '1' } };
    const api = { pod_name: 'ignored', pod_ip: '10.0.0.7', pod_labels: { new: '2' } };
    assert.deepEqual(mergePod(own, api), {
      pod_name: 'p',
      pod_uid: 'u',
      pod_ip: '10.0.0.7',
      pod_labels: { new: '2' },
    });
    assert.equal(mergePod(own, undefined), own);
    assert.equal(mergePod(undefined, api), api);
  });
});

describe('waits for unknown containers (ContainerWaits)', () => {
  it('one wait per id, ended by the arrival of its record', async () => {
    let timeouts = 0;
    const waits = new ContainerWaits({
      waitMs: 10_000,
      negativeTtlMs: 1000,
      maxNegative: 10,
      onTimeout: () => timeouts++,
    });
    const w = waits.start('c1');
    assert.equal(waits.get('c1'), w);
    assert.equal(waits.size, 1);
    assert.equal(waits.arrived('c1'), true);
    await w;
    assert.equal(waits.arrived('c1'), false, 'nothing left to end');
    assert.equal(waits.size, 0);
    assert.equal(timeouts, 0);
  });

  it('a timeout remembers the id as negative for negativeTtlMs, at most maxNegative ids', async () => {
    let timeouts = 0;
    const waits = new ContainerWaits({
      waitMs: 5,
      negativeTtlMs: 60_000,
      maxNegative: 2,
      onTimeout: () => timeouts++,
    });
    await Promise.all(['a', 'b', 'c'].map((id) => waits.start(id)));
    assert.equal(timeouts, 3);
    const now = Date.now();
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => waits.isNegative(id, now)),
      [false, true, true],
      'the oldest is forgotten',
    );
    assert.equal(waits.isNegative('b', now + 61_000), false, 'ended');
    waits.arrived('c');
    assert.equal(waits.isNegative('c', now), false, 'a record that shows up clears it');
  });

  it('endAll releases every waiting event', { timeout: 5000 }, async () => {
    const waits = new ContainerWaits({
      waitMs: 60_000,
      negativeTtlMs: 0,
      maxNegative: 1,
      onTimeout: () => undefined,
    });
    const w = waits.start('x');
    waits.endAll();
    await w;
    assert.equal(waits.size, 0);
  });
});
