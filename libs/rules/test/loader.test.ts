import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import {
  ENGINE_VERSION,
  type LoadResult,
  loadResultsJson,
  loadRules,
  readRuleFiles,
} from '../src/loader/load.js';
import type { Diagnostic } from '../src/loader/types.js';

function load(...contents: string[]): LoadResult {
  return loadRules(contents.map((content, i) => ({ name: `f${i + 1}.yaml`, content })));
}

function errors(r: LoadResult): Diagnostic[] {
  return r.results.flatMap((x) => x.errors);
}

function warnings(r: LoadResult, code?: string): Diagnostic[] {
  return r.results.flatMap((x) => x.warnings).filter((w) => code === undefined || w.code === code);
}

function assertOk(r: LoadResult): void {
  assert.ok(
    r.ok,
    errors(r)
      .map((e) => `${e.code}: ${e.message}`)
      .join('\n'),
  );
}

function ev(
  type: string,
  over: { name?: string; file?: string; cmdline?: string[]; pname?: string } = {},
): SyscallEvent {
  return {
    source: 'syscall',
    ts: '1700000000000000000',
    type,
    dir: '<',
    res: 0,
    args: {},
    proc: {
      pid: 10,
      tid: 10,
      name: over.name ?? 'cat',
      exe: over.name ?? 'cat',
      exepath: '/bin/cat',
      args: over.cmdline ?? [],
    },
    ancestors: [{ pid: 1, name: over.pname ?? 'bash' }],
    user: { uid: 0, name: 'root' },
    group: { gid: 0 },
    container: { id: 'host' },
    ...(over.file === undefined ? {} : { fd: { num: 3, type: 'file' as const, name: over.file } }),
  };
}

function fired(r: LoadResult, e: SyscallEvent): string[] {
  return r.ruleset.evaluate(e, { ruleMatching: 'all' }).map((m) => m.rule.name);
}

const rule = (name: string, condition: string, extra = '') =>
  `- rule: ${name}\n  desc: d\n  condition: ${condition}\n  output: "o %proc.name"\n  priority: WARNING\n${extra}`;

describe('macros', () => {
  it('substitutes macros, referenced by rules before or after their definition', () => {
    const r = load(`${rule('r', 'evt.type=open and is_cat')}- macro: is_cat\n  condition: proc.name=cat\n`);
    assertOk(r);
    assert.deepEqual(fired(r, ev('open')), ['r']);
    assert.deepEqual(fired(r, ev('open', { name: 'ls' })), []);
  });

  it('lets a macro use only macros defined before it, as Falco does', () => {
    const r = load('- macro: a\n  condition: b\n- macro: b\n  condition: proc.name=cat\n');
    assert.equal(r.ok, false);
    assert.equal(errors(r)[0]?.message, "Undefined macro 'b' used in filter.");
  });

  it('reports reference loops', () => {
    const r = load(
      '- macro: a\n  condition: evt.type=open\n- macro: b\n  condition: a\n- macro: a\n  condition: b\n',
    );
    assert.match(errors(r)[0]?.message ?? '', /reference loop in macro/);
  });

  it('appends with append: true (deprecated) and override: append', () => {
    const variants: [string, number][] = [
      ['  append: true\n', 1],
      ['  override:\n    condition: append\n', 0],
    ];
    for (const [how, deprecations] of variants) {
      const r = load(
        `- macro: m\n  condition: proc.name=ls\n- macro: m\n  condition: or proc.name=cat\n${how}` +
          rule('r', 'evt.type=open and (m)'),
      );
      assertOk(r);
      assert.equal(warnings(r, 'LOAD_DEPRECATED_ITEM').length, deprecations, how);
      assert.deepEqual(fired(r, ev('open')), ['r']);
    }
  });
});

