import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BinaryCheck, Expr, FieldRef, TransformerCall, ValueList } from '../src/condition/ast.js';
import { BINARY_OPERATORS } from '../src/condition/ast.js';
import { parseCondition } from '../src/condition/parser.js';
import { forEachFieldRef, forEachNode, mapExpr } from '../src/condition/walk.js';

function parse(text: string): Expr {
  const r = parseCondition(text);
  if (!r.ok) assert.fail(`parse failed for ${JSON.stringify(text)}: ${r.message} at ${r.offset}`);
  return r.expr;
}

function fail(text: string): { message: string; offset: number } {
  const r = parseCondition(text);
  if (r.ok) assert.fail(`expected ${JSON.stringify(text)} to fail`);
  return r;
}

function binary(text: string): BinaryCheck {
  const e = parse(text);
  assert.equal(e.kind, 'binary', text);
  return e as BinaryCheck;
}

/** A compact rendering of the tree, to assert structure. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${e.kind} ${e.children.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(e.child)})`;
    case 'identifier':
      return e.name;
    case 'unary':
      return `[${e.left.kind === 'field' ? e.left.raw : e.left.name} exists]`;
    case 'binary': {
      const r =
        e.right.kind === 'list'
          ? `(${e.right.items.map((i) => i.value).join(',')})`
          : e.right.kind === 'val'
            ? 'val'
            : e.right.value;
      const l = e.left.kind === 'field' ? e.left.raw : `${e.left.name}()`;
      return `[${l} ${e.op}${e.modifier ? ` ${e.modifier}` : ''} ${r}]`;
    }
  }
}

describe('parseCondition: structure', () => {
  it('gives or < and < not precedence', () => {
    assert.equal(show(parse('a or b and c')), '(or a (and b c))');
    assert.equal(show(parse('a and b or c')), '(or (and a b) c)');
    assert.equal(show(parse('not a and b')), '(and (not a) b)');
    assert.equal(show(parse('not (a or b)')), '(not (or a b))');
    assert.equal(show(parse('a and (b or c) and d')), '(and a (or b c) d)');
    assert.equal(show(parse('((a))')), 'a');
  });

  it('collapses double negation and accepts not(', () => {
    assert.equal(show(parse('not not a')), 'a');
    assert.equal(show(parse('not not not a')), '(not a)');
    assert.equal(show(parse('not(a)')), '(not a)');
    assert.equal(show(parse('a and(b)')), '(and a b)');
    assert.equal(show(parse('a or(b)')), '(or a b)');
  });

  it('keeps keywords case-sensitive and whole-word', () => {
    assert.equal(show(parse('nota')), 'nota');
    assert.equal(show(parse('android')), 'android');
    const r = fail('a AND b');
    assert.match(r.message, /unexpected token after 'a', expecting 'or', 'and'/);
    assert.equal(r.offset, 2);
  });

  it('reads checks with every operator', () => {
    for (const op of BINARY_OPERATORS) {
      const text =
        op === 'in' || op === 'intersects' || op === 'pmatch'
          ? `fd.name ${op} (/a, /b)`
          : op === '<' || op === '<=' || op === '>' || op === '>='
            ? `evt.rawres ${op} 0`
            : `fd.name ${op} x`;
      const b = binary(text);
      assert.equal(b.op, op, text);
    }
    assert.equal(show(parse('fd.name exists')), '[fd.name exists]');
  });

  it('reads operators without blanks around symbols', () => {
    assert.equal(show(parse('proc.name=bash')), '[proc.name = bash]');
    assert.equal(show(parse('proc.name!=bash')), '[proc.name != bash]');
    assert.equal(show(parse('evt.rawres>=0')), '[evt.rawres >= 0]');
    assert.equal(show(parse('fd.sip=127.0.0.1')), '[fd.sip = 127.0.0.1]');
    assert.equal(show(parse('evt.type in(open,openat)')), '[evt.type in (open,openat)]');
    assert.equal(show(parse('evt.type==execve')), '[evt.type == execve]');
  });

  it('sets spans on every node', () => {
    const text = 'proc.name = bash and not fd.name startswith /etc';
    const e = parse(text);
    assert.deepEqual(e.span, { start: 0, end: text.length });
    forEachNode(e, (n) => {
      assert.ok(n.span.start >= 0 && n.span.end <= text.length && n.span.start < n.span.end);
    });
    const and = e as Extract<Expr, { kind: 'and' }>;
    const first = and.children[0] as BinaryCheck;
    assert.equal(text.slice(first.span.start, first.span.end), 'proc.name = bash');
    assert.equal(text.slice(first.right.span.start, first.right.span.end), 'bash');
    const not = and.children[1]!;
    assert.equal(text.slice(not.span.start, not.span.end), 'not fd.name startswith /etc');
  });
});

describe('parseCondition: values', () => {
  it('reads bare values with path, address and punctuation characters', () => {
    for (const v of [
      '/etc',
      '/usr/bin/*',
      '127.0.0.1',
      '10.0.0.0/8',
      'runc:[2:INIT]',
      'a-b.c@d',
      '<NA>',
      '-1',
      '*',
    ]) {
      const b = binary(`fd.name startswith ${v}`);
      assert.equal(b.right.kind, 'value');
      assert.equal(b.right.kind === 'value' && b.right.value, v);
      assert.equal(b.right.kind === 'value' && b.right.quoted, false);
    }
    const b = binary('proc.name in (runc:[2:INIT], "a b", \'c,d\')');
    assert.deepEqual(
      (b.right as ValueList).items.map((i) => [i.value, i.quoted]),
      [
        ['runc:[2:INIT]', false],
        ['a b', true],
        ['c,d', true],
      ],
    );
  });

  it('unescapes quoted strings', () => {
    const value = (t: string) => {
      const b = binary(`proc.cmdline contains ${t}`);
      return b.right.kind === 'value' ? b.right.value : assert.fail('not a value');
    };
    assert.equal(value('"a\\"b"'), 'a"b');
    assert.equal(value("'a\\'b'"), "a'b");
    assert.equal(value('"tab\\there"'), 'tab\there');
    assert.equal(value('"\\x41\\x42"'), 'AB');
    assert.equal(value('"back\\\\slash"'), 'back\\slash');
    assert.equal(value('"\\ "'), '\\');
    assert.equal(value('"a=b (c)"'), 'a=b (c)');
    assert.match(fail('proc.name = "a\\qb"').message, /unsupported escape sequence '\\q'/);
    assert.equal(fail('proc.name = "abc').offset, 12);
  });

  it('reads empty lists and list names', () => {
    assert.equal((binary('proc.name in ()').right as ValueList).items.length, 0);
    const b = binary('proc.name in shell_binaries');
    assert.deepEqual(b.right.kind === 'value' && [b.right.value, b.right.quoted], ['shell_binaries', false]);
  });

  it('reads numbers after numeric operators, including hex', () => {
    const b = binary('evt.rawres < 0x10');
    assert.equal(b.right.kind === 'value' && b.right.value, '0x10');
    assert.equal(binary('evt.rawres >= -1.5e3').right.kind, 'value');
    assert.match(fail('evt.rawres < abc').message, /expected a number after '<'/);
  });
});

describe('parseCondition: fields', () => {
  const field = (text: string): FieldRef => {
    const b = parse(`${text} exists`);
    if (b.kind !== 'unary' || b.left.kind !== 'field') assert.fail('not a field check');
    return b.left;
  };

  it('keeps dotted arguments in the name', () => {
    const f = field('evt.arg.flags');
    assert.equal(f.name, 'evt.arg.flags');
    assert.equal(f.arg, undefined);
    assert.equal(f.raw, 'evt.arg.flags');
  });

  it('splits bracket arguments: index, key, path, glob, quoted', () => {
    const cases: [string, string, string][] = [
      ['proc.aname[2]', 'proc.aname', '2'],
      ['k8s.pod.label[app.kubernetes.io/name]', 'k8s.pod.label', 'app.kubernetes.io/name'],
      ['ka.req.pod.volumes.hostpath[/etc]', 'ka.req.pod.volumes.hostpath', '/etc'],
      ['jevt.value[/requestObject/spec/tls]', 'jevt.value', '/requestObject/spec/tls'],
      ['container.mount.dest[/root*]', 'container.mount.dest', '/root*'],
      ['evt.arg["my arg"]', 'evt.arg', 'my arg'],
      ["evt.arg['x]y']", 'evt.arg', 'x]y'],
    ];
    for (const [text, name, arg] of cases) {
      const f = field(text);
      assert.equal(f.name, name, text);
      assert.equal(f.arg, arg, text);
      assert.equal(f.raw, text, text);
    }
  });

  it('rejects malformed arguments with the offset of the bracket', () => {
    const r = fail('proc.aname[2 = x');
    assert.match(r.message, /unclosed argument of 'proc.aname'/);
    assert.equal(r.offset, 10);
    assert.match(fail('proc.aname[] = x').message, /empty argument/);
  });

  it('tells a macro name from a field', () => {
    const r = fail('foo = bar');
    assert.match(r.message, /'foo' is not a field name/);
    assert.equal(r.offset, 0);
    assert.equal(show(parse('foo')), 'foo');
    assert.equal(show(parse('_private_macro or x1')), '(or _private_macro x1)');
  });
});

describe('parseCondition: transformers and val()', () => {
  it('reads transformers on the left, nested', () => {
    const b = binary('toupper(tolower(proc.name)) = BASH');
    assert.equal(b.left.kind, 'transform');
    const t = b.left as TransformerCall;
    assert.equal(t.name, 'toupper');
    assert.equal(t.args[0]?.kind, 'transform');
    for (const name of ['tolower', 'toupper', 'b64', 'basename', 'len']) {
      const c = binary(`${name}(proc.name) = x`);
      assert.equal(c.left.kind === 'transform' && c.left.name, name);
    }
  });

  it('reads join, concat and getopt with literal arguments and a selector', () => {
    const j = binary('join(",", proc.args) = "a,b"').left as TransformerCall;
    assert.deepEqual(
      j.args.map((a) => a.kind),
      ['value', 'field'],
    );
    const c = binary('concat(proc.name, "-", 1, proc.pname) = x').left as TransformerCall;
    assert.equal(c.args.length, 4);
    const g = binary('getopt(proc.args, "u:x")[u] = root').left as TransformerCall;
    assert.equal(g.arg, 'u');
    assert.match(fail('tolower() = x').message, /needs at least one argument/);
    assert.match(fail('tolower(proc.name = x').message, /expected ',' or '\)' in the arguments of 'tolower'/);
  });

  it('reads val() and transformers on the right', () => {
    const b = binary('proc.name = val(proc.pname)');
    assert.equal(b.right.kind, 'val');
    assert.equal(
      b.right.kind === 'val' && b.right.field.kind === 'field' && b.right.field.name,
      'proc.pname',
    );
    const t = binary('proc.name = val(tolower(proc.pname))');
    assert.equal(t.right.kind === 'val' && t.right.field.kind, 'transform');
    const r = binary('proc.name = tolower(proc.pname)');
    assert.equal(r.right.kind === 'val' && r.right.field.kind, 'transform');
    const n = binary('proc.aname[1] in val(proc.args)');
    assert.equal(n.right.kind, 'val');
    assert.equal(binary('evt.rawres < val(proc.pid)').right.kind, 'val');
    assert.match(fail('proc.name = val(foo)').message, /expected a field inside 'val/);
    assert.match(fail('proc.name = val(proc.pname').message, /'val\(' at offset 12 is never closed/);
  });
});

describe('parseCondition: modifiers', () => {
  it('reads oneof/anyof/allof after string operators', () => {
    for (const m of ['oneof', 'anyof', 'allof']) {
      for (const op of ['=', '!=', 'startswith', 'contains', 'glob', 'regex']) {
        const b = binary(`proc.name ${op} ${m} (a, b)`);
        assert.equal(b.modifier, m);
        assert.equal(b.op, op);
        assert.equal(b.right.kind, 'list');
      }
    }
    const named = binary('proc.name startswith anyof shell_prefixes');
    assert.equal(named.modifier, 'anyof');
    assert.equal(named.right.kind === 'value' && named.right.value, 'shell_prefixes');
  });

  it('reads a modifier word as a value when no list follows', () => {
    const b = binary('proc.name = oneof');
    assert.equal(b.modifier, undefined);
    assert.equal(b.right.kind === 'value' && b.right.value, 'oneof');
    const c = parse('proc.name = anyof and x');
    assert.equal(show(c), '(and [proc.name = anyof] x)');
    assert.equal(binary('proc.name =anyof').modifier, undefined);
  });

  it('rejects a modifier after a list operator', () => {
    const r = fail('proc.name in anyof (a, b)');
    assert.match(r.message, /modifier 'anyof' cannot follow 'in'/);
    assert.equal(r.offset, 13);
  });
});

describe('parseCondition: errors', () => {
  const cases: [string, RegExp, number][] = [
    ['', /empty condition/, 0],
    ['   ', /empty condition/, 0],
    ['proc.name in', /unexpected end of condition, expected a value after 'in'/, 12],
    ['proc.name equals bash', /unknown operator 'equals' after 'proc.name'/, 10],
    ['proc.name', /unexpected end of condition, expected an operator after 'proc.name'/, 9],
    ['proc.name =', /unexpected end of condition, expected a value after '='/, 11],
    ['(a or b', /unbalanced parenthesis: '\(' at offset 0 is never closed/, 7],
    ['a or b)', /unbalanced parenthesis: '\)' has no matching '\('/, 6],
    ['a and', /expected a condition after 'and'/, 5],
    ['a and or b', /unexpected keyword 'or'/, 6],
    ['not', /unexpected keyword 'not'/, 0],
    ['proc.name in (a, b', /unbalanced parenthesis: the list opened at offset 13/, 18],
    ['proc.name in (a b)', /expected ',' or '\)' in the list/, 16],
    ['proc.name in (a,)', /expected a value in the list/, 16],
    ['a b', /unexpected token after 'a', expecting 'or', 'and'/, 2],
    ['evt.type=execve foo', /unexpected token after 'execve', expecting 'or', 'and'/, 16],
    ['a andb', /unexpected token after 'a'/, 2],
    ['()', /unexpected '\)', expected a condition/, 1],
    ['proc.name = bash and', /expected a condition after 'and'/, 20],
  ];
  for (const [text, re, offset] of cases) {
    it(`${JSON.stringify(text)} → ${re.source}`, () => {
      const r = fail(text);
      assert.match(r.message, re);
      assert.equal(r.offset, offset);
    });
  }

  it('limits nesting instead of overflowing the stack', () => {
    const deep = `${'('.repeat(5000)}a${')'.repeat(5000)}`;
    const r = fail(deep);
    assert.match(r.message, /nests more than/);
    const nots = `${'not '.repeat(100001)}a`;
    assert.equal(show(parse(nots)), '(not a)');
  });
});

describe('walk helpers', () => {
  it('mapExpr substitutes macros bottom-up and keeps unchanged trees', () => {
    const e = parse('a and not (b or proc.name = x)');
    assert.equal(
      mapExpr(e, (n) => n),
      e,
    );
    const macro = parse('evt.type = open');
    const out = mapExpr(e, (n) => (n.kind === 'identifier' && n.name === 'b' ? macro : n));
    assert.equal(show(out), '(and a (not (or [evt.type = open] [proc.name = x])))');
    assert.notEqual(out, e);
  });

  it('forEachFieldRef visits left sides, transformer arguments and val()', () => {
    const e = parse('tolower(proc.name) = val(proc.pname) and fd.name exists and concat(a.b, "x", c.d) = y');
    const seen: string[] = [];
    forEachFieldRef(e, (r) => seen.push(r.name));
    assert.deepEqual(seen, ['proc.name', 'proc.pname', 'fd.name', 'a.b', 'c.d']);
  });
});

describe('parseCondition: Falco rule files', () => {
  it('parses conditions with tricky values', () => {
    for (const text of [
      'proc.name in (runc:[2:INIT])',
      '(proc.pname=postgres and (proc.cmdline startswith "sh -c envdir \\"/run/etc/wal-e.d/env\\" wal-g wal-push"))',
      'x.y exists and (proc.args contains "\\ " or proc.args endswith \\)',
      'fd.name startswith /etc and fd.sip=127.0.0.1 and fd.snet in (10.0.0.0/8, "fd00::/8")',
      'container.mount.dest[/var/run/docker.sock] in (foo) and ka.req.pod.volumes.hostpath intersects (/)',
      'evt.arg.flags contains O_TRUNC and evt.rawres>=0 and fd.typechar=f',
    ]) {
      parse(text);
    }
  });
});
