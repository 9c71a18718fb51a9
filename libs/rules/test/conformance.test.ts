import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import yaml from 'js-yaml';
import { loadRules, readRuleFiles } from '../src/loader/load.js';
import type { Ruleset } from '../src/loader/ruleset.js';
import type { Diagnostic, FileLoadResult, RuleMatch } from '../src/loader/types.js';
import type { AppendOutputEntry } from '../src/output/append.js';
import { type Priority, parsePriority, priorityLabel } from '../src/priority.js';

/**
 * Falco's own loader conformance cases (falco_tests.yaml and
 * falco_tests_exceptions.yaml), run against Saker's loader. Validation cases
 * compare codes, items and (where the text is Falco's, not yaml-cpp's)
 * messages. Detection cases load the rules with the case's options and run
 * synthetic events equivalent to the capture files they name. Every case
 * that cannot run here is skipped with its reason; docs/conformance.md has
 * the same table.
 */

const loaderDir = sharedPath('falco-conformance', 'loader');
const skipAll = sharedSkip();

interface ExpectedDiag {
  readonly item_type: string;
  readonly item_name: string;
  readonly code: string;
  readonly message?: string;
  readonly message_contains?: string;
}

interface Case {
  readonly exit_status?: number;
  readonly validate_rules_file?: string | string[];
  readonly validate_errors?: ExpectedDiag[];
  readonly validate_warnings?: ExpectedDiag[];
  readonly validate_ok?: string[];
  readonly rules_file?: string | string[];
  readonly detect?: boolean;
  readonly detect_level?: string | string[];
  readonly detect_counts?: Record<string, number>[];
  readonly trace_file?: string;
  readonly priority?: string;
  readonly disabled_rules?: string[];
  readonly disable_tags?: string[];
  readonly run_tags?: string[];
  readonly conf_file?: string;
  readonly json_output?: boolean;
  readonly stdout_contains?: string;
  readonly stderr_contains?: string | string[];
  readonly output_strictly_contains?: unknown;
  readonly grpc?: unknown;
  readonly time_iso_8601?: boolean;
  readonly rules_warning?: string[];
}

/** The `!mux` tag of Avocado's test files: a plain mapping of cases. */
const MuxType = new yaml.Type('!mux', { kind: 'mapping', construct: (data: unknown) => data });
const SCHEMA = yaml.DEFAULT_SCHEMA.extend([MuxType]);

function readCases(file: string): [string, Case][] {
  const doc = yaml.load(readFileSync(file, 'utf8'), { schema: SCHEMA }) as {
    trace_files: Record<string, Case>;
  };
  return Object.entries(doc.trace_files);
}

function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

// ---------------------------------------------------------------------------
// Synthetic events standing in for the capture files.

const cat = {
  pid: 1234,
  tid: 1234,
  ppid: 1000,
  name: 'cat',
  exe: 'cat',
  exepath: '/bin/cat',
  args: ['/dev/null'],
  cwd: '/home/user/',
  tty: 34816,
};

/** Builds the events of one trace, numbering them as a capture would. */
class Trace {
  #num = 0;

  event(type: string, extra: Partial<SyscallEvent> = {}): SyscallEvent {
    this.#num++;
    return {
      source: 'syscall',
      ts: `${1470327477881781397n + BigInt(this.#num)}`,
      num: this.#num,
      hostname: 'testhost',
      type,
      dir: '<',
      res: 0,
      args: {},
      proc: cat,
      ancestors: [{ pid: 1000, name: 'bash', exe: 'bash', exepath: '/bin/bash', args: [] }],
      user: { uid: 0, name: 'root', loginuid: 0 },
      group: { gid: 0, name: 'root' },
      container: { id: 'host' },
      ...extra,
    };
  }

  open(path: string, type = 'open', proc = cat): SyscallEvent {
    return this.event(type, {
      proc,
      res: 3,
      args: { fd: 3, name: path, flags: 'O_RDONLY', mode: 0 },
      rawargs: { flags: 1 },
      fd: { num: 3, type: 'file', name: path },
    });
  }

  onDevNull(type: string): SyscallEvent {
    return this.event(type, { args: { fd: 3 }, fd: { num: 3, type: 'file', name: '/dev/null' } });
  }
}

