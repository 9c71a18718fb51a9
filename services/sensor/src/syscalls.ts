/**
 * x86_64 system calls the sensor knows how to capture, with the arguments
 * Falco names for each (the exit event's parameters, plus the entry-only ones
 * rules use such as ptrace's `request`). The probe sends raw values; this
 * table turns them into `args`, `rawargs` and `fd`.
 */
import { Buffer } from 'node:buffer';
import type { FdInfo } from '@saker/events';
import { ARGI_RET, type KernelRecord } from './decoder.js';
import {
  absolutePath,
  fdTypeOf,
  netTupleOf,
  ppmOpenFlags,
  renderMode,
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
};

const NAMES_BY_ID = new Map<number, string>(Object.entries(SYSCALL_IDS).map(([n, id]) => [id, n]));

export function syscallName(id: number): string | undefined {
  return NAMES_BY_ID.get(id);
}

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

const s32 = (v: bigint | undefined): number => Number(BigInt.asIntN(32, v ?? 0n));
const u32 = (v: bigint | undefined): number => Number(BigInt.asUintN(32, v ?? 0n));
const s64 = (v: bigint | undefined): number => Number(BigInt.asIntN(64, v ?? 0n));
/** Addresses and flag words can exceed 2^53: keep them exact as decimal text. */
const u64 = (v: bigint | undefined): number | string => {
  const x = BigInt.asUintN(64, v ?? 0n);
  return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
};

class Ctx {
  readonly args: Record<string, string | number> = {};
  readonly rawargs: Record<string, string | number> = {};
  fd: FdInfo | undefined;
  constructor(readonly rec: KernelRecord) {}

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

  flags(name: string, v: number, render: (n: number) => string): void {
    this.args[name] = render(v);
    this.rawargs[name] = v;
  }

  /** Open flags: rendered text, and the raw value in Falco's PPM encoding (what evt.rawarg.flags means). */
  openFlags(v: number): void {
    this.args.flags = renderOpenFlags(v);
    this.rawargs.flags = ppmOpenFlags(v);
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

const open: Renderer = (c) => {
  const r = c.rec.ret;
  c.args.fd = r;
  const p = c.setPath('name', 0);
  if (c.rec.syscall === SYSCALL_IDS.creat) {
    c.flags('mode', c.rec.argU32(1), renderMode);
  } else {
    c.openFlags(c.rec.argU32(1));
    c.flags('mode', c.rec.argU32(2), renderMode);
  }
  c.useFd(ARGI_RET, { path: p });
  if (c.fd) {
    c.args.dev = c.fd.dev ?? 0;
    c.args.ino = c.fd.ino ?? 0;
  }
};

const openat: Renderer = (c) => {
  c.args.fd = c.rec.ret;
  c.args.dirfd = c.rec.argS32(0);
  const p = c.setPath('name', 1);
  if (c.rec.syscall === SYSCALL_IDS.openat2) {
    // openat2 passes struct open_how {u64 flags, mode, resolve}: the probe copies it.
    const how = c.rec.params.sockaddr.get(2);
    if (how !== undefined && how.length >= 16) {
      const v = Buffer.from(how.buffer, how.byteOffset, how.length);
      c.openFlags(Number(v.readBigUInt64LE(0) & 0xffffffffn));
      c.flags('mode', Number(v.readBigUInt64LE(8) & 0xffffn), renderMode);
      if (how.length >= 24) c.args.resolve = Number(v.readBigUInt64LE(16) & 0xffffffffn);
    } else {
      c.args.flags = '';
    }
  } else {
    c.openFlags(c.rec.argU32(2));
    c.flags('mode', c.rec.argU32(3), renderMode);
  }
  c.useFd(ARGI_RET, { path: p });
  if (c.fd) {
    c.args.dev = c.fd.dev ?? 0;
    c.args.ino = c.fd.ino ?? 0;
  }
};

const execve: Renderer = (c) => {
  c.args.res = c.rec.ret;
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
    c.args.dirfd = c.rec.argS32(0);
    c.rawargs.flags = c.rec.argU32(4);
    c.args.flags = c.rec.argU32(4);
  }
};

const pathOnly =
  (name: string, extra?: (c: Ctx) => void): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    c.setPath(name, 0);
    extra?.(c);
  };

const atPath =
  (name: string, extra?: (c: Ctx) => void): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    c.args.dirfd = c.rec.argS32(0);
    c.setPath(name, 1);
    extra?.(c);
  };

const twoPaths =
  (a: string, b: string): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    c.setPath(a, 0);
    c.setPath(b, 1);
  };

const twoAtPaths =
  (dirA: string, a: string, dirB: string, b: string, flagsArg?: number): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    c.args[dirA] = c.rec.argS32(0);
    c.setPath(a, 1);
    c.args[dirB] = c.rec.argS32(2);
    c.setPath(b, 3);
    if (flagsArg !== undefined) {
      c.args.flags = c.rec.argU32(flagsArg);
      c.rawargs.flags = c.rec.argU32(flagsArg);
    }
  };

