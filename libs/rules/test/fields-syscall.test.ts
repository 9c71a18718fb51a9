import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { sharedPath, sharedSkip } from '@saker/testing';
import { syscallFields } from '../src/fields/syscall/mod.js';
import { FieldArgumentError, type FieldValue } from '../src/fields/types.js';

/** Extracts a field as written in a rule: `proc.aname[2]`, `evt.arg.flags`, `fd.name`. */
function get(e: SyscallEvent, written: string): FieldValue {
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(written);
  assert.ok(m, `bad field text ${written}`);
  const found = syscallFields.lookup(m[1] as string, m[2]);
  assert.ok(found, `unknown field ${written}`);
  return found.def.bind(found.arg)(e);
}

function check(e: SyscallEvent, expected: Readonly<Record<string, FieldValue>>): void {
  for (const [name, want] of Object.entries(expected)) {
    assert.deepEqual(get(e, name), want, name);
  }
}

const base = {
  source: 'syscall',
  ts: '1470327477881781397',
  num: 7,
  cpu: 2,
  hostname: 'node-1',
  user: { uid: 0, name: 'root', homedir: '/root', shell: '/bin/bash', loginuid: 1000, loginname: 'alice' },
  group: { gid: 0, name: 'root' },
  container: { id: 'host' },
} as const;

const catProc = {
  pid: 4242,
  tid: 4242,
  ppid: 4000,
  vpid: 4242,
  sid: 3900,
  vpgid: 4242,
  pgid: 4242,
  name: 'cat',
  exe: 'cat',
  exepath: '/usr/bin/cat',
  args: ['/etc/shadow'],
  cwd: '/root',
  tty: 34816,
  start_ts: '1470327477000000000',
  sname: 'sshd',
  vpgid_name: 'cat',
  vpgid_exe: 'cat',
} as const;

const lineage = [
  {
    pid: 4000,
    name: 'bash',
    exe: '-bash',
    exepath: '/usr/bin/bash',
    args: [],
    start_ts: '1470327400000000000',
  },
  { pid: 3900, name: 'sshd', exe: 'sshd:', exepath: '/usr/sbin/sshd', args: ['-D'] },
  { pid: 1, name: 'systemd', exe: '/sbin/init', exepath: '/usr/lib/systemd/systemd', args: ['--system'] },
] as const;

const catShadow: SyscallEvent = {
  ...base,
  type: 'openat',
  res: 3,
  args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
  rawargs: { flags: 4097 },
  proc: catProc,
  ancestors: lineage,
  fd: { num: 3, type: 'file', name: '/etc/shadow', nameraw: 'shadow', dev: 0x803, ino: 1234 },
};

