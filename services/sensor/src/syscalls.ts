/**
 * x86_64 system calls the sensor knows how to capture, with the arguments
 * Falco names for each (the exit event's parameters, plus the entry-only ones
 * rules use such as ptrace's `request`). The probe sends raw values; this
 * table turns them into `args`, `rawargs` and `fd`.
 */
import { Buffer } from 'node:buffer';
import { FD_TYPE_CHARS, type FdInfo, errnoText } from '@saker/events';
import { ARGI_RET, CallMemo, type KernelRecord } from './decoder.js';
import {
  BPF_COMMANDS,
  CHMOD_MODE,
  CLONE_FLAGS,
  EXECVEAT_FLAGS,
  FCHOWNAT_FLAGS,
  FINIT_MODULE_FLAGS,
  LINKAT_FLAGS,
  MEMFD_CREATE_FLAGS,
  MOUNT_FLAGS,
  type NameTable,
  OPENAT2_RESOLVE,
  OPEN_FLAGS,
  PRCTL_OPTIONS,
  PTRACE_REQUESTS,
  RENAMEAT2_FLAGS,
  SIGNALS,
  SOCKET_FAMILIES,
  UMOUNT_FLAGS,
  UNLINKAT_FLAGS,
  renderNames,
  toFalco,
} from './falco-names.js';
import {
  absolutePath,
  fdTypeOf,
  memo,
  netTupleOf,
  ppmOpenFlags,
  renderOpenFlags,
  renderSockaddr,
  renderTuple,
} from './render.js';

export const SYSCALL_IDS: Readonly<Record<string, number>> = {
  execve: 59,
  execveat: 322,
  clone: 56,
  clone3: 435,
  fork: 57,
  vfork: 58,
  open: 2,
  openat: 257,
  openat2: 437,
  creat: 85,
  unlink: 87,
  unlinkat: 263,
  rename: 82,
  renameat: 264,
  renameat2: 316,
  mkdir: 83,
  mkdirat: 258,
  rmdir: 84,
  link: 86,
  linkat: 265,
  symlink: 88,
  symlinkat: 266,
  chmod: 90,
  fchmod: 91,
  fchmodat: 268,
  chown: 92,
  lchown: 94,
  fchown: 93,
  fchownat: 260,
  connect: 42,
  accept: 43,
  accept4: 288,
  bind: 49,
  listen: 50,
  socket: 41,
  sendto: 44,
  sendmsg: 46,
  ptrace: 101,
  setuid: 105,
  setgid: 106,
  setresuid: 117,
  setresgid: 119,
  mount: 165,
  umount2: 166,
  memfd_create: 319,
  dup: 32,
  dup2: 33,
  dup3: 292,
  init_module: 175,
  finit_module: 313,
  unshare: 272,
  setns: 308,
  bpf: 321,
  prctl: 157,
  kill: 62,
  userfaultfd: 323,
  chdir: 80,
  fchdir: 81,
};

/**
 * Calls the sensor always captures, whatever the rules need, because the
 * process table follows them (cwd). Their events are published only when a
 * rule asks for them.
 */
export const TRACKED_SYSCALLS: readonly string[] = ['chdir', 'fchdir'];

const NAMES_BY_ID = new Map<number, string>(Object.entries(SYSCALL_IDS).map(([n, id]) => [id, n]));

export function syscallName(id: number): string | undefined {
  return NAMES_BY_ID.get(id);
}

/** Whether syscall `id` is an execve or execveat. */
export function isExec(id: number): boolean {
  return id === SYSCALL_IDS.execve || id === SYSCALL_IDS.execveat;
}

/** An event's `type` for syscall `id`: its name, or `syscall_<id>` for an id the table does not name. */
export function callType(id: number): string {
  return TYPE_BY_ID[id] ?? `syscall_${id}`;
}
/** Names by id in an array: the rules' `evt.type` index reads the type of every event. */
const TYPE_BY_ID: readonly (string | undefined)[] = Array.from({ length: 1024 }, (_, id) =>
  NAMES_BY_ID.get(id),
);

