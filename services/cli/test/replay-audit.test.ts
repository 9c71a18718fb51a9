/**
 * `saker replay` on Kubernetes audit input: the API server's JSON log
 * (one Event per line) and an EventList (one line, or pretty-printed),
 * detected per file, next to Saker's own replay format.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

function saker(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const RULES = `
- rule: Privileged pod
  desc: a privileged pod was created
  condition: ka.verb = create and ka.target.resource = pods and ka.req.pod.containers.privileged intersects (true)
  output: "privileged pod %ka.target.namespace/%ka.target.name by %ka.user.name"
  priority: WARNING
  source: k8s_audit

- rule: Shadow read
  desc: shadow read
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "%proc.name read %fd.name"
  priority: WARNING
`;

function auditEvent(i: number, privileged: boolean): Record<string, unknown> {
  const name = `pod-${i}`;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'create',
    user: { username: 'alice', groups: ['system:authenticated'] },
    objectRef: { resource: 'pods', namespace: 'default', name, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: 201 },
    requestObject: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name, namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', securityContext: { privileged } }] },
    },
    requestReceivedTimestamp: '2024-05-14T09:30:12.338678Z',
    stageTimestamp: `2024-05-14T09:30:12.${String(i).padStart(6, '0')}Z`,
  };
}

const SYSCALL = {
  source: 'syscall',
  ts: '1715679003000001357',
  type: 'openat',
  res: 3,
  args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
  proc: {
    pid: 42,
    tid: 42,
    ppid: 1,
    name: 'cat',
    exe: 'cat',
    exepath: '/usr/bin/cat',
    args: ['/etc/shadow'],
  },
  user: { uid: 0, name: 'root' },
  group: { gid: 0, name: 'root' },
  fd: { num: 3, type: 'file', name: '/etc/shadow' },
  container: { id: 'host' },
};

describe('saker replay with Kubernetes audit input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saker-replay-audit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const rules = write('rules.yaml', RULES);

  it('reads an audit log (JSON lines of Events), as the log backend writes it', () => {
    const log = write(
      'audit.log',
      `${[auditEvent(1, true), auditEvent(2, false), auditEvent(3, true)].map((e) => JSON.stringify(e)).join('\n')}\n`,
    );
    const r = saker('replay', '-r', rules, log);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '09:30:12.000001000: Warning privileged pod default/pod-1 by alice\n' +
        '09:30:12.000003000: Warning privileged pod default/pod-3 by alice\n',
    );
    assert.match(r.stderr, /replay: 1 file, 3 events, 2 alerts/);
  });

  it('reads an EventList on one line and pretty-printed, beside a Saker replay file', () => {
    const list = {
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: [auditEvent(4, true)],
    };
    const one = write('list.json', JSON.stringify(list));
    const pretty = write('pretty.json', JSON.stringify({ ...list, items: [auditEvent(5, true)] }, null, 2));
    const events = write('events.jsonl', `${JSON.stringify(SYSCALL)}\n`);
    const r = saker('replay', '-r', rules, '--json', one, pretty, events);
    assert.equal(r.code, 0, r.stderr);
    const alerts = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { rule: string; source: string; output: string });
    assert.deepEqual(
      alerts.map((a) => [a.rule, a.source]),
      [
        ['Privileged pod', 'k8s_audit'],
        ['Privileged pod', 'k8s_audit'],
        ['Shadow read', 'syscall'],
      ],
    );
    assert.match(r.stderr, /replay: 3 files, 3 events, 3 alerts/);
  });

  it("reads v1beta1 lines and lines without apiVersion/kind, as Falco's k8saudit plugin does", () => {
    const { apiVersion: _v, kind: _k, ...untyped } = auditEvent(7, true);
    const log = write(
      'lenient.log',
      `${JSON.stringify({ ...auditEvent(6, true), apiVersion: 'audit.k8s.io/v1beta1' })}\n${JSON.stringify(untyped)}\n`,
    );
    const r = saker('replay', '-r', rules, log);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 2, r.stdout);
    assert.match(r.stderr, /replay: 1 file, 2 events, 2 alerts, 2 audit events not audit\.k8s\.io\/v1/);
    const notAudit = write(
      'other.log',
      `${JSON.stringify({ auditID: 'x', stage: 'ResponseComplete', verb: 'get' })}\n`,
    );
    assert.match(
      saker('replay', '-r', rules, notAudit).stderr,
      /other\.log:1: not an audit Event: \$\.level/,
    );
  });

  it('names file:line of a bad audit log line', () => {
    const log = write(
      'bad.log',
      `${JSON.stringify(auditEvent(1, true))}\n{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1"}\n`,
    );
    const r = saker('replay', '-r', rules, log);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.log:2: not an audit Event: \$\.level: expected a string/);
    assert.match(r.stderr, /stopped after 1 events, 1 alerts/);
    const notJson = write('broken.log', `${JSON.stringify(auditEvent(1, false))}\n{"kind":\n`);
    assert.match(saker('replay', '-r', rules, notJson).stderr, /broken\.log:2: not valid JSON/);
  });

  it('names the file and item of a bad EventList item, and refuses an unknown first line', () => {
    const list = write(
      'badlist.json',
      JSON.stringify({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1',
        items: [auditEvent(1, false), { ...auditEvent(2, false), kind: 'Pod' }],
      }),
    );
    const r = saker('replay', '-r', rules, list);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /badlist\.json: items\[1\]\.kind: expected "Event", got "Pod"/);
    const other = write('other.json', '{"kind":"PodList","items":[]}\n');
    assert.match(
      saker('replay', '-r', rules, other).stderr,
      /other\.json:1: not a Saker event \("source"\), an audit Event/,
    );
  });
});
