import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sharedPath, sharedSkip } from '@saker/testing';
import yaml from 'js-yaml';
import { SYSCALL_EVENT_TYPES, eventTypesOf } from '../src/compile/evttypes.js';
import type { Expr } from '../src/condition/ast.js';
import { parseCondition } from '../src/condition/parser.js';
import { mapExpr } from '../src/condition/walk.js';

function types(text: string): string[] | 'all' {
  const r = parseCondition(text);
  if (!r.ok) assert.fail(`parse failed for ${text}: ${r.message}`);
  const s = eventTypesOf(r.expr);
  return s === undefined ? 'all' : [...s].sort();
}

describe('SYSCALL_EVENT_TYPES', () => {
  it('holds the common syscalls and libsinsp events', () => {
    for (const t of [
      'open',
      'openat',
      'openat2',
      'execve',
      'execveat',
      'connect',
      'accept',
      'accept4',
      'clone',
      'clone3',
      'fork',
      'vfork',
      'ptrace',
      'container',
      'procexit',
      'switch',
      'signaldeliver',
      'pluginevent',
      'memfd_create',
      'userfaultfd',
      'init_module',
      'finit_module',
    ]) {
      assert.ok(SYSCALL_EVENT_TYPES.has(t), t);
    }
    assert.ok(SYSCALL_EVENT_TYPES.size > 300);
  });
});

describe('eventTypesOf', () => {
  it('reads =, ==, in and != on evt.type', () => {
    assert.deepEqual(types('evt.type = open'), ['open']);
    assert.deepEqual(types('evt.type == open'), ['open']);
    assert.deepEqual(types('evt.type in (open, openat)'), ['open', 'openat']);
    assert.deepEqual(types('syscall.type = open'), ['open']);
    const ne = eventTypesOf((parseCondition('evt.type != open') as { expr: Expr }).expr);
    assert.ok(
      ne !== undefined && !ne.has('open') && ne.has('openat') && ne.size === SYSCALL_EVENT_TYPES.size - 1,
    );
  });

  it('intersects under and, unites under or, complements under not', () => {
    assert.deepEqual(types('evt.type in (open, openat) and evt.type in (openat, execve)'), ['openat']);
    assert.deepEqual(types('evt.type = open or evt.type = execve'), ['execve', 'open']);
    assert.deepEqual(types('evt.type = open and evt.type = execve'), []);
    assert.deepEqual(types('not not evt.type = open'), ['open']);
    assert.deepEqual(types('not evt.type != open'), ['open']);
    assert.deepEqual(types('not (evt.type != open or evt.type != execve)'), []);
    assert.deepEqual(types('not (evt.type != open and evt.type != execve)'), ['execve', 'open']);
    const n = eventTypesOf((parseCondition('not evt.type in (open, execve)') as { expr: Expr }).expr);
    assert.ok(n !== undefined && !n.has('open') && !n.has('execve') && n.has('connect'));
  });

  it('treats other checks as neutral, negated or not', () => {
    assert.equal(types('proc.name = bash'), 'all');
    assert.equal(types('not proc.name = bash'), 'all');
    assert.deepEqual(types('not proc.name = bash and evt.type = open'), ['open']);
    assert.deepEqual(types('evt.type = open and not (proc.name = a or proc.name = b)'), ['open']);
    assert.equal(types('evt.type = open or proc.name = bash'), 'all');
    assert.equal(types('evt.type exists'), 'all');
    assert.deepEqual(types('not evt.type exists'), []);
    assert.equal(types('evt.type startswith open'), 'all');
    assert.equal(types('evt.type = val(proc.name)'), 'all');
    assert.equal(types('evt.type[1] = open'), 'all');
    assert.equal(types('tolower(evt.type) = open'), 'all');
    assert.equal(types('some_macro'), 'all');
  });

  it('returns undefined when the set covers every type', () => {
    assert.equal(types('evt.type != open or evt.type = open'), 'all');
  });
});

