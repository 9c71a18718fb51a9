import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import { FieldRegistry } from '../src/fields/registry.js';
import { FieldArgumentError, type FieldDef, type FieldValue } from '../src/fields/types.js';
import type { RuleInfo, RuleMatch } from '../src/loader/types.js';
import { formatAlertJson, formatAlertText, toFalcoAlert } from '../src/output/alert.js';
import { compileOutput } from '../src/output/format.js';

// A tiny registry with the shapes the real one has (plain, indexed, dotted,
// list, number), so these tests do not depend on the field classes.
function def(
  name: string,
  get: (e: SyscallEvent, arg: string | undefined) => FieldValue,
  extra: Partial<FieldDef<SyscallEvent>> = {},
): FieldDef<SyscallEvent> {
  return {
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: false,
    description: name,
    bind: (arg) => (e) => get(e, arg),
    ...extra,
  };
}

const fields = new FieldRegistry<SyscallEvent>('syscall', [
  def('proc.name', (e) => e.proc.name),
  def('proc.cmdline', (e) => [e.proc.name, ...e.proc.args].join(' ')),
  def('proc.pid', (e) => e.proc.pid, { kind: 'number', falcoType: 'INT64' }),
  def('proc.tty', (e) => e.proc.tty),
  def('evt.time.iso8601', (e) => e.ts),
  def('fd.name', (e) => e.fd?.name),
  def('container.id', (e) => e.container.id),
  def('proc.aname', (e, arg) => (arg === undefined ? (e.ancestors ?? []).map((a) => a.name) : undefined), {
    isList: true,
    arg: { required: false, kind: 'index' },
    bind: (arg) => {
      if (arg !== undefined && !/^\d+$/.test(arg))
        throw new FieldArgumentError('proc.aname', 'expects an index');
      const n = arg === undefined ? -1 : Number(arg);
      return (e) => (n < 0 ? (e.ancestors ?? []).map((a) => a.name) : e.ancestors?.[n - 1]?.name);
    },
  }),
  def('evt.arg', (e, arg) => (arg === undefined ? undefined : e.args[arg]), {
    arg: { required: true, kind: 'index-or-key', dotted: true },
  }),
  def('user.loginuid', (e) => e.user.loginuid, { kind: 'number' }),
]);

function event(ts: string, extra: Partial<SyscallEvent> = {}): SyscallEvent {
  return {
    source: 'syscall',
    ts,
    type: 'open',
    res: 3,
    args: { fd: 3, name: '/dev/null', flags: 'O_RDONLY' },
    proc: { pid: 42, tid: 42, name: 'cat', exe: 'cat', exepath: '/bin/cat', args: ['/dev/null'] },
    ancestors: [
      { pid: 41, name: 'bash' },
      { pid: 1, name: 'systemd' },
    ],
    user: { uid: 0, name: 'root' },
    group: { gid: 0 },
    fd: { num: 3, type: 'file', name: '/dev/null' },
    container: { id: 'host' },
    ...extra,
  };
}

function compile(format: string) {
  const r = compileOutput(format, fields);
  if (!r.ok) assert.fail(`${format}: ${r.message} at ${r.offset}`);
  return r.template;
}

describe('compileOutput', () => {
  it('substitutes fields and keeps text around them', () => {
    const t = compile('An open was seen (command=%proc.cmdline)');
    assert.deepEqual(t.fields, ['proc.cmdline']);
    const r = t.render(event('1'));
    assert.equal(r.text, 'An open was seen (command=cat /dev/null)');
    assert.deepEqual(r.fields, { 'proc.cmdline': 'cat /dev/null' });
  });

  it('takes the longest registered name, so punctuation after a field stays text', () => {
    const r = compile('file %fd.name. pid=%proc.pid,name=%proc.name;').render(event('1'));
    assert.equal(r.text, 'file /dev/null. pid=42,name=cat;');
    assert.deepEqual(r.fields, { 'fd.name': '/dev/null', 'proc.pid': 42, 'proc.name': 'cat' });
  });

  it('handles bracket and dotted arguments, keyed as written', () => {
    const r = compile('%proc.aname[2] %evt.arg.flags %evt.arg[name]').render(event('1'));
    assert.equal(r.text, 'systemd O_RDONLY /dev/null');
    assert.deepEqual(r.fields, {
      'proc.aname[2]': 'systemd',
      'evt.arg.flags': 'O_RDONLY',
      'evt.arg[name]': '/dev/null',
    });
  });

  it('prints a missing value as <NA> and null', () => {
    const r = compile('tty=%proc.tty anc=%proc.aname[5] login=%user.loginuid').render(event('1'));
    assert.equal(r.text, 'tty=<NA> anc=<NA> login=<NA>');
    assert.deepEqual(r.fields, { 'proc.tty': null, 'proc.aname[5]': null, 'user.loginuid': null });
  });

  it('prints lists in parentheses and keeps them as arrays', () => {
    const r = compile('ancestors=%proc.aname').render(event('1'));
    assert.equal(r.text, 'ancestors=(bash,systemd)');
    assert.deepEqual(r.fields, { 'proc.aname': ['bash', 'systemd'] });
  });

  it('pads or cuts to a width', () => {
    assert.equal(compile('[%6proc.name]').render(event('1')).text, '[cat   ]');
    assert.equal(compile('[%2proc.name]').render(event('1')).text, '[ca]');
  });

  it('applies a transformer around one field', () => {
    const r = compile('%toupper(proc.name) %basename(fd.name)').render(event('1'));
    assert.equal(r.text, 'CAT null');
    assert.deepEqual(r.fields, { 'toupper(proc.name)': 'CAT', 'basename(fd.name)': 'null' });
  });

  it('accepts text without fields, and an empty format', () => {
    assert.equal(compile('no fields here').render(event('1')).text, 'no fields here');
    assert.equal(compile('').render(event('1')).text, '');
  });

  it('rejects an unknown field with its offset, as Falco words it', () => {
    const r = compileOutput('An open was seen %not_a_real_field', fields);
    assert.deepEqual(r, { ok: false, message: 'invalid formatting token not_a_real_field', offset: 17 });
  });

  it('rejects a trailing %, a trailing width, %% and a bad argument', () => {
    const end = compileOutput('100%', fields);
    assert.equal(end.ok, false);
    assert.match(!end.ok ? end.message : '', /cannot end with a %/);
    const num = compileOutput('x %12', fields);
    assert.match(!num.ok ? num.message : '', /cannot end with a number/);
    const pct = compileOutput('100%% sure', fields);
    assert.deepEqual(pct, { ok: false, message: 'invalid formatting token % sure', offset: 3 });
    const arg = compileOutput('%proc.aname[x]', fields);
    assert.equal(arg.ok, false);
    assert.match(!arg.ok ? arg.message : '', /proc\.aname\[x\].*expects an index/);
  });
});

