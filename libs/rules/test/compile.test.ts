import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileCondition } from '../src/compile/compile.js';
import { parseCondition } from '../src/condition/parser.js';
import { FieldRegistry } from '../src/fields/registry.js';
import {
  type Extractor,
  FieldArgumentError,
  type FieldDef,
  type FieldKind,
  type FieldValue,
} from '../src/fields/types.js';

/** A plain event for these tests; missing properties are missing values. */
interface Ev {
  name?: string;
  pname?: string;
  pid?: number;
  ppid?: number;
  res?: number;
  args?: string[];
  ancestors?: string[];
  images?: string[];
  ports?: number[];
  sip?: string;
  snet?: string;
  privileged?: boolean;
  buffer?: string;
  path?: string;
  labels?: Record<string, string>;
  flags?: Record<string, string>;
}

function def(
  name: string,
  kind: FieldKind,
  get: (e: Ev, arg: string | undefined) => FieldValue,
  opts: { isList?: boolean; arg?: FieldDef<Ev>['arg']; check?: (arg: string | undefined) => void } = {},
): FieldDef<Ev> {
  const d: FieldDef<Ev> = {
    name,
    kind,
    falcoType: kind.toUpperCase(),
    isList: opts.isList ?? false,
    description: name,
    bind(arg): Extractor<Ev> {
      opts.check?.(arg);
      return (e) => get(e, arg);
    },
  };
  return opts.arg ? { ...d, arg: opts.arg } : d;
}

const fields = new FieldRegistry<Ev>('test', [
  def('proc.name', 'string', (e) => e.name),
  def('proc.pname', 'string', (e) => e.pname),
  def('proc.pid', 'number', (e) => e.pid),
  def('proc.ppid', 'number', (e) => e.ppid),
  def('evt.rawres', 'number', (e) => e.res),
  def('proc.args', 'string', (e) => e.args, { isList: true }),
  def(
    'proc.aname',
    'string',
    (e, arg) => (arg === undefined ? e.ancestors : e.ancestors?.[Number(arg) - 1]),
    {
      isList: true,
      arg: { required: false, kind: 'index' },
      check: (arg) => {
        if (arg !== undefined && !/^[0-9]+$/.test(arg))
          throw new FieldArgumentError('proc.aname', `'${arg}' is not an index`);
      },
    },
  ),
  def('ka.req.pod.containers.image', 'string', (e) => e.images, { isList: true }),
  def('fd.ports', 'number', (e) => e.ports, { isList: true }),
  def('fd.sip', 'ip', (e) => e.sip),
  def('fd.snet', 'ipnet', (e) => e.snet),
  def('container.privileged', 'bool', (e) => e.privileged),
  def('evt.buffer', 'string', (e) => e.buffer),
  def('fd.name', 'string', (e) => e.path),
  def('k8s.pod.label', 'string', (e, arg) => (arg === undefined ? undefined : e.labels?.[arg]), {
    arg: { required: true, kind: 'key', dotted: true },
    check: (arg) => {
      if (arg === undefined)
        throw new FieldArgumentError('k8s.pod.label', 'k8s.pod.label needs a label name');
    },
  }),
  def('evt.arg', 'string', (e, arg) => (arg === undefined ? undefined : e.flags?.[arg]), {
    arg: { required: true, kind: 'index-or-key', dotted: true },
  }),
]);

function compile(text: string): (e: Ev) => boolean {
  const p = parseCondition(text);
  if (!p.ok) assert.fail(`parse failed for ${text}: ${p.message}`);
  const c = compileCondition(p.expr, fields);
  if (!c.ok) assert.fail(`compile failed for ${text}: ${c.message}`);
  return c.predicate;
}

function compileError(text: string): { message: string; span: { start: number; end: number } } {
  const p = parseCondition(text);
  if (!p.ok) assert.fail(`parse failed for ${text}: ${p.message}`);
  const c = compileCondition(p.expr, fields);
  if (c.ok) assert.fail(`expected ${text} to fail to compile`);
  return c;
}