const fdCall =
  (extra?: (c: Ctx) => void, isServer = false): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    c.args.fd = c.rec.argS32(0);
    c.useFd(0, { isServer });
    extra?.(c);
  };

const sockaddrArg = (c: Ctx, argi: number): string | undefined => {
  const b = c.rec.params.sockaddr.get(argi);
  return b ? renderSockaddr(b)?.text : undefined;
};

const connect: Renderer = (c) => {
  c.args.res = c.rec.ret;
  c.args.fd = c.rec.argS32(0);
  c.useFd(0, { isServer: false });
  const addr = sockaddrArg(c, 1);
  if (addr !== undefined) c.args.addr = addr;
  const net = c.fd?.net;
  if (net) c.args.tuple = renderTuple(net);
  else if (addr !== undefined) c.args.tuple = `->${addr}`;
};

const accept: Renderer = (c) => {
  c.args.fd = c.rec.ret;
  c.useFd(ARGI_RET, { isServer: true });
  if (c.fd?.net) c.args.tuple = renderTuple(c.fd.net);
  if (c.rec.syscall === SYSCALL_IDS.accept4) {
    c.args.flags = c.rec.argU32(3);
    c.rawargs.flags = c.rec.argU32(3);
  }
};

const resAnd =
  (names: readonly (readonly [string, number, (v: bigint) => number | string])[]): Renderer =>
  (c) => {
    c.args.res = c.rec.ret;
    for (const [n, i, conv] of names) c.args[n] = conv(c.a(i));
  };

const chownExtra = (uidArg: number) => (c: Ctx) => {
  c.args.uid = s32(c.a(uidArg));
  c.args.gid = s32(c.a(uidArg + 1));
};

/** linux/ptrace.h request numbers, named as Falco names them (`evt.arg.request contains PTRACE_ATTACH`). */
const PTRACE_REQUESTS: ReadonlyMap<number, string> = new Map([
  [0, 'PTRACE_TRACEME'],
  [1, 'PTRACE_PEEKTEXT'],
  [2, 'PTRACE_PEEKDATA'],
  [3, 'PTRACE_PEEKUSR'],
  [4, 'PTRACE_POKETEXT'],
  [5, 'PTRACE_POKEDATA'],
  [6, 'PTRACE_POKEUSR'],
  [7, 'PTRACE_CONT'],
  [8, 'PTRACE_KILL'],
  [9, 'PTRACE_SINGLESTEP'],
  [12, 'PTRACE_GETREGS'],
  [13, 'PTRACE_SETREGS'],
  [14, 'PTRACE_GETFPREGS'],
  [15, 'PTRACE_SETFPREGS'],
  [16, 'PTRACE_ATTACH'],
  [17, 'PTRACE_DETACH'],
  [18, 'PTRACE_GETFPXREGS'],
  [19, 'PTRACE_SETFPXREGS'],
  [24, 'PTRACE_SYSCALL'],
  [0x4200, 'PTRACE_SETOPTIONS'],
  [0x4201, 'PTRACE_GETEVENTMSG'],
  [0x4202, 'PTRACE_GETSIGINFO'],
  [0x4203, 'PTRACE_SETSIGINFO'],
  [0x4204, 'PTRACE_GETREGSET'],
  [0x4205, 'PTRACE_SETREGSET'],
  [0x4206, 'PTRACE_SEIZE'],
  [0x4207, 'PTRACE_INTERRUPT'],
  [0x4208, 'PTRACE_LISTEN'],
]);

export function renderPtraceRequest(req: number): string {
  return PTRACE_REQUESTS.get(req) ?? String(req);
}

