/**
 * Argument rendering parity with Falco, per syscall the sensor captures.
 *
 * Each case is a kernel record with real argument values and the text
 * (`evt.arg.*`) and number (`evt.rawarg.*`) Falco gives them. The expected
 * names and numbers were read off Falco's tables (falcosecurity/libs
 * driver/flags_table.c, ppm_events_public.h and event_table.c at 48dfd53):
 * the number is Falco's own encoding of the value, e.g. PTRACE_ATTACH (16 in
 * the kernel) is 11, CLONE_NEWNS (0x20000) is 1 << 5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type KernelRecord, P_FDINFO, P_FDPATH, P_USTR, StreamDecoder } from '../src/decoder.js';
import {
  CLONE_FLAGS,
  MOUNT_FLAGS,
  OPEN_FLAGS,
  PTRACE_REQUESTS,
  SOCKET_FAMILIES,
  capabilitiesText,
  renderNames,
  toFalco,
} from '../src/falco-names.js';
import { ppmOpenFlags } from '../src/render.js';
import { type ArgNameSource, SYSCALL_IDS, renderCall } from '../src/syscalls.js';
import { components, fdInfo, frame, param, record, streamHeader } from './wire.js';

const names: ArgNameSource = {
  user: (uid) => (uid === 0 ? { name: 'root' } : uid === 33 ? { name: 'www-data' } : undefined),
  group: (gid) => (gid === 0 ? { name: 'root' } : undefined),
  get: (pid) => (pid === 4242 ? { name: 'victim' } : undefined),
};

function rendered(syscall: string, args: bigint[], ret = 0n, params: Buffer[] = []) {
  const id = SYSCALL_IDS[syscall];
  assert.ok(id !== undefined, syscall);
  const d = new StreamDecoder({
    onError: (e) => {
      throw e;
    },
  });
  const recs = d.push(Buffer.concat([streamHeader(), frame(1, record({ syscall: id, args, ret, params }))]));
  return renderCall(recs[0] as KernelRecord, names);
}

interface Case {
  readonly syscall: string;
  readonly args: bigint[];
  readonly ret?: bigint;
  readonly params?: Buffer[];
  /** evt.arg.<name> as Falco gives it. */
  readonly text: Readonly<Record<string, string | number>>;
  /** evt.rawarg.<name> where Falco's number differs from the text. */
  readonly raw?: Readonly<Record<string, number>>;
}

const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;