/** Asserts the condition's value on each [event, expected] pair. */
function truth(text: string, cases: [Ev, boolean][]): void {
  const p = compile(text);
  for (const [ev, want] of cases) assert.equal(p(ev), want, `${text} on ${JSON.stringify(ev)}`);
}

describe('compileCondition: boolean structure', () => {
  it('evaluates and/or/not with short-circuit', () => {
    truth('proc.name = a or proc.name = b', [
      [{ name: 'a' }, true],
      [{ name: 'b' }, true],
      [{ name: 'c' }, false],
    ]);
    truth('proc.name = a and proc.pid = 1 and evt.rawres = 0 and fd.name = x', [
      [{ name: 'a', pid: 1, res: 0, path: 'x' }, true],
      [{ name: 'a', pid: 1, res: 0, path: 'y' }, false],
    ]);
    truth('not (proc.name = a or proc.name = b)', [
      [{ name: 'a' }, false],
      [{ name: 'c' }, true],
    ]);
    let calls = 0;
    const counting = new FieldRegistry<Ev>('t', [
      def('x.a', 'string', () => {
        calls++;
        return 'a';
      }),
    ]);
    const p = parseCondition('x.a = b and x.a = a and x.a = a');
    assert.ok(p.ok);
    const c = compileCondition(p.expr, counting);
    assert.ok(c.ok);
    assert.equal(c.predicate({}), false);
    assert.equal(calls, 1);
  });
});

describe('compileCondition: missing values', () => {
  it('makes every comparison false, != included, and not-of-= true', () => {
    const none: Ev = {};
    for (const text of [
      'proc.name = a',
      'proc.name != a',
      'proc.name contains a',
      'proc.name in (a)',
      'proc.pid != 1',
      'proc.pid < 5',
      'fd.sip != 10.0.0.1',
      'container.privileged != true',
      'tolower(proc.name) != a',
      'proc.name = val(proc.pname)',
    ]) {
      assert.equal(compile(text)(none), false, text);
    }
    assert.equal(compile('not proc.name = a')(none), true);
    assert.equal(compile('proc.name = val(proc.pname)')({ name: 'a' }), false);
    assert.equal(compile('proc.name != val(proc.pname)')({ name: 'a' }), false);
  });

  it('exists is true exactly when the value is there', () => {
    truth('proc.name exists', [
      [{}, false],
      [{ name: '' }, true],
    ]);
    truth('proc.args exists', [
      [{}, false],
      [{ args: [] }, true],
    ]);
    truth('not k8s.pod.label[app] exists', [
      [{ labels: { app: 'x' } }, false],
      [{ labels: {} }, true],
    ]);
  });
});