describe('syscall fields: an openat of /etc/shadow by cat', () => {
  it('extracts process, lineage and open fields', () => {
    check(catShadow, {
      'evt.type': 'openat',
      'evt.dir': '<',
      'evt.num': 7,
      'evt.cpu': 2,
      'evt.hostname': 'node-1',
      'evt.source': 'syscall',
      'evt.category': 'file',
      'evt.res': 'SUCCESS',
      'evt.rawres': 3,
      'evt.failed': false,
      'evt.is_open_read': true,
      'evt.is_open_write': false,
      'evt.is_open_create': false,
      'evt.is_open_exec': false,
      'evt.arg.flags': 'O_RDONLY|O_CLOEXEC',
      'evt.arg[flags]': 'O_RDONLY|O_CLOEXEC',
      'evt.arg[0]': '3',
      'evt.arg[2]': '/etc/shadow',
      'evt.arg[9]': undefined,
      'evt.arg.nope': undefined,
      'evt.rawarg.flags': 4097,
      'evt.rawarg.fd': 3,
      'evt.args': 'fd=3 dirfd=-100 name=/etc/shadow flags=4097(O_RDONLY|O_CLOEXEC) mode=0',
      'evt.type.is.openat': 1,
      'evt.type.is.open': 0,
      'proc.name': 'cat',
      'proc.exe': 'cat',
      'proc.exepath': '/usr/bin/cat',
      'proc.args': '/etc/shadow',
      'proc.args[0]': '/etc/shadow',
      'proc.args[1]': undefined,
      'proc.cmdline': 'cat /etc/shadow',
      'proc.exeline': 'cat /etc/shadow',
      'proc.cmdnargs': 1,
      'proc.cmdlenargs': 11,
      'proc.pname': 'bash',
      'proc.pexe': '-bash',
      'proc.pexepath': '/usr/bin/bash',
      'proc.pcmdline': 'bash',
      'proc.ppid': 4000,
      'proc.pid': 4242,
      'proc.vpid': 4242,
      'proc.cwd': '/root',
      'proc.tty': 34816,
      'proc.sname': 'sshd',
      'proc.is_vpgid_leader': true,
      'proc.is_sid_leader': false,
      'proc.vpgid.name': 'cat',
      'proc.loginshellid': 4000,
      'thread.tid': 4242,
      'thread.ismain': true,
      'fd.num': 3,
      'fd.type': 'file',
      'fd.typechar': 'f',
      'fd.name': '/etc/shadow',
      'fd.nameraw': 'shadow',
      'fd.directory': '/etc',
      'fd.filename': 'shadow',
      'fd.containername': 'host:/etc/shadow',
      'fd.dev': 0x803,
      'fd.dev.major': 8,
      'fd.dev.minor': 3,
      'fd.ino': 1234,
      'fd.sockfamily': undefined,
      'fd.cip': undefined,
      'fd.ip': undefined,
      'fd.is_server': false,
      'fs.path.name': '/etc/shadow',
      'fs.path.nameraw': 'shadow',
      'fs.path.source': undefined,
      'user.uid': 0,
      'user.name': 'root',
      'user.loginuid': 1000,
      'user.loginname': 'alice',
      'group.gid': 0,
      'group.name': 'root',
      'container.id': 'host',
      'container.name': 'host',
      'container.image': undefined,
      'k8s.pod.name': undefined,
    });
  });

  it('indexes the lineage from the process itself, and lists ancestors without an index', () => {
    check(catShadow, {
      'proc.aname[0]': 'cat',
      'proc.aname[1]': 'bash',
      'proc.aname[2]': 'sshd',
      'proc.aname[3]': 'systemd',
      'proc.aname[4]': undefined,
      'proc.aname': ['bash', 'sshd', 'systemd'],
      'proc.apid[0]': 4242,
      'proc.apid[2]': 3900,
      'proc.apid': [4000, 3900, 1],
      'proc.aexe[2]': 'sshd:',
      'proc.aexepath[2]': '/usr/sbin/sshd',
      'proc.aexepath[0]': '/usr/bin/cat',
      'proc.acmdline[3]': 'systemd --system',
      'proc.aargs[2]': '-D',
    });
    const def = syscallFields.get('proc.aname');
    assert.equal(def?.isList, true);
  });

  it('measures durations against the event time', () => {
    check(catShadow, {
      'proc.duration': 881781397,
      'proc.ppid.duration': 77881781397,
      'proc.pid.ts': '1470327477000000000',
    });
  });

  it('renders the event time as Falco does, and keeps the raw time exact', () => {
    check(catShadow, {
      'evt.time': '16:17:57.881781397',
      'evt.time.s': '16:17:57',
      'evt.time.iso8601': '2016-08-04T16:17:57.881781397+0000',
      'evt.datetime': '2016-08-04 16:17:57.881781397',
      'evt.datetime.s': '2016-08-04 16:17:57',
      'evt.rawtime': '1470327477881781397',
      'evt.rawtime.s': 1470327477,
      'evt.rawtime.ns': 881781397,
      'evt.deltatime': undefined,
    });
  });

  it('reports a failed open through the path it tried', () => {
    const failed: SyscallEvent = { ...catShadow, res: -2, fd: undefined, rawargs: undefined };
    check(failed, {
      'evt.res': 'ENOENT',
      'evt.rawres': -2,
      'evt.failed': true,
      'evt.count.error': 1,
      'evt.count.error.file': 1,
      'evt.count.error.net': 0,
      'fd.num': -1,
      'fd.typechar': 'f',
      'fd.name': '/etc/shadow',
      'fd.directory': '/etc',
      'fd.type': undefined,
      'fs.path.name': undefined,
    });
    assert.equal(get({ ...failed, res: -13 }, 'evt.res'), 'EACCES');
    assert.equal(get({ ...failed, res: -512 }, 'evt.res'), 'ERESTARTSYS');
    assert.equal(get({ ...failed, res: -9999 }, 'evt.res'), '-9999');
  });

  it('reads open flags and modes from text when there is no raw value', () => {
    const create: SyscallEvent = {
      ...catShadow,
      args: { fd: 3, dirfd: -100, name: '/tmp/x', flags: 'O_RDWR|O_CREAT|O_F_CREATED', mode: '0755' },
      rawargs: undefined,
    };
    check(create, {
      'evt.is_open_read': true,
      'evt.is_open_write': true,
      'evt.is_open_create': true,
      'evt.is_open_exec': true,
    });
    const named = { ...create, args: { ...create.args, flags: 'O_WRONLY|O_CREAT', mode: 'S_IRUSR|S_IWUSR' } };
    check(named, {
      'evt.is_open_read': false,
      'evt.is_open_write': true,
      'evt.is_open_create': false,
      'evt.is_open_exec': false,
    });
    const exec = { ...named, args: { ...named.args, mode: 'S_IRWXU' } };
    assert.equal(get(exec, 'evt.is_open_exec'), true);
  });
});