/**
 * These files carry tags js-yaml does not know: avocado's `!mux` on the case
 * map, and `desc: != after evt.type` reads as a `!=` tag. Any tag is taken as
 * the plain value it decorates.
 */
const schema = yaml.DEFAULT_SCHEMA.extend(
  (['scalar', 'sequence', 'mapping'] as const).map(
    (kind) => new yaml.Type('!', { kind, multi: true, construct: (data: unknown) => data }),
  ),
);

interface WarningsCase {
  validate_rules_file: string;
  validate_warnings: { item_name: string; code: string }[];
  rules_events: Record<string, string[]>[];
}

/**
 * Falco's loader test `test_warnings`. Its `rules_events` column was written
 * for Falco's old Lua loader, which gave up ("all") on any rule where a `not`
 * or `!=` came before an evt.type check. libsinsp now resolves those exactly,
 * and the case's own `validate_warnings` column shows it: the rules that still
 * get LOAD_NO_EVTTYPE are the ones that really match (nearly) every type. So:
 * - a concrete expected set must be matched exactly;
 * - "all" on a rule with a LOAD_NO_EVTTYPE warning must be undefined or
 *   nearly every type (Falco warns above 100 types);
 * - "all" on a rule without that warning must be exactly the evt.type values
 *   the condition names (the precise answer).
 */
describe('eventTypesOf: Falco conformance test_warnings', () => {
  const testsFile = sharedPath('falco-conformance', 'loader', 'falco_tests.yaml');
  it('gives the expected event types for every rule', { skip: sharedSkip() }, () => {
    assert.ok(testsFile !== undefined);
    const tests = yaml.load(readFileSync(testsFile, 'utf8'), { schema }) as {
      trace_files: Record<string, WarningsCase>;
    };
    const tc = tests.trace_files.test_warnings;
    assert.ok(tc, 'test_warnings case not found');
    const rulesFile = sharedPath('falco-conformance', 'loader', tc.validate_rules_file);
    assert.ok(rulesFile !== undefined);
    const items = yaml.load(readFileSync(rulesFile, 'utf8'), { schema }) as Record<string, unknown>[];
    const macros = new Map<string, Expr>();
    const rules = new Map<string, Expr>();
    for (const item of items) {
      const cond = item.condition;
      if (typeof cond !== 'string') continue;
      const r = parseCondition(cond);
      if (!r.ok) assert.fail(`parse failed for ${cond}: ${r.message}`);
      const expr = mapExpr(r.expr, (n) => (n.kind === 'identifier' ? (macros.get(n.name) ?? n) : n));
      if (typeof item.macro === 'string') macros.set(item.macro, expr);
      if (typeof item.rule === 'string') rules.set(item.rule, expr);
    }
    const warned = new Set(
      tc.validate_warnings.filter((w) => w.code === 'LOAD_NO_EVTTYPE').map((w) => w.item_name),
    );
    let checked = 0;
    for (const entry of tc.rules_events) {
      for (const [name, expected] of Object.entries(entry)) {
        const expr = rules.get(name);
        assert.ok(expr, `rule ${name} not found`);
        const got = eventTypesOf(expr);
        const gotList = got === undefined ? 'all' : [...got].sort();
        if (expected.length !== 1 || expected[0] !== 'all') {
          assert.deepEqual(gotList, [...new Set(expected)].sort(), name);
        } else if (warned.has(name)) {
          assert.ok(got === undefined || got.size > 100, `${name}: expected too many types, got ${gotList}`);
        } else {
          const named = new Set<string>();
          const text = (items.find((i) => i.rule === name)?.condition as string) ?? '';
          for (const m of text.matchAll(/evt\.type\s*(?:=|in)\s*(\([^)]*\)|\w+)/g)) {
            for (const t of (m[1] ?? '').split(/[\s,()]+/)) if (t !== '') named.add(t);
          }
          assert.deepEqual(gotList, [...named].sort(), name);
        }
        checked++;
      }
    }
    assert.equal(checked, 31);
  });
});
