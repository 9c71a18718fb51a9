/**
 * Field coverage: every field a syscall rule of Falco's stable, incubating and
 * sandbox files reads (in its condition, its macros or its output), and
 * whether the live sensor fills it on real actions. Each field is either
 * filled by at least one event of the actions below, or listed in LEFT_OUT
 * with the reason; a LEFT_OUT field that does get filled fails the test too,
 * so docs/sensor.md's table (printed here) stays true. Needs root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import { type RuleText, forEachFieldRef, loadRules, parseCondition, syscallFields } from '@saker/rules';
import { sharedPath, within } from '@saker/testing';
import { Sensor } from '../src/sensor.js';
import { kubepodsCgroup, newContainerId, runcRun } from './containers.js';
import { ATTACH_TIMEOUT_MS, DrainMarker } from './runs.js';

const FILES = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'];
const PATHS = FILES.map((f) => sharedPath('falco-rules', f));
const isRoot = process.getuid?.() === 0;
const SKIP = !isRoot
  ? 'NOT ROOT: the coverage test loads eBPF programs'
  : PATHS.some((p) => p === undefined || !existsSync(p))
    ? "Falco's rule files are missing (SAKER_SHARED)"
    : false;
if (SKIP) console.error(`\n*** SKIPPING field coverage test: ${SKIP} ***\n`);

const BUILD = fileURLToPath(new URL('../../build/', import.meta.url));

const ENRICH =
  'container and pod metadata: filled by services/enrich from the CRI and the API server (docs/enrich.md), not by the sensor';
/** Fields the live sensor does not fill, and why. */
const LEFT_OUT: Readonly<Record<string, string>> = {
  'container.image.repository': ENRICH,
  'container.privileged': ENRICH,
  'container.mounts': ENRICH,
  'container.start_ts': ENRICH,
  'k8s.ns.name': ENRICH,
  'k8s.pod.name': ENRICH,
  'evt.buffer': 'the data of read/write/send calls is not captured (the probe sends no I/O buffers)',
  'fd.cip.name': 'DNS names of addresses: no DNS cache in the sensor',
  'fd.sip.name': 'DNS names of addresses: no DNS cache in the sensor',
  'fd.lip.name': 'DNS names of addresses: no DNS cache in the sensor',
  'fd.rip.name': 'DNS names of addresses: no DNS cache in the sensor',
};
/** container.mount.dest[...] and the like: every arg form of an enrichment field. */
function leftOutReason(field: string): string | undefined {
  if (LEFT_OUT[field] !== undefined) return LEFT_OUT[field];
  if (field.startsWith('container.mount.dest[')) return ENRICH;
  return undefined;
}

/** Field references (name, or name[arg]) read by the syscall rules of the three files. */
function fieldsOfRules(texts: RuleText[]): Map<string, Set<string>> {
  const loaded = loadRules(texts);
  assert.ok(loaded.ok, 'Falco rule files load');
  const macros = new Map(loaded.ruleset.macros.map((m) => [m.name, m.condition]));
  const out = new Map<string, Set<string>>();
  const add = (k: string, rule: string) => {
    let s = out.get(k);
    if (s === undefined) {
      s = new Set();
      out.set(k, s);
    }
    s.add(rule);
  };
  const scan = (cond: string, seen: Set<string>, rule: string): void => {
    const p = parseCondition(cond);
    assert.ok(p.ok, `condition of ${rule} parses`);
    forEachFieldRef(p.expr, (f) => add(f.arg === undefined ? f.name : `${f.name}[${f.arg}]`, rule));
    for (const id of cond.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
      const m = macros.get(id);
      if (m !== undefined && !seen.has(id)) {
        seen.add(id);
        scan(m, seen, rule);
      }
    }
  };
  for (const r of loaded.ruleset.rules) {
    if (r.source !== 'syscall') continue;
    scan(r.condition, new Set(), r.name);
    for (const m of r.output.matchAll(/%([a-z0-9_.]+)(\[[^\]]*\])?/g)) add(`${m[1]}${m[2] ?? ''}`, r.name);
  }
  return out;
}

function fieldValue(e: SyscallEvent, ref: string): unknown {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(ref);
  const found = syscallFields.lookup(m?.[1] ?? ref, m?.[2]);
  assert.ok(found, `no field ${ref}`);
  return found.def.bind(found.arg)(e);
}

const filled = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);