const execve: SyscallEvent = {
  ...base,
  type: 'execve',
  res: 0,
  args: { filename: '/usr/bin/curl' },
  user: { uid: 1000, name: 'bob', loginuid: 4294967295 },
  proc: {
    pid: 500,
    tid: 500,
    vpid: 7,
    vpgid: 6,
    name: 'curl',
    exe: 'curl',
    exepath: '/usr/bin/curl',
    args: ['-s', 'http://example.com'],
    env: ['HOME=/home/bob', 'HTTP_PROXY=http://proxy:3128', 'EMPTY='],
    start_ts: '1470327477881000000',
    exe_ino: 99,
    exe_ino_ctime: '1470327477000000000',
    exe_ino_mtime: '1470327476000000000',
    is_exe_upper_layer: true,
    is_exe_from_memfd: false,
    cap_effective: 'CAP_CHOWN CAP_KILL',
    cap_permitted: 'CAP_CHOWN CAP_KILL CAP_SYS_ADMIN',
    vpgid_name: 'sh',
    vpgid_exe: '/bin/sh',
    stdio: [
      { type: 'ipv4', name: '10.0.0.5:4444->10.0.0.9:80' },
      { type: 'pipe' },
      { type: 'file', name: '/dev/null' },
    ],
    fdtypes: ['ipv4', 'pipe', 'file'],
  },
  ancestors: [{ pid: 499, name: 'sh', exe: '/bin/sh', exepath: '/usr/bin/dash', args: ['-c', 'curl -s x'] }],
};

describe('syscall fields: an execve', () => {
  it('extracts environment, executable and capability fields', () => {
    check(execve, {
      'proc.cmdline': 'curl -s http://example.com',
      'proc.args': '-s http://example.com',
      'proc.pcmdline': 'sh -c curl -s x',
      'proc.ppid': 499,
      'proc.env': 'HOME=/home/bob HTTP_PROXY=http://proxy:3128 EMPTY=',
      'proc.env[HOME]': '/home/bob',
      'proc.env[EMPTY]': '',
      'proc.env[MISSING]': '',
      'proc.aenv': 'HOME=/home/bob HTTP_PROXY=http://proxy:3128 EMPTY=',
      'proc.aenv[1]': undefined,
      'proc.is_vpgid_leader': false,
      'proc.vpgid.name': 'sh',
      'proc.vpgid.exe': '/bin/sh',
      'proc.exe_ino': 99,
      'proc.exe_ino.ctime': '1470327477000000000',
      'proc.exe_ino.mtime': '1470327476000000000',
      'proc.exe_ino.ctime_duration_proc_start': 881000000,
      'proc.is_exe_upper_layer': true,
      'proc.is_exe_from_memfd': false,
      'proc.is_exe_lower_layer': undefined,
      'proc.tty': undefined,
      'proc.loginshellid': 499,
      'thread.cap_effective': 'CAP_CHOWN CAP_KILL',
      'thread.cap_permitted': 'CAP_CHOWN CAP_KILL CAP_SYS_ADMIN',
      'thread.cap_inheritable': undefined,
      'user.loginuid': -1,
      'user.homedir': undefined,
      'proc.stdin.type': 'ipv4',
      'proc.stdin.name': '10.0.0.5:4444->10.0.0.9:80',
      'proc.stdout.type': 'pipe',
      'proc.stderr.name': '/dev/null',
      'fd.types': ['ipv4', 'pipe', 'file'],
      'fd.types[0]': ['ipv4'],
      'fd.types[2]': ['file'],
      'fd.types[7]': undefined,
      'fd.num': undefined,
      'fd.name': undefined,
      'evt.category': 'process',
      'evt.is_open_read': false,
      'proc.fdopencount': undefined,
    });
  });
});

