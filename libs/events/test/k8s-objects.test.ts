/**
 * The pod's surrounding objects in `k8s` (namespace, controller, services),
 * filled by the engine's join when cluster-mode enrichment runs: checked on
 * events and on saker_meta records by the same code, errors naming the path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventValidationError } from '../src/errors.js';
import { parseMetaRecord } from '../src/metadata.js';
import type { PodInfo } from '../src/syscall.js';
import { parseEvent } from '../src/validate.js';

const full: PodInfo = {
  pod_name: 'web-5d9c-x1',
  pod_uid: '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
  ns_name: 'shop',
  pod_labels: { app: 'web' },
  ns_uid: 'ns-1',
  ns_labels: { team: 'a' },
  rs_name: 'web-5d9c',
  rs_uid: 'rs-1',
  rs_labels: { app: 'web', 'pod-template-hash': '5d9c' },
  deployment_name: 'web',
  deployment_uid: 'dep-1',
  deployment_labels: { app: 'web' },
  rc_name: 'legacy',
  rc_uid: 'rc-1',
  rc_labels: {},
  services: [
    { name: 'web', uid: 'svc-1', labels: { tier: 'front' } },
    { name: 'all', uid: 'svc-2' },
  ],
};

function event(k8s: unknown): Record<string, unknown> {
  return {
    source: 'syscall',
    ts: '1',
    type: 'openat',
    args: {},
    proc: { pid: 1, tid: 1, name: 'cat', exe: 'cat', exepath: '/bin/cat', args: [] },
    user: { uid: 0 },
    group: { gid: 0 },
    container: { id: '3ad7b26ded6d' },
    k8s,
  };
}

function rejects(k8s: unknown, path: string, reason: RegExp): void {
  for (const parse of [
    () => parseEvent(event(k8s)),
    () => parseMetaRecord({ v: 1, kind: 'pod', updated_ts: '1', k8s }),
  ]) {
    assert.throws(
      parse,
      (err: unknown) => err instanceof EventValidationError && err.path === path && reason.test(err.message),
      path,
    );
  }
}

describe('k8s: namespace, controller and services of the pod', () => {
  it('accepts every field, on events and pod records', () => {
    const e = parseEvent(event(full));
    assert.ok(e.source === 'syscall');
    assert.deepEqual(e.k8s, full);
    const r = parseMetaRecord({ v: 1, kind: 'pod', updated_ts: '1', k8s: full });
    assert.ok(r.kind === 'pod');
    assert.deepEqual(r.k8s, full);
  });

  it('names the path of a bad value', () => {
    rejects({ ...full, ns_uid: 7 }, '$.k8s.ns_uid', /expected a string, got number/);
    rejects({ ...full, deployment_name: null }, '$.k8s.deployment_name', /got null/);
    rejects({ ...full, rc_uid: [] }, '$.k8s.rc_uid', /got array/);
    rejects({ ...full, rs_labels: { app: 1 } }, '$.k8s.rs_labels.app', /expected a string/);
    rejects({ ...full, ns_labels: 'team=a' }, '$.k8s.ns_labels', /expected an object, got string/);
    rejects({ ...full, services: {} }, '$.k8s.services', /expected an array, got object/);
    rejects({ ...full, services: ['web'] }, '$.k8s.services[0]', /expected an object, got string/);
    rejects({ ...full, services: [{ name: 'web' }] }, '$.k8s.services[0].uid', /expected a string/);
    rejects(
      {
        ...full,
        services: [
          { name: 'a', uid: 'b' },
          { name: 'c', uid: 'd', labels: { x: false } },
        ],
      },
      '$.k8s.services[1].labels.x',
      /expected a string, got boolean/,
    );
  });

  it('knows ReplicationController as a workload kind', () => {
    const r = parseMetaRecord({
      v: 1,
      kind: 'workload',
      workload: 'ReplicationController',
      namespace: 'shop',
      name: 'legacy',
      uid: 'rc-1',
      updated_ts: '1',
    });
    assert.equal(r.kind === 'workload' && r.workload, 'ReplicationController');
  });
});