const RENDERERS: Readonly<Record<string, Renderer>> = {
  open,
  creat: open,
  openat,
  openat2: openat,
  execve,
  execveat: execve,
  memfd_create: (c) => {
    c.args.fd = c.rec.ret;
    c.args.name = c.rec.params.ustr.get(0) ?? '';
    c.args.flags = c.rec.argU32(1);
    c.rawargs.flags = c.rec.argU32(1);
    c.useFd(ARGI_RET);
  },
  unlink: pathOnly('path'),
  rmdir: pathOnly('path'),
  mkdir: pathOnly('path', (c) => c.flags('mode', c.rec.argU32(1), renderMode)),
  chmod: pathOnly('filename', (c) => c.flags('mode', c.rec.argU32(1), renderMode)),
  chown: pathOnly('path', chownExtra(1)),
  lchown: pathOnly('path', chownExtra(1)),
  umount2: pathOnly('name', (c) => {
    c.args.flags = c.rec.argU32(1);
  }),
  unlinkat: atPath('name', (c) => {
    c.args.flags = c.rec.argU32(2) & 0x200 ? 'AT_REMOVEDIR' : '';
    c.rawargs.flags = c.rec.argU32(2);
  }),
  mkdirat: atPath('path', (c) => c.flags('mode', c.rec.argU32(2), renderMode)),
  fchmodat: atPath('filename', (c) => c.flags('mode', c.rec.argU32(2), renderMode)),
  fchownat: atPath('pathname', (c) => {
    chownExtra(2)(c);
    c.args.flags = c.rec.argU32(4);
  }),
  rename: twoPaths('oldpath', 'newpath'),
  link: twoPaths('oldpath', 'newpath'),
  symlink: (c) => {
    c.args.res = c.rec.ret;
    c.args.target = c.rec.params.ustr.get(0) ?? '';
    c.setPath('linkpath', 1);
  },
  renameat: twoAtPaths('olddirfd', 'oldpath', 'newdirfd', 'newpath'),
  renameat2: twoAtPaths('olddirfd', 'oldpath', 'newdirfd', 'newpath', 4),
  linkat: twoAtPaths('olddir', 'oldpath', 'newdir', 'newpath', 4),
  symlinkat: (c) => {
    c.args.res = c.rec.ret;
    c.args.target = c.rec.params.ustr.get(0) ?? '';
    c.args.linkdirfd = c.rec.argS32(1);
    c.setPath('linkpath', 2);
  },
  fchmod: fdCall((c) => c.flags('mode', c.rec.argU32(1), renderMode)),
  fchown: fdCall(chownExtra(1)),
  finit_module: fdCall((c) => {
    c.args.flags = c.rec.argU32(2);
  }),
  connect,
  bind: fdCall((c) => {
    const addr = sockaddrArg(c, 1);
    if (addr !== undefined) c.args.addr = addr;
  }),
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
    c.args.fd = c.rec.ret;
    c.args.domain = c.rec.argU32(0);
    c.args.type = c.rec.argU32(1);
    c.args.proto = c.rec.argU32(2);
    c.useFd(ARGI_RET);
  },
  dup: (c) => {
    c.args.res = c.rec.ret;
    c.args.oldfd = c.rec.argS32(0);
    c.useFd(ARGI_RET);
  },
  dup2: (c) => {
    c.args.res = c.rec.ret;
    c.args.oldfd = c.rec.argS32(0);
    c.args.newfd = c.rec.argS32(1);
    c.useFd(ARGI_RET);
  },
  dup3: (c) => {
    c.args.res = c.rec.ret;
    c.args.oldfd = c.rec.argS32(0);
    c.args.newfd = c.rec.argS32(1);
    c.args.flags = c.rec.argU32(2);
    c.useFd(ARGI_RET);
  },
  mount: (c) => {
    c.args.res = c.rec.ret;
    c.args.dev = c.rec.params.ustr.get(0) ?? '';
    c.setPath('dir', 1);
    c.args.type = c.rec.params.ustr.get(2) ?? '';
    c.args.flags = c.rec.argU32(3);
    c.rawargs.flags = c.rec.argU32(3);
  },
  ptrace: (c) => {
    c.args.res = c.rec.ret;
    c.flags('request', c.rec.argS32(0), renderPtraceRequest);
    c.args.pid = c.rec.argS32(1);
    c.args.addr = u64(c.a(2));
    c.args.data = u64(c.a(3));
  },
  kill: resAnd([
    ['pid', 0, s32],
    ['sig', 1, s32],
  ]),
  setuid: resAnd([['uid', 0, s32]]),
  setgid: resAnd([['gid', 0, s32]]),
  setresuid: resAnd([
    ['ruid', 0, s32],
    ['euid', 1, s32],
    ['suid', 2, s32],
  ]),
  setresgid: resAnd([
    ['rgid', 0, s32],
    ['egid', 1, s32],
    ['sgid', 2, s32],
  ]),
  init_module: resAnd([['length', 1, u64]]),
  unshare: resAnd([['flags', 0, u32]]),
  setns: resAnd([
    ['fd', 0, s32],
    ['nstype', 1, u32],
  ]),
  bpf: resAnd([['cmd', 0, s32]]),
  prctl: resAnd([
    ['option', 0, s32],
    ['arg2_int', 1, s64],
  ]),
  userfaultfd: resAnd([['flags', 0, u32]]),
  clone: resAnd([['flags', 0, u64]]),
  clone3: resAnd([]),
  fork: resAnd([]),
  vfork: resAnd([]),
};

/** Renders a syscall record's arguments; unknown ids get their raw words as arg0..arg5. */
export function renderCall(rec: KernelRecord): RenderedCall & { type: string } {
  const name = syscallName(rec.syscall);
  const c = new Ctx(rec);
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
    type: name ?? `syscall_${rec.syscall}`,
    args: c.args,
    rawargs: c.rawargs,
  };
  if (c.fd) out.fd = c.fd;
  return out;
}