const tcp = (over: Partial<SyscallEvent> & Pick<SyscallEvent, 'fd'>): SyscallEvent => ({
  ...base,
  type: 'connect',
  res: 0,
  args: { fd: 5, tuple: '10.0.0.5:34567->93.184.216.34:443' },
  proc: catProc,
  ...over,
});

const client = tcp({
  fd: {
    num: 5,
    type: 'ipv4',
    name: '10.0.0.5:34567->93.184.216.34:443',
    net: {
      l4proto: 'tcp',
      family: 'ipv4',
      sip: '10.0.0.5',
      sport: 34567,
      dip: '93.184.216.34',
      dport: 443,
      connected: true,
    },
  },
});

const server = tcp({
  type: 'accept4',
  res: 6,
  args: { fd: 6, tuple: '203.0.113.9:51000->10.0.0.5:22', queuepct: 0 },
  fd: {
    num: 6,
    type: 'ipv4',
    name: '203.0.113.9:51000->10.0.0.5:22',
    net: {
      l4proto: 'tcp',
      family: 'ipv4',
      sip: '203.0.113.9',
      sport: 51000,
      dip: '10.0.0.5',
      dport: 22,
      is_server: true,
      connected: true,
    },
  },
});

describe('syscall fields: sockets', () => {
  it('a connect: this process is the client, so local is the client end', () => {
    check(client, {
      'fd.typechar': '4',
      'fd.sockfamily': 'ip',
      'fd.l4proto': 'tcp',
      'fd.cip': '10.0.0.5',
      'fd.sip': '93.184.216.34',
      'fd.lip': '10.0.0.5',
      'fd.rip': '93.184.216.34',
      'fd.cport': 34567,
      'fd.sport': 443,
      'fd.lport': 34567,
      'fd.rport': 443,
      'fd.ip': ['10.0.0.5', '93.184.216.34'],
      'fd.port': [34567, 443],
      'fd.net': ['10.0.0.5', '93.184.216.34'],
      'fd.snet': '93.184.216.34',
      'fd.cnet': '10.0.0.5',
      'fd.rnet': '93.184.216.34',
      'fd.sproto': '443',
      'fd.is_server': false,
      'fd.connected': true,
      'fd.name_changed': false,
      'fd.sip.name': undefined,
      'fd.rip.name': undefined,
      'fd.directory': undefined,
      'fd.filename': undefined,
      'fd.uid': '42425',
      'evt.category': 'net',
      'fs.path.name': undefined,
    });
    assert.equal(get({ ...client, res: -115 }, 'evt.res'), 'EINPROGRESS');
  });

  it('an accept: this process is the server, so local is the server end', () => {
    check(server, {
      'fd.cip': '203.0.113.9',
      'fd.sip': '10.0.0.5',
      'fd.lip': '10.0.0.5',
      'fd.rip': '203.0.113.9',
      'fd.lport': 22,
      'fd.rport': 51000,
      'fd.lnet': '10.0.0.5',
      'fd.rnet': '203.0.113.9',
      'fd.is_server': true,
      'fd.num': 6,
    });
  });

  it('a unix socket has a family but no addresses', () => {
    const unix = tcp({ fd: { num: 4, type: 'unix', name: '/var/run/docker.sock' } });
    check(unix, { 'fd.sockfamily': 'unix', 'fd.typechar': 'u', 'fd.ip': undefined, 'fd.lport': undefined });
  });

  it('a write to /dev/log is a syslog write in the ipc category', () => {
    const log = tcp({
      type: 'sendto',
      res: 30,
      args: { fd: 4, size: 30, data: '<13>hello' },
      fd: { num: 4, type: 'unix', name: '/dev/log' },
    });
    check(log, {
      'evt.is_syslog': true,
      'evt.is_io': true,
      'evt.is_io_write': true,
      'evt.io_dir': 'write',
      'evt.buffer': '<13>hello',
      'evt.buflen': 30,
      'evt.category': 'ipc',
    });
  });
});

