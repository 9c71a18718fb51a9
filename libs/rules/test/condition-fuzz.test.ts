import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '@saker/testing';
import { compileCondition } from '../src/compile/compile.js';
import { eventTypesOf } from '../src/compile/evttypes.js';
import { BINARY_OPERATORS } from '../src/condition/ast.js';
import { parseCondition } from '../src/condition/parser.js';
import { FieldRegistry } from '../src/fields/registry.js';
import type { FieldDef, FieldKind } from '../src/fields/types.js';

const TOKENS = [
  'proc.name',
  'proc.pid',
  'proc.args',
  'proc.aname[2]',
  'proc.aname',
  'fd.sip',
  'fd.name',
  'evt.type',
  'k8s.pod.label[app]',
  'k8s.pod.label.app',
  'container.privileged',
  'evt.arg.flags',
  'x.unknown',
  'macro_a',
  'and',
  'or',
  'not',
  'not(',
  '(',
  ')',
  ',',
  ...BINARY_OPERATORS,
  'exists',
  'oneof',
  'anyof',
  'allof',
  'val(',
  'tolower(',
  'toupper(',
  'b64(',
  'basename(',
  'len(',
  'join(',
  'concat(',
  'getopt(',
  '"quoted str"',
  "'single'",
  '"esc\\"aped"',
  '"\\x4',
  '"unterminated',
  '/etc',
  '/etc/*',
  '10.0.0.0/8',
  '::1',
  '7f454c46',
  '42',
  '-1',
  '0x1f',
  'true',
  'bash',
  '[',
  ']',
  '[0]',
  '"',
  "'",
  '\\',
  '\n',
  '\t',
  '',
];

const CHARS = ' \t\n()[],=!<>"\'\\/.*?:@-_abcdefxyz0129';

const ALPHA = [...CHARS];

type Ev = Record<string, unknown>;

function def(name: string, kind: FieldKind, isList = false, arg?: FieldDef<Ev>['arg']): FieldDef<Ev> {
  const base: FieldDef<Ev> = {
    name,
    kind,
    falcoType: kind,
    isList,
    description: name,
    bind: (a) => (e) => {
      const v = e[a === undefined ? name : `${name}[${a}]`];
      return v as never;
    },
  };
  return arg ? { ...base, arg } : base;
}

const fields = new FieldRegistry<Ev>('fuzz', [
  def('proc.name', 'string'),
  def('proc.pid', 'number'),
  def('proc.args', 'string', true),
  def('proc.aname', 'string', true, { required: false, kind: 'index' }),
  def('fd.sip', 'ip'),
  def('fd.name', 'string'),
  def('evt.type', 'string'),
  def('k8s.pod.label', 'string', false, { required: true, kind: 'key', dotted: true }),
  def('container.privileged', 'bool'),
  def('evt.arg', 'string', false, { required: true, kind: 'key', dotted: true }),
]);

const EVENTS: Ev[] = [
  {},
  {
    'proc.name': 'bash',
    'proc.pid': 1,
    'proc.args': ['-c', 'x'],
    'fd.sip': '10.0.0.1',
    'fd.name': '/etc/passwd',
  },
  {
    'proc.name': 42,
    'proc.pid': 'x',
    'proc.args': 'scalar',
    'fd.sip': 'not-an-ip',
    'container.privileged': 'yes',
  },
  { 'proc.aname': ['a', 'b'], 'proc.aname[2]': 'b', 'evt.type': 'open', 'k8s.pod.label[app]': 'web' },
];

function randomTokens(rand: () => number): string {
  const n = 1 + Math.floor(rand() * 12);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(TOKENS[Math.floor(rand() * TOKENS.length)]!);
  return parts.join(rand() < 0.8 ? ' ' : '');
}

function randomChars(rand: () => number): string {
  const n = Math.floor(rand() * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[Math.floor(rand() * ALPHA.length)]!;
  return s;
}

function randomBytes(rand: () => number): string {
  const n = Math.floor(rand() * 30);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rand() * (rand() < 0.9 ? 128 : 0x10000)));
  return s;
}