/** Names -> ids; unknown names are returned separately so the caller can say which. */
export function resolveSyscalls(names: Iterable<string>): { ids: number[]; unknown: string[] } {
  const ids = new Set<number>();
  const unknown: string[] = [];
  for (const n of names) {
    const id = SYSCALL_IDS[n];
    if (id === undefined) unknown.push(n);
    else ids.add(id);
  }
  return { ids: [...ids].sort((a, b) => a - b), unknown };
}

export interface RenderedCall {
  readonly args: Record<string, string | number>;
  readonly rawargs: Record<string, string | number>;
  readonly fd?: FdInfo;
}

/**
 * Where Falco's resolved texts for ids come from: user and group names for
 * uid/gid arguments, a process's comm for pid arguments. The process table
 * answers all three; without it those arguments stay numbers.
 */
export interface ArgNameSource {
  user(uid: number): { readonly name: string } | undefined;
  group(gid: number): { readonly name: string } | undefined;
  get(pid: number): { readonly name: string } | undefined;
}

const s32 = (v: bigint | undefined): number => Number(BigInt.asIntN(32, v ?? 0n));
const s64 = (v: bigint | undefined): number => Number(BigInt.asIntN(64, v ?? 0n));
/** Addresses and flag words can exceed 2^53: keep them exact as decimal text. */
const u64 = (v: bigint | undefined): number | string => {
  const x = BigInt.asUintN(64, v ?? 0n);
  return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
};

/** Falco's `%#o` (PF_OCT numbers): `0644`, and `0` for zero. */
const octal = memo((v: number): string => (v === 0 ? '0' : `0${(v >>> 0).toString(8)}`));
/** Falco's `%X` (PF_HEX numbers). */
const hex = memo((v: number): string => (v >>> 0).toString(16).toUpperCase());

const ppmOpenFlagsOf = memo(ppmOpenFlags);

const L4_CHARS: Readonly<Record<string, string>> = { tcp: 't', udp: 'u', icmp: 'i', raw: 'r' };

/** Falco's resolved text of an fd argument: `<f>/path` for a known fd, AT_FDCWD, an errno name, or none. */
function fdText(fd: number, info: FdInfo | undefined): string | undefined {
  if (fd === AT_FDCWD) return 'AT_FDCWD';
  if (fd < 0) return errnoText(-fd);
  if (info === undefined || info.num !== fd || info.name === undefined) return undefined;
  const l4 = info.net ? (L4_CHARS[info.net.l4proto] ?? '') : '';
  return `<${FD_TYPE_CHARS[info.type]}${l4}>${info.name}`;
}

const AT_FDCWD = -100;

class Ctx {
  readonly args: Record<string, string | number> = {};
  readonly rawargs: Record<string, string | number> = {};
  fd: FdInfo | undefined;
  constructor(
    readonly rec: KernelRecord,
    readonly names: ArgNameSource | undefined,
  ) {}

  a(i: number): bigint {
    return this.rec.args[i] ?? 0n;
  }

  /** Absolute path of the path argument i (joined with its dirfd/cwd base), and the raw text. */
  path(i: number): { abs: string; raw: string } {
    const raw = this.rec.params.ustr.get(i) ?? '';
    return { abs: absolutePath(raw, this.rec.params.dirpath.get(i)), raw };
  }

  setPath(name: string, i: number): { abs: string; raw: string } {
    const p = this.path(i);
    this.args[name] = p.abs;
    return p;
  }

  /** A flag or enum argument: Falco's names in evt.arg, Falco's number in evt.rawarg. */
  named(name: string, t: NameTable, kernel: number): void {
    const v = toFalco(t, kernel);
    const text = renderNames(t, v);
    this.args[name] = text === '' ? String(v) : text;
    this.rawargs[name] = v;
  }