describe('syscall fields: path calls', () => {
  const rename: SyscallEvent = {
    ...base,
    type: 'renameat2',
    res: 0,
    args: { olddirfd: -100, oldpath: '/root/.bash_history', newdirfd: -100, newpath: '/tmp/h', flags: 0 },
    rawargs: { oldpath: '.bash_history' },
    proc: catProc,
  };

  it('a rename has a source and a target, and no single name', () => {
    check(rename, {
      'fs.path.source': '/root/.bash_history',
      'fs.path.sourceraw': '.bash_history',
      'fs.path.target': '/tmp/h',
      'fs.path.targetraw': '/tmp/h',
      'fs.path.name': undefined,
      'evt.abspath.src': '/root/.bash_history',
      'evt.abspath.dst': '/tmp/h',
      'evt.arg.oldpath': '/root/.bash_history',
      'evt.arg.newpath': '/tmp/h',
    });
    assert.equal(get({ ...rename, res: -1 }, 'fs.path.source'), undefined);
  });

  it('a link points its new name (source) at the existing file (target)', () => {
    const link: SyscallEvent = {
      ...rename,
      type: 'linkat',
      args: { oldpath: '/etc/shadow', newpath: '/tmp/s' },
    };
    check(link, { 'fs.path.source': '/tmp/s', 'fs.path.target': '/etc/shadow' });
    const symlink: SyscallEvent = {
      ...rename,
      type: 'symlinkat',
      args: { target: '/etc', linkpath: '/tmp/e' },
      rawargs: undefined,
    };
    check(symlink, { 'fs.path.source': '/tmp/e', 'fs.path.target': '/etc', 'evt.arg.linkpath': '/tmp/e' });
  });

  it('a chmod carries its mode as text', () => {
    const chmod: SyscallEvent = {
      ...base,
      type: 'chmod',
      res: 0,
      args: { filename: '/usr/bin/sudo2', mode: 'S_ISUID|S_IRWXU|S_IRGRP|S_IXGRP' },
      rawargs: { mode: 0o4750 },
      proc: catProc,
    };
    check(chmod, {
      'evt.arg.mode': 'S_ISUID|S_IRWXU|S_IRGRP|S_IXGRP',
      'evt.rawarg.mode': 0o4750,
      'evt.arg.filename': '/usr/bin/sudo2',
      'fs.path.name': '/usr/bin/sudo2',
      'evt.category': 'file',
      'evt.is_open_exec': false,
    });
  });

  it('unlinkat reads its path from name', () => {
    const unlink: SyscallEvent = {
      ...base,
      type: 'unlinkat',
      res: 0,
      args: { dirfd: -100, name: '/var/log/auth.log', flags: 0 },
      proc: catProc,
    };
    check(unlink, { 'fs.path.name': '/var/log/auth.log', 'evt.abspath': '/var/log/auth.log' });
  });
});

const inContainer: SyscallEvent = {
  ...catShadow,
  container: {
    id: '3ad7b26ded6d',
    full_id: '3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e',
    name: 'web',
    type: 'containerd',
    image: 'docker.io/library/nginx:1.25',
    image_id: '6f7e2741b66b',
    image_repository: 'docker.io/library/nginx',
    image_tag: '1.25',
    image_digest: 'sha256:abc',
    privileged: true,
    start_ts: '1470327000000000000',
    ip: '10.1.2.3',
    host_network: false,
    mounts: [
      {
        source: '/var/run/docker.sock',
        dest: '/var/run/docker.sock',
        mode: 'rw',
        rdwr: true,
        propagation: 'rprivate',
      },
      { source: '/proc', dest: '/host/proc', mode: 'ro', rdwr: false, propagation: 'rprivate' },
      { source: '/etc', dest: '/host/etc', rdwr: false },
    ],
    labels: {
      maintainer: 'nginx',
      'app.kubernetes.io/name': 'web',
      'io.kubernetes.pod.name': 'web-7d9f',
      'io.kubernetes.pod.namespace': 'shop',
      'io.kubernetes.pod.uid': 'uid-from-labels',
      flag: '',
    },
  },
};