const CASES: readonly Case[] = [
  // socket: domain by name (an enum: aliases print together), type and proto as numbers, flags from type.
  {
    syscall: 'socket',
    args: [17n, 3n, 768n],
    ret: 5n,
    text: { domain: 'AF_PACKET', type: 3, proto: 768, flags: 'O_NONE' },
    raw: { domain: 17, flags: 0 },
  },
  {
    syscall: 'socket',
    args: [2n, BigInt(1 | 0o4000 | 0o2000000), 6n],
    ret: 5n,
    text: { domain: 'AF_INET', type: 1 | 0o4000 | 0o2000000, proto: 6, flags: 'O_NONBLOCK|O_CLOEXEC' },
    raw: { domain: 2, flags: 64 | 4096 },
  },
  {
    syscall: 'socket',
    args: [1n, 1n, 0n],
    ret: 5n,
    text: { domain: 'AF_LOCAL|AF_UNIX' },
    raw: { domain: 1 },
  },
  {
    syscall: 'socket',
    args: [16n, 3n, 0n],
    ret: 5n,
    text: { domain: 'AF_ROUTE|AF_NETLINK' },
    raw: { domain: 16 },
  },
  { syscall: 'socket', args: [10n, 2n, 17n], ret: 5n, text: { domain: 'AF_INET6' }, raw: { domain: 10 } },
  // ptrace: kernel request numbers become Falco's enum.
  {
    syscall: 'ptrace',
    args: [16n, 4242n],
    text: { request: 'PTRACE_ATTACH', pid: 'victim' },
    raw: { request: 11, pid: 4242 },
  },
  {
    syscall: 'ptrace',
    args: [0x4206n, 77n],
    text: { request: 'PTRACE_SEIZE', pid: 77 },
    raw: { request: 20 },
  },
  { syscall: 'ptrace', args: [0n, 0n], text: { request: 'PTRACE_TRACEME' }, raw: { request: 1 } },
  { syscall: 'ptrace', args: [4n, 1n], text: { request: 'PTRACE_POKETEXT' }, raw: { request: 5 } },
  { syscall: 'ptrace', args: [5n, 1n], text: { request: 'PTRACE_POKEDATA' }, raw: { request: 6 } },
  { syscall: 'ptrace', args: [13n, 1n], text: { request: 'PTRACE_SETREGS' }, raw: { request: 27 } },
  { syscall: 'ptrace', args: [9999n, 1n], text: { request: 'PTRACE_UNKNOWN' }, raw: { request: 0 } },
  // clone/unshare/setns: Falco's own bit layout, printed in its table's order.
  {
    syscall: 'clone',
    args: [0x3d0f00n],
    ret: 1234n,
    text: {
      flags:
        'CLONE_FILES|CLONE_FS|CLONE_PARENT_SETTID|CLONE_SIGHAND|CLONE_SYSVSEM|CLONE_THREAD|CLONE_VM|CLONE_CHILD_CLEARTID|CLONE_SETTLS',
    },
    raw: { flags: 1 + 2 + (1 << 9) + (1 << 11) + (1 << 12) + (1 << 13) + (1 << 15) + (1 << 23) + (1 << 25) },
  },
  {
    syscall: 'unshare',
    args: [0x20000n | 0x10000000n],
    text: { res: 0, flags: 'CLONE_NEWNS|CLONE_NEWUSER' },
    raw: { flags: (1 << 5) | (1 << 20) },
  },
  { syscall: 'unshare', args: [0n], text: { flags: '0' }, raw: { flags: 0 } },
  {
    syscall: 'setns',
    args: [3n, 0x40000000n],
    text: { fd: 3, nstype: 'CLONE_NEWNET' },
    raw: { nstype: 1 << 4 },
  },
  // mount: the MS_MGC_VAL magic is dropped; umount2.
  {
    syscall: 'mount',
    args: [0n, 0n, 0n, 4096n | 16384n],
    text: { flags: 'BIND|REC' },
    raw: { flags: 4096 | 16384 },
  },
  { syscall: 'mount', args: [0n, 0n, 0n, 0xc0ed0001n], text: { flags: 'RDONLY' }, raw: { flags: 1 } },
  { syscall: 'umount2', args: [0n, 2n], text: { flags: 'DETACH' }, raw: { flags: 2 } },
  { syscall: 'umount2', args: [0n, 8n], text: { flags: 'NOFOLLOW' }, raw: { flags: 8 } },
  // prctl, bpf, memfd_create, finit_module.
  { syscall: 'prctl', args: [15n, 0n], text: { option: 'PR_SET_NAME', arg2_int: 0 }, raw: { option: 15 } },
  {
    syscall: 'prctl',
    args: [38n, 1n],
    text: { option: 'PR_SET_NO_NEW_PRIVS', arg2_int: 1 },
    raw: { option: 38 },
  },
  { syscall: 'bpf', args: [5n], ret: 7n, text: { fd: 7, cmd: 'BPF_PROG_LOAD' }, raw: { cmd: 5 } },
  {
    syscall: 'bpf',
    args: [0n],
    ret: -1n,
    text: { fd: 'EPERM', cmd: 'BPF_MAP_CREATE' },
    raw: { fd: -1, cmd: 0 },
  },
  {
    syscall: 'memfd_create',
    args: [0n, 3n],
    ret: 4n,
    text: { flags: 'MFD_CLOEXEC|MFD_ALLOW_SEALING' },
    raw: { flags: 3 },
  },
  { syscall: 'finit_module', args: [3n, 0n, 0n], text: { flags: '0' }, raw: { flags: 0 } },
  {
    syscall: 'finit_module',
    args: [3n, 0n, 2n],
    text: { flags: 'MODULE_INIT_IGNORE_VERMAGIC' },
    raw: { flags: 2 },
  },
  // *at flags and directory fds.
  {
    syscall: 'unlinkat',
    args: [-100n, 0n, 0x200n],
    ret: -2n,
    text: { res: 'ENOENT', dirfd: 'AT_FDCWD', flags: 'AT_REMOVEDIR' },
    raw: { res: -2, dirfd: -100, flags: 0x200 },
  },
  {
    syscall: 'linkat',
    args: [-100n, 0n, -100n, 0n, 0x400n],
    text: { flags: 'AT_SYMLINK_FOLLOW' },
    raw: { flags: 0x400 },
  },
  {
    syscall: 'renameat2',
    args: [-100n, 0n, -100n, 0n, 1n],
    text: { flags: 'RENAME_NOREPLACE' },
    raw: { flags: 1 },
  },
  {
    syscall: 'renameat2',
    args: [-100n, 0n, -100n, 0n, 2n],
    text: { flags: 'RENAME_EXCHANGE' },
    raw: { flags: 2 },
  },
  // fchownat: Falco's driver tests AT_SYMLINK_FOLLOW, names it AT_SYMLINK_NOFOLLOW and drops the real AT_SYMLINK_NOFOLLOW.
  {
    syscall: 'fchownat',
    args: [-100n, 0n, 0n, 0n, 0x100n],
    text: { flags: '0', uid: 0, gid: 0 },
    raw: { flags: 0 },
  },
  {
    syscall: 'fchownat',
    args: [-100n, 0n, 0n, 0n, 0x1000n],
    text: { flags: 'AT_EMPTY_PATH' },
    raw: { flags: 0x1000 },
  },
  // Modes: chmod* by bit names (PT_MODE), open/creat in octal, mkdir in hex.
  {
    syscall: 'chmod',
    args: [0n, 0o4755n],
    text: { mode: 'S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID' },
    raw: { mode: 0o4755 },
  },
  { syscall: 'chmod', args: [0n, 0o400n], text: { mode: 'S_IRUSR' }, raw: { mode: 0o400 } },
  {
    syscall: 'fchmodat',
    args: [-100n, 0n, 0o2000n],
    text: { mode: 'S_ISGID', dirfd: 'AT_FDCWD' },
    raw: { mode: 0o2000, dirfd: -100 },
  },
  { syscall: 'fchmod', args: [3n, 0n], text: { mode: '0' }, raw: { mode: 0 } },
  {
    syscall: 'openat',
    args: [-100n, 0n, BigInt(0o1 | 0o100 | 0o1000 | 0o2000000), 0o644n],
    ret: 3n,
    params: [
      param(P_USTR, 1, Buffer.from('/tmp/x\0')),
      param(P_FDINFO, 255, fdInfo(3, S_IFREG | 0o644)),
      param(P_FDPATH, 255, components('/tmp/x')),
    ],
    text: { fd: '<f>/tmp/x', dirfd: 'AT_FDCWD', flags: 'O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC', mode: '0644' },
    raw: { fd: 3, dirfd: -100, flags: (1 << 1) | (1 << 2) | (1 << 8) | (1 << 12) },
  },
  {
    syscall: 'openat',
    args: [-100n, 0n, 0n, 0n],
    ret: -13n,
    text: { fd: 'EACCES', flags: 'O_RDONLY', mode: '0' },
    raw: { fd: -13, flags: 1 },
  },
  {
    syscall: 'openat',
    args: [-100n, 0n, BigInt(0o200000 | 0o4000 | 0o2000000), 0n],
    ret: -2n,
    text: { flags: 'O_DIRECTORY|O_NONBLOCK|O_RDONLY|O_CLOEXEC' },
    raw: { flags: 1 | (1 << 6) | (1 << 10) | (1 << 12) },
  },
  {
    syscall: 'open',
    args: [0n, 2n | 0o2000n, 0n],
    ret: -2n,
    text: { flags: 'O_APPEND|O_RDWR' },
    raw: { flags: 3 | (1 << 3) },
  },
  { syscall: 'creat', args: [0n, 0o755n], ret: -2n, text: { mode: '0755' } },
  { syscall: 'mkdir', args: [0n, 0o755n], text: { mode: '1ED' } },
  {
    syscall: 'mkdirat',
    args: [-100n, 0n, 0o700n],
    text: { mode: '1C0', dirfd: 'AT_FDCWD' },
    raw: { dirfd: -100 },
  },
  // Signals, ids.
  { syscall: 'kill', args: [4242n, 9n], text: { pid: 'victim', sig: 'SIGKILL' }, raw: { pid: 4242, sig: 9 } },
  { syscall: 'kill', args: [1n, 15n], text: { pid: 1, sig: 'SIGTERM' }, raw: { sig: 15 } },
  { syscall: 'setuid', args: [33n], text: { uid: 'www-data' }, raw: { uid: 33 } },
  { syscall: 'setuid', args: [0xffffffffn], text: { uid: '<NONE>' }, raw: { uid: -1 } },
  { syscall: 'setuid', args: [12345n], text: { uid: '<NA>' }, raw: { uid: 12345 } },
  { syscall: 'setgid', args: [0n], text: { gid: 'root' }, raw: { gid: 0 } },
  {
    syscall: 'setresuid',
    args: [0n, 33n, 0xffffffffn],
    text: { ruid: 'root', euid: 'www-data', suid: '<NONE>' },
    raw: { ruid: 0, euid: 33, suid: -1 },
  },
  // execveat flags; a failed exec's res.
  {
    syscall: 'execveat',
    args: [3n, 0n, 0n, 0n, 0x1000n],
    ret: -2n,
    text: { res: 'ENOENT', flags: 'AT_EMPTY_PATH' },
    raw: { res: -2, flags: 1 },
  },
  // dup3 and userfaultfd carry open flags in Falco's encoding; accept4's flags are a plain number.
  {
    syscall: 'dup3',
    args: [3n, 9n, 0o2000000n],
    ret: 9n,
    text: { flags: 'O_CLOEXEC', oldfd: 3, newfd: 9 },
    raw: { flags: 4096 },
  },
  {
    syscall: 'userfaultfd',
    args: [BigInt(0o4000 | 0o2000000)],
    ret: 5n,
    text: { flags: 'O_NONBLOCK|O_CLOEXEC' },
    raw: { flags: 64 | 4096 },
  },
  {
    syscall: 'accept4',
    args: [3n, 0n, 0n, 0o2000000n],
    ret: -11n,
    text: { fd: 'EAGAIN', flags: 0o2000000 },
    raw: { fd: -11 },
  },
  // fd arguments with the fd's type and name.
  {
    syscall: 'fchmod',
    args: [3n, 0o644n],
    params: [param(P_FDINFO, 0, fdInfo(3, S_IFREG | 0o644)), param(P_FDPATH, 0, components('/etc/shadow'))],
    text: { fd: '<f>/etc/shadow', mode: 'S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR' },
    raw: { fd: 3, mode: 0o644 },
  },
  {
    syscall: 'listen',
    args: [4n, 128n],
    params: [param(P_FDINFO, 0, fdInfo(4, S_IFSOCK, 9, 1, 0))],
    text: { fd: 4, backlog: 128 },
  },
  { syscall: 'unlink', args: [0n], ret: -13n, text: { res: 'EACCES' }, raw: { res: -13 } },
  // chdir's path is the string as passed; fchdir's fd.
  {
    syscall: 'chdir',
    args: [0n],
    ret: -2n,
    params: [param(P_USTR, 0, Buffer.from('../x\0'))],
    text: { res: 'ENOENT', path: '../x' },
    raw: { res: -2 },
  },
  { syscall: 'fchdir', args: [9n], ret: -9n, text: { res: 'EBADF', fd: 9 }, raw: { res: -9 } },
  { syscall: 'rename', args: [0n, 0n], text: { res: 0 } },
];

