import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventValidationError } from '../src/errors.js';
import {
  type ContainerRecord,
  type PodRecord,
  decodeMetaRecord,
  encodeMetaRecord,
  isExpiredTombstone,
  parseMetaRecord,
} from '../src/metadata.js';

const container: ContainerRecord = {
  v: 1,
  kind: 'container',
  node: 'node-1.example',
  updated_ts: '1700000000000000000',
  container: {
    id: '3ad7b26ded6d',
    full_id: '3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e',
    name: 'web',
    type: 'containerd',
    image: 'docker.io/library/nginx:1.27',
    image_repository: 'docker.io/library/nginx',
    image_tag: '1.27',
    privileged: false,
    mounts: [{ source: '/var/data', dest: '/data', mode: '', rdwr: true, propagation: 'private' }],
    labels: { 'io.kubernetes.pod.name': 'web-0' },
  },
  k8s: { pod_name: 'web-0', pod_uid: '3e41dc6b-08a8-44db-bc2a-3724b18ab19a', ns_name: 'shop' },
};

const pod: PodRecord = {
  v: 1,
  kind: 'pod',
  node: 'node-1.example',
  updated_ts: '1700000000000000000',
  k8s: {
    pod_name: 'web-0',
    pod_uid: '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
    ns_name: 'shop',
    pod_labels: { app: 'web' },
  },
  owner: { kind: 'StatefulSet', name: 'web', uid: '0b1c' },
};

function rejects(value: unknown, path: string, reason: RegExp): void {
  assert.throws(
    () => parseMetaRecord(value),
    (err: unknown) => err instanceof EventValidationError && err.path === path && reason.test(err.message),
  );
}

describe('saker_meta records', () => {
  it('round-trips every kind through the KV encoding', () => {
    const lease = {
      v: 1,
      kind: 'lease',
      shard: 1,
      shards: 2,
      holder: 'enrich-b',
      expires_ts: '1700000005000000000',
    };
    const ns = { v: 1, kind: 'namespace', name: 'shop', uid: 'u1', labels: { team: 'a' }, updated_ts: '1' };
    const wl = {
      v: 1,
      kind: 'workload',
      workload: 'Service',
      namespace: 'shop',
      name: 'web',
      uid: 'u2',
      selector: { app: 'web' },
      updated_ts: '1',
    };
    for (const r of [container, pod, lease, ns, wl]) {
      assert.deepEqual(decodeMetaRecord(encodeMetaRecord(parseMetaRecord(r))), r);
    }
  });

  it('names the path of what is wrong', () => {
    rejects({ ...container, v: 2 }, '$.v', /expected 1, got 2/);
    rejects({ ...container, kind: 'pods' }, '$.kind', /got "pods"/);
    rejects({ ...container, updated_ts: 17 }, '$.updated_ts', /nanoseconds/);
    rejects(
      { ...container, container: { ...container.container, privileged: 'yes' } },
      '$.container.privileged',
      /boolean/,
    );
    rejects(
      { ...container, container: { ...container.container, mounts: [{ source: '/a' }] } },
      '$.container.mounts[0].dest',
      /string/,
    );
    rejects({ ...pod, k8s: { ...pod.k8s, pod_labels: { app: 1 } } }, '$.k8s.pod_labels.app', /string/);
    rejects({ ...pod, owner: { kind: 'ReplicaSet', name: 'x' } }, '$.owner.uid', /string/);
    rejects(
      { v: 1, kind: 'workload', workload: 'Pod', namespace: 'a', name: 'b', uid: 'c', updated_ts: '1' },
      '$.workload',
      /Deployment/,
    );
    rejects(
      { v: 1, kind: 'lease', shard: -1, shards: 2, holder: 'x', expires_ts: '1' },
      '$.shard',
      /integer/,
    );
    rejects([], '$', /array/);
  });

  it('says when a KV value is not JSON', () => {
    assert.throws(
      () => decodeMetaRecord(new TextEncoder().encode('{"v":1,')),
      (err: unknown) =>
        err instanceof EventValidationError && err.path === '$' && /not JSON/.test(err.message),
    );
  });

  it('expires tombstones after their TTL, never live records or leases', () => {
    const dead = { ...container, deleted_ts: '1000000000' };
    assert.equal(isExpiredTombstone(dead, 1000, 1_999_999_999n), false);
    assert.equal(isExpiredTombstone(dead, 1000, 2_000_000_000n), true);
    assert.equal(isExpiredTombstone(container, 0, 10n ** 19n), false);
  });
});
