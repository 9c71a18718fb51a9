/**
 * Integration: starts the real probe in this kernel, performs real actions
 * and checks the SyscallEvents they produce. Needs root (CI runs as root); a
 * non-root run skips with the reason printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import { syscallFields } from '@saker/rules';
import { within } from '@saker/testing';
import { capabilitiesText } from '../src/falco-names.js';
import { Sensor } from '../src/sensor.js';
import { kubepodsCgroup, newContainerId, runcRun } from './containers.js';
import { DrainMarker, startCollecting, untilNoRingDrops, validateAfterRun } from './runs.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot
  ? false
  : 'NOT ROOT: the sensor integration test loads eBPF programs and must run as root';
if (SKIP) console.error(`\n*** SKIPPING sensor integration test: ${SKIP} ***\n`);

const MEMFD_EXEC = fileURLToPath(new URL('../../build/saker-memfd-exec', import.meta.url));
const PTRACE_ATTACH = fileURLToPath(new URL('../../build/saker-ptrace-attach', import.meta.url));

/** A field's value as the rule engine extracts it (`proc.aname`, '2'). */
function field(e: SyscallEvent, name: string, arg?: string): unknown {
  const found = syscallFields.lookup(name, arg);
  assert.ok(found, `no field ${name}`);
  return found.def.bind(found.arg)(e);
}

const SYSCALLS = [
  'execve',
  'execveat',
  'openat',
  'open',
  'creat',
  'openat2',
  'connect',
  'accept',
  'accept4',
  'unlinkat',
  'unlink',
  'renameat2',
  'renameat',
  'rename',
  'chmod',
  'fchmodat',
  'fchmod',
  'chown',
  'fchownat',
  'lchown',
  'fchown',
  'memfd_create',
  'kill',
  'ptrace',
  'socket',
  'unshare',
  'mkdir',
];

// The skip sits on each test: a skipped describe drops its tests from Node 20's totals.
/** Runs of the actions, at most, while the shared ring buffer overflows (see `attempt`). */
const ATTEMPTS = 3;