/**
 * `cat /dev/null` as cat_write.scap holds it (exit events only): one execve,
 * eight opens (seven libraries and /dev/null), one access, and six further
 * calls on the /dev/null descriptor.
 */
function catWriteTrace(): SyscallEvent[] {
  const t = new Trace();
  return [
    t.event('execve', { args: { exe: '/bin/cat', args: '/dev/null' } }),
    t.event('access', { res: -2, args: { name: '/etc/ld.so.preload', mode: 'R_OK' } }),
    t.open('/etc/ld.so.cache'),
    t.open('/lib/x86_64-linux-gnu/libc.so.6'),
    t.open('/usr/lib/locale/locale-archive'),
    t.open('/usr/share/locale/locale.alias'),
    t.open('/usr/lib/locale/C.UTF-8/LC_CTYPE'),
    t.open('/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache'),
    t.open('/etc/localtime'),
    t.open('/dev/null'),
    t.onDevNull('fstat'),
    t.onDevNull('fadvise64'),
    t.onDevNull('mmap'),
    t.onDevNull('read'),
    t.onDevNull('munmap'),
    t.onDevNull('close'),
  ];
}

/** open-multiple-files.scap: a reader opening /tmp/file-1 … /tmp/file-13 once each. */
function openMultipleFilesTrace(): SyscallEvent[] {
  const reader = { ...cat, name: 'open-files', exe: 'open-files', exepath: '/usr/bin/open-files', args: [] };
  const t = new Trace();
  return Array.from({ length: 13 }, (_, i) => t.open(`/tmp/file-${i + 1}`, 'openat', reader));
}

/** connect_localhost.scap: a connect to 127.0.0.1. */
function connectLocalhostTrace(): SyscallEvent[] {
  return [
    new Trace().event('connect', {
      proc: { ...cat, name: 'nc', exe: 'nc', exepath: '/bin/nc', args: ['127.0.0.1', '8080'] },
      args: { fd: 3, tuple: '127.0.0.1:45678->127.0.0.1:8080' },
      fd: {
        num: 3,
        type: 'ipv4',
        name: '127.0.0.1:45678->127.0.0.1:8080',
        net: {
          l4proto: 'tcp',
          family: 'ipv4',
          sip: '127.0.0.1',
          sport: 45678,
          dip: '127.0.0.1',
          dport: 8080,
        },
      },
    }),
  ];
}

const TRACES: Record<string, () => SyscallEvent[]> = {
  'trace_files/cat_write.scap': catWriteTrace,
  'trace_files/open-multiple-files.scap': openMultipleFilesTrace,
  'trace_files/connect_localhost.scap': connectLocalhostTrace,
  'trace_files/empty.scap': () => [],
};

// ---------------------------------------------------------------------------
// Cases that need more than the loader.

const SKIPS: Record<string, string> = {
  builtin_rules_no_warnings:
    "needs Falco's packaged default rules file, not one of the conformance rules files",
  detect_counts:
    'needs traces-positive/falco-event-generator.scap and the default rules (a replay test, not a load test)',
  syscalls:
    'needs trace_files/syscall.scap (madvise and open events of an unknown process) and rules_warning output',
  disabled_and_enabled_rules_1:
    'checks a command-line conflict (-T with -t) of the falco binary; belongs to the CLI tests',
  disabled_and_enabled_rules_2:
    'checks a command-line conflict (-D with -t) of the falco binary; belongs to the CLI tests',
  monitor_syscall_drops_none: 'syscall drop monitoring (conf_file, ping_sendto.scap) is a sensor feature',
  monitor_syscall_drops_ignore: 'syscall drop monitoring (conf_file, ping_sendto.scap) is a sensor feature',
  monitor_syscall_drops_ignore_and_log:
    'syscall drop monitoring configuration checks are a sensor/config feature',
  monitor_syscall_drops_threshold_oor:
    'syscall drop monitoring configuration checks are a sensor/config feature',
  monitor_syscall_drops_threshold_neg:
    'syscall drop monitoring configuration checks are a sensor/config feature',
  monitor_syscall_drops_log: 'syscall drop monitoring (conf_file, ping_sendto.scap) is a sensor feature',
  monitor_syscall_drops_alert: 'syscall drop monitoring (conf_file, ping_sendto.scap) is a sensor feature',
  monitor_syscall_drops_exit: 'syscall drop monitoring (conf_file, ping_sendto.scap) is a sensor feature',
  stdout_output_strict:
    'compares the full stdout of a run (timestamps from the capture); covered by the output tests',
  stdout_output_json_strict: 'compares the full JSON stdout of a run; covered by the output tests',
  file_output_strict: 'checks the file output channel; covered by the sinks tests',
  program_output_strict: 'checks the program output channel; covered by the sinks tests',
  grpc_unix_socket_outputs: 'checks the gRPC output service; covered by the sinks tests',
  time_iso_8601: 'checks stdout/stderr timestamp formatting of a run; covered by the output tests',
  json_output_no_output_property: 'checks JSON alert formatting options; covered by the output tests',
  json_output_no_tags_property: 'checks JSON alert formatting options; covered by the output tests',
  json_output_empty_tags_property: 'checks JSON alert formatting options; covered by the output tests',
};