describe('syscall fields: containers', () => {
  it('extracts container metadata', () => {
    check(inContainer, {
      'container.id': '3ad7b26ded6d',
      'container.full_id': '3ad7b26ded6d8e7b23da7d48fe889434573036c27ae5a74837233de441c3601e',
      'container.name': 'web',
      'container.type': 'containerd',
      'container.image': 'docker.io/library/nginx:1.25',
      'container.image.id': '6f7e2741b66b',
      'container.image.repository': 'docker.io/library/nginx',
      'container.image.tag': '1.25',
      'container.image.digest': 'sha256:abc',
      'container.privileged': true,
      'container.host_network': false,
      'container.host_pid': undefined,
      'container.ip': '10.1.2.3',
      'container.start_ts': '1470327000000000000',
      'container.duration': 477881781397,
      'container.healthcheck': undefined,
      'fd.containername': '3ad7b26ded6d:/etc/shadow',
      'fd.containerdirectory': '3ad7b26ded6d:/etc',
    });
  });

  it('selects mounts by position or by a glob on the source (the destination for mount.source)', () => {
    check(inContainer, {
      'container.mounts':
        '/var/run/docker.sock:/var/run/docker.sock:rw:true:rprivate,/proc:/host/proc:ro:false:rprivate,/etc:/host/etc::false:',
      'container.mount[0]': '/var/run/docker.sock:/var/run/docker.sock:rw:true:rprivate',
      'container.mount[9]': undefined,
      'container.mount[/proc]': '/proc:/host/proc:ro:false:rprivate',
      'container.mount.dest[/var/run/docker.sock]': '/var/run/docker.sock',
      'container.mount.dest[/proc*]': '/host/proc',
      'container.mount.dest[/etc]': '/host/etc',
      'container.mount.dest[/root*]': undefined,
      'container.mount.dest[/]': undefined,
      'container.mount.dest[1]': '/host/proc',
      'container.mount.source[/host/proc]': '/proc',
      'container.mount.source[/host/*]': '/proc',
      'container.mount.mode[/proc]': 'ro',
      'container.mount.rdwr[/var/run/*]': 'true',
      'container.mount.propagation[0]': 'rprivate',
    });
  });

  it('reads labels by key, with the dotted form, and renders them all', () => {
    check(inContainer, {
      'container.label[maintainer]': 'nginx',
      'container.label.maintainer': 'nginx',
      'container.label.app.kubernetes.io/name': 'web',
      'container.label[missing]': undefined,
      'container.labels': 'app.kubernetes.io/name:web, flag, maintainer:nginx',
    });
  });

  it('falls back to the kubelet container labels before the pod is joined', () => {
    check(inContainer, {
      'k8s.pod.name': 'web-7d9f',
      'k8s.ns.name': 'shop',
      'k8s.pod.uid': 'uid-from-labels',
      'k8s.pod.labels': undefined,
    });
  });
});