describe('compileCondition: string operators', () => {
  it('= == != are case-sensitive', () => {
    truth('proc.name = Bash', [
      [{ name: 'Bash' }, true],
      [{ name: 'bash' }, false],
    ]);
    truth('proc.name == bash', [[{ name: 'bash' }, true]]);
    truth('proc.name != bash', [
      [{ name: 'bash' }, false],
      [{ name: 'sh' }, true],
    ]);
  });

  it('< <= > >= compare strings in code-unit order', () => {
    // Falco's grammar wants a number (or a field) after these operators.
    truth('proc.name < 5', [
      [{ name: '10' }, true],
      [{ name: '5' }, false],
    ]);
    truth('proc.name <= 5', [[{ name: '5' }, true]]);
    truth('proc.name > 5', [[{ name: '6' }, true]]);
    truth('proc.name >= 5', [[{ name: '45' }, false]]);
    truth('proc.name < val(proc.pname)', [
      [{ name: 'a', pname: 'b' }, true],
      [{ name: 'b', pname: 'b' }, false],
    ]);
  });

  it('contains, icontains, startswith, endswith', () => {
    truth('proc.name contains as', [
      [{ name: 'bash' }, true],
      [{ name: 'BASH' }, false],
    ]);
    truth('proc.name icontains AS', [
      [{ name: 'bAsh' }, true],
      [{ name: 'bsh' }, false],
    ]);
    truth('proc.name startswith ba', [
      [{ name: 'bash' }, true],
      [{ name: 'abash' }, false],
    ]);
    truth('fd.name endswith .conf', [
      [{ path: '/etc/a.conf' }, true],
      [{ path: '/etc/a.confx' }, false],
    ]);
  });

  it('glob and iglob follow fnmatch: * and ? cross slashes, sets and escapes work', () => {
    truth('fd.name glob /etc/*', [
      [{ path: '/etc/passwd' }, true],
      [{ path: '/etc/a/b' }, true],
      [{ path: '/etcx' }, false],
    ]);
    truth('fd.name glob "/dev/tty?"', [
      [{ path: '/dev/tty1' }, true],
      [{ path: '/dev/tty10' }, false],
    ]);
    truth('fd.name glob "/dev/sd[a-c][!0-3]"', [
      [{ path: '/dev/sdb9' }, true],
      [{ path: '/dev/sdb1' }, false],
      [{ path: '/dev/sdd9' }, false],
    ]);
    truth('fd.name glob "/a/[[:digit:]]x"', [[{ path: '/a/7x' }, true]]);
    truth('fd.name glob "a\\\\*b"', [
      [{ path: 'a*b' }, true],
      [{ path: 'axb' }, false],
    ]);
    truth('fd.name glob "x[y"', [[{ path: 'x[y' }, true]]);
    truth('fd.name iglob "/ETC/*.CONF"', [
      [{ path: '/etc/a.conf' }, true],
      [{ path: '/etc/a.cfg' }, false],
    ]);
  });

  it('regex must match the whole value', () => {
    truth('proc.name regex "ba.h"', [
      [{ name: 'bash' }, true],
      [{ name: 'xbash' }, false],
      [{ name: 'bashx' }, false],
    ]);
    truth('proc.name regex "a|b"', [
      [{ name: 'a' }, true],
      [{ name: 'ab' }, false],
    ]);
    const e = compileError('proc.name regex "(unclosed"');
    assert.match(e.message, /invalid regular expression/);
    assert.deepEqual(e.span, { start: 16, end: 27 });
  });

  it('pmatch matches whole path components', () => {
    truth('fd.name pmatch (/etc, /usr/lib, "/var/*/logs")', [
      [{ path: '/etc' }, true],
      [{ path: '/etc/x/y' }, true],
      [{ path: '/etcx' }, false],
      [{ path: '/usr/lib64' }, false],
      [{ path: '/usr/lib/x' }, true],
      [{ path: '//etc//passwd/' }, true],
      [{ path: '/var/app/logs/1' }, true],
      [{ path: '/var/app/data' }, false],
      [{ path: '/' }, false],
    ]);
    truth('fd.name pmatch (/)', [[{ path: '/anything' }, true]]);
  });

  it('bcontains and bstartswith compare hex bytes with the UTF-8 bytes', () => {
    truth('evt.buffer bcontains 454c46', [
      [{ buffer: '\x7fELF' }, true],
      [{ buffer: 'ELX' }, false],
    ]);
    truth('evt.buffer bstartswith 7f454c46', [
      [{ buffer: '\x7fELF...' }, true],
      [{ buffer: 'x\x7fELF' }, false],
    ]);
    truth('evt.buffer bcontains c3a9', [[{ buffer: 'café' }, true]]);
    truth('evt.buffer bcontains a9', [
      [{ buffer: 'café' }, true],
      [{ buffer: 'cafe' }, false],
    ]);
    assert.match(compileError('evt.buffer bcontains xyz').message, /not a hex byte string/);
  });

  it('in and intersects use a set', () => {
    truth('proc.name in (bash, sh, "a b")', [
      [{ name: 'sh' }, true],
      [{ name: 'a b' }, true],
      [{ name: 'zsh' }, false],
    ]);
    truth('proc.name intersects (bash, sh)', [[{ name: 'bash' }, true]]);
    truth('proc.name in ()', [[{ name: '' }, false]]);
    truth('proc.name in sh', [[{ name: 'sh' }, true]]);
  });
});

