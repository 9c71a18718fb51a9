import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { loadRules } from '../src/loader/load.js';
import type { Ruleset } from '../src/loader/ruleset.js';
import { formatAlertJson, toFalcoAlert } from '../src/output/alert.js';
import { type AppendOutputEntry, FALCO_DEFAULT_APPEND_OUTPUT } from '../src/output/append.js';
import { podExec } from './fixtures/audit-events.js';

/**
 * Falco's append_output (Ruleset.withAppendedOutput): each option, each kind
 * of match, Falco's default (suggested_output) on syscall and k8s_audit
 * alerts, and errors that name the entry and the rule.
 */

const RULES = `
- rule: Shell
  desc: a shell runs
  condition: evt.type = execve and proc.name = sh
  output: "shell %proc.name (user=%user.name)"
  priority: NOTICE
  tags: [shell, container, mitre_execution]

- rule: Read shadow
  desc: shadow is read
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "read %fd.name"
  priority: WARNING
  tags: [filesystem]

- rule: Exec into pod
  desc: kubectl exec
  condition: ka.verb = create and ka.target.subresource = exec
  output: "exec into %ka.target.name by %ka.user.name"
  priority: NOTICE
  source: k8s_audit
  tags: [k8s, shell]
`;

function load(): Ruleset {
  const res = loadRules([{ name: 'append_rules.yaml', content: RULES }]);
  assert.ok(res.ok, JSON.stringify(res.results));
  return res.ruleset;
}

function applied(entries: readonly AppendOutputEntry[]): Ruleset {
  const out = load().withAppendedOutput(entries);
  assert.ok(out.ok, out.ok ? '' : out.error);
  return out.ruleset;
}