  /** Open flags: rendered text, and the raw value in Falco's PPM encoding (what evt.rawarg.flags means). */
  openFlags(v: number): void {
    this.args.flags = renderOpenFlags(v);
    this.rawargs.flags = ppmOpenFlagsOf(v);
  }

  /** A PT_ERRNO result: the errno name when negative (evt.arg.res = ENOENT, evt.rawarg.res = -2). */
  res(v: number = this.rec.ret): void {
    const text = v < 0 ? errnoText(-v) : undefined;
    if (text === undefined) this.args.res = v;
    else {
      this.args.res = text;
      this.rawargs.res = v;
    }
  }

  /** A PT_FD argument: `<f>/path` (or AT_FDCWD, an errno name) in evt.arg, the number in evt.rawarg. */
  fdArg(name: string, fd: number, info: FdInfo | undefined = this.fd): void {
    const text = fdText(fd, info);
    if (text === undefined) this.args[name] = fd;
    else {
      this.args[name] = text;
      this.rawargs[name] = fd;
    }
  }

  /** A directory fd of a *at call: AT_FDCWD, or `<d>` and the directory the probe resolved for path argument `pathArg`. */
  dirfdArg(name: string, argi: number, pathArg: number): void {
    const fd = this.rec.argS32(argi);
    const dir = fd >= 0 ? this.rec.params.dirpath.get(pathArg) : undefined;
    if (dir !== undefined) {
      this.args[name] = `<d>${dir}`;
      this.rawargs[name] = fd;
    } else this.fdArg(name, fd, undefined);
  }

  /** PT_UID / PT_GID / PT_PID: the name as Falco resolves it, the number raw. */
  idArg(name: string, id: number, kind: 'user' | 'group' | 'pid'): void {
    if (kind !== 'pid' && (id === -1 || id >>> 0 === 0xffffffff)) {
      this.args[name] = '<NONE>';
      this.rawargs[name] = -1;
      return;
    }
    const n =
      kind === 'user' ? this.names?.user(id) : kind === 'group' ? this.names?.group(id) : this.names?.get(id);
    if (n === undefined) {
      if (kind === 'pid' || this.names === undefined) this.args[name] = id;
      else {
        this.args[name] = '<NA>';
        this.rawargs[name] = id;
      }
      return;
    }
    this.args[name] = n.name;
    this.rawargs[name] = id;
  }

  /** fd info for args[i] or the return value; `pathOverride` is the string-based name Falco uses. */
  useFd(i: number, opts: { path?: { abs: string; raw: string }; isServer?: boolean } = {}): void {
    const info = this.rec.params.fdinfo.get(i);
    if (!info) return;
    const kpath = this.rec.params.fdpath.get(i);
    const tupleRaw = this.rec.params.socktuple.get(i);
    const net = tupleRaw ? netTupleOf(tupleRaw, opts.isServer ?? false) : undefined;
    let name: string | undefined = opts.path?.abs ?? kpath;
    if (net) name = renderTuple(net);
    const type = fdTypeOf(info.mode, info.sockFamily, kpath ?? name);
    // Plain assignments in a fixed order (no conditional spreads: they allocate on the hot path).
    const fd: { -readonly [K in keyof FdInfo]: FdInfo[K] } = { num: info.fd, type };
    if (name !== undefined) fd.name = name;
    if (opts.path !== undefined) fd.nameraw = opts.path.raw;
    fd.dev = info.dev;
    fd.ino = info.ino;
    if (net) fd.net = net;
    this.fd = fd;
  }
}

type Renderer = (c: Ctx) => void;

/** dev (PF_HEX) and ino of the opened file, as Falco's open exit events carry them. */
const devIno = (c: Ctx): void => {
  if (c.fd) {
    c.args.dev = hex(c.fd.dev ?? 0);
    c.args.ino = c.fd.ino ?? 0;
  }
};