/** Falco renamed LOAD_UNKNOWN_FIELD to LOAD_UNKNOWN_FILTER; the case file predates the rename. */
const CODE_ALIASES: Record<string, string> = { LOAD_UNKNOWN_FIELD: 'LOAD_UNKNOWN_FILTER' };

function describeDiags(results: readonly FileLoadResult[], kind: 'errors' | 'warnings'): string {
  return results
    .flatMap((r) =>
      r[kind].map(
        (d) =>
          `${basename(r.name)}: ${d.code} [${d.locations.map((l) => `${l.item_type} '${l.item_name}'`).join(' > ')}] ${d.message}`,
      ),
    )
    .join('\n');
}

function matches(d: Diagnostic, exp: ExpectedDiag): boolean {
  const code = CODE_ALIASES[exp.code] ?? exp.code;
  if (d.code !== code) return false;
  if (!d.locations.some((l) => l.item_type === exp.item_type && l.item_name === exp.item_name)) return false;
  // yaml-cpp's messages are not Falco's own text: Saker's YAML parser words them differently.
  if (exp.message !== undefined && !exp.message.startsWith('yaml-cpp:') && d.message !== exp.message)
    return false;
  if (exp.message_contains !== undefined && !d.message.includes(exp.message_contains)) return false;
  return true;
}

function checkDiags(
  results: readonly FileLoadResult[],
  kind: 'errors' | 'warnings',
  expected: ExpectedDiag[],
): void {
  const all = results.flatMap((r) => r[kind]);
  for (const exp of expected) {
    assert.ok(
      all.some((d) => matches(d, exp)),
      `expected ${kind.slice(0, -1)} ${exp.code} on ${exp.item_type} '${exp.item_name}': ${exp.message ?? exp.message_contains ?? ''}\n` +
        `got:\n${describeDiags(results, kind) || '(none)'}`,
    );
  }
}

async function runValidate(c: Case): Promise<void> {
  assert.ok(loaderDir);
  const files = await readRuleFiles(asList(c.validate_rules_file).map((f) => join(loaderDir, f)));
  const res = loadRules(files);
  const expectOk = (c.exit_status ?? 0) === 0 && (c.validate_errors ?? []).length === 0;
  assert.equal(
    res.ok,
    expectOk,
    `expected the rules to be ${expectOk ? 'valid' : 'invalid'}; errors:\n${describeDiags(res.results, 'errors') || '(none)'}`,
  );
  checkDiags(res.results, 'errors', c.validate_errors ?? []);
  checkDiags(res.results, 'warnings', c.validate_warnings ?? []);
  for (const okName of c.validate_ok ?? []) {
    const r = res.results.find((x) => basename(x.name) === okName);
    assert.ok(r, `no result for ${okName}`);
    assert.ok(r.successful, `${okName} should load on its own`);
  }
}

/**
 * The falco.yaml `append_output` of the Falco runs these cases and the
 * output_files fixtures come from: none. Their expected lines and
 * output_fields carry no container fields (those runs predate
 * append_output), so Falco's current default (suggested_output) is not
 * applied here; Saker's configuration default is (docs/config.md).
 */
