import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom, sharedPath } from '@saker/testing';
import { type LoadResult, loadRules } from '../src/loader/load.js';

/**
 * Seeded random and malformed input: the loader must never throw, and every
 * error it reports must say what is wrong and where.
 */

const SEED = Number(process.env.SAKER_FUZZ_SEED ?? 20240611);

function check(content: string, label: string): LoadResult {
  let r: LoadResult | undefined;
  try {
    r = loadRules([{ name: 'fuzz.yaml', content }]);
  } catch (e) {
    assert.fail(`loadRules threw on ${label}: ${e instanceof Error ? e.stack : String(e)}`);
  }
  for (const res of r.results) {
    for (const d of [...res.errors, ...res.warnings]) {
      assert.ok(d.locations.length > 0, `${label}: ${d.code} without a location`);
      assert.equal(typeof d.snippet, 'string');
    }
    for (const d of res.errors) {
      assert.ok(d.message.length > 0, `${label}: ${d.code} with an empty message`);
      const last = d.locations[d.locations.length - 1];
      assert.ok(
        last && last.position.line >= 1 && last.position.column >= 1,
        `${label}: ${d.code} without a position`,
      );
      assert.ok(
        last.position.offset >= 0 && last.position.offset <= content.length + 1,
        `${label}: offset out of range`,
      );
    }
  }
  return r;
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  const x = xs[Math.floor(rand() * xs.length)];
  if (x === undefined) throw new Error('empty choice');
  return x;
}

const TOKENS = [
  '- ',
  'rule:',
  'macro:',
  'list:',
  'items:',
  'condition:',
  'output:',
  'priority:',
  'desc:',
  'exceptions:',
  'append: true',
  'override:',
  'enabled:',
  'fields:',
  'values:',
  'comps:',
  'name:',
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  ',',
  ':',
  '"',
  "'",
  '\n',
  '\n  ',
  '\n    ',
  ' ',
  '#',
  '&a',
  '*a',
  '!',
  '!!str',
  '|',
  '>',
  'evt.type',
  '=',
  'in',
  'and',
  'or',
  'not',
  'proc.name',
  'open',
  'cat',
  '%proc.name',
  '<NA>',
  '---',
  '...',
  '\t',
  '\\',
  '\u00e9',
  '\u0000',
];

const realFiles = ((): { name: string; text: string }[] => {
  const dir = sharedPath('falco-rules');
  if (!dir) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()
    .map((n) => ({ name: n, text: readFileSync(join(dir, n), 'utf8') }));
})();

const base = (cond: string) =>
  `- list: l\n  items: [a, b]\n- macro: m\n  condition: proc.name in (l)\n- rule: r\n  desc: d\n  condition: ${cond}\n  output: o\n  priority: INFO\n`;

describe(`loader fuzz (seed ${SEED})`, () => {
  it(
    'survives truncations of the real rule files',
    { skip: realFiles.length === 0 ? 'no shared data' : false },
    () => {
      const rand = seededRandom(SEED);
      for (const f of realFiles) {
        for (let i = 0; i < 12; i++) {
          const cut = Math.floor(rand() * f.text.length);
          check(f.text.slice(0, cut), `${f.name}[0:${cut}]`);
        }
      }
    },
  );

  it('survives random byte strings', () => {
    const rand = seededRandom(SEED + 1);
    for (let i = 0; i < 200; i++) {
      const len = Math.floor(rand() * 300);
      let s = '';
      for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(rand() * 128));
      check(s, `random#${i}`);
    }
  });

  it('survives token soup and mutated rule files', () => {
    const rand = seededRandom(SEED + 2);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rand() * 60);
      let s = '';
      for (let j = 0; j < n; j++) s += pick(rand, TOKENS);
      check(s, `soup#${i}`);
    }
    for (const f of realFiles) {
      for (let i = 0; i < 6; i++) {
        const at = Math.floor(rand() * f.text.length);
        const len = Math.floor(rand() * 40);
        const mutated =
          f.text.slice(0, at) + pick(rand, TOKENS) + pick(rand, TOKENS) + f.text.slice(at + len);
        check(mutated, `${f.name} mutated at ${at}`);
      }
    }
  });

  it('survives wrong types for every key', () => {
    const rand = seededRandom(SEED + 3);
    const values = [
      '',
      '~',
      '[]',
      '{}',
      '[a, [b]]',
      '{a: b}',
      '123',
      'true',
      '"x"',
      '- a\n    - b',
      '!!binary aGk=',
    ];
    const keys = [
      'rule',
      'desc',
      'condition',
      'output',
      'priority',
      'tags',
      'enabled',
      'exceptions',
      'source',
      'append',
      'override',
    ];
    for (let i = 0; i < 200; i++) {
      const lines = keys.map(
        (k) => `  ${k}: ${rand() < 0.4 ? pick(rand, values) : k === 'rule' ? 'r' : 'x'}`,
      );
      check(`- ${lines.join('\n').trimStart()}\n`, `types#${i}`);
      check(
        `- list: l\n  items: ${pick(rand, values)}\n- macro: m\n  condition: ${pick(rand, values)}\n`,
        `lm#${i}`,
      );
      check(
        `- rule: r\n  desc: d\n  condition: evt.type=open\n  output: o\n  priority: INFO\n  exceptions:\n    - name: ${pick(rand, values)}\n      fields: ${pick(rand, values)}\n      comps: ${pick(rand, values)}\n      values: ${pick(rand, values)}\n`,
        `ex#${i}`,
      );
    }
  });

  it('survives random conditions', () => {
    const rand = seededRandom(SEED + 4);
    const parts = [
      'evt.type',
      '=',
      'open',
      'and',
      'or',
      'not',
      '(',
      ')',
      'm',
      'l',
      'proc.name',
      'in',
      '(a, b)',
      'exists',
      '"q',
      "'",
      ',',
      'contains',
      'proc.aname[2]',
      'val(proc.name)',
      'tolower(proc.name)',
      '<NA>',
      'glob',
      '[',
      ']',
    ];
    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(rand() * 12);
      const cond = Array.from({ length: n }, () => pick(rand, parts)).join(' ');
      check(base(JSON.stringify(cond)), `cond#${i}: ${cond}`);
    }
  });

  it('survives deep nesting and huge strings', () => {
    check(base(`${'('.repeat(5000)}evt.type=open${')'.repeat(5000)}`), 'deep parens');
    check(base(`${'not '.repeat(5000)}evt.type=open`), 'deep not');
    check('['.repeat(20000), 'deep yaml flow');
    check(`${'- '.repeat(3000)}x\n`, 'deep yaml block');
    const macros = Array.from({ length: 2000 }, (_, i) => `- macro: m${i + 1}\n  condition: m${i}\n`).join(
      '',
    );
    check(`- macro: m0\n  condition: evt.type=open\n${macros}${base('m2000')}`, 'long macro chain');
    check(base(`proc.name=${'x'.repeat(1 << 20)}`), 'huge value');
    check(
      `- list: big\n  items: [${Array.from({ length: 100000 }, (_, i) => `i${i}`).join(', ')}]\n`,
      'huge list',
    );
    check(`- rule: ${'n'.repeat(1 << 16)}\n  enabled: false\n`, 'huge name');
  });
});