// The skip sits on each test (a skipped describe drops its tests from Node 20's totals).
describe('field coverage of Falco rule files (real kernel)', { timeout: 360_000 }, () => {
  const events: SyscallEvent[] = [];
  let dir = '';
  let sensor: Sensor | undefined;
  let fields = new Map<string, Set<string>>();

  before(async () => {
    if (SKIP) return;
    fields = fieldsOfRules(
      PATHS.map((p) => ({ name: p as string, content: readFileSync(p as string, 'utf8') })),
    );
    dir = mkdtempSync(join(tmpdir(), 'saker-coverage-'));
    sensor = await Sensor.start({
      syscalls: 'all',
      maxAncestors: 12,
      validate: true,
      startTimeoutMs: ATTACH_TIMEOUT_MS,
      onError: (e) => console.error(`sensor: ${e.message}`),
    });
    const drain = new DrainMarker();
    // The iterator, not onEvent: it is what resumes the loader's output when the queue drains
    // (the sensor sees the whole host; only this test's process tree is kept).
    const consuming = (async () => {
      for await (const e of sensor as Sensor) {
        drain.note(e);
        if (e.ancestors?.some((a) => a.pid === process.pid) || e.proc.ppid === process.pid) events.push(e);
      }
    })();
    const run = (cmd: string, args: string[], cwd = dir): void => {
      spawnSync(cmd, args, { cwd, stdio: 'ignore', timeout: 30_000 });
    };
    // Files: reads, writes, creation with an exec mode, permissions, owners, names.
    run('cat', ['/etc/shadow']);
    run('sh', [
      '-c',
      'echo x > f1; chmod 4755 f1; chown 1:1 f1; mv f1 f2; ln f2 f3; ln -s f2 f4; rm f2 f3 f4',
    ]);
    run('/usr/bin/python3', ['-c', "import os; os.close(os.open('x.sh', os.O_CREAT|os.O_WRONLY, 0o755))"]);
    run('mkdir', ['-m', '0750', join(dir, 'd')]);
    run('sh', ['-c', 'cd d && echo y > rel && cat rel']);
    run(join(dir, 'missing-binary'), []);
    // Processes: a memfd exec, a tty, a ptrace attach, setuid, a new namespace, a signal.
    run(join(BUILD, 'saker-memfd-exec'), ['saker-cov', '/bin/true']);
    run('script', ['-qec', "sh -c 'true'", '/dev/null']);
    run(join(BUILD, 'saker-ptrace-attach'), []);
    run('/usr/bin/python3', ['-c', 'import os; os.setuid(65534)']);
    run('unshare', ['-n', 'true']);
    // bpf(BPF_PROG_LOAD, NULL, 0): refused with EFAULT, but a real call with its command.
    run('/usr/bin/python3', ['-c', 'import ctypes; ctypes.CDLL(None).syscall(321, 5, 0, 0)']);
    run('setsid', ['sh', '-c', 'sleep 0.1 & kill $!']);
    run('env', ['-i', 'SAKER_COV=1', 'cat', '/etc/hostname']);
    // A deep process tree (proc.aname[7] and the like do not depend on how deep this test runs).
    writeFileSync(
      join(dir, 'deep.sh'),
      '#!/bin/sh\nif [ "$1" -gt 0 ]; then /bin/sh "$0" $(($1 - 1)); true; else cat /etc/hostname; fi\n',
    );
    run('sh', [join(dir, 'deep.sh'), '10']);
    // A login session, as pam_loginuid makes one: loginuid set once, inherited by the children.
    run('sh', ['-c', 'echo 0 > /proc/self/loginuid && cat /etc/hostname']);
    // Network: a raw socket, TCP connect/accept, UDP sendto, stdout on a socket.
    run('/usr/bin/python3', [
      '-c',
      'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 768).close()',
    ]);
    run('/usr/bin/python3', [
      '-c',
      "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.1', 9))",
    ]);
    const server = createServer((sock) => sock.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    run('/usr/bin/python3', [
      '-c',
      `import socket,os; s=socket.create_connection(('127.0.0.1', ${port})); os.dup2(s.fileno(), 1); os.system('true')`,
    ]);
    await new Promise<void>((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => {
        c.end();
        resolve();
      });
      c.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 200));
    server.close();
    // A container: runc with a kubepods cgroup path.
    const id = newContainerId();
    writeFileSync(join(dir, 'marker'), 'x');
    runcRun({
      bundle: join(dir, 'bundle'),
      id: `saker-${id.slice(0, 12)}`,
      args: ['sh', '-c', 'cat /etc/hostname; echo z > /tmp/z; exit 0'],
      cgroupsPath: kubepodsCgroup(id),
      terminal: false,
    });
    // Drained: a marker open made after every action has come through the ring buffer.
    await drain.drain(dir, () => `${events.length} events of the actions so far`);
    await sensor.stop();
    await consuming;
  });

  after(async () => {
    // A before() that failed half-way leaves the loader running, and the test process would never
    // end (its events piling up in memory): stop it here, bounded.
    if (sensor !== undefined) await within('Sensor.stop()', sensor.stop(), 15_000);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('fills every field the rules read, or says why not', { skip: SKIP }, () => {
    assert.ok(fields.size > 80, `fields read by the rules: ${fields.size}`);
    assert.ok(events.length > 50, `events of the actions: ${events.length}`);
    const rows: string[] = [];
    const unexplained: string[] = [];
    const wrongly: string[] = [];
    let live = 0;
    for (const ref of [...fields.keys()].sort()) {
      const got = events.some((e) => filled(fieldValue(e, ref)));
      const why = leftOutReason(ref);
      if (got) live++;
      if (got && why !== undefined) wrongly.push(ref);
      if (!got && why === undefined) unexplained.push(ref);
      rows.push(`| \`${ref}\` | ${got ? 'filled' : `no: ${why ?? '?'}`} |`);
    }
    console.log(
      `fields read by the syscall rules of ${FILES.join(', ')}: ${fields.size}; filled live: ${live}\n${rows.join('\n')}`,
    );
    assert.deepEqual(unexplained, [], 'fields neither filled on real actions nor listed with a reason');
    assert.deepEqual(wrongly, [], 'fields listed as left out that the sensor does fill');
  });
});