describe('argument rendering parity with Falco', () => {
  for (const c of CASES) {
    const label = `${c.syscall}(${c.args.join(', ')})`;
    it(`${label}: evt.arg and evt.rawarg as Falco gives them`, () => {
      const r = rendered(c.syscall, c.args, c.ret ?? 0n, c.params ?? []);
      for (const [k, v] of Object.entries(c.text)) assert.equal(r.args[k], v, `evt.arg.${k}`);
      for (const [k, v] of Object.entries(c.raw ?? {})) assert.equal(r.rawargs[k], v, `evt.rawarg.${k}`);
      // Where no raw number is expected, evt.rawarg falls back to the text: it must be that number itself.
      for (const k of Object.keys(c.text)) {
        if (c.raw?.[k] === undefined) assert.equal(r.rawargs[k], undefined, `no separate evt.rawarg.${k}`);
      }
    });
  }

  it('covers every syscall the sensor captures', () => {
    const covered = new Set(CASES.map((c) => c.syscall));
    const pathOnly = new Set([
      'rmdir',
      'link',
      'symlink',
      'symlinkat',
      'renameat',
      'chown',
      'lchown',
      'fchown',
    ]);
    const processOnly = new Set(['execve', 'clone3', 'fork', 'vfork', 'init_module', 'openat2']);
    const network = new Set(['connect', 'accept', 'bind', 'sendto', 'sendmsg', 'dup', 'dup2', 'setresgid']);
    for (const s of Object.keys(SYSCALL_IDS)) {
      if (pathOnly.has(s) || processOnly.has(s) || network.has(s)) continue;
      assert.ok(covered.has(s), `${s} has a parity case`);
    }
  });
});