const open: Renderer = (c) => {
  const p = c.path(0);
  c.useFd(ARGI_RET, { path: p });
  c.fdArg('fd', c.rec.ret);
  c.args.name = p.abs;
  if (c.rec.syscall === SYSCALL_IDS.creat) {
    c.args.mode = octal(c.rec.argU32(1));
  } else {
    c.openFlags(c.rec.argU32(1));
    c.args.mode = octal(c.rec.argU32(2));
  }
  devIno(c);
};

const openat: Renderer = (c) => {
  const p = c.path(1);
  c.useFd(ARGI_RET, { path: p });
  c.fdArg('fd', c.rec.ret);
  c.dirfdArg('dirfd', 0, 1);
  c.args.name = p.abs;
  if (c.rec.syscall === SYSCALL_IDS.openat2) {
    // openat2 passes struct open_how {u64 flags, mode, resolve}: the probe copies it.
    const how = c.rec.params.sockaddr.get(2);
    if (how !== undefined && how.length >= 16) {
      const v = Buffer.from(how.buffer, how.byteOffset, how.length);
      c.openFlags(Number(v.readBigUInt64LE(0) & 0xffffffffn));
      c.args.mode = octal(Number(v.readBigUInt64LE(8) & 0xffffn));
      if (how.length >= 24) c.named('resolve', OPENAT2_RESOLVE, Number(v.readBigUInt64LE(16) & 0xffffffffn));
    } else {
      c.args.flags = '';
    }
  } else {
    c.openFlags(c.rec.argU32(2));
    c.args.mode = octal(c.rec.argU32(3));
  }
  devIno(c);
};

const execve: Renderer = (c) => {
  c.res();
  const p = c.rec.params;
  if (c.rec.ret === 0 && p.argv) {
    c.args.exe = p.argv[0] ?? '';
    c.args.args = p.argv.slice(1).join(' ');
    if (p.exepath !== undefined) c.args.filename = p.exepath;
    if (p.cwd !== undefined) c.args.cwd = p.cwd;
  } else {
    const i = c.rec.syscall === SYSCALL_IDS.execveat ? 1 : 0;
    c.setPath('filename', i);
  }
  if (c.rec.syscall === SYSCALL_IDS.execveat) {
    c.dirfdArg('dirfd', 0, 1);
    c.named('flags', EXECVEAT_FLAGS, c.rec.argU32(4));
  }
};

const pathOnly =
  (name: string, extra?: (c: Ctx) => void): Renderer =>
  (c) => {
    c.res();
    c.setPath(name, 0);
    extra?.(c);
  };

const atPath =
  (name: string, extra?: (c: Ctx) => void): Renderer =>
  (c) => {
    c.res();
    c.dirfdArg('dirfd', 0, 1);
    c.setPath(name, 1);
    extra?.(c);
  };

const twoPaths =
  (a: string, b: string): Renderer =>
  (c) => {
    c.res();
    c.setPath(a, 0);
    c.setPath(b, 1);
  };

const twoAtPaths =
  (dirA: string, a: string, dirB: string, b: string, flags?: NameTable): Renderer =>
  (c) => {
    c.res();
    c.dirfdArg(dirA, 0, 1);
    c.setPath(a, 1);
    c.dirfdArg(dirB, 2, 3);
    c.setPath(b, 3);
    if (flags !== undefined) c.named('flags', flags, c.rec.argU32(4));
  };

const fdCall =
  (extra?: (c: Ctx) => void, isServer = false): Renderer =>
  (c) => {
    c.res();
    c.useFd(0, { isServer });
    c.fdArg('fd', c.rec.argS32(0));
    extra?.(c);
  };

const sockaddrArg = (c: Ctx, argi: number): string | undefined => {
  const b = c.rec.params.sockaddr.get(argi);
  return b ? renderSockaddr(b)?.text : undefined;
};

const connect: Renderer = (c) => {
  c.res();
  c.useFd(0, { isServer: false });
  const addr = sockaddrArg(c, 1);
  const net = c.fd?.net;
  if (net) c.args.tuple = renderTuple(net);
  else if (addr !== undefined) c.args.tuple = `->${addr}`;
  c.fdArg('fd', c.rec.argS32(0));
  if (addr !== undefined) c.args.addr = addr;
};