describe('lists', () => {
  it('expands nested lists and substitutes names in (...), after = and with spaces', () => {
    const r = load(
      '- list: a\n  items: [cat]\n- list: b\n  items: [a, "less"]\n' +
        rule('in_list', 'evt.type=open and proc.name in (ls, b)') +
        rule('bare', 'evt.type=open and proc.name=a') +
        rule('spaced', 'evt.type=open and proc.name= a or proc.name=none'),
    );
    assertOk(r);
    assert.deepEqual(r.ruleset.lists.find((l) => l.name === 'b')?.items, ['cat', 'less']);
    assert.deepEqual(fired(r, ev('open')), ['in_list', 'bare', 'spaced']);
    assert.deepEqual(fired(r, ev('open', { name: 'less' })), ['in_list']);
  });

  it('does not substitute a list name that is part of a longer word', () => {
    const r = load(
      `- list: my_list\n  items: [cat]\n${rule('r', 'evt.type=open and proc.name in (file_my_list)')}`,
    );
    assertOk(r);
    assert.deepEqual(fired(r, ev('open')), []);
    assert.equal(warnings(r, 'LOAD_UNUSED_LIST').length, 1);
  });

  it('quotes items with spaces', () => {
    const r = load(
      `- list: cmds\n  items: [cat /dev/null, "ls -l"]\n${rule('r', 'evt.type=open and proc.cmdline in (cmds)')}`,
    );
    assertOk(r);
    assert.deepEqual(fired(r, ev('open', { cmdline: ['/dev/null'] })), ['r']);
  });

  it('appends and overrides items', () => {
    const r = load(
      '- list: l\n  items: [ls]\n- list: l\n  items: [cat]\n  override:\n    items: append\n' +
        rule('r', 'evt.type=open and proc.name in (l)'),
    );
    assertOk(r);
    assert.deepEqual(r.ruleset.lists[0]?.items, ['ls', 'cat']);
    const r2 = load(
      '- list: l\n  items: [cat]\n- list: l\n  items: [ls]\n' +
        rule('r', 'evt.type=open and proc.name in (l)'),
    );
    assert.deepEqual(fired(r2, ev('open')), []);
  });

  it('errors when appending to a missing list', () => {
    const r = load('- list: l\n  items: [x]\n  append: true\n');
    assert.equal(errors(r)[0]?.message, "List has 'append' key but no list by that name already exists");
  });
});

describe('exceptions', () => {
  const base = (ex: string) =>
    `- rule: r\n  desc: d\n  condition: evt.type=open and proc.name=cat\n  output: o\n  priority: WARNING\n  exceptions:\n${ex}`;

  it('builds list-of-fields exceptions, with default and explicit comps', () => {
    const r = load(
      base(
        '    - name: by_parent\n      fields: [proc.name, proc.pname]\n      values:\n        - [cat, bash]\n' +
          '    - name: by_cmd\n      fields: [proc.cmdline]\n      comps: [contains]\n      values: [[secret]]\n',
      ),
    );
    assertOk(r);
    assert.deepEqual(fired(r, ev('open')), []);
    assert.deepEqual(fired(r, ev('open', { pname: 'sh' })), ['r']);
    assert.deepEqual(fired(r, ev('open', { pname: 'sh', cmdline: ['secret.txt'] })), []);
  });

  it('builds single-field exceptions and appends values to them', () => {
    const r = load(
      base('    - name: cmds\n      fields: proc.cmdline\n      comps: in\n      values: [cat /a]\n'),
      '- rule: r\n  exceptions:\n    - name: cmds\n      values: [cat /b]\n  override:\n    exceptions: append\n',
    );
    assertOk(r);
    assert.deepEqual(fired(r, ev('open', { cmdline: ['/a'] })), []);
    assert.deepEqual(fired(r, ev('open', { cmdline: ['/b'] })), []);
    assert.deepEqual(fired(r, ev('open', { cmdline: ['/c'] })), ['r']);
  });

  it('takes list references as values', () => {
    const r = load(
      `- list: parents\n  items: [bash, zsh]\n${base('    - name: p\n      fields: [proc.pname]\n      comps: [in]\n      values: [[parents]]\n')}`,
    );
    assertOk(r);
    assert.deepEqual(fired(r, ev('open', { pname: 'zsh' })), []);
    assert.deepEqual(fired(r, ev('open', { pname: 'sh' })), ['r']);
  });

  it('rejects length mismatches, bad comps and unknown fields', () => {
    const mismatch = load(
      base('    - name: e\n      fields: [proc.name, proc.pname]\n      values: [[cat]]\n'),
    );
    assert.equal(errors(mismatch)[0]?.message, 'Fields and values lists must have equal length');
    const comp = load(base('    - name: e\n      fields: [proc.name]\n      comps: [nope]\n'));
    assert.equal(errors(comp)[0]?.message, "'nope' is not a supported comparison operator");
    const field = load(base('    - name: e\n      fields: [no.such]\n'));
    assert.equal(errors(field)[0]?.message, "'no.such' is not a supported filter field");
    assert.deepEqual(
      errors(field)[0]?.locations.map((l) => [l.item_type, l.item_name]),
      [
        ['rules content', ''],
        ['rule', 'r'],
        ['exception', 'e'],
      ],
    );
  });
});