describe('syscall fields: Kubernetes', () => {
  const inPod: SyscallEvent = {
    ...inContainer,
    k8s: {
      pod_name: 'web-7d9f-abcde',
      pod_uid: '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
      pod_labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop', 'io.kubernetes.x': 'hidden' },
      pod_ip: '10.1.2.3',
      pod_sandbox_id: '63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a',
      ns_name: 'shop',
    },
  };

  it('extracts pod metadata', () => {
    check(inPod, {
      'k8s.pod.name': 'web-7d9f-abcde',
      'k8s.ns.name': 'shop',
      'k8s.pod.uid': '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
      'k8s.pod.id': '3e41dc6b-08a8-44db-bc2a-3724b18ab19a',
      'k8s.pod.sandbox_id': '63060edc2d3a',
      'k8s.pod.full_sandbox_id': '63060edc2d3aa803ab559f2393776b151f99fc5b05035b21db66b3b62246ad6a',
      'k8s.pod.label[app]': 'web',
      'k8s.pod.label.app': 'web',
      'k8s.pod.label.app.kubernetes.io/part-of': 'shop',
      'k8s.pod.label[nope]': undefined,
      'k8s.pod.labels': 'app:web, app.kubernetes.io/part-of:shop',
      'k8s.pod.ip': '10.1.2.3',
      'k8s.deployment.name': undefined,
      'k8s.ns.label[team]': undefined,
      'k8s.svc.name': undefined,
      'k8s.svc.labels': undefined,
      'k8s.rc.labels': undefined,
    });
  });

  // What the engine's join adds when cluster-mode enrichment runs.
  const inCluster: SyscallEvent = {
    ...inPod,
    k8s: {
      ...inPod.k8s,
      ns_uid: 'ns-uid-1',
      ns_labels: { team: 'payments', 'kubernetes.io/metadata.name': 'shop' },
      rs_name: 'web-7d9f',
      rs_uid: 'rs-uid-1',
      rs_labels: { app: 'web', 'pod-template-hash': '7d9f' },
      deployment_name: 'web',
      deployment_uid: 'dep-uid-1',
      deployment_labels: { app: 'web', owner: '' },
      services: [
        { name: 'web', uid: 'svc-uid-1', labels: { tier: 'front', app: 'web' } },
        { name: 'web-headless', uid: 'svc-uid-2' },
        { name: 'zz-all', uid: 'svc-uid-3', labels: { tier: 'any' } },
      ],
    },
  };

  it('extracts the namespace, replica set and deployment', () => {
    check(inCluster, {
      'k8s.ns.name': 'shop',
      'k8s.ns.id': 'ns-uid-1',
      'k8s.ns.label[team]': 'payments',
      'k8s.ns.label.kubernetes.io/metadata.name': 'shop',
      'k8s.ns.label[nope]': undefined,
      'k8s.ns.labels': 'kubernetes.io/metadata.name:shop, team:payments',
      'k8s.rs.name': 'web-7d9f',
      'k8s.rs.id': 'rs-uid-1',
      'k8s.rs.label.pod-template-hash': '7d9f',
      'k8s.rs.labels': 'app:web, pod-template-hash:7d9f',
      'k8s.deployment.name': 'web',
      'k8s.deployment.id': 'dep-uid-1',
      'k8s.deployment.label[app]': 'web',
      'k8s.deployment.label[owner]': '',
      'k8s.deployment.labels': 'app:web, owner',
      'k8s.rc.name': undefined,
      'k8s.rc.id': undefined,
      'k8s.rc.label[app]': undefined,
      'k8s.rc.labels': undefined,
    });
    check(
      { ...inPod, k8s: { ...inPod.k8s, rc_name: 'legacy', rc_uid: 'rc-uid-1', rc_labels: { app: 'old' } } },
      {
        'k8s.rc.name': 'legacy',
        'k8s.rc.id': 'rc-uid-1',
        'k8s.rc.label.app': 'old',
        'k8s.rc.labels': 'app:old',
        'k8s.rs.name': undefined,
      },
    );
  });

  it('covers every matching service, joined in order, as libsinsp did', () => {
    check(inCluster, {
      'k8s.svc.name': 'web, web-headless, zz-all',
      'k8s.svc.id': 'svc-uid-1, svc-uid-2, svc-uid-3',
      'k8s.svc.label[tier]': 'front, any',
      'k8s.svc.label.app': 'web',
      'k8s.svc.label[nope]': undefined,
      'k8s.svc.labels': 'app:web, tier:front, tier:any',
    });
    const one = { ...inCluster, k8s: { ...inCluster.k8s, services: [{ name: 'solo', uid: 'u' }] } };
    check(one, { 'k8s.svc.name': 'solo', 'k8s.svc.labels': '', 'k8s.svc.label[tier]': undefined });
    const none = { ...inCluster, k8s: { ...inCluster.k8s, services: [] } };
    check(none, { 'k8s.svc.name': undefined, 'k8s.svc.id': undefined, 'k8s.svc.labels': undefined });
  });

  it('refuses the label fields without a key', () => {
    for (const name of [
      'k8s.ns.label',
      'k8s.rs.label',
      'k8s.deployment.label',
      'k8s.rc.label',
      'k8s.svc.label',
    ]) {
      const found = syscallFields.lookup(name, undefined);
      assert.ok(found, name);
      assert.throws(() => found.def.bind(found.arg), FieldArgumentError, name);
    }
  });
});