const accept: Renderer = (c) => {
  c.useFd(ARGI_RET, { isServer: true });
  c.fdArg('fd', c.rec.ret);
  if (c.fd?.net) c.args.tuple = renderTuple(c.fd.net);
  if (c.rec.syscall === SYSCALL_IDS.accept4) {
    // Falco's accept4 `flags` is a plain INT32: no names.
    c.args.flags = c.rec.argS32(3);
  }
};

const chownIds = (uidArg: number) => (c: Ctx) => {
  c.args.uid = s32(c.a(uidArg));
  c.args.gid = s32(c.a(uidArg + 1));
};

const RENDERERS: Readonly<Record<string, Renderer>> = {
  open,
  creat: open,
  openat,
  openat2: openat,
  execve,
  execveat: execve,
  memfd_create: (c) => {
    c.useFd(ARGI_RET);
    c.fdArg('fd', c.rec.ret);
    c.args.name = c.rec.params.ustr.get(0) ?? '';
    c.named('flags', MEMFD_CREATE_FLAGS, c.rec.argU32(1));
  },
  unlink: pathOnly('path'),
  rmdir: pathOnly('path'),
  mkdir: pathOnly('path', (c) => {
    c.args.mode = hex(c.rec.argU32(1));
  }),
  chmod: pathOnly('filename', (c) => c.named('mode', CHMOD_MODE, c.rec.argU32(1))),
  chown: pathOnly('path', chownIds(1)),
  lchown: pathOnly('path', chownIds(1)),
  umount2: pathOnly('name', (c) => c.named('flags', UMOUNT_FLAGS, c.rec.argU32(1))),
  unlinkat: atPath('name', (c) => c.named('flags', UNLINKAT_FLAGS, c.rec.argU32(2))),
  mkdirat: atPath('path', (c) => {
    c.args.mode = hex(c.rec.argU32(2));
  }),
  fchmodat: atPath('filename', (c) => c.named('mode', CHMOD_MODE, c.rec.argU32(2))),
  fchownat: atPath('pathname', (c) => {
    chownIds(2)(c);
    c.named('flags', FCHOWNAT_FLAGS, c.rec.argU32(4));
  }),
  rename: twoPaths('oldpath', 'newpath'),
  link: twoPaths('oldpath', 'newpath'),
  symlink: (c) => {
    c.res();
    c.args.target = c.rec.params.ustr.get(0) ?? '';
    c.setPath('linkpath', 1);
  },
  renameat: twoAtPaths('olddirfd', 'oldpath', 'newdirfd', 'newpath'),
  renameat2: twoAtPaths('olddirfd', 'oldpath', 'newdirfd', 'newpath', RENAMEAT2_FLAGS),
  linkat: twoAtPaths('olddir', 'oldpath', 'newdir', 'newpath', LINKAT_FLAGS),
  symlinkat: (c) => {
    c.res();
    c.args.target = c.rec.params.ustr.get(0) ?? '';
    c.dirfdArg('linkdirfd', 1, 2);
    c.setPath('linkpath', 2);
  },
  fchmod: fdCall((c) => c.named('mode', CHMOD_MODE, c.rec.argU32(1))),
  fchown: fdCall(chownIds(1)),
  finit_module: fdCall((c) => {
    c.args.uargs = c.rec.params.ustr.get(1) ?? '';
    c.named('flags', FINIT_MODULE_FLAGS, c.rec.argU32(2));
  }),
  connect,
  bind: (c) => {
    c.res();
    const addr = sockaddrArg(c, 1);
    if (addr !== undefined) c.args.addr = addr;
    c.useFd(0);
    c.fdArg('fd', c.rec.argS32(0));
  },
  listen: fdCall((c) => {
    c.args.backlog = c.rec.argS32(1);
  }),
  sendto: fdCall((c) => {
    c.args.size = c.rec.argU32(2);
    const addr = sockaddrArg(c, 4);
    if (c.fd?.net) c.args.tuple = renderTuple(c.fd.net);
    else if (addr !== undefined) c.args.tuple = `->${addr}`;
  }),
  sendmsg: fdCall((c) => {
    if (c.fd?.net) c.args.tuple = renderTuple(c.fd.net);
  }),
  accept,
  accept4: accept,
  socket: (c) => {
    c.useFd(ARGI_RET);
    c.fdArg('fd', c.rec.ret);
    const type = c.rec.argU32(1);
    c.named('domain', SOCKET_FAMILIES, c.rec.argU32(0) & 0xff);
    c.args.type = type;
    c.args.proto = c.rec.argU32(2);
    // SOCK_NONBLOCK and SOCK_CLOEXEC of `type`, as open flags.
    const f = ((type & 0o4000 ? 64 : 0) | (type & 0o2000000 ? 4096 : 0)) >>> 0;
    c.args.flags = renderNames(OPEN_FLAGS, f);
    c.rawargs.flags = f;
  },
  dup: (c) => {
    c.useFd(ARGI_RET);
    c.fdArg('res', c.rec.ret);
    c.fdArg('oldfd', c.rec.argS32(0));
  },
  dup2: (c) => {
    c.useFd(ARGI_RET);
    c.fdArg('res', c.rec.ret);
    c.fdArg('oldfd', c.rec.argS32(0));
    c.fdArg('newfd', c.rec.argS32(1));
  },
  dup3: (c) => {
    c.useFd(ARGI_RET);
    c.fdArg('res', c.rec.ret);
    c.fdArg('oldfd', c.rec.argS32(0));
    c.fdArg('newfd', c.rec.argS32(1));
    // Only O_CLOEXEC is carried, in Falco's open-flag encoding.
    const f = c.rec.argU32(2) & 0o2000000 ? 4096 : 0;
    c.args.flags = renderNames(OPEN_FLAGS, f) || String(f);
    c.rawargs.flags = f;
  },
  mount: (c) => {
    c.res();
    c.args.dev = c.rec.params.ustr.get(0) ?? '';
    c.setPath('dir', 1);
    c.args.type = c.rec.params.ustr.get(2) ?? '';
    let flags = c.rec.argU32(3);
    // The historic magic number in the top 16 bits is not a flag.
    if ((flags & 0xffff0000) >>> 0 === 0xc0ed0000) flags &= 0xffff;
    c.named('flags', MOUNT_FLAGS, flags);
  },
  ptrace: (c) => {
    c.res();
    c.named('request', PTRACE_REQUESTS, c.rec.argS32(0));
    c.idArg('pid', c.rec.argS32(1), 'pid');
    c.args.addr = u64(c.a(2));
    c.args.data = u64(c.a(3));
  },
  kill: (c) => {
    c.res();
    c.idArg('pid', c.rec.argS32(0), 'pid');
    const sig = c.rec.argU32(1) & 0xff;
    const name = SIGNALS.get(sig);
    if (name === undefined) c.args.sig = sig;
    else {
      c.args.sig = name;
      c.rawargs.sig = sig;
    }
  },
  setuid: (c) => {
    c.res();
    c.idArg('uid', c.rec.argS32(0), 'user');
  },
  setgid: (c) => {
    c.res();
    c.idArg('gid', c.rec.argS32(0), 'group');
  },
  setresuid: (c) => {
    c.res();
    c.idArg('ruid', c.rec.argS32(0), 'user');
    c.idArg('euid', c.rec.argS32(1), 'user');
    c.idArg('suid', c.rec.argS32(2), 'user');
  },
  setresgid: (c) => {
    c.res();
    c.idArg('rgid', c.rec.argS32(0), 'group');
    c.idArg('egid', c.rec.argS32(1), 'group');
    c.idArg('sgid', c.rec.argS32(2), 'group');
  },
  init_module: (c) => {
    c.res();
    c.args.length = u64(c.a(1));
    c.args.uargs = c.rec.params.ustr.get(2) ?? '';
  },
  unshare: (c) => {
    c.res();
    c.named('flags', CLONE_FLAGS, c.rec.argU32(0));
  },
  setns: (c) => {
    c.res();
    c.fdArg('fd', c.rec.argS32(0), undefined);
    c.named('nstype', CLONE_FLAGS, c.rec.argU32(1));
  },
  bpf: (c) => {
    c.fdArg('fd', c.rec.ret, undefined);
    c.named('cmd', BPF_COMMANDS, c.rec.argS32(0));
  },
  prctl: (c) => {
    c.res();
    c.named('option', PRCTL_OPTIONS, c.rec.argS32(0));
    c.args.arg2_int = s64(c.a(1));
  },
  userfaultfd: (c) => {
    c.res();
    // O_CLOEXEC and O_NONBLOCK, in Falco's open-flag encoding.
    const k = c.rec.argU32(0);
    const f = ((k & 0o4000 ? 64 : 0) | (k & 0o2000000 ? 4096 : 0)) >>> 0;
    c.args.flags = renderNames(OPEN_FLAGS, f) || String(f);
    c.rawargs.flags = f;
  },
  clone: (c) => {
    c.res();
    c.named('flags', CLONE_FLAGS, c.rec.argU32(0));
  },
  chdir: (c) => {
    c.res();
    // Falco's chdir `path` is the string as passed (CHARBUF), not made absolute.
    c.args.path = c.rec.params.ustr.get(0) ?? '';
  },
  fchdir: fdCall(),
  clone3: (c) => c.res(),
  fork: (c) => c.res(),
  vfork: (c) => c.res(),
};

