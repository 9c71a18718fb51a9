import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgroupPathFromProcFile, containerIdFromCgroup } from '../src/container-id.js';

const ID = '3f4e5d6c7b8a99887766554433221100ffeeddccbbaa99887766554433221100';
const SHORT = ID.slice(0, 12);

describe('containerIdFromCgroup', () => {
  const cases: [string, string, string | undefined][] = [
    ['docker cgroupfs', `/docker/${ID}`, 'docker'],
    ['docker systemd', `/system.slice/docker-${ID}.scope`, 'docker'],
    ['kubepods cgroupfs (v1)', `/kubepods/besteffort/pod0c2e6f0a-1b2c-4d5e-8f90-123456789abc/${ID}`, 'cri'],
    [
      'kubepods cgroupfs burstable',
      `/kubepods/burstable/pod0c2e6f0a-1b2c-4d5e-8f90-123456789abc/${ID}`,
      'cri',
    ],
    [
      'kubepods systemd containerd',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0c2e6f0a_1b2c_4d5e_8f90_123456789abc.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
    [
      'kubepods systemd cri-o',
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c2e6f0a_1b2c.slice/crio-${ID}.scope`,
      'cri-o',
    ],
    [
      'kubepods systemd dockershim',
      `/kubepods.slice/kubepods-pod0c2e6f0a_1b2c.slice/docker-${ID}.scope`,
      'docker',
    ],
    ['containerd plain (nerdctl)', `/system.slice/containerd.service/default/${ID}`, 'containerd'],
    ['podman systemd', `/machine.slice/libpod-${ID}.scope`, 'podman'],
    ['podman systemd with nested container cgroup', `/machine.slice/libpod-${ID}.scope/container`, 'podman'],
    ['podman cgroupfs', `/libpod_parent/libpod-${ID}`, 'podman'],
    [
      'rootless podman',
      `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`,
      'podman',
    ],
    ['cri-o bare', `/crio-${ID}`, 'cri-o'],
    [
      'kind node nested kubepods',
      `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
  ];
  for (const [what, path, runtime] of cases) {
    it(`finds the id in ${what}`, () => {
      const c = containerIdFromCgroup(path);
      assert.equal(c.id, SHORT);
      assert.equal(c.fullId, ID);
      assert.equal(c.runtime, runtime);
    });
  }

  const hosts: [string, string][] = [
    ['root', '/'],
    ['empty', ''],
    ['user session', '/user.slice/user-1000.slice/session-3.scope'],
    ['system service', '/system.slice/sshd.service'],
    ['init scope', '/init.scope'],
    ['cri-o conmon', `/kubepods.slice/kubepods-pod1.slice/crio-conmon-${ID}.scope`],
    ['kubepods pod slice without container', '/kubepods.slice/kubepods-burstable.slice'],
    ['short hex is not an id', '/process_api/ec73186a13337c3103c424a88ca65269'],
    ['uppercase hex is not an id', `/docker/${ID.toUpperCase()}`],
  ];
  for (const [what, path] of hosts) {
    it(`answers host for ${what}`, () => {
      assert.equal(containerIdFromCgroup(path).id, 'host');
    });
  }
});

describe('cgroupPathFromProcFile', () => {
  it('prefers a line that names a container on a hybrid v1 host', () => {
    const text = `12:pids:/docker/${ID}\n11:memory:/docker/${ID}\n0::/\n`;
    assert.equal(cgroupPathFromProcFile(text), `/docker/${ID}`);
  });
  it('takes the v2 line otherwise', () => {
    assert.equal(
      cgroupPathFromProcFile('1:name=systemd:/init.scope\n0::/system.slice/sshd.service\n'),
      '/system.slice/sshd.service',
    );
  });
});