describe('Falco name tables', () => {
  it('enum tables print every alias of a value, in table order', () => {
    assert.equal(renderNames(SOCKET_FAMILIES, 1), 'AF_LOCAL|AF_UNIX');
    assert.equal(renderNames(SOCKET_FAMILIES, 0), 'AF_UNSPEC');
    assert.equal(toFalco(SOCKET_FAMILIES, 27), 0, 'an unknown family becomes AF_UNSPEC, as in the driver');
    assert.equal(renderNames(PTRACE_REQUESTS, toFalco(PTRACE_REQUESTS, 0x4200)), 'PTRACE_SETOPTIONS');
  });

  it('flag tables stop at a name equal to the whole value', () => {
    // O_RDWR (both access bits) is printed instead of O_WRONLY and O_RDONLY.
    assert.equal(renderNames(OPEN_FLAGS, ppmOpenFlags(2)), 'O_RDWR');
    assert.equal(renderNames(OPEN_FLAGS, 0), 'O_NONE');
    assert.equal(renderNames(CLONE_FLAGS, toFalco(CLONE_FLAGS, 0x80000000)), 'CLONE_IO');
    assert.equal(toFalco(MOUNT_FLAGS, 0x80000000), 0x80000000, 'MS_NOUSER, bit 31, stays unsigned');
    assert.equal(renderNames(MOUNT_FLAGS, 0x80000000), 'NOUSER');
  });

  it('O_SYNC is set by either of its bits, O_TMPFILE only by both', () => {
    assert.equal(renderNames(OPEN_FLAGS, ppmOpenFlags(0o10000)), 'O_SYNC|O_DSYNC|O_RDONLY');
    assert.equal(renderNames(OPEN_FLAGS, ppmOpenFlags(0o4010000)), 'O_SYNC|O_DSYNC|O_RDONLY');
    assert.equal(renderNames(OPEN_FLAGS, ppmOpenFlags(0o20200000 | 2)), 'O_DIRECTORY|O_RDWR|O_TMPFILE');
  });

  it('capabilities print as Falco prints thread.cap_*', () => {
    assert.equal(capabilitiesText(0n), '');
    assert.equal(capabilitiesText((1n << 21n) | 1n), 'CAP_CHOWN CAP_SYS_ADMIN');
    assert.equal(capabilitiesText((1n << 41n) - 1n).split(' ').length, 41);
    assert.equal(capabilitiesText(1n << 40n), 'CAP_CHECKPOINT_RESTORE');
  });
});