describe('overrides, appends and enabled', () => {
  it('appends to a rule condition (deprecated append: true)', () => {
    const r = load(`${rule('r', 'evt.type=open')}- rule: r\n  condition: and proc.name=ls\n  append: true\n`);
    assertOk(r);
    assert.equal(r.ruleset.rules[0]?.condition, 'evt.type=open and proc.name=ls');
    assert.equal(
      warnings(r, 'LOAD_DEPRECATED_ITEM')[0]?.message.startsWith("'append' key is deprecated"),
      true,
    );
  });

  it('replaces fields selectively with override: replace', () => {
    const r = load(
      rule('r', 'evt.type=open'),
      '- rule: r\n  priority: ERROR\n  condition: evt.type=openat\n  override:\n    priority: replace\n    condition: replace\n',
    );
    assertOk(r);
    assert.equal(r.ruleset.rules[0]?.priority, 'ERROR');
    assert.deepEqual(r.ruleset.rules[0]?.evttypes, ['openat']);
  });

  it('rejects a key without an override entry', () => {
    const r = load(
      rule('r', 'evt.type=open'),
      '- rule: r\n  desc: x\n  condition: y\n  override:\n    desc: replace\n',
    );
    assert.equal(
      errors(r)[0]?.message,
      "Unexpected key 'condition': no corresponding entry under 'override' is defined.",
    );
  });

  it('enables and disables with items carrying only enabled', () => {
    const r = load(rule('r', 'evt.type=open', '  enabled: false\n'), '- rule: r\n  enabled: true\n');
    assertOk(r);
    assert.equal(r.ruleset.rules[0]?.enabled, true);
    assert.equal(warnings(r, 'LOAD_DEPRECATED_ITEM').length, 1);
    const missing = load('- rule: nope\n  enabled: false\n');
    assert.equal(
      errors(missing)[0]?.message,
      "Rule has 'enabled' key but no rule by that name already exists",
    );
  });

  it('reads priorities in any case and INFO', () => {
    const r = load(rule('r', 'evt.type=open').replace('WARNING', 'info'));
    assert.equal(r.ruleset.rules[0]?.priority, 'INFORMATIONAL');
    const bad = load(rule('r', 'evt.type=open').replace('WARNING', 'loud'));
    assert.equal(errors(bad)[0]?.message, 'Invalid priority');
  });
});

describe('versions and sources', () => {
  it('accepts integer and semver required_engine_version', () => {
    assertOk(load('- required_engine_version: 2\n'));
    assertOk(load(`- required_engine_version: ${ENGINE_VERSION}\n`));
    const tooNew = load('- required_engine_version: 0.99.0\n');
    assert.match(
      errors(tooNew)[0]?.message ?? '',
      /Rules require engine version 0\.99\.0, but engine version is 0\.57\.0/,
    );
    const bad = load('- required_engine_version: soon\n');
    assert.equal(errors(bad)[0]?.code, 'LOAD_ERR_YAML_VALIDATE');
  });

  it('records required plugins and whether Saker provides them', () => {
    const r = load(
      '- required_plugin_versions:\n  - name: container\n    version: 0.4.0\n  - name: cloudtrail\n    version: 0.10.0\n',
    );
    assertOk(r);
    assert.deepEqual(
      r.requiredPlugins.map((p) => [p.name, p.provided]),
      [
        ['container', true],
        ['cloudtrail', false],
      ],
    );
    assert.equal(warnings(r, 'LOAD_UNSUPPORTED_PLUGIN').length, 1);
  });

  it('skips rules of an unknown source with a warning', () => {
    const r = load(rule('ct', 'ct.name=x', '  source: aws_cloudtrail\n'));
    assertOk(r);
    assert.equal(r.ruleset.rules.length, 0);
    assert.equal(warnings(r, 'LOAD_UNKNOWN_SOURCE')[0]?.message, 'Unknown source aws_cloudtrail, skipping');
  });

  it('skips a rule with an unknown field when skip-if-unknown-filter is set', () => {
    const r = load(rule('r', 'evt.type=open and proc.nobody=1', '  skip-if-unknown-filter: true\n'));
    assertOk(r);
    assert.equal(r.ruleset.rules.length, 0);
    assert.equal(warnings(r, 'LOAD_UNKNOWN_FILTER').length, 1);
  });
});