const CONFORMANCE_APPEND_OUTPUT: readonly AppendOutputEntry[] = [];

function applyOptions(rs: Ruleset, c: Case): Ruleset {
  const applied = rs.withAppendedOutput(CONFORMANCE_APPEND_OUTPUT);
  assert.ok(applied.ok, applied.ok ? '' : applied.error);
  let out = applied.ruleset;
  for (const name of c.disabled_rules ?? []) out = out.disableRules({ substring: name });
  if (c.disable_tags) out = out.disableRules({ tags: c.disable_tags });
  if (c.run_tags) out = out.disableRules({ rule: '*' }).enableRules({ tags: c.run_tags });
  return out;
}

function levelOf(name: string): Priority {
  const p = parsePriority(name);
  assert.ok(p, `bad priority ${name}`);
  return p;
}

async function runDetect(c: Case): Promise<void> {
  assert.ok(loaderDir);
  const files = await readRuleFiles(asList(c.rules_file).map((f) => join(loaderDir, f)));
  const res = loadRules(files);
  if ((c.exit_status ?? 0) !== 0) {
    assert.equal(res.ok, false, 'expected a load failure');
    return;
  }
  assert.ok(res.ok, `rules failed to load:\n${describeDiags(res.results, 'errors')}`);
  const ruleset = applyOptions(res.ruleset, c);
  const trace = TRACES[c.trace_file ?? ''];
  assert.ok(trace, `no synthetic trace for ${c.trace_file}`);
  const minPriority = c.priority === undefined ? undefined : levelOf(c.priority);
  const matchesSeen: RuleMatch[] = [];
  for (const ev of trace()) {
    matchesSeen.push(...ruleset.evaluate(ev, minPriority === undefined ? {} : { minPriority }));
  }
  const summary = matchesSeen.map((m) => `${m.rule.name} (${m.rule.priority})`).join(', ') || '(none)';
  if (c.detect === true) assert.ok(matchesSeen.length > 0, 'expected detections, got none');
  if (c.detect === false) assert.equal(matchesSeen.length, 0, `expected no detections, got: ${summary}`);
  if (c.detect === true) {
    for (const level of asList(c.detect_level)) {
      const p = levelOf(level);
      assert.ok(
        matchesSeen.some((m) => m.rule.priority === p),
        `expected a detection at level ${level}; got: ${summary}`,
      );
    }
  }
  for (const entry of c.detect_counts ?? []) {
    for (const [rule, count] of Object.entries(entry)) {
      const got = matchesSeen.filter((m) => m.rule.name === rule).length;
      assert.equal(got, count, `detections of '${rule}'`);
    }
  }
  if (c.stdout_contains !== undefined) {
    const re = new RegExp(c.stdout_contains);
    assert.ok(
      matchesSeen.some((m) => re.test(`${priorityLabel(m.rule.priority)} ${m.output}`)),
      `no alert line matches /${c.stdout_contains}/; lines: ${matchesSeen.map((m) => m.output).join(' | ')}`,
    );
  }
}

function classify(c: Case): 'validate' | 'detect' | undefined {
  if (c.validate_rules_file !== undefined) return 'validate';
  if (c.rules_file !== undefined) return 'detect';
  return undefined;
}

for (const file of ['falco_tests.yaml', 'falco_tests_exceptions.yaml']) {
  describe(`Falco conformance: ${file}`, () => {
    // The case names live in the data: without it, one skipped test per file
    // keeps the gap in the totals (a skipped describe would drop out of them).
    if (!loaderDir || skipAll !== false) {
      it(`every case of ${file}`, { skip: skipAll || 'no loader cases' }, () => {});
      return;
    }
    for (const [name, c] of readCases(join(loaderDir, file))) {
      const skip = SKIPS[name];
      const kind = classify(c);
      if (skip !== undefined) {
        it(name, { skip }, () => {});
      } else if (kind === 'validate') {
        it(name, () => runValidate(c));
      } else if (kind === 'detect') {
        it(name, () => runDetect(c));
      } else {
        it(name, { skip: 'needs a capture file and no rules of its own' }, () => {});
      }
    }
  });
}