describe('compileCondition: numbers, booleans, addresses', () => {
  it('converts numbers once and compares numerically', () => {
    truth('evt.rawres >= 0', [
      [{ res: 0 }, true],
      [{ res: -2 }, false],
    ]);
    truth('evt.rawres < 0', [[{ res: -2 }, true]]);
    truth('proc.pid = 0x10', [[{ pid: 16 }, true]]);
    truth('proc.pid > 9', [[{ pid: 10 }, true]]);
    truth('proc.pid <= 9', [[{ pid: 10 }, false]]);
    truth('proc.pid != 1', [[{ pid: 2 }, true]]);
    truth('proc.pid in (1, 2, 3)', [
      [{ pid: 2 }, true],
      [{ pid: 4 }, false],
    ]);
    const e = compileError('evt.rawres = abc');
    assert.equal(e.message, "'abc' is not a number for field evt.rawres");
    assert.deepEqual(e.span, { start: 13, end: 16 });
    const l = compileError('proc.pid in (1, x2, 3)');
    assert.deepEqual(l.span, { start: 16, end: 18 });
  });

  it('compares booleans', () => {
    truth('container.privileged = true', [
      [{ privileged: true }, true],
      [{ privileged: false }, false],
    ]);
    truth('container.privileged != true', [[{ privileged: false }, true]]);
    truth('container.privileged in (false)', [[{ privileged: false }, true]]);
    assert.match(compileError('container.privileged = maybe').message, /not a boolean/);
  });

  it('matches IPv4 and IPv6 addresses against addresses and CIDR networks', () => {
    truth('fd.sip = 10.0.0.0/8', [
      [{ sip: '10.1.2.3' }, true],
      [{ sip: '11.0.0.1' }, false],
      [{ sip: '::ffff:10.9.9.9' }, true],
    ]);
    truth('fd.sip = 127.0.0.1', [
      [{ sip: '127.0.0.1' }, true],
      [{ sip: '127.0.0.2' }, false],
    ]);
    truth('fd.sip != 127.0.0.1', [[{ sip: '127.0.0.2' }, true]]);
    truth('fd.snet in (192.168.0.0/16, 172.16.0.0/12, "fd00::/8")', [
      [{ snet: '172.20.1.1' }, true],
      [{ snet: 'fd12:3456::1' }, true],
      [{ snet: 'fe80::1' }, false],
      [{ snet: '8.8.8.8' }, false],
    ]);
    truth('fd.sip = "2001:db8::/32"', [
      [{ sip: '2001:db8:0:0:1::1' }, true],
      [{ sip: '2001:db9::1' }, false],
      [{ sip: '10.0.0.1' }, false],
    ]);
    truth('fd.sip = ::1', [[{ sip: '0:0:0:0:0:0:0:1' }, true]]);
    truth('fd.snet = 10.0.0.0/8', [[{ snet: '10.1.0.0/16' }, true]]);
    assert.match(
      compileError('fd.sip = 10.0.0.300').message,
      /not an IP address or network for field fd.sip/,
    );
    assert.match(compileError('fd.sip = 10.0.0.0/33').message, /not an IP address or network/);
  });

  it('rejects operators a kind does not support', () => {
    const e = compileError('evt.rawres glob "1*"');
    assert.equal(e.message, "operator 'glob' is not supported for field 'evt.rawres' (type number)");
    assert.deepEqual(e.span, { start: 0, end: 20 });
    assert.match(
      compileError('fd.sip contains 10').message,
      /'contains' is not supported for field 'fd.sip' \(type ip\)/,
    );
    assert.match(compileError('container.privileged > 1').message, /type bool/);
    // The loader may expand a list name used with '='; a list there is an error.
    const p = parseCondition('proc.name in (a, b)');
    assert.ok(p.ok && p.expr.kind === 'binary');
    const r = compileCondition({ ...p.expr, op: '=' }, fields);
    assert.ok(!r.ok);
    assert.equal(r.message, "operator '=' takes a single value, not a list");
    assert.deepEqual(r.span, { start: 13, end: 19 });
  });
});