describe('diagnostics', () => {
  it('points inside the condition, with a snippet and caret', () => {
    const text =
      '- rule: r\n  desc: d\n  condition: evt.type=open and proc.nobody=cat\n  output: o\n  priority: INFO\n';
    const r = load(text);
    const e = errors(r)[0];
    assert.ok(e);
    assert.equal(e.code, 'LOAD_ERR_COMPILE_CONDITION');
    const last = e.locations[e.locations.length - 1];
    assert.equal(last?.item_type, 'condition expression');
    assert.equal(last?.position.line, 3);
    assert.equal(last?.position.column, 32);
    assert.equal(
      e.snippet,
      '  condition: evt.type=open and proc.nobody=cat\n                               ^\n',
    );
    assert.equal(e.codedesc, 'Error compiling condition');
  });

  it('maps positions through block scalars', () => {
    const text =
      '- rule: r\n  desc: d\n  condition: >\n    evt.type=open\n    and proc.nobody=cat\n  output: o\n  priority: INFO\n';
    const last = errors(load(text))[0]?.locations.at(-1);
    assert.equal(last?.position.line, 5);
    assert.equal(last?.position.column, 9);
  });

  it('points into a macro when the error is in the macro', () => {
    const r = load(`- macro: m\n  condition: proc.nobody=1\n${rule('r', 'evt.type=open and m')}`);
    const locs = errors(r)[0]?.locations ?? [];
    assert.deepEqual(locs.at(-2)?.item_type, 'macro');
    assert.equal(locs.at(-1)?.position.line, 2);
    assert.equal(locs.at(-1)?.position.column, 14);
  });

  it('warns about unused macros and lists, and rules without event types', () => {
    const r = load(
      `- macro: m\n  condition: proc.name=x\n- list: l\n  items: [a]\n${rule('r', 'proc.name=cat')}`,
    );
    assertOk(r);
    assert.equal(
      warnings(r, 'LOAD_UNUSED_MACRO')[0]?.message,
      'Macro not referred to by any other rule/macro',
    );
    assert.equal(warnings(r, 'LOAD_UNUSED_LIST')[0]?.message, 'List not referred to by any other rule/macro');
    assert.equal(
      warnings(r, 'LOAD_NO_EVTTYPE')[0]?.message,
      'Rule matches too many evt.type values. This has a significant performance penalty.',
    );
    const quiet = load(rule('r', 'proc.name=cat', '  warn_evttypes: false\n'));
    assert.equal(warnings(quiet, 'LOAD_NO_EVTTYPE').length, 0);
  });

  it('warns about unknown keys and items', () => {
    const r = load(`${rule('r', 'evt.type=open', '  colour: blue\n')}- something: else\n`);
    assert.equal(
      warnings(r, 'LOAD_UNKNOWN_KEY')[0]?.message,
      "Unknown key 'colour'. The key will be ignored.",
    );
    assert.equal(warnings(r, 'LOAD_UNKNOWN_ITEM')[0]?.message, 'Unknown top level item');
  });

  it('reports YAML errors with a position, and stops reading the file at the first error', () => {
    const r = load('- rule: [\n');
    assert.equal(errors(r)[0]?.code, 'LOAD_ERR_YAML_PARSE');
    const r2 = load('- list: a\n  items: x\n- list: b\n  nope: 1\n');
    assert.equal(errors(r2).length, 1);
  });

  it('writes Falco-shaped JSON', () => {
    const json = JSON.parse(loadResultsJson(load('- list: a\n  items: x\n').results)) as {
      falco_load_results: {
        name: string;
        successful: boolean;
        errors: { code: string; context: { locations: unknown[] } }[];
      }[];
    };
    const first = json.falco_load_results[0];
    assert.equal(first?.successful, false);
    assert.equal(first?.errors[0]?.code, 'LOAD_ERR_YAML_VALIDATE');
    assert.equal(first?.errors[0]?.context.locations.length, 3);
  });

  it('reports unreadable files', async () => {
    const files = await readRuleFiles(['/nonexistent/rules.yaml']);
    const r = loadRules(files);
    assert.equal(errors(r)[0]?.code, 'LOAD_ERR_FILE_READ');
  });

  it('expands a directory to its yaml files, sorted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saker-rules-'));
    try {
      await mkdir(join(dir, 'sub'));
      await writeFile(join(dir, 'b.yml'), '[]');
      await writeFile(join(dir, 'a.yaml'), '[]');
      await writeFile(join(dir, 'c.txt'), 'x');
      const files = await readRuleFiles([dir]);
      assert.deepEqual(
        files.map((f) => f.name),
        [join(dir, 'a.yaml'), join(dir, 'b.yml')],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Ruleset', () => {
  const three =
    rule('open_rule', 'evt.type in (open, openat) and proc.name=cat') +
    rule('any_type', 'proc.name=cat', '  warn_evttypes: false\n').replace('WARNING', 'INFO') +
    rule('exec_rule', 'evt.type=execve').replace('WARNING', 'ERROR');

  it('indexes by event type and keeps load order, with catch-all rules in every bucket', () => {
    const r = load(three);
    assertOk(r);
    assert.deepEqual(fired(r, ev('open')), ['open_rule', 'any_type']);
    assert.deepEqual(fired(r, ev('execve')), ['any_type', 'exec_rule']);
    assert.deepEqual(fired(r, ev('close')), ['any_type']);
    assert.equal(r.ruleset.eventTypes(), undefined);
  });

  it('stops at the first match by default', () => {
    const r = load(three);
    assert.deepEqual(
      r.ruleset.evaluate(ev('open')).map((m) => m.rule.name),
      ['open_rule'],
    );
  });

  it('applies a priority threshold', () => {
    const r = load(three);
    assert.deepEqual(
      r.ruleset.evaluate(ev('execve'), { minPriority: 'WARNING' }).map((m) => m.rule.name),
      ['exec_rule'],
    );
  });

  it('enables and disables rules by name, substring and tag, and reports needed event types', () => {
    const r = load(three);
    const rs = r.ruleset.disableRules({ rule: 'any_*' });
    assert.deepEqual([...(rs.eventTypes() ?? [])].sort(), ['execve', 'open', 'openat']);
    assert.deepEqual(
      rs.evaluate(ev('close')).map((m) => m.rule.name),
      [],
    );
    const only = r.ruleset.disableRules({ substring: '' }).enableRules({ substring: 'exec' });
    assert.deepEqual(
      only.rules.filter((x) => x.enabled).map((x) => x.name),
      ['exec_rule'],
    );
  });

  it('renders the output', () => {
    const r = load(three);
    const m = r.ruleset.evaluate(ev('open'))[0];
    assert.equal(m?.output, 'o cat');
  });
});

describe("Falco's rule files", () => {
  const dir = sharedPath('falco-rules') ?? '';
  const skip = sharedSkip();

  it(
    'loads the stable, incubating, sandbox and deprecated rules together without errors',
    { skip },
    async () => {
      const names = [
        'falco_rules.yaml',
        'falco-incubating_rules.yaml',
        'falco-sandbox_rules.yaml',
        'falco-deprecated_rules.yaml',
      ];
      const r = loadRules(await readRuleFiles(names.map((n) => join(dir, n))));
      assertOk(r);
      const byFile = new Map<string, number>();
      for (const x of r.ruleset.rules) {
        const f = x.position.name.split('/').pop() ?? '';
        byFile.set(f, (byFile.get(f) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(byFile), {
        'falco_rules.yaml': 25,
        'falco-incubating_rules.yaml': 31,
        'falco-sandbox_rules.yaml': 37,
        'falco-deprecated_rules.yaml': 4,
      });
      assert.equal(r.requiredEngineVersion, '0.57.0');
    },
  );

  it('loads the k8s audit rules', { skip }, async () => {
    const r = loadRules(await readRuleFiles([join(dir, 'k8s_audit_rules.yaml')]));
    assertOk(r);
    assert.equal(r.ruleset.rules.length, 48);
    assert.ok(r.ruleset.rules.every((x) => x.source === 'k8s_audit'));
  });

  it('loads the cloudtrail rules, skipping them for their unknown source', { skip }, async () => {
    const r = loadRules(await readRuleFiles([join(dir, 'aws_cloudtrail_rules.yaml')]));
    assertOk(r);
    assert.equal(r.ruleset.rules.length, 0);
    assert.equal(warnings(r, 'LOAD_UNKNOWN_SOURCE').length, 22);
  });
});
