import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoRoot, sharedPath, sharedSkip } from '@saker/testing';

// The tests run the built binary as users do, and look only at its exit code
// and its two streams.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function saker(...args: string[]): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const RULES = `
- list: shadow_readers
  items: [cat, less]

- macro: reads_shadow
  condition: fd.name = /etc/shadow

- rule: Shadow read
  desc: Someone read the shadow file
  condition: evt.type = openat and reads_shadow and proc.name in (shadow_readers)
  output: "%proc.name read %fd.name (user=%user.name)"
  priority: WARNING
  tags: [test, filesystem]

- rule: Any open
  desc: Any openat at all
  condition: evt.type = openat
  output: "open %fd.name"
  priority: DEBUG
`;

const BAD_OUTPUT = `
- rule: rule_with_invalid_output
  desc: A rule with an invalid output field
  condition: evt.type=open
  output: "An open was seen %not_a_real_field"
  priority: WARNING
`;

const UNUSED_LIST = `
- list: never_used
  items: [a, b]

- rule: Exec
  desc: any exec
  condition: evt.type = execve
  output: "exec %proc.name"
  priority: NOTICE
`;

function openEvent(ts: string, path: string, name: string): string {
  return JSON.stringify({
    source: 'syscall',
    ts,
    type: 'openat',
    res: 3,
    args: { fd: 3, dirfd: -100, name: path, flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
    proc: { pid: 42, tid: 42, ppid: 1, name, exe: name, exepath: `/usr/bin/${name}`, args: [path] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: path },
    container: { id: 'host' },
  });
}

describe('saker', () => {
  let dir = '';
  const file = (name: string): string => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'saker-cli-'));
    writeFileSync(file('rules.yaml'), RULES);
    writeFileSync(file('bad_output.yaml'), BAD_OUTPUT);
    writeFileSync(file('unused.yaml'), UNUSED_LIST);
    writeFileSync(
      file('events.jsonl'),
      `${openEvent('1715677923000001357', '/etc/shadow', 'cat')}\n\n${openEvent('1715677923500000000', '/etc/hosts', 'curl')}\n`,
    );
    writeFileSync(
      file('broken.jsonl'),
      `${openEvent('1715677923000001357', '/etc/shadow', 'cat')}\n{"source":"syscall",\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('usage', () => {
    it('prints its version', () => {
      const r = saker('--version');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^saker \d+\.\d+\.\d+\n$/);
    });

    it('lists its commands with --help, and shows one with help <command>', () => {
      const r = saker('--help');
      assert.equal(r.code, 0);
      for (const c of ['rules validate', 'rules list', 'rules describe', 'fields list', 'replay']) {
        assert.ok(r.stdout.includes(c), c);
      }
      const h = saker('help', 'replay');
      assert.equal(h.code, 0);
      assert.match(h.stdout, /Usage: saker replay --rules/);
      assert.equal(saker('rules', 'validate', '--help').code, 0);
      assert.match(saker('help', 'rules').stdout, /rules describe/);
    });

    it('exits 2 on no command, an unknown command or an unknown option', () => {
      const none = saker();
      assert.equal(none.code, 2);
      assert.match(none.stderr, /Usage: saker/);
      const cmd = saker('frobnicate');
      assert.equal(cmd.code, 2);
      assert.match(cmd.stderr, /unknown command "frobnicate"/);
      const sub = saker('rules', 'frob');
      assert.equal(sub.code, 2);
      assert.match(sub.stderr, /unknown command "rules frob"/);
      const opt = saker('rules', 'validate', '--bogus', file('rules.yaml'));
      assert.equal(opt.code, 2);
      assert.match(opt.stderr, /saker rules validate: .*--bogus/);
      assert.match(opt.stderr, /saker help rules validate/);
      assert.equal(saker('--bogus').code, 2);
      assert.equal(saker('help', 'nothing').code, 2);
    });
  });

  describe('rules validate', () => {
    it('says OK for good files and exits 0', () => {
      const r = saker('rules', 'validate', file('rules.yaml'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /rules\.yaml: OK/);
    });

    it('reports an error with file:line:col, item, message and snippet, and exits 1', () => {
      const r = saker('rules', 'validate', file('bad_output.yaml'));
      assert.equal(r.code, 1);
      assert.match(r.stdout, /bad_output\.yaml: FAILED \(1 error/);
      assert.match(
        r.stdout,
        /error: .*bad_output\.yaml:5:29: rule 'rule_with_invalid_output' \(rule output\): /,
      );
      assert.match(r.stdout, /invalid formatting token not_a_real_field/);
      assert.match(r.stdout, /LOAD_ERR_COMPILE_OUTPUT/);
      assert.match(r.stdout, /%not_a_real_field/, 'the snippet shows the line');
    });

    it('prints Falco load results with --json', () => {
      const r = saker('rules', 'validate', '--json', file('rules.yaml'), file('bad_output.yaml'));
      assert.equal(r.code, 1);
      const doc = JSON.parse(r.stdout) as {
        falco_load_results: { name: string; successful: boolean; errors: { code: string }[] }[];
      };
      assert.equal(doc.falco_load_results.length, 2);
      const [good, bad] = doc.falco_load_results;
      assert.equal(good?.successful, true);
      assert.equal(bad?.successful, false);
      assert.equal(bad?.errors[0]?.code, 'LOAD_ERR_COMPILE_OUTPUT');
    });

    it('exits 0 on warnings alone', () => {
      const r = saker('rules', 'validate', file('unused.yaml'));
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /unused\.yaml: OK \(1 warning\)/);
      assert.match(r.stdout, /warning: .*never_used.*LOAD_UNUSED_LIST/);
    });

    it('exits 1 when a file cannot be read', () => {
      const r = saker('rules', 'validate', file('missing.yaml'));
      assert.equal(r.code, 1);
      assert.match(r.stdout + r.stderr, /missing\.yaml/);
    });

    it('exits 2 without a file', () => {
      assert.equal(saker('rules', 'validate').code, 2);
    });

    for (const name of ['falco_rules.yaml', 'k8s_audit_rules.yaml']) {
      it(`validates Falco's ${name}`, { skip: sharedSkip() }, () => {
        const r = saker('rules', 'validate', sharedPath('falco-rules', name) as string);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`${name.replace('.', '\\.')}: OK`));
      });
    }
  });

  describe('rules list and describe', () => {
    it('lists rules, macros and lists as JSON', () => {
      const r = saker('rules', 'list', '--json', '-r', file('rules.yaml'));
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        rules: { name: string; priority: string; source: string; tags: string[]; enabled: boolean }[];
        macros: { name: string }[];
        lists: { name: string; items: string[] }[];
      };
      assert.deepEqual(
        doc.rules.map((x) => [x.name, x.priority, x.source, x.enabled]),
        [
          ['Shadow read', 'Warning', 'syscall', true],
          ['Any open', 'Debug', 'syscall', true],
        ],
      );
      assert.deepEqual(doc.rules[0]?.tags.slice().sort(), ['filesystem', 'test']);
      assert.deepEqual(
        doc.macros.map((m) => m.name),
        ['reads_shadow'],
      );
      assert.deepEqual(
        doc.lists.map((l) => [l.name, l.items]),
        [['shadow_readers', ['cat', 'less']]],
      );
    });

    it('lists rules as a table', () => {
      const r = saker('rules', 'list', '-r', file('rules.yaml'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^RULE\s+PRIORITY\s+SOURCE\s+ENABLED\s+TAGS\n/);
      assert.match(r.stdout, /Shadow read\s+Warning\s+syscall\s+yes/);
      assert.match(r.stdout, /2 rules \(2 enabled\), 1 macros, 1 lists/);
    });

    it(
      "lists Saker's default rules without -r",
      { skip: !hasDefaultRules() && 'no rules/*.yaml yet' },
      () => {
        const r = saker('rules', 'list', '--json');
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as { rules: unknown[] };
        assert.ok(doc.rules.length > 0);
      },
    );

    it('refuses to list rules with errors', () => {
      const r = saker('rules', 'list', '-r', file('bad_output.yaml'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not_a_real_field/);
    });

    it('describes a rule, a macro and a list', () => {
      const r = saker('rules', 'describe', 'Shadow read', '-r', file('rules.yaml'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^rule: Shadow read\n/);
      assert.match(r.stdout, /file:\s+.*rules\.yaml:\d+:\d+/);
      assert.match(r.stdout, /priority:\s+Warning/);
      assert.match(r.stdout, /evttypes:\s+openat/);
      assert.match(r.stdout, /condition:\s+evt\.type = openat and reads_shadow/);
      assert.match(r.stdout, /output:\s+%proc\.name read %fd\.name/);
      const m = saker('rules', 'describe', 'reads_shadow', '-r', file('rules.yaml'));
      assert.match(m.stdout, /^macro: reads_shadow\n/);
      const l = saker('rules', 'describe', 'shadow_readers', '-r', file('rules.yaml'), '--json');
      assert.deepEqual((JSON.parse(l.stdout) as { kind: string; items: string[] }).items, ['cat', 'less']);
    });

    it('exits 1 for an unknown name', () => {
      const r = saker('rules', 'describe', 'No such rule', '-r', file('rules.yaml'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no rule, macro or list named "No such rule"/);
    });
  });

  describe('fields list', () => {
    it('prints every source as JSON, or one', () => {
      const all = saker('fields', 'list', '--json');
      assert.equal(all.code, 0, all.stderr);
      const doc = JSON.parse(all.stdout) as { source: string; name: string; type: string }[];
      const sources = new Set(doc.map((f) => f.source));
      if (doc.length > 0) assert.ok(sources.has('syscall') || sources.has('k8s_audit'));
      const one = JSON.parse(saker('fields', 'list', '--source', 'k8s_audit', '--json').stdout) as {
        source: string;
      }[];
      assert.ok(one.every((f) => f.source === 'k8s_audit'));
    });

    it('prints Markdown and tables', () => {
      const md = saker('fields', 'list', '--markdown', '--source', 'syscall');
      assert.equal(md.code, 0);
      assert.match(md.stdout, /^## syscall\n\n\| field \| type \| description \|/);
      const t = saker('fields', 'list');
      assert.match(t.stdout, /source syscall: \d+ fields\nFIELD\s+TYPE\s+DESCRIPTION/);
    });

    it('exits 2 for an unknown source', () => {
      const r = saker('fields', 'list', '--source', 'cloudtrail');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown source cloudtrail/);
    });
  });

  describe('replay', () => {
    /** Falco's default append_output (suggested_output) on a host process's syscall alert. */
    const HOST =
      ' container_id=host container_name=host container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>';

    it('prints Falco text lines, first match per event', () => {
      const r = saker('replay', '--rules', file('rules.yaml'), file('events.jsonl'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `09:12:03.000001357: Warning cat read /etc/shadow (user=root)${HOST}\n` +
          `09:12:03.500000000: Debug open /etc/hosts${HOST}\n`,
      );
      assert.match(r.stderr, /replay: 1 file, 2 events, 2 alerts/);
    });

    it('filters by priority and reports every match with --rule-matching all', () => {
      const warn = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '--priority',
        'warning',
        '-q',
        file('events.jsonl'),
      );
      assert.equal(warn.stdout, `09:12:03.000001357: Warning cat read /etc/shadow (user=root)${HOST}\n`);
      assert.equal(warn.stderr, '');
      const all = saker('replay', '-r', file('rules.yaml'), '--rule-matching', 'all', file('events.jsonl'));
      assert.equal(all.stdout.trimEnd().split('\n').length, 3);
    });

    it('prints Falco JSON alerts', () => {
      const r = saker(
        'replay',
        '--rules',
        file('rules.yaml'),
        '--json',
        '--hostname',
        'node-a',
        '--priority',
        'warning',
        file('events.jsonl'),
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 1);
      const line = lines[0] as string;
      assert.ok(line.includes('"time":"2024-05-14T09:12:03.000001357Z", "output_fields": {'), line);
      assert.ok(line.includes('"evt.time":1715677923000001357,'), line);
      const alert = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(alert), [
        'hostname',
        'output',
        'priority',
        'rule',
        'source',
        'tags',
        'time',
        'output_fields',
      ]);
      assert.equal(alert.hostname, 'node-a');
      assert.equal(alert.output, `09:12:03.000001357: Warning cat read /etc/shadow (user=root)${HOST}`);
      assert.equal(alert.rule, 'Shadow read');
      assert.deepEqual(alert.tags, ['filesystem', 'test']);
      assert.deepEqual(Object.keys(alert.output_fields as object), [
        'container.id',
        'container.image.repository',
        'container.image.tag',
        'container.name',
        'evt.time',
        'fd.name',
        'k8s.ns.name',
        'k8s.pod.name',
        'proc.name',
        'user.name',
      ]);
    });

    it('uses ISO 8601 times with --iso8601', () => {
      const r = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '--iso8601',
        '--priority',
        'warning',
        file('events.jsonl'),
      );
      assert.equal(
        r.stdout,
        `2024-05-14T09:12:03.000001357+0000: Warning cat read /etc/shadow (user=root)${HOST}\n`,
      );
    });

    it("reads append_output (and Falco's output keys) from --config", () => {
      writeFileSync(file('no-append.yaml'), 'append_output: []\npriority: warning\n');
      const none = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '-c',
        file('no-append.yaml'),
        file('events.jsonl'),
      );
      assert.equal(none.code, 0, none.stderr);
      assert.equal(none.stdout, '09:12:03.000001357: Warning cat read /etc/shadow (user=root)\n');

      writeFileSync(
        file('append.yaml'),
        [
          'json_output: true',
          'append_output:',
          '  - match: {rule: Shadow read}',
          '    extra_output: "pid=%proc.pid"',
          '    extra_fields: [proc.pid, {what: "read %fd.name"}]',
          '  - match: {tags: [test, filesystem], source: syscall}',
          '    extra_output: tagged',
          '  - match: {tags: [test, nope]}',
          '    extra_output: never',
          '',
        ].join('\n'),
      );
      const r = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '--config',
        file('append.yaml'),
        file('events.jsonl'),
      );
      assert.equal(r.code, 0, r.stderr);
      const [shadow, open] = r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { output: string; output_fields: Record<string, unknown> });
      assert.equal(
        shadow?.output,
        '09:12:03.000001357: Warning cat read /etc/shadow (user=root) pid=42 tagged',
      );
      assert.equal(shadow?.output_fields['proc.pid'], 42);
      assert.equal(shadow?.output_fields.what, 'read /etc/shadow');
      assert.equal(open?.output, '09:12:03.500000000: Debug open /etc/hosts');
      assert.equal(open?.output_fields.what, undefined);
    });

    it('refuses a bad append_output, naming the key', () => {
      writeFileSync(
        file('bad-tags.yaml'),
        'append_output:\n  - suggested_output: true\n  - match: {tags: test}\n',
      );
      const tags = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '-c',
        file('bad-tags.yaml'),
        file('events.jsonl'),
      );
      assert.equal(tags.code, 2);
      assert.match(
        tags.stderr,
        /bad-tags\.yaml:3:\d+: append_output\[1\]\.match\.tags: expected a list of strings/,
      );
      writeFileSync(file('bad-field.yaml'), 'append_output: [{extra_output: "%proc.nope"}]\n');
      const field = saker(
        'replay',
        '-r',
        file('rules.yaml'),
        '-c',
        file('bad-field.yaml'),
        file('events.jsonl'),
      );
      assert.equal(field.code, 1);
      assert.equal(field.stdout, '');
      assert.match(
        field.stderr,
        /append_output\[0\]\.extra_output: .*proc\.nope.* \(rule 'Shadow read', source syscall\)/,
      );
      assert.match(field.stderr, /not replaying/);
    });

    it('names the file and line of a bad event and exits 1', () => {
      const r = saker('replay', '-r', file('rules.yaml'), file('broken.jsonl'));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, `09:12:03.000001357: Warning cat read /etc/shadow (user=root)${HOST}\n`);
      assert.match(r.stderr, /broken\.jsonl:2: not valid JSON/);
      assert.match(r.stderr, /stopped after 1 events, 1 alerts/);
    });

    it('exits 1 for a missing events file', () => {
      const r = saker('replay', '-r', file('rules.yaml'), file('nope.jsonl'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nope\.jsonl/);
    });

    it('refuses to run with rule errors', () => {
      const r = saker('replay', '-r', file('bad_output.yaml'), file('events.jsonl'));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /not_a_real_field/);
      assert.match(r.stderr, /not replaying/);
    });

    it('exits 2 on bad options', () => {
      assert.equal(saker('replay', file('events.jsonl')).code, 2);
      assert.equal(saker('replay', '-r', file('rules.yaml')).code, 2);
      const p = saker('replay', '-r', file('rules.yaml'), '--priority', 'loud', file('events.jsonl'));
      assert.equal(p.code, 2);
      assert.match(p.stderr, /loud is not a priority/);
      const m = saker('replay', '-r', file('rules.yaml'), '--rule-matching', 'some', file('events.jsonl'));
      assert.equal(m.code, 2);
    });

    it("fires Falco's stable rules on the demo events", { skip: sharedSkip() }, () => {
      const demo = join(repoRoot(), 'examples', 'demo-events.jsonl');
      const r = saker(
        'replay',
        '-r',
        sharedPath('falco-rules', 'falco_rules.yaml') as string,
        '--json',
        demo,
      );
      assert.equal(r.code, 0, r.stderr);
      const rules = new Set(
        r.stdout
          .trimEnd()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => (JSON.parse(l) as { rule: string }).rule),
      );
      for (const expected of [
        'Read sensitive file untrusted',
        'Terminal shell in container',
        'Run shell untrusted',
        'Netcat Remote Code Execution in Container',
        'Search Private Keys or Passwords',
        'Clear Log Activities',
      ]) {
        assert.ok(rules.has(expected), `${expected} fired (got ${[...rules].join(', ')})`);
      }
    });
  });
});

function hasDefaultRules(): boolean {
  const dir = join(repoRoot(), 'rules');
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.yaml'));
}