function sys(type: string, extra: Partial<SyscallEvent> = {}): SyscallEvent {
  return {
    source: 'syscall',
    ts: '1715677923000001357',
    hostname: 'node-a',
    type,
    dir: '<',
    res: 0,
    args: {},
    proc: { pid: 42, tid: 42, ppid: 1, name: 'sh', exe: 'sh', exepath: '/bin/sh', args: [] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    container: { id: 'host' },
    ...extra,
  };
}

const shell = (extra: Partial<SyscallEvent> = {}): SyscallEvent => sys('execve', extra);
const shadow = (): SyscallEvent =>
  sys('openat', {
    res: 3,
    args: { fd: 3, name: '/etc/shadow' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
  });

const inContainer: Partial<SyscallEvent> = {
  container: {
    id: '3ad7b26ded6d',
    name: 'shell',
    image_repository: 'registry.example/shop/toolbox',
    image_tag: '3.1',
  },
  k8s: { pod_name: 'checkout-5f7c9', ns_name: 'shop' },
};

function one(rs: Ruleset, e: Parameters<Ruleset['evaluate']>[0]) {
  const m = rs.evaluate(e);
  assert.equal(m.length, 1, `one match expected, got ${m.length}`);
  return m[0] as NonNullable<(typeof m)[0]>;
}

describe('append_output: suggested_output (Falco default)', () => {
  it('appends the container fields to a syscall alert, text and output_fields', () => {
    const rs = applied(FALCO_DEFAULT_APPEND_OUTPUT);
    const m = one(rs, shell(inContainer));
    assert.equal(
      m.output,
      'shell sh (user=root) container_id=3ad7b26ded6d container_name=shell' +
        ' container_image_repository=registry.example/shop/toolbox container_image_tag=3.1' +
        ' k8s_pod_name=checkout-5f7c9 k8s_ns_name=shop',
    );
    const json = formatAlertJson(toFalcoAlert(m, { hostname: 'node-a' }));
    assert.ok(
      json.endsWith(
        ', "output_fields": {"container.id":"3ad7b26ded6d","container.image.repository":"registry.example/shop/toolbox",' +
          '"container.image.tag":"3.1","container.name":"shell","evt.time":1715677923000001357,' +
          '"k8s.ns.name":"shop","k8s.pod.name":"checkout-5f7c9","proc.name":"sh","user.name":"root"}}',
      ),
      json,
    );
    const rule = rs.rules.find((r) => r.name === 'Shell');
    assert.equal(rule?.output, 'shell %proc.name (user=%user.name)', "the rule's own output is unchanged");
    assert.match(
      rule?.appended?.text ?? '',
      /^ container_id=%container\.id container_name=%container\.name /,
    );
  });

  it('prints a missing value as <NA> and null, as the formatter does for any absent field', () => {
    const m = one(applied(FALCO_DEFAULT_APPEND_OUTPUT), shell());
    assert.equal(
      m.output,
      'shell sh (user=root) container_id=host container_name=host container_image_repository=<NA>' +
        ' container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>',
    );
    assert.equal(m.outputFields['k8s.pod.name'], null);
    assert.equal(m.outputFields['container.id'], 'host');
  });

  it('adds nothing to a k8s_audit alert (its source suggests no field)', () => {
    const m = one(applied(FALCO_DEFAULT_APPEND_OUTPUT), podExec({ pod: 'web-1' }));
    assert.equal(m.output, 'exec into web-1 by kubernetes-admin');
    assert.deepEqual(Object.keys(m.outputFields).sort(), ['ka.target.name', 'ka.user.name']);
  });

  it('without entries, the ruleset is the one loaded', () => {
    const rs = load();
    const same = rs.withAppendedOutput([]);
    assert.ok(same.ok);
    assert.equal(same.ruleset, rs);
    assert.equal(one(rs, shell()).output, 'shell sh (user=root)');
  });
});

describe('append_output: extra_output and extra_fields', () => {
  // syscall fields: an entry without a source would fail on the k8s_audit rule, as in Falco.
  const SYS = { match: { source: 'syscall' } } as const;

  it('extra_output is appended after a space, with %field substitution, in entry order', () => {
    const rs = applied([
      { ...SYS, extraOutput: 'pid=%proc.pid' },
      { ...SYS, extraOutput: 'end' },
    ]);
    assert.equal(one(rs, shell()).output, 'shell sh (user=root) pid=42 end');
    assert.equal(one(rs, shadow()).output, 'read /etc/shadow pid=42 end');
    assert.equal(one(rs, shell()).outputFields['proc.pid'], 42);
  });

  it('extra_fields go to output_fields only: a field keeps its type, a format is text', () => {
    const rs = applied([
      { ...SYS, extraFields: ['proc.pid', { name: 'who', format: '%user.name on %evt.hostname' }] },
    ]);
    const m = one(rs, shell());
    assert.equal(m.output, 'shell sh (user=root)');
    assert.equal(m.outputFields['proc.pid'], 42);
    assert.equal(m.outputFields.who, 'root on node-a');
    const json = formatAlertJson(toFalcoAlert(m, { hostname: 'node-a' }));
    assert.ok(json.includes('"proc.pid":42,'), json);
    assert.ok(json.includes('"who":"root on node-a"'), json);
    // A missing raw field is null, a missing field in a format <NA>.
    const miss = one(
      applied([{ ...SYS, extraFields: ['fd.name', { name: 'f', format: 'fd=%fd.name' }] }]),
      shell(),
    );
    assert.equal(miss.outputFields['fd.name'], null);
    assert.equal(miss.outputFields.f, 'fd=<NA>');
  });

  it('a later entry replaces an earlier one of the same key', () => {
    const rs = applied([
      { extraFields: [{ name: 'x', format: 'first' }] },
      { ...SYS, extraFields: [{ name: 'x', format: 'second %proc.name' }] },
    ]);
    assert.equal(one(rs, shell()).outputFields.x, 'second sh');
  });

  it('suggested_output, extra_output and extra_fields together, in Falco order', () => {
    const rs = applied([
      { ...SYS, extraOutput: 'first', suggestedOutput: true, extraFields: ['proc.pid'] },
      { extraOutput: 'last' },
    ]);
    const m = one(rs, shell(inContainer));
    assert.match(
      m.output,
      /^shell sh \(user=root\) first container_id=3ad7b26ded6d .* k8s_ns_name=shop last$/,
    );
    assert.equal(m.outputFields['proc.pid'], 42);
  });
});

describe('append_output: match', () => {
  it('rule: only that rule', () => {
    const rs = applied([{ match: { rule: 'Read shadow' }, extraOutput: 'X' }]);
    assert.equal(one(rs, shadow()).output, 'read /etc/shadow X');
    assert.equal(one(rs, shell()).output, 'shell sh (user=root)');
  });

  it('source: only rules of that source', () => {
    const rs = applied([{ match: { source: 'k8s_audit' }, extraOutput: 'verb=%ka.verb' }]);
    assert.equal(
      one(rs, podExec({ pod: 'web-1' })).output,
      'exec into web-1 by kubernetes-admin verb=create',
    );
    assert.equal(one(rs, shell()).output, 'shell sh (user=root)');
    // suggested_output restricted to a source
    const k8s = applied([{ match: { source: 'k8s_audit' }, suggestedOutput: true }]);
    assert.equal(one(k8s, shell(inContainer)).output, 'shell sh (user=root)');
  });

  it('tags: rules that have every tag given', () => {
    const rs = applied([
      { match: { tags: ['shell', 'container'] }, extraOutput: 'both' },
      { match: { tags: ['shell'] }, extraOutput: 'shell' },
      { match: { tags: ['shell', 'filesystem'] }, extraOutput: 'never' },
    ]);
    assert.equal(one(rs, shell()).output, 'shell sh (user=root) both shell');
    assert.equal(one(rs, shadow()).output, 'read /etc/shadow');
    assert.equal(one(rs, podExec({ pod: 'p' })).output, 'exec into p by kubernetes-admin shell');
  });

  it('every condition given must hold', () => {
    const rs = applied([
      { match: { tags: ['shell'], source: 'syscall' }, extraOutput: 'A' },
      { match: { tags: ['shell'], rule: 'Read shadow' }, extraOutput: 'never' },
      { match: { rule: 'Shell', source: 'syscall', tags: ['container'] }, extraFields: ['proc.pid'] },
    ]);
    assert.equal(one(rs, shell()).output, 'shell sh (user=root) A');
    assert.equal(one(rs, shell()).outputFields['proc.pid'], 42);
    assert.equal(one(rs, podExec({ pod: 'p' })).output, 'exec into p by kubernetes-admin');
    assert.equal(one(rs, shadow()).output, 'read /etc/shadow');
  });
});

describe('append_output: errors and reapplication', () => {
  it('an entry that does not compile for a rule names the entry and the rule', () => {
    const rs = load();
    const bad = rs.withAppendedOutput([{ suggestedOutput: true }, { extraOutput: 'pid=%proc.pid' }]);
    assert.equal(bad.ok, false);
    assert.match(
      bad.ok ? '' : bad.error,
      /^append_output\[1\]\.extra_output: .*proc\.pid.* \(rule 'Exec into pod', source k8s_audit\)$/,
    );
    const field = rs.withAppendedOutput([{ match: { source: 'syscall' }, extraFields: ['proc.nope'] }]);
    assert.match(field.ok ? '' : field.error, /^append_output\[0\]\.extra_fields\[0\]: .*proc\.nope/);
    const notField = rs.withAppendedOutput([{ match: { source: 'syscall' }, extraFields: ['proc.name x'] }]);
    assert.match(notField.ok ? '' : notField.error, /extra_fields\[0\]: "proc\.name x" is not a field/);
  });

  it('applying again starts over from the rules’ own outputs', () => {
    const once = applied([{ extraOutput: 'one' }]);
    const again = once.withAppendedOutput([{ match: { rule: 'Shell' }, extraOutput: 'two' }]);
    assert.ok(again.ok);
    assert.equal(one(again.ruleset, shell()).output, 'shell sh (user=root) two');
    assert.equal(one(again.ruleset, shadow()).output, 'read /etc/shadow');
    assert.equal(again.ruleset.rules.find((r) => r.name === 'Read shadow')?.appended, undefined);
  });

  it('enabling and disabling keep the appended outputs', () => {
    const rs = applied([{ extraOutput: 'tail' }])
      .disableRules({ rule: 'Read shadow' })
      .enableRules({});
    assert.equal(one(rs, shadow()).output, 'read /etc/shadow tail');
  });
});