const SEEDS = [
  'proc.name = bash and not fd.name startswith /etc',
  'evt.type in (open, openat) and (fd.sip = 10.0.0.0/8 or proc.aname[2] in (sshd, "a b"))',
  'tolower(proc.name) = val(toupper(proc.name)) or len(proc.args) > 2',
  'proc.name startswith anyof (a, b) and not proc.args exists',
  'getopt(proc.args, "u:")[u] = root and join(",", proc.args) contains "-c"',
  'k8s.pod.label.app glob "w*" or evt.arg.flags icontains o_rdonly',
  'fd.name pmatch (/etc, /usr/*/lib) and proc.name regex "b.*" and proc.name bcontains 6261',
  'container.privileged = true and proc.pid != 0x10 and concat(proc.name, "-", fd.name) endswith x',
];

/** Deletes, duplicates, or replaces a random slice of a valid condition. */
function mutate(rand: () => number, text: string): string {
  const i = Math.floor(rand() * (text.length + 1));
  const j = Math.min(text.length, i + Math.floor(rand() * 8));
  switch (Math.floor(rand() * 5)) {
    case 0:
      return text.slice(0, i);
    case 1:
      return text.slice(0, i) + text.slice(j);
    case 2:
      return text.slice(0, i) + text.slice(i, j) + text.slice(i);
    case 3:
      return text.slice(0, i) + TOKENS[Math.floor(rand() * TOKENS.length)]! + text.slice(j);
    default:
      return text.slice(0, i) + randomChars(rand).slice(0, 3) + text.slice(j);
  }
}

function checkParse(text: string): void {
  let r: ReturnType<typeof parseCondition>;
  try {
    r = parseCondition(text);
  } catch (err) {
    assert.fail(`parseCondition threw on ${JSON.stringify(text)}: ${String(err)}`);
  }
  if (!r.ok) {
    assert.ok(
      Number.isInteger(r.offset) && r.offset >= 0 && r.offset <= text.length,
      `offset ${r.offset} out of range for ${JSON.stringify(text)}`,
    );
    assert.ok(r.message.length > 0);
    return;
  }
  let c: ReturnType<typeof compileCondition<Ev>>;
  try {
    c = compileCondition(r.expr, fields);
    eventTypesOf(r.expr);
  } catch (err) {
    assert.fail(`compile threw on ${JSON.stringify(text)}: ${String(err)}`);
  }
  if (!c.ok) {
    assert.ok(
      c.span.start >= 0 && c.span.end <= text.length,
      `span out of range for ${JSON.stringify(text)}`,
    );
    return;
  }
  for (const ev of EVENTS) {
    try {
      assert.equal(typeof c.predicate(ev), 'boolean');
    } catch (err) {
      assert.fail(`predicate threw on ${JSON.stringify(text)} with ${JSON.stringify(ev)}: ${String(err)}`);
    }
  }
}

describe('condition fuzz', () => {
  it('the seed conditions parse and compile', () => {
    for (const s of SEEDS) {
      const r = parseCondition(s);
      assert.ok(r.ok, s);
      const c = compileCondition(r.expr, fields);
      assert.ok(c.ok, `${s}: ${c.ok ? '' : c.message}`);
    }
  });

  it('random token sequences', () => {
    const rand = seededRandom(1);
    for (let i = 0; i < 4000; i++) checkParse(randomTokens(rand));
  });

  it('random characters and bytes', () => {
    const rand = seededRandom(2);
    for (let i = 0; i < 3000; i++) checkParse(randomChars(rand));
    for (let i = 0; i < 2000; i++) checkParse(randomBytes(rand));
  });

  it('truncations and mutations of valid conditions', () => {
    const rand = seededRandom(3);
    for (const s of SEEDS) for (let i = 0; i <= s.length; i++) checkParse(s.slice(0, i));
    for (let i = 0; i < 5000; i++) {
      let t = SEEDS[Math.floor(rand() * SEEDS.length)]!;
      const rounds = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < rounds; k++) t = mutate(rand, t);
      checkParse(t);
    }
  });

  it('unbalanced and deeply nested parentheses', () => {
    const rand = seededRandom(4);
    for (let i = 0; i < 500; i++) {
      const open = Math.floor(rand() * 300);
      const close = Math.floor(rand() * 300);
      checkParse(`${'('.repeat(open)}proc.name = a${')'.repeat(close)}`);
      checkParse(`${'not ('.repeat(open)}a${')'.repeat(close)}`);
      checkParse(`${'tolower('.repeat(open)}proc.name${')'.repeat(close)} = x`);
    }
  });
});