const rule: RuleInfo = {
  name: 'open_from_cat',
  desc: 'A process named cat does an open',
  condition: 'evt.type=open and is_cat',
  output: 'An open was seen (command=%proc.cmdline)',
  priority: 'WARNING',
  source: 'syscall',
  tags: ['testing', 'filesystem', 'process'],
  enabled: true,
  evttypes: ['open'],
  warnEvttypes: false,
  skipIfUnknownFilter: false,
  position: { name: 'single_rule.yaml', line: 29, column: 3, offset: 0 },
};

function match(ts: string): RuleMatch {
  const e = event(ts);
  const { text, fields: f } = compile(rule.output).render(e);
  return { rule, output: text, outputFields: f, event: e };
}

/** The event times of the cat_write trace, as the conformance output files show them. */
const CAT_WRITE_TIMES = [
  '1470327477881781397',
  '1470327477881785348',
  '1470327477881796705',
  '1470327477881799840',
  '1470327477882003104',
  '1470327477882008208',
  '1470327477882045694',
  '1470327477882054739',
];

/** The lines of one of Falco's conformance output files. */
function conformanceLines(file: string): string[] {
  const path = sharedPath('falco-conformance', 'output_files', file) as string;
  return readFileSync(path, 'utf8').trimEnd().split('\n');
}

describe('Falco alerts', () => {
  const skip = sharedSkip();

  it('reproduces the conformance JSON output line for line', { skip }, () => {
    const expected = conformanceLines('single_rule_with_cat_write.json');
    const got = CAT_WRITE_TIMES.map((ts) =>
      formatAlertJson(toFalcoAlert(match(ts), { hostname: 'test-falco-hostname', timeIso8601: true })),
    );
    assert.deepEqual(got, expected);
  });

  it('reproduces the conformance text output line for line', { skip }, () => {
    const expected = conformanceLines('single_rule_with_cat_write.txt');
    const fromMatch = CAT_WRITE_TIMES.map((ts) => formatAlertText(match(ts), { timeIso8601: true }));
    assert.deepEqual(fromMatch, expected);
    const fromAlert = CAT_WRITE_TIMES.map((ts) =>
      formatAlertText(toFalcoAlert(match(ts), { hostname: 'h', timeIso8601: true })),
    );
    assert.deepEqual(fromAlert, expected);
  });

  it('uses evt.time and the time of day without time_format_iso_8601', () => {
    const alert = toFalcoAlert(match('1470327477881781397'), { hostname: 'h' });
    assert.equal(alert.output, '16:17:57.881781397: Warning An open was seen (command=cat /dev/null)');
    assert.deepEqual(Object.keys(alert.output_fields), ['evt.time', 'proc.cmdline']);
    assert.match(formatAlertJson(alert), /"output_fields": \{"evt\.time":1470327477881781397,/);
  });

  it('keeps the JSON shape, with sorted tags and optional properties', () => {
    const alert = toFalcoAlert(match('1470327477881781397'), { hostname: 'h', timeIso8601: true });
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
    assert.deepEqual(alert.tags, ['filesystem', 'process', 'testing']);
    const bare = formatAlertJson(alert, { includeOutput: false, includeTags: false });
    assert.equal(
      bare,
      '{"hostname":"h","priority":"Warning","rule":"open_from_cat","source":"syscall",' +
        '"time":"2016-08-04T16:17:57.881781397Z", "output_fields": ' +
        '{"evt.time.iso8601":1470327477881781397,"proc.cmdline":"cat /dev/null"}}',
    );
    const parsed = JSON.parse(formatAlertJson(alert)) as Record<string, unknown>;
    assert.equal(parsed.output, alert.output);
  });

  it('writes null for missing fields and escapes strings', () => {
    const e = event('1000000000', { proc: { ...event('1').proc, name: 'we"ird\n' } });
    const { text, fields: f } = compile('%proc.name %proc.tty').render(e);
    const alert = toFalcoAlert({ rule, output: text, outputFields: f, event: e }, { hostname: 'h' });
    const parsed = JSON.parse(formatAlertJson(alert)) as { output_fields: Record<string, unknown> };
    assert.deepEqual(parsed.output_fields, {
      'evt.time': 1000000000,
      'proc.name': 'we"ird\n',
      'proc.tty': null,
    });
  });
});