describe('syscall fields: arguments are checked at bind time', () => {
  const bindError = (name: string, arg: string | undefined): void => {
    const found = syscallFields.lookup(name, arg);
    assert.ok(found, name);
    assert.throws(() => found.def.bind(found.arg), FieldArgumentError, `${name}[${arg}]`);
  };

  it('refuses arguments where none is taken, and requires them where one is', () => {
    bindError('proc.name', '1');
    bindError('proc.aname', 'x');
    bindError('proc.aname', '-1');
    bindError('evt.arg', undefined);
    bindError('container.mount', undefined);
    bindError('container.label', undefined);
    bindError('k8s.pod.label', undefined);
    bindError('fd.types', 'stdout');
  });

  it('resolves dotted arguments to the longest registered field', () => {
    assert.equal(syscallFields.lookup('evt.arg.flags')?.def.name, 'evt.arg');
    assert.equal(syscallFields.lookup('evt.arg.flags')?.arg, 'flags');
    assert.equal(syscallFields.lookup('evt.type.is.open')?.arg, 'open');
    assert.equal(syscallFields.lookup('proc.exe_ino.ctime')?.def.name, 'proc.exe_ino.ctime');
    assert.equal(syscallFields.lookup('proc.nosuch'), undefined);
    assert.equal(syscallFields.lookup('container.mount.nosuch'), undefined);
  });

  it('describes every field and uses known kinds', () => {
    const kinds = new Set(['string', 'number', 'bool', 'ip', 'ipnet']);
    for (const def of syscallFields.list()) {
      assert.ok(def.description.length > 10, `${def.name} needs a description`);
      assert.ok(kinds.has(def.kind), def.name);
      assert.match(def.falcoType, /^[A-Z0-9_]+$/, def.name);
    }
  });
});

describe('syscall fields: coverage', () => {
  const classes = ['evt', 'proc', 'thread', 'user', 'group', 'fd', 'fs', 'container', 'k8s'];

  it('registers every field of Falco’s reference table for these classes', { skip: sharedSkip() }, () => {
    const table = readFileSync(sharedPath('reference', 'falco-supported-fields.md') as string, 'utf8');
    const names = [...table.matchAll(/^`([a-z0-9_.]+)`\s*\|/gm)].map((m) => m[1] as string);
    const ours = names.filter((n) => classes.includes(n.split('.')[0] as string) || n === 'syscall.type');
    assert.ok(ours.length > 150, `only ${ours.length} names parsed from the table`);
    const missing = ours.filter((n) => syscallFields.get(n) === undefined);
    assert.deepEqual(missing, []);
  });

  it('resolves and binds every field the Falco syscall rule files use', { skip: sharedSkip() }, () => {
    const dir = sharedPath('falco-rules') as string;
    const files = readdirSync(dir).filter((f) => /^falco.*\.yaml$/.test(f));
    assert.ok(files.length > 0);
    const text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const used = new Set(
      // `(?![a-z0-9_.*[])` keeps wildcards such as `evt.arg*` (prose in comments) out.
      [
        ...text.matchAll(
          /\b(?:evt|proc|thread|user|group|fd|fs|container|k8s)\.[a-z0-9_.]+(?:\[[^\]]*\])?(?![a-z0-9_.*[])/g,
        ),
      ].map((m) => m[0]),
    );
    // Matches of the pattern that are not fields: list items and prose.
    const notFields = new Map([
      ['k8s.io', 'part of registry.k8s.io image names in lists'],
      ['user.log', 'a log file name in a list'],
      ['fd.types[]', 'prose in a comment'],
    ]);
    const failures: string[] = [];
    let checked = 0;
    for (const raw of used) {
      const written = raw.replace(/\.+$/, ''); // `evt.type.` at the end of a sentence
      if (notFields.has(written) || written === 'fs.path') continue;
      const m = /^([^[]+)(?:\[(.*)\])?$/.exec(written) as RegExpExecArray;
      const found = syscallFields.lookup(m[1] as string, m[2]);
      if (found === undefined) {
        failures.push(`${written}: unknown`);
        continue;
      }
      try {
        found.def.bind(found.arg)(catShadow);
        found.def.bind(found.arg)(inContainer);
        checked++;
      } catch (err) {
        failures.push(`${written}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(checked > 100, `only ${checked} fields checked`);
  });
});