describe('compileCondition: list-valued fields', () => {
  it('true lists: comparisons hold for any item, in needs every item, intersects one', () => {
    truth('ka.req.pod.containers.image = nginx', [
      [{ images: ['redis', 'nginx'] }, true],
      [{ images: ['redis'] }, false],
      [{ images: [] }, false],
    ]);
    truth('ka.req.pod.containers.image startswith docker.io/', [[{ images: ['x', 'docker.io/y'] }, true]]);
    truth('ka.req.pod.containers.image in (nginx, redis)', [
      [{ images: ['redis', 'nginx'] }, true],
      [{ images: ['redis', 'evil'] }, false],
      [{ images: [] }, true],
    ]);
    truth('not ka.req.pod.containers.image in (nginx)', [[{ images: ['nginx', 'evil'] }, true]]);
    truth('ka.req.pod.containers.image intersects (nginx, redis)', [
      [{ images: ['evil', 'nginx'] }, true],
      [{ images: ['evil'] }, false],
      [{ images: [] }, false],
    ]);
    truth('fd.ports intersects (80, 443)', [[{ ports: [22, 443] }, true]]);
    truth('fd.ports in (80, 443)', [[{ ports: [22, 443] }, false]]);
  });

  it('ancestor-style fields: every operator, in included, holds for any item', () => {
    truth('proc.aname in (sshd, systemd)', [
      [{ ancestors: ['bash', 'sshd', 'systemd'] }, true],
      [{ ancestors: ['bash', 'init'] }, false],
    ]);
    truth('proc.aname = sshd', [[{ ancestors: ['bash', 'sshd'] }, true]]);
    truth('proc.aname[2] = sshd', [
      [{ ancestors: ['bash', 'sshd'] }, true],
      [{ ancestors: ['sshd', 'bash'] }, false],
    ]);
    truth('proc.aname[1] in (bash)', [[{ ancestors: ['bash', 'sshd'] }, true]]);
  });

  it('reports field argument errors and unknown fields with their span', () => {
    const a = compileError('proc.name = x and proc.aname[x] = sshd');
    assert.match(a.message, /'x' is not an index/);
    assert.deepEqual(a.span, { start: 18, end: 31 });
    const k = compileError('k8s.pod.label exists');
    assert.match(k.message, /needs a label name/);
    const u = compileError('proc.name = x or proc.nme = y');
    assert.equal(u.message, "unknown field 'proc.nme'");
    assert.deepEqual(u.span, { start: 17, end: 25 });
    truth('k8s.pod.label.app = web', [[{ labels: { app: 'web' } }, true]]);
    truth('evt.arg.flags contains O_TRUNC', [[{ flags: { flags: 'O_WRONLY|O_TRUNC' } }, true]]);
    truth('evt.arg[flags] contains O_TRUNC', [[{ flags: { flags: 'O_TRUNC' } }, true]]);
  });

  it('reports undefined macros', () => {
    const e = compileError('proc.name = a and shell_procs');
    assert.equal(e.message, "undefined macro 'shell_procs'");
    assert.deepEqual(e.span, { start: 18, end: 29 });
  });
});