describe('sensor (real kernel)', { timeout: 240_000 }, () => {
  let sensor: Sensor;
  const events: SyscallEvent[] = [];
  const drain = new DrainMarker();
  const errors: Error[] = [];
  let dir: string;
  const etcFile = `/etc/saker-sensor-test-${process.pid}`;
  const usrBinFile = `/usr/bin/saker-sensor-test-${process.pid}`;
  let traced = 0;
  let containerId = '';
  const pids: Record<string, number> = {};
  let serverPort = 0;
  let clientPort = 0;

  const run = (key: string, cmd: string, args: string[], cwd?: string): void => {
    const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
    pids[key] = r.pid ?? -1;
  };
  const of = (key: string, type: string): SyscallEvent[] =>
    events.filter((e) => e.proc.pid === pids[key] && e.type === type);

  before(async () => {
    if (SKIP) return;
    // One run of every action under a fresh sensor. The sensor sees the whole host, whose kernel
    // other tests and benches share: a flood of their events can overflow the ring buffer (the
    // kernel counts it), and events of these actions may be among the lost ones. Such a run
    // proves nothing, so it is repeated (at most ATTEMPTS runs); the tests judge the last one.
    const attempt = async (): Promise<Sensor> => {
      dir = mkdtempSync(join(tmpdir(), 'saker-sensor-'));
      // No validation while the actions run (it would slow the consumer down): every event is
      // checked with parseEvent once the run is over, so these tests still prove them valid.
      sensor = await startCollecting(SYSCALLS, events, errors, drain);

      run('cat', 'cat', ['/etc/shadow']);
      run('write', 'sh', ['-c', 'echo hello > rel.txt'], dir);
      run('etc', 'sh', ['-c', `echo x > ${etcFile}`]);
      run('rmetc', 'rm', ['-f', etcFile]);
      writeFileSync(join(dir, 'suid'), '#!/bin/sh\n');
      run('chmod', 'chmod', ['4755', 'suid'], dir);
      run('chown', 'chown', ['1:1', join(dir, 'suid')]);
      run('mv', 'mv', [join(dir, 'suid'), join(dir, 'moved')]);
      run('rm', 'rm', ['moved'], dir);
      run('memfd', MEMFD_EXEC, ['saker-test', '/bin/true']);
      run('usrbin', 'sh', ['-c', `echo x > ${usrBinFile}`]);
      run('rmusrbin', 'rm', ['-f', usrBinFile]);
      // A shell with a controlling terminal: `script` gives it a pty.
      run('script', 'script', ['-qec', "sh -c 'echo saker-tty-marker >/dev/null'", '/dev/null']);
      // A raw packet socket and a new network namespace: named arguments Falco's rules read.
      run('packet', '/usr/bin/python3', [
        '-c',
        'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 768).close()',
      ]);
      run('unshare', 'unshare', ['-n', 'true']);
      run('mkdir', 'mkdir', ['-m', '0750', join(dir, 'd')]);
      // Process state read at exec: capabilities, process group, exe writability, environment, cwd after cd.
      run('caps', 'cat', ['/etc/hostname']);
      run('nobody', 'setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        '/usr/bin/cat',
        '/etc/hostname',
      ]);
      // setsid (not a group leader here) makes a new session and group, then execs cat in place.
      run('leader', 'setsid', ['cat', '/etc/hostname']);
      run('env', 'env', ['-i', 'SAKER_MARK=1', 'PATH=/usr/bin:/bin', 'cat', '/etc/hostname']);
      run('cd', 'sh', ['-c', 'mkdir -p sub && cd sub && echo x > after-cd.txt'], dir);
      const pt = spawnSync(PTRACE_ATTACH, [], { encoding: 'utf8' });
      assert.equal(pt.status, 0, pt.stderr);
      pids.ptrace = pt.pid ?? -1;
      traced = Number(pt.stdout.trim());
      // A real container: runc, a busybox rootfs, a kubepods cgroupfs path.
      containerId = newContainerId();
      const rr = runcRun({
        bundle: join(dir, 'bundle'),
        id: `saker-${containerId.slice(0, 12)}`,
        args: ['sh', '-c', 'cat /etc/hostname; exit 0'],
        cgroupsPath: kubepodsCgroup(containerId),
        terminal: false,
      });
      assert.equal(rr.status, 0, `runc run: ${rr.stderr}`);

      const server = createServer((sock) => sock.end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      serverPort = (server.address() as AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        const c = createConnection({ host: '127.0.0.1', port: serverPort }, () => {
          clientPort = c.localPort ?? 0;
          c.end();
          resolve();
        });
        c.on('error', reject);
      });
      await new Promise((r) => setTimeout(r, 200));
      server.close();

      // Drained: a marker open made after every action has come through the ring buffer
      // (stop() then reads the loader's final stats record).
      await drain.drain(dir, () => `${events.length} events so far`);
      await sensor.stop();
      validateAfterRun(events, errors);
      return sensor;
    };
    await untilNoRingDrops('sensor test', ATTEMPTS, attempt, () => {
      rmSync(dir, { recursive: true, force: true });
      events.length = 0;
      errors.length = 0;
      for (const k of Object.keys(pids)) delete pids[k];
    });
  });

  after(async () => {
    // A before() that failed half-way leaves the loader running, and the test process would never
    // end (its events piling up in memory): stop it here, bounded.
    if (sensor !== undefined) await within('Sensor.stop()', sensor.stop(), 15_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (existsSync(etcFile)) rmSync(etcFile, { force: true });
    if (existsSync(usrBinFile)) rmSync(usrBinFile, { force: true });
  });

  it('decodes every record into a valid event', { skip: SKIP }, () => {
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
    assert.ok(events.length > 10, `only ${events.length} events`);
    const s = sensor.stats;
    assert.ok(s.totals.seen > 0n, 'probe counted no records');
    assert.equal(s.perCpu.length > 0, true);
    assert.equal(s.decodeErrors, 0);
    assert.equal(s.invalidEvents, 0);
  });

  it('sees cat /etc/shadow: openat, absolute name, flags, process and ancestry', { skip: SKIP }, () => {
    const ev = of('cat', 'openat').find((e) => e.args.name === '/etc/shadow');
    assert.ok(ev, 'no openat of /etc/shadow by cat');
    assert.equal(ev.res !== undefined && ev.res >= 0, true);
    assert.match(String(ev.args.flags), /^(.*\|)?O_RDONLY(\|.*)?$/);
    assert.equal(typeof ev.rawargs?.flags, 'number');
    assert.equal(ev.fd?.name, '/etc/shadow');
    assert.equal(ev.fd?.type, 'file');
    assert.equal(ev.proc.name, 'cat');
    assert.match(ev.proc.exepath, /\/bin\/cat$/);
    assert.deepEqual(ev.proc.args, ['/etc/shadow']);
    assert.equal(ev.proc.ppid, process.pid);
    assert.equal(ev.ancestors?.[0]?.pid, process.pid);
    assert.equal(ev.user.uid, 0);
    assert.equal(ev.user.name, 'root');
    assert.equal(ev.container.id, 'host');

    // spawnSync walks PATH: the misses are execve events too, with -ENOENT and an absolute filename.
    const execs = of('cat', 'execve');
    for (const miss of execs.filter((e) => e.res !== 0))
      assert.match(String(miss.args.filename), /^\/.*\/cat$/);
    const exec = execs.find((e) => e.res === 0);
    assert.ok(exec, 'no successful execve event for cat');
    assert.equal(exec.res, 0);
    assert.equal(exec.args.exe, 'cat');
    assert.match(String(exec.args.filename), /\/bin\/cat$/);
  });

  it('makes a relative path absolute against the cwd and renders O_CREAT writes', { skip: SKIP }, () => {
    const ev = of('write', 'openat').find((e) => String(e.args.name).endsWith('/rel.txt'));
    assert.ok(ev, 'no openat of rel.txt');
    assert.equal(ev.args.name, join(dir, 'rel.txt'));
    assert.equal(ev.fd?.nameraw, 'rel.txt');
    assert.match(String(ev.args.flags), /O_CREAT/);
    assert.match(String(ev.args.flags), /O_WRONLY/);
    assert.equal(ev.proc.cwd, dir);

    const etc = of('etc', 'openat').find((e) => e.args.name === etcFile);
    assert.ok(etc, `no openat of ${etcFile}`);
    assert.match(String(etc.args.flags), /O_TRUNC\|O_CREAT\|O_WRONLY/);
    const rmEtc = [...of('rmetc', 'unlinkat'), ...of('rmetc', 'unlink')].find(
      (e) => e.args.name === etcFile || e.args.path === etcFile,
    );
    assert.ok(rmEtc, `no unlink of ${etcFile}`);
  });

  it('renders chmod 4755 and chown', { skip: SKIP }, () => {
    const ch = [...of('chmod', 'fchmodat'), ...of('chmod', 'chmod')][0];
    assert.ok(ch, 'no chmod event');
    assert.equal(ch.args.filename, join(dir, 'suid'));
    assert.equal(ch.args.mode, 'S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID');
    assert.equal(ch.rawargs?.mode, 0o4755);
    assert.equal(ch.res, 0);

    const own = [...of('chown', 'fchownat'), ...of('chown', 'chown'), ...of('chown', 'lchown')][0];
    assert.ok(own, 'no chown event');
    assert.equal(own.args.uid, 1);
    assert.equal(own.args.gid, 1);
    assert.equal(own.res, 0);
  });

  it('sees rename and unlink with absolute paths', { skip: SKIP }, () => {
    const mv = [...of('mv', 'renameat2'), ...of('mv', 'renameat'), ...of('mv', 'rename')][0];
    assert.ok(mv, 'no rename event');
    assert.equal(mv.args.oldpath, join(dir, 'suid'));
    assert.equal(mv.args.newpath, join(dir, 'moved'));
    const rm = [...of('rm', 'unlinkat'), ...of('rm', 'unlink')][0];
    assert.ok(rm, 'no unlink event');
    assert.equal(rm.args.name ?? rm.args.path, join(dir, 'moved'));
  });

  it('reads the TCP tuple of connect and accept from the kernel socket', { skip: SKIP }, () => {
    const conn = events.find(
      (e) => e.type === 'connect' && e.proc.pid === process.pid && e.fd?.net?.dport === serverPort,
    );
    assert.ok(conn, `no connect to port ${serverPort}`);
    assert.equal(conn.fd?.type, 'ipv4');
    assert.deepEqual(conn.fd?.net, {
      l4proto: 'tcp',
      family: 'ipv4',
      sip: '127.0.0.1',
      sport: clientPort,
      dip: '127.0.0.1',
      dport: serverPort,
      is_server: false,
      connected: true,
    });
    assert.equal(conn.args.tuple, `127.0.0.1:${clientPort}->127.0.0.1:${serverPort}`);
    assert.equal(conn.args.addr, `127.0.0.1:${serverPort}`);

    const acc = events.find(
      (e) =>
        (e.type === 'accept4' || e.type === 'accept') &&
        e.proc.pid === process.pid &&
        e.fd?.net?.sport === clientPort,
    );
    assert.ok(acc, 'no accept of the connection');
    assert.equal(acc.fd?.net?.is_server, true);
    assert.equal(acc.fd?.net?.dport, serverPort);
  });

  it('flags a fileless exec: memfd_create then execveat from the memfd', { skip: SKIP }, () => {
    const mc = of('memfd', 'memfd_create')[0];
    assert.ok(mc, 'no memfd_create event');
    assert.equal(mc.args.name, 'saker-test');
    assert.equal(mc.fd?.type, 'memfd');
    const ex = of('memfd', 'execveat')[0];
    assert.ok(ex, 'no execveat event');
    assert.equal(ex.res, 0);
    assert.equal(ex.proc.exepath, '/memfd:saker-test');
    assert.equal(ex.proc.is_exe_from_memfd, true);
    assert.equal(ex.proc.exe, '/bin/true');
  });

  it('opens for write under /usr/bin: flags and the file', { skip: SKIP }, () => {
    const ev = of('usrbin', 'openat').find((e) => e.args.name === usrBinFile);
    assert.ok(ev, `no openat of ${usrBinFile}`);
    assert.match(String(ev.args.flags), /O_TRUNC\|O_CREAT\|O_WRONLY/);
    assert.equal(field(ev, 'evt.is_open_write'), true);
    assert.equal(field(ev, 'evt.is_open_read'), false);
    assert.equal(field(ev, 'fd.directory'), '/usr/bin');
    assert.equal(ev.fd?.type, 'file');
    const cat = of('cat', 'openat').find((e) => e.args.name === '/etc/shadow');
    assert.ok(cat);
    assert.equal(field(cat, 'evt.is_open_read'), true);
    assert.equal(field(cat, 'evt.is_open_write'), false);
  });

  it('sees the controlling terminal of a shell under script', { skip: SKIP }, () => {
    const sh = events.find(
      (e) =>
        e.type === 'execve' &&
        e.res === 0 &&
        e.proc.name === 'sh' &&
        e.proc.args.join(' ').includes('saker-tty-marker'),
    );
    assert.ok(sh, 'no execve of sh -c under script');
    assert.notEqual(sh.proc.tty, 0);
    assert.equal(sh.proc.tty !== undefined && sh.proc.tty >>> 20, 136, 'a /dev/pts device (major 136)');
    assert.equal(field(sh, 'proc.tty'), sh.proc.tty);
    assert.ok(sh.proc.sid !== undefined && sh.proc.sid > 0, 'session id');
    // The plain cat spawned by this test has no terminal.
    const cat = of('cat', 'openat')[0];
    assert.equal(cat?.proc.tty, 0);
  });

  it('renders a ptrace attach: request name, target pid', { skip: SKIP }, () => {
    const ev = of('ptrace', 'ptrace').find((e) => e.args.request === 'PTRACE_ATTACH');
    assert.ok(ev, 'no PTRACE_ATTACH event');
    // evt.rawarg.request is Falco's number for PTRACE_ATTACH (11), evt.arg.pid the target's comm.
    assert.equal(ev.rawargs?.request, 11);
    assert.equal(ev.rawargs?.pid, traced);
    assert.equal(typeof ev.args.pid, 'string');
    assert.match(field(ev, 'evt.args') as string, /request=11\(PTRACE_ATTACH\) pid=\d+\(/);
    assert.equal(ev.res, 0);
    assert.equal(field(ev, 'evt.arg.request'), 'PTRACE_ATTACH');
  });

  it(
    'renders socket families, unshare flags and mkdir modes of real calls as Falco does',
    { skip: SKIP },
    () => {
      const sock = of('packet', 'socket').find((e) => e.rawargs?.domain === 17);
      assert.ok(sock, 'no AF_PACKET socket event');
      assert.equal(field(sock, 'evt.arg.domain'), 'AF_PACKET');
      assert.equal(field(sock, 'evt.rawarg.domain'), 17);
      // Python opens its sockets with SOCK_CLOEXEC: the type keeps it, and Falco's `flags` names it.
      assert.equal(sock.args.type, 3 | 0o2000000);
      assert.equal(sock.args.proto, 768);
      assert.match(
        field(sock, 'evt.args') as string,
        /^fd=\d+ domain=17\(AF_PACKET\) type=524291 proto=768 flags=4096\(O_CLOEXEC\)$/,
      );
      const un = of('unshare', 'unshare').find((e) => e.res === 0);
      assert.ok(un, 'no unshare event');
      assert.equal(field(un, 'evt.arg.flags'), 'CLONE_NEWNET');
      assert.equal(field(un, 'evt.rawarg.flags'), 1 << 4);
      const mk = of('mkdir', 'mkdir')
        .concat(of('mkdir', 'mkdirat'))
        .find((e) => String(e.args.path).endsWith('/d'));
      assert.ok(mk, 'no mkdir event');
      // Falco prints mkdir's mode with %X.
      assert.equal(mk.args.mode, (0o750).toString(16).toUpperCase());
    },
  );

  it(
    'fills thread.cap_*, proc.pgid, proc.is_exe_writable and proc.env from the kernel at exec',
    { skip: SKIP },
    () => {
      const root = of('caps', 'openat').find((e) => e.args.name === '/etc/hostname');
      assert.ok(root, 'no openat by cat');
      // The test runs as root: cat has the same sets as this process, as /proc prints them.
      const status = readFileSync('/proc/self/status', 'latin1');
      const capHex = (k: string) =>
        BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
      assert.equal(field(root, 'thread.cap_effective'), capabilitiesText(capHex('CapEff')));
      assert.equal(field(root, 'thread.cap_permitted'), capabilitiesText(capHex('CapPrm')));
      assert.equal(field(root, 'thread.cap_inheritable'), capabilitiesText(capHex('CapInh')));
      assert.match(String(field(root, 'thread.cap_effective')), /(^| )CAP_SYS_ADMIN( |$)/);
      // pgid: a plain child is in this process's group; a detached one leads its own.
      const myPgid = Number(readFileSync('/proc/self/stat', 'latin1').split(') ')[1]?.split(' ')[2]);
      assert.equal(field(root, 'proc.pgid'), myPgid);
      assert.equal(field(root, 'proc.is_pgid_leader'), false);
      const lead = of('leader', 'openat').find((e) => e.args.name === '/etc/hostname');
      assert.ok(lead, 'no openat by the detached cat');
      assert.equal(field(lead, 'proc.pgid'), pids.leader);
      assert.equal(field(lead, 'proc.vpgid'), pids.leader, 'host processes: vpgid is pgid');
      assert.equal(field(lead, 'proc.is_pgid_leader'), true);
      assert.equal(field(lead, 'proc.is_vpgid_leader'), true);
      assert.equal(field(lead, 'proc.pgid.name'), 'cat');
      // /usr/bin/cat is root's: root may write it (owner), nobody may not and has no capabilities.
      assert.equal(field(root, 'proc.is_exe_writable'), true);
      const nob = of('nobody', 'openat').find((e) => e.args.name === '/etc/hostname');
      assert.ok(nob, 'no openat by cat as nobody');
      assert.equal(nob.user.uid, 65534);
      assert.equal(field(nob, 'proc.is_exe_writable'), false);
      assert.equal(field(nob, 'thread.cap_effective'), '');
      assert.equal(field(nob, 'thread.cap_permitted'), '');
      // env: exactly what env -i gave the new image, on the exec event (not repeated on every event).
      const execd = of('env', 'execve').find((e) => e.res === 0 && e.proc.name === 'cat');
      assert.ok(execd, 'no execve of cat under env -i');
      assert.deepEqual(execd.proc.env, ['SAKER_MARK=1', 'PATH=/usr/bin:/bin']);
      assert.equal(field(execd, 'proc.env', 'SAKER_MARK'), '1');
      const opened = of('env', 'openat').find(
        (e) => e.args.name === '/etc/hostname' && e.proc.name === 'cat',
      );
      assert.ok(opened, 'no openat by cat under env -i');
      assert.equal(opened.proc.env, undefined);
    },
  );

  it('follows cd: proc.cwd of the shell after chdir, without an exec', { skip: SKIP }, () => {
    const ev = of('cd', 'openat').find((e) => String(e.args.name).endsWith('/after-cd.txt'));
    assert.ok(ev, 'no openat of after-cd.txt');
    assert.equal(ev.proc.name, 'sh');
    assert.equal(ev.args.name, join(dir, 'sub', 'after-cd.txt'));
    assert.equal(ev.proc.cwd, join(dir, 'sub'), 'proc.cwd follows chdir');
    // chdir is tracked for the table but not published: the rules did not ask for it.
    assert.equal(of('cd', 'chdir').length, 0);
  });

  it('answers parent and ancestor fields through the rule engine extractors', { skip: SKIP }, () => {
    const ev = of('cat', 'openat').find((e) => e.args.name === '/etc/shadow');
    assert.ok(ev);
    const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    assert.equal(field(ev, 'proc.pname'), comm(process.pid));
    assert.equal(field(ev, 'proc.ppid'), process.pid);
    assert.equal(field(ev, 'proc.aname', '1'), comm(process.pid));
    assert.equal(field(ev, 'proc.apid', '1'), process.pid);
    assert.equal(field(ev, 'proc.aexepath', '1'), readlinkSync(`/proc/${process.pid}/exe`));
    assert.equal(field(ev, 'proc.aname', '2'), comm(process.ppid));
    assert.equal(field(ev, 'proc.apid', '2'), process.ppid);
    assert.equal(field(ev, 'proc.aexepath', '2'), readlinkSync(`/proc/${process.ppid}/exe`));
    assert.equal(field(ev, 'proc.aname', '0'), 'cat');
    assert.equal(field(ev, 'proc.pexepath'), readlinkSync(`/proc/${process.pid}/exe`));
  });

  it(
    'sees a process in a real runc container: 12-character id from a kubepods cgroup',
    { skip: SKIP },
    () => {
      const inCtr = events.filter((e) => e.container.id === containerId.slice(0, 12));
      assert.ok(inCtr.length > 0, `no event from container ${containerId.slice(0, 12)}`);
      for (const e of inCtr) assert.equal(e.container.full_id, containerId);
      const sh = inCtr.find((e) => e.type === 'execve' && e.res === 0 && e.proc.name === 'sh');
      assert.ok(sh, 'no execve of sh in the container');
      assert.equal(sh.proc.vpid, 1, 'the container init is pid 1 in its namespace');
      assert.notEqual(sh.proc.pid, 1);
      assert.equal(field(sh, 'proc.pname'), 'runc');
      assert.equal(field(sh, 'container.id'), containerId.slice(0, 12));
      assert.equal(sh.proc.exepath, '/bin/busybox', 'the exe path as the container sees it');
      const cat = inCtr.find(
        (e) => e.type === 'openat' && e.proc.name === 'cat' && e.args.name === '/etc/hostname',
      );
      assert.ok(cat, 'no openat of /etc/hostname by cat in the container');
      assert.equal(field(cat, 'proc.pname'), 'sh');
      assert.equal(field(cat, 'proc.apid', '1'), sh.proc.pid);
      assert.equal(field(cat, 'proc.aname', '2'), 'runc');
      assert.equal(field(cat, 'container.id'), containerId.slice(0, 12));
      assert.notEqual(cat.proc.mntns, events.find((e) => e.proc.pid === pids.cat)?.proc.mntns);
    },
  );
});

describe('a consumer that only listens (onEvent, no iterator)', () => {
  it(
    'keeps receiving events past queueLimit: nothing is queued for a reader that does not exist',
    { skip: SKIP },
    async () => {
      const s = await Sensor.start({ syscalls: ['openat'], queueLimit: 20 });
      const seen = new Set<number>();
      s.onEvent((e) => {
        if (e.fd?.name === '/etc/hostname') seen.add(e.proc.pid);
      });
      const pids: number[] = [];
      try {
        // Each cat makes several opens: far more than 20 events, which used to pause the loader for good.
        for (let i = 0; i < 40; i++) {
          const pid = spawnSync('cat', ['/etc/hostname']).pid;
          if (pid !== undefined) pids.push(pid);
        }
        const deadline = Date.now() + 20_000;
        while (pids.some((p) => !seen.has(p)) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
      } finally {
        await s.stop();
      }
      assert.deepEqual(
        pids.filter((p) => !seen.has(p)),
        [],
        'every cat’s open of /etc/hostname reached the listener',
      );
    },
  );
});
