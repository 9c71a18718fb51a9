/**
 * Hostile rules files and hostile event values (issue 14, items 3 and 4).
 * Each case reproduces a finding of the security review: before the fix a
 * billion-laughs file ran out of memory, 20 levels of macro doubling took
 * 6.9 s and 1 GB, `(a+)+b` took 9.7 s on a 29-character process name and
 * `*a*a*a*a*a*b` ran for minutes over a 200-character path. The time bounds
 * below are generous; they fail when matching is exponential again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatcher } from '../src/compile/glob.js';
import { loadRules } from '../src/loader/load.js';
import { MAX_CONDITION_NODES } from '../src/loader/resolve.js';
import { MAX_ALIAS_NODES } from '../src/loader/yaml.js';
import { READ, onHost, opened } from './fixtures/default-rules-events.js';

function rule(condition: string): string {
  return `- rule: r\n  desc: d\n  condition: ${condition}\n  output: x\n  priority: WARNING\n`;
}

function firstError(content: string, name = 'hostile.yaml') {
  const t0 = performance.now();
  const r = loadRules([{ name, content }]);
  const ms = performance.now() - t0;
  const d = r.results[0]?.errors[0];
  const pos = d?.locations[d.locations.length - 1]?.position;
  return { ok: r.ok, ms, message: d?.message ?? '', pos, ruleset: r.ruleset };
}

function within<T>(limitMs: number, what: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  assert.ok(ms < limitMs, `${what} took ${ms.toFixed(0)} ms (bound ${limitMs} ms)`);
  return out;
}

describe('hostile rules files', () => {
  it('a billion-laughs file (1 KB) is refused at the alias that crosses the limit', () => {
    let s = '- list: l0\n  items: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 10; i++) {
      s += `- list: l${i}\n  items: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    }
    assert.ok(s.length < 1024);
    const e = firstError(s);
    assert.equal(e.ok, false);
    assert.match(e.message, new RegExp(`aliases expand to more than ${MAX_ALIAS_NODES} nodes`));
    assert.equal(e.pos?.name, 'hostile.yaml');
    assert.ok((e.pos?.line ?? 0) > 2, `points at an alias line, got ${e.pos?.line}`);
    assert.ok(e.ms < 2_000, `refused in ${e.ms.toFixed(0)} ms`);
  });

  it('a few aliases still load', () => {
    const s = `- list: shells\n  items: &sh [bash, sh]\n- list: more\n  items: *sh\n${rule('evt.type = open and proc.name in (more)')}`;
    const e = firstError(s);
    assert.equal(e.ok, true, e.message);
  });

  it('20 levels of macro doubling are refused at the macro crossing the limit, naming it', () => {
    let s = '- macro: m0\n  condition: evt.type = open\n';
    for (let i = 1; i <= 20; i++) s += `- macro: m${i}\n  condition: (m${i - 1} or m${i - 1})\n`;
    s += rule('m20');
    const e = firstError(s);
    assert.equal(e.ok, false);
    assert.equal(
      e.message,
      `condition too large: with its macros expanded it has more than ${MAX_CONDITION_NODES} nodes (the limit)`,
    );
    // m13 (2^13 leaves, more than 10,000 nodes with its `or`s) is the first too large: its condition is line 28.
    assert.equal(e.pos?.line, 28);
    assert.ok(e.ms < 2_000, `refused in ${e.ms.toFixed(0)} ms`);
  });

  it('RE2 refuses what it refuses in Falco: backreferences, lookaround, repeats over 1000', () => {
    for (const [pattern, why] of [
      ['(a)\\\\1', /invalid escape sequence/],
      ['(?=a)b', /unsupported Perl syntax/],
      ['a{1001}', /invalid repeat count/],
    ] as const) {
      const e = firstError(rule(`evt.type = open and proc.name regex "${pattern}"`));
      assert.equal(e.ok, false, pattern);
      assert.match(e.message, /^invalid regular expression '.*' \(RE2 syntax\)/);
      assert.match(e.message, why);
    }
  });
});

describe('hostile values against regex and glob', () => {
  it('proc.name regex "(a+)+b" on a 29-character name', () => {
    const r = loadRules([
      { name: 'r.yaml', content: rule('evt.type = openat and proc.name regex "(a+)+b"') },
    ]);
    assert.ok(r.ok);
    const hostile = opened(onHost('a'.repeat(29)), '/etc/x', READ);
    const hit = within(1_000, 'regex (a+)+b', () => r.ruleset.evaluate(hostile));
    assert.equal(hit.length, 0);
    assert.equal(r.ruleset.evaluate(opened(onHost('aaab'), '/etc/x', READ)).length, 1);
  });

  it('fd.name glob "*a*a*a*a*a*b" over a 200-character path', () => {
    const r = loadRules([
      { name: 'g.yaml', content: rule('evt.type = openat and fd.name glob "*a*a*a*a*a*b"') },
    ]);
    assert.ok(r.ok);
    const hostile = opened(onHost('cat'), `/${'a'.repeat(199)}`, READ);
    const hit = within(1_000, 'glob *a*a*a*a*a*b', () => r.ruleset.evaluate(hostile));
    assert.equal(hit.length, 0);
    assert.equal(r.ruleset.evaluate(opened(onHost('cat'), '/xaxaxayaaab', READ)).length, 1);
  });

  it('the glob matcher stays linear in long values and patterns', () => {
    const pattern = `${'*a'.repeat(50)}*b`;
    const match = globMatcher(pattern, false);
    within(1_000, '100 stars over 100,000 characters', () => assert.equal(match('a'.repeat(100_000)), false));
    assert.equal(match(`${'a'.repeat(100_000)}b`), true);
    const ci = globMatcher('*[[:upper:]]x?Z', true);
    assert.equal(ci('..QXyz'), true);
    assert.equal(ci('..1xyz'), false);
  });
});