describe('compileCondition: modifiers', () => {
  it('anyof, allof, oneof over the right-hand values', () => {
    truth('proc.name startswith anyof (ba, zs)', [
      [{ name: 'bash' }, true],
      [{ name: 'zsh' }, true],
      [{ name: 'sh' }, false],
    ]);
    truth('proc.name contains allof (a, s)', [
      [{ name: 'bash' }, true],
      [{ name: 'bah' }, false],
    ]);
    truth('proc.name startswith oneof (b, ba)', [
      [{ name: 'bash' }, false],
      [{ name: 'bxsh' }, true],
      [{ name: 'sh' }, false],
    ]);
    truth('proc.name = anyof (a, b)', [
      [{ name: 'b' }, true],
      [{ name: 'c' }, false],
    ]);
    truth('proc.name != allof (a, b)', [
      [{ name: 'c' }, true],
      [{ name: 'a' }, false],
    ]);
    truth('proc.name != anyof (a, b)', [[{ name: 'a' }, true]]);
    truth('proc.name regex anyof ("ba.*", "z.*")', [
      [{ name: 'zsh' }, true],
      [{ name: 'xzsh' }, false],
    ]);
    truth('proc.pid = anyof (1, 2)', [[{ pid: 2 }, true]]);
    truth('proc.name = anyof ()', [[{ name: 'a' }, false]]);
    truth('proc.name startswith anyof (a)', [[{}, false]]);
    assert.match(compileError('proc.pid = anyof (1, x)').message, /'x' is not a number/);
  });
});

describe('compileCondition: transformers', () => {
  it('tolower, toupper, basename, b64, len', () => {
    truth('tolower(proc.name) = bash', [[{ name: 'BaSh' }, true]]);
    truth('toupper(proc.name) = BASH', [[{ name: 'bash' }, true]]);
    truth('toupper(tolower(proc.name)) = BASH', [[{ name: 'BaSh' }, true]]);
    truth('basename(fd.name) = passwd', [
      [{ path: '/etc/passwd' }, true],
      [{ path: 'passwd' }, true],
    ]);
    truth('basename(fd.name) = ""', [[{ path: '/etc/' }, true]]);
    truth('b64(proc.name) = hello', [
      [{ name: 'aGVsbG8=' }, true],
      [{ name: 'aGVsbG8' }, true],
      [{ name: 'not base64!' }, false],
    ]);
    truth('not b64(proc.name) exists', [[{ name: '%%%' }, true]]);
    truth('len(proc.name) = 4', [[{ name: 'bash' }, true]]);
    truth('len(proc.name) > 3', [[{ name: 'é' }, false]]);
    truth('len(proc.name) = 2', [[{ name: 'é' }, true]]);
    truth('len(proc.args) >= 2', [
      [{ args: ['-c', 'x'] }, true],
      [{ args: [] }, false],
    ]);
    truth('tolower(proc.args) contains "-x"', [[{ args: ['-C', '-X'] }, true]]);
    truth('tolower(ka.req.pod.containers.image) in (nginx)', [[{ images: ['NGINX', 'Nginx'] }, true]]);
  });

  it('join, concat, getopt', () => {
    truth('join(",", proc.args) = "-c,ls"', [[{ args: ['-c', 'ls'] }, true]]);
    truth('join(proc.name, proc.args) = "a_b"', [[{ name: '_', args: ['a', 'b'] }, true]]);
    truth('concat(proc.name, ":", proc.pname) = "a:b"', [
      [{ name: 'a', pname: 'b' }, true],
      [{ name: 'a' }, false],
    ]);
    truth('getopt(proc.args, "u:x") intersects (x)', [
      [{ args: ['-x', 'foo'] }, true],
      [{ args: ['foo', '-x'] }, false],
    ]);
    truth('join(",", getopt(proc.args, "u:xv")) = "u,root,x,?"', [
      [{ args: ['-uroot', '-xz', '--long', 'file'] }, true],
    ]);
    truth('getopt(proc.args, "u:x")[u] = root', [
      [{ args: ['-x', '-u', 'root'] }, true],
      [{ args: ['-xu', 'root'] }, true],
      [{ args: ['--', '-u', 'root'] }, false],
      [{ args: ['-x'] }, false],
    ]);
    truth('getopt(proc.args, "u:x")[x] exists', [
      [{ args: ['-x'] }, true],
      [{ args: ['-u', 'x'] }, false],
    ]);
  });

  it('rejects transformers on the wrong kinds', () => {
    assert.match(compileError('tolower(proc.pid) = 1').message, /'tolower' needs a string field/);
    assert.match(compileError('len(proc.pid) = 1').message, /'len' needs a string or a list/);
    const j = compileError('join(",", proc.name) = x');
    assert.match(j.message, /second argument of join\(\) must be a list/);
    assert.deepEqual(j.span, { start: 10, end: 19 });
    assert.match(compileError('concat(proc.name) = x').message, /at least 2 arguments/);
    assert.match(compileError('concat(proc.name, proc.args) = x').message, /must be a single value/);
    assert.match(compileError('tolower(proc.name)[1] = x').message, /takes no '\[...\]' argument/);
    assert.match(compileError('getopt(proc.args, "u:")[uu] = x').message, /single option letter/);
    assert.match(compileError('tolower(proc.nme) = x').message, /unknown field 'proc.nme'/);
  });
});