/**
 * Calls whose rendering reads nothing but the record's call (no user, group
 * or process names): the opens, the most frequent captured calls by far.
 */
const PURE_CALLS: ReadonlySet<number> = new Set([
  SYSCALL_IDS.open,
  SYSCALL_IDS.creat,
  SYSCALL_IDS.openat,
  SYSCALL_IDS.openat2,
] as number[]);

/**
 * Renderings of pure calls by the call's bytes (CallMemo), shared frozen by
 * every event of an identical call. One per consumer (a Sensor's pipeline).
 */
export class CallRenderings {
  private readonly memo = new CallMemo<RenderedCall & { type: string }>();
  /** The names of the call being rendered (one closure, not one per call). */
  private names: ArgNameSource | undefined;
  private readonly make = (rec: KernelRecord) => freezeCall(renderCall(rec, this.names));

  render(rec: KernelRecord, names?: ArgNameSource): RenderedCall & { type: string } {
    if (!PURE_CALLS.has(rec.syscall)) return renderCall(rec, names);
    this.names = names;
    return this.memo.get(rec, this.make);
  }
}

function freezeCall(c: RenderedCall & { type: string }): RenderedCall & { type: string } {
  Object.freeze(c.args);
  Object.freeze(c.rawargs);
  if (c.fd !== undefined) {
    if (c.fd.net !== undefined) Object.freeze(c.fd.net);
    Object.freeze(c.fd);
  }
  return Object.freeze(c);
}

/** Renders a syscall record's arguments; unknown ids get their raw words as arg0..arg5. */
export function renderCall(rec: KernelRecord, names?: ArgNameSource): RenderedCall & { type: string } {
  const name = syscallName(rec.syscall);
  const c = new Ctx(rec, names);
  const r = name !== undefined ? RENDERERS[name] : undefined;
  if (r) r(c);
  else {
    c.args.res = rec.ret;
    rec.args.forEach((v, i) => {
      c.args[`arg${i}`] = u64(v);
    });
  }
  const out: {
    type: string;
    args: Record<string, string | number>;
    rawargs: Record<string, string | number>;
    fd?: FdInfo;
  } = {
    type: callType(rec.syscall),
    args: c.args,
    rawargs: c.rawargs,
  };
  if (c.fd) out.fd = c.fd;
  return out;
}
