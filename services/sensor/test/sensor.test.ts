/**
 * Integration: starts the real probe in this kernel, performs real actions
 * and checks the SyscallEvents they produce. Needs root (CI runs as root); a
 * non-root run skips with the reason printed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import { Sensor } from '../src/sensor.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot
  ? false
  : 'NOT ROOT: the sensor integration test loads eBPF programs and must run as root';
if (SKIP) console.error(`\n*** SKIPPING sensor integration test: ${SKIP} ***\n`);

const MEMFD_EXEC = fileURLToPath(new URL('../../build/saker-memfd-exec', import.meta.url));

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
];

describe('sensor (real kernel)', { skip: SKIP, timeout: 60_000 }, () => {
  let sensor: Sensor;
  const events: SyscallEvent[] = [];
  const errors: Error[] = [];
  let dir: string;
  const etcFile = `/etc/saker-sensor-test-${process.pid}`;
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
    dir = mkdtempSync(join(tmpdir(), 'saker-sensor-'));
    sensor = await Sensor.start({ syscalls: SYSCALLS, statsIntervalMs: 200, onError: (e) => errors.push(e) });
    sensor.onEvent((e) => events.push(e));

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

    // Let the ring buffer drain and one more stats record arrive.
    await new Promise((r) => setTimeout(r, 800));
    await sensor.stop();
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (existsSync(etcFile)) rmSync(etcFile, { force: true });
  });

  it('decodes every record into a valid event', () => {
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

  it('sees cat /etc/shadow: openat, absolute name, flags, process and ancestry', () => {
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

  it('makes a relative path absolute against the cwd and renders O_CREAT writes', () => {
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

  it('renders chmod 4755 and chown', () => {
    const ch = [...of('chmod', 'fchmodat'), ...of('chmod', 'chmod')][0];
    assert.ok(ch, 'no chmod event');
    assert.equal(ch.args.filename, join(dir, 'suid'));
    assert.equal(ch.args.mode, 'S_ISUID|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH');
    assert.equal(ch.rawargs?.mode, 0o4755);
    assert.equal(ch.res, 0);

    const own = [...of('chown', 'fchownat'), ...of('chown', 'chown'), ...of('chown', 'lchown')][0];
    assert.ok(own, 'no chown event');
    assert.equal(own.args.uid, 1);
    assert.equal(own.args.gid, 1);
    assert.equal(own.res, 0);
  });

  it('sees rename and unlink with absolute paths', () => {
    const mv = [...of('mv', 'renameat2'), ...of('mv', 'renameat'), ...of('mv', 'rename')][0];
    assert.ok(mv, 'no rename event');
    assert.equal(mv.args.oldpath, join(dir, 'suid'));
    assert.equal(mv.args.newpath, join(dir, 'moved'));
    const rm = [...of('rm', 'unlinkat'), ...of('rm', 'unlink')][0];
    assert.ok(rm, 'no unlink event');
    assert.equal(rm.args.name ?? rm.args.path, join(dir, 'moved'));
  });

  it('reads the TCP tuple of connect and accept from the kernel socket', () => {
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

  it('flags a fileless exec: memfd_create then execveat from the memfd', () => {
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
});
