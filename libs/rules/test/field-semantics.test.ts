import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { K8sAuditEvent, SyscallEvent } from '@saker/events';
import { compileCondition } from '../src/compile/compile.js';
import { parseCondition } from '../src/condition/parser.js';
import { k8sAuditFields } from '../src/fields/k8s-audit/mod.js';
import type { FieldRegistry } from '../src/fields/registry.js';
import { syscallFields } from '../src/fields/syscall/mod.js';

// How list-shaped fields of the real registries combine with operators:
// alternatives (either socket end, any ancestor) versus true lists.

function predicate<E>(fields: FieldRegistry<E>, condition: string): (e: E) => boolean {
  const parsed = parseCondition(condition);
  assert.ok(parsed.ok, `parse ${condition}`);
  const compiled = compileCondition(parsed.expr, fields);
  assert.ok(compiled.ok, `compile ${condition}: ${compiled.ok ? '' : compiled.message}`);
  return compiled.predicate;
}

const connect: SyscallEvent = {
  source: 'syscall',
  ts: '1700000000000000000',
  type: 'connect',
  res: 0,
  args: { fd: 3, addr: '10.1.2.3:443' },
  proc: {
    pid: 10,
    tid: 10,
    ppid: 1,
    name: 'curl',
    exe: 'curl',
    exepath: '/usr/bin/curl',
    args: ['https://x'],
  },
  ancestors: [
    { pid: 9, name: 'bash', exepath: '/usr/bin/bash' },
    { pid: 1, name: 'systemd', exepath: '/usr/lib/systemd/systemd' },
  ],
  user: { uid: 1000, name: 'app' },
  group: { gid: 1000, name: 'app' },
  fd: {
    num: 3,
    type: 'ipv4',
    name: '192.168.0.5:40000->10.1.2.3:443',
    net: { l4proto: 'tcp', family: 'ipv4', sip: '192.168.0.5', sport: 40000, dip: '10.1.2.3', dport: 443 },
  },
  container: { id: 'host' },
};

describe('two-ended socket fields', () => {
  it('match when either end matches, and != only when neither end does', () => {
    assert.equal(predicate(syscallFields, 'fd.ip = 10.1.2.3')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.ip = 192.168.0.5')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.ip != 10.1.2.3')(connect), false);
    assert.equal(predicate(syscallFields, 'fd.ip != 8.8.8.8')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.port in (443, 8443)')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.port in (22)')(connect), false);
    assert.equal(predicate(syscallFields, 'fd.net = 10.0.0.0/8')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.snet in (10.0.0.0/8)')(connect), true);
    assert.equal(predicate(syscallFields, 'fd.cnet in (10.0.0.0/8)')(connect), false);
    assert.equal(predicate(syscallFields, 'fd.sport = 443')(connect), true);
  });
});

describe('ancestor fields', () => {
  it('test each ancestor on its own without an index, and one ancestor with it', () => {
    assert.equal(predicate(syscallFields, 'proc.aname in (systemd)')(connect), true);
    assert.equal(predicate(syscallFields, 'proc.aname = bash')(connect), true);
    assert.equal(predicate(syscallFields, 'proc.aname[2] = systemd')(connect), true);
    assert.equal(predicate(syscallFields, 'proc.aname[1] = systemd')(connect), false);
    assert.equal(predicate(syscallFields, 'proc.pname = bash')(connect), true);
  });
});

describe('k8s_audit single-valued fields with list operators', () => {
  const ev = (spec: Record<string, unknown>): K8sAuditEvent => ({
    source: 'k8s_audit',
    ts: '1',
    event: {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Event',
      level: 'RequestResponse',
      auditID: 'x',
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/default/pods',
      verb: 'create',
      user: { username: 'alice' },
      objectRef: { resource: 'pods', namespace: 'default', name: 'p' },
      requestObject: { kind: 'Pod', spec: spec as never },
    },
  });
  it('accept intersects on hostNetwork, which is one value', () => {
    const p = predicate(k8sAuditFields, 'ka.req.pod.host_network intersects (true)');
    assert.equal(p(ev({ hostNetwork: true, containers: [{ name: 'c', image: 'nginx' }] })), true);
    assert.equal(p(ev({ hostNetwork: false, containers: [{ name: 'c', image: 'nginx' }] })), false);
    assert.equal(p(ev({ containers: [{ name: 'c', image: 'nginx' }] })), false);
  });
  it('require every item of a true list for in', () => {
    const p = predicate(k8sAuditFields, 'ka.req.pod.containers.image.repository in (nginx, busybox)');
    assert.equal(
      p(
        ev({
          containers: [
            { name: 'a', image: 'nginx:1' },
            { name: 'b', image: 'busybox' },
          ],
        }),
      ),
      true,
    );
    assert.equal(
      p(
        ev({
          containers: [
            { name: 'a', image: 'nginx:1' },
            { name: 'b', image: 'evil/miner' },
          ],
        }),
      ),
      false,
    );
  });
});