describe('compileCondition: val()', () => {
  it('compares with another field of the same event', () => {
    truth('proc.name = val(proc.pname)', [
      [{ name: 'a', pname: 'a' }, true],
      [{ name: 'a', pname: 'b' }, false],
    ]);
    truth('proc.name != val(proc.pname)', [[{ name: 'a', pname: 'b' }, true]]);
    truth('proc.pid > val(proc.ppid)', [
      [{ pid: 10, ppid: 1 }, true],
      [{ pid: 1, ppid: 10 }, false],
    ]);
    truth('proc.name startswith val(proc.pname)', [[{ name: 'bash5', pname: 'bash' }, true]]);
    truth('tolower(proc.name) = val(tolower(proc.pname))', [[{ name: 'A', pname: 'a' }, true]]);
    truth('proc.name = tolower(proc.pname)', [[{ name: 'a', pname: 'A' }, true]]);
    truth('proc.name in val(proc.args)', [
      [{ name: 'b', args: ['a', 'b'] }, true],
      [{ name: 'c', args: ['a', 'b'] }, false],
    ]);
    truth('proc.aname = val(proc.name)', [[{ ancestors: ['x', 'y'], name: 'y' }, true]]);
  });

  it('rejects mismatched kinds and operators that need constants', () => {
    assert.match(
      compileError('proc.pid = val(proc.name)').message,
      /cannot compare 'proc.pid' \(type number\)/,
    );
    assert.match(
      compileError('fd.name pmatch val(proc.name)').message,
      /'pmatch' cannot compare with a field/,
    );
    assert.match(compileError('proc.name regex val(proc.pname)').message, /'regex' cannot compare/);
  });
});

describe('compileCondition: robustness', () => {
  it('never throws on malformed trees', () => {
    const bad: unknown[] = [
      { kind: 'bogus', span: { start: 0, end: 1 } },
      { kind: 'and', children: [null], span: { start: 0, end: 1 } },
      { kind: 'binary', left: { kind: 'field' }, op: '=', right: { kind: 'value', value: 'x' } },
      {
        kind: 'binary',
        left: { kind: 'field', name: 'proc.name', raw: 'proc.name' },
        op: 'nope',
        right: null,
      },
      null,
    ];
    for (const b of bad) {
      const r = compileCondition(b as never, fields);
      assert.equal(r.ok, false);
    }
  });

  it('does not throw when an extractor returns a value of another type', () => {
    const odd = new FieldRegistry<Ev>('odd', [
      def('x.s', 'string', () => 42),
      def('x.n', 'number', () => '42'),
      def('x.l', 'string', () => ['a', 1, true]),
    ]);
    for (const text of [
      'x.s = 42',
      'x.s contains 4',
      'x.n = 42',
      'x.n > 41',
      'x.l in (a)',
      'x.s in (42)',
      'x.s pmatch (/a)',
    ]) {
      const p = parseCondition(text);
      assert.ok(p.ok);
      const c = compileCondition(p.expr, odd);
      assert.ok(c.ok, text);
      assert.equal(c.predicate({}), !text.includes('pmatch') && !text.includes('x.l'), text);
    }
  });
});
