import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseContainerStatus,
  parseListContainers,
  parsePodSandboxStatus,
  parseVersion,
} from '../src/cri/validate.js';
import { parseImageRef } from '../src/node/image.js';
import { buildContainerRecord, containerType, privilegedFromInfo, sameRecord } from '../src/node/record.js';
import { findCriSockets } from '../src/node/sockets.js';

const ID = '0123456789abcdef'.repeat(4);
const SB = 'fedcba9876543210'.repeat(4);

function status(over: Record<string, unknown> = {}, info: Record<string, string> = {}) {
  return {
    status: {
      id: ID,
      metadata: { name: 'app', attempt: 0 },
      state: 'CONTAINER_RUNNING',
      createdAt: '1700000000000000001',
      startedAt: '1700000000000000002',
      finishedAt: '0',
      image: { image: 'sha256:' + '1'.repeat(64) },
      imageRef: 'sha256:' + '1'.repeat(64),
      imageId: '',
      labels: {},
      annotations: {},
      mounts: [],
      ...over,
    },
    info,
  };
}

describe('image references', () => {
  it('split as Falco splits them', () => {
    assert.deepEqual(parseImageRef('nginx'), { repository: 'nginx', tag: '', digest: '' });
    assert.deepEqual(parseImageRef('docker.io/library/nginx:1.25'), {
      repository: 'docker.io/library/nginx',
      tag: '1.25',
      digest: '',
    });
    assert.deepEqual(parseImageRef('reg:5000/a/b'), { repository: 'reg:5000/a/b', tag: '', digest: '' });
    assert.deepEqual(parseImageRef('reg:5000/a/b:v1@sha256:ab'), {
      repository: 'reg:5000/a/b',
      tag: 'v1',
      digest: 'sha256:ab',
    });
    assert.deepEqual(parseImageRef(`sha256:${'1'.repeat(64)}`), { repository: '', tag: '', digest: '' });
  });
});

describe('records from CRI replies', () => {
  it('privileged: containerd config, runtime spec, CRI-O flag; false when none says', () => {
    assert.equal(privilegedFromInfo({ config: { linux: { security_context: { privileged: true } } } }), true);
    assert.equal(privilegedFromInfo({ privileged: true }), true);
    assert.equal(privilegedFromInfo({ privileged: false, config: {} }), false);
    assert.equal(privilegedFromInfo(undefined), false);
    assert.equal(containerType('containerd'), 'containerd');
    assert.equal(containerType('cri-o'), 'cri-o');
    assert.equal(containerType('docker'), 'cri');
  });

  it('an image named by id takes its name from the runtime annotation; no sandbox, no pod fields', () => {
    const c = parseContainerStatus(
      status(
        {
          labels: {
            'io.kubernetes.pod.name': 'p',
            'io.kubernetes.pod.namespace': 'n',
            'io.kubernetes.pod.uid': 'u',
          },
        },
        {
          info: JSON.stringify({
            runtimeSpec: { annotations: { 'io.kubernetes.cri.image-name': 'ghcr.io/x/y:3' } },
            config: { image: { image: `sha256:${'2'.repeat(64)}` } },
          }),
        },
      ),
    );
    const r = buildContainerRecord({
      node: 'n1',
      runtimeName: 'containerd',
      container: c,
      sandbox: null,
      podSandboxId: SB,
      nowNs: '1700000000000000009',
    });
    assert.equal(r.container.image, 'ghcr.io/x/y:3');
    assert.equal(r.container.image_repository, 'ghcr.io/x/y');
    assert.equal(r.container.image_tag, '3');
    assert.equal(r.container.image_digest, `sha256:${'1'.repeat(64)}`);
    assert.equal(r.container.image_id, '2'.repeat(64));
    assert.equal(r.container.start_ts, '1700000000000000001');
    assert.equal(r.container.host_network, undefined);
    assert.deepEqual(r.k8s, {
      pod_name: 'p',
      pod_uid: 'u',
      ns_name: 'n',
      pod_labels: {},
      pod_sandbox_id: SB.slice(0, 12),
      pod_full_sandbox_id: SB,
    });
    const later = buildContainerRecord({
      node: 'n1',
      runtimeName: 'containerd',
      container: c,
      sandbox: null,
      podSandboxId: SB,
      nowNs: '1700000000000000999',
    });
    assert.ok(sameRecord(r, later), 'only updated_ts differs');
    assert.ok(!sameRecord(r, { ...later, container: { ...later.container, privileged: true } }));
  });
});

describe('reply checks name the call and the field', () => {
  it('rejects what a CRI runtime must not send', () => {
    assert.throws(
      () => parseVersion({ runtimeName: '' }),
      /CRI Version reply: runtimeName: must not be empty/,
    );
    assert.throws(
      () => parseVersion({ runtimeName: 'x' }),
      /CRI Version reply: version: expected a string, got nothing/,
    );
    assert.throws(
      () => parseContainerStatus({ info: {} }),
      (e: Error) => e.message === 'CRI ContainerStatus reply: status: missing',
    );
    assert.throws(
      () => parseContainerStatus(status({ createdAt: '0' })),
      /CRI ContainerStatus reply: status\.createdAt: must be > 0/,
    );
    assert.throws(
      () => parseContainerStatus(status({ startedAt: '-5' })),
      /status\.startedAt: expected nanoseconds since the epoch/,
    );
    assert.throws(
      () =>
        parseContainerStatus(
          status({
            mounts: [
              { containerPath: '/x', hostPath: '/y', readonly: 'no', propagation: 'PROPAGATION_PRIVATE' },
            ],
          }),
        ),
      /status\.mounts\[0\]\.readonly: expected a boolean, got "no"/,
    );
    assert.throws(
      () => parseListContainers({ containers: [{ id: 'ABC' }] }),
      /CRI ListContainers reply: containers\[0\]\.id: expected a 12 to 64 character lowercase hex id, got "ABC"/,
    );
    assert.throws(
      () =>
        parsePodSandboxStatus({
          status: {
            id: SB,
            metadata: { name: 'p', uid: 'u', namespace: 'n', attempt: 0 },
            state: 'SANDBOX_READY',
            createdAt: '1',
            linux: { namespaces: { options: { network: 'HOST', pid: 'POD', ipc: 'POD' } } },
            labels: { a: 1 },
          },
        }),
      /status\.linux\.namespaces\.options\.network: expected one of POD, CONTAINER, NODE, TARGET, got "HOST"/,
    );
  });
});

describe('CRI socket detection', () => {
  it('takes configured sockets as given; probes the defaults that exist, each runtime once', async () => {
    assert.deepEqual(findCriSockets(['unix:///a.sock', '/a.sock', '/b.sock']), ['/a.sock', '/b.sock']);
    const dir = mkdtempSync(join(tmpdir(), 'saker-sockets-'));
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(dir, 'real.sock'), r));
    try {
      symlinkSync(join(dir, 'real.sock'), join(dir, 'alias.sock'));
      assert.deepEqual(
        findCriSockets([], [join(dir, 'missing.sock'), join(dir, 'real.sock'), join(dir, 'alias.sock')]),
        [join(dir, 'real.sock')],
      );
      assert.deepEqual(findCriSockets([], [join(dir, 'missing.sock')]), []);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
