/**
 * Falco-style text for raw kernel values: open flags, file modes, errno names,
 * socket tuples. Inputs are Linux x86_64 kernel values (not Falco's PPM
 * encodings); see docs/sensor.md for where that matters.
 */
import { type FdType, type L4Proto, type NetTuple, errnoText } from '@saker/events';
import type { SockTupleRaw } from './decoder.js';

// Linux asm-generic/fcntl.h (x86_64)
const O_ACCMODE = 0o3;
const O_FLAGS: readonly (readonly [string, number])[] = [
  // Falco's order: modifiers first, then the access mode, then O_CLOEXEC.
  ['O_LARGEFILE', 0o100000],
  ['O_DIRECTORY', 0o200000],
  ['O_DIRECT', 0o40000],
  ['O_TRUNC', 0o1000],
  ['O_SYNC', 0o4010000],
  ['O_NONBLOCK', 0o4000],
  ['O_EXCL', 0o200],
  ['O_DSYNC', 0o10000],
  ['O_APPEND', 0o2000],
  ['O_CREAT', 0o100],
];
const O_TAIL: readonly (readonly [string, number])[] = [
  ['O_CLOEXEC', 0o2000000],
  ['O_NOFOLLOW', 0o400000],
  ['O_NOATIME', 0o1000000],
  ['O_NOCTTY', 0o400],
  ['O_PATH', 0o10000000],
  ['O_TMPFILE', 0o20200000],
  ['FASYNC', 0o20000],
];

/** Memo for the renderers below: programs use a handful of flag and mode values over and over. */
function memo(f: (n: number) => string): (n: number) => string {
  const m = new Map<number, string>();
  return (n) => {
    let v = m.get(n);
    if (v === undefined) {
      v = f(n);
      if (m.size >= 4096) m.clear();
      m.set(n, v);
    }
    return v;
  };
}

/** `O_RDONLY|O_CLOEXEC`, `O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC`. */
export const renderOpenFlags = memo(renderOpenFlagsUncached);

function renderOpenFlagsUncached(flags: number): string {
  const out: string[] = [];
  let f = flags >>> 0;
  // O_TMPFILE contains O_DIRECTORY, O_SYNC contains O_DSYNC: match them whole first.
  const tmpfile = (f & 0o20200000) === 0o20200000;
  for (const [name, bit] of O_FLAGS) {
    if (name === 'O_DIRECTORY' && tmpfile) continue;
    if ((f & bit) === bit) {
      out.push(name);
      f &= ~bit;
    }
  }
  const acc = flags & O_ACCMODE;
  out.push(acc === 1 ? 'O_WRONLY' : acc === 2 ? 'O_RDWR' : acc === 0 ? 'O_RDONLY' : 'O_ACCMODE');
  for (const [name, bit] of O_TAIL) {
    if ((f & bit) === bit) {
      out.push(name);
      f &= ~bit;
    }
  }
  return out.join('|');
}

// Falco's own open-flag encoding (PPM_O_*), which `evt.rawarg.flags` and the
// rule engine's evt.is_open_read/write read. The access mode becomes two bits:
// O_RDONLY is bit 0 and O_WRONLY bit 1, so O_RDWR sets both.
const PPM_OPEN: readonly (readonly [number, number])[] = [
  [0o100, 1 << 2], // O_CREAT
  [0o2000, 1 << 3], // O_APPEND
  [0o10000, 1 << 4], // O_DSYNC
  [0o200, 1 << 5], // O_EXCL
  [0o4000, 1 << 6], // O_NONBLOCK
  [0o4010000, 1 << 7], // O_SYNC
  [0o1000, 1 << 8], // O_TRUNC
  [0o40000, 1 << 9], // O_DIRECT
  [0o200000, 1 << 10], // O_DIRECTORY
  [0o100000, 1 << 11], // O_LARGEFILE
  [0o2000000, 1 << 12], // O_CLOEXEC
  [0o20200000, 1 << 13], // O_TMPFILE
];

/** Kernel open flags in Falco's PPM_O_* encoding. */
export function ppmOpenFlags(flags: number): number {
  const f = flags >>> 0;
  const acc = f & O_ACCMODE;
  let out = acc === 0 ? 1 : acc === 1 ? 2 : acc === 2 ? 3 : 0;
  for (const [bit, ppm] of PPM_OPEN) if ((f & bit) === bit) out |= ppm;
  return out;
}

/** `S_ISUID|S_IRWXU|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH` for 04755; `0` renders as `0`. */
export const renderMode = memo(renderModeUncached);

function renderModeUncached(mode: number): string {
  const m = mode & 0o7777;
  const out: string[] = [];
  if (m & 0o4000) out.push('S_ISUID');
  if (m & 0o2000) out.push('S_ISGID');
  if (m & 0o1000) out.push('S_ISVTX');
  const who: readonly (readonly [string, string, number])[] = [
    ['USR', 'U', 6],
    ['GRP', 'G', 3],
    ['OTH', 'O', 0],
  ];
  for (const [suffix, letter, shift] of who) {
    const bits = (m >> shift) & 7;
    if (bits === 7) {
      out.push(`S_IRWX${letter}`);
      continue;
    }
    if (bits & 4) out.push(`S_IR${suffix}`);
    if (bits & 2) out.push(`S_IW${suffix}`);
    if (bits & 1) out.push(`S_IX${suffix}`);
  }
  return out.length > 0 ? out.join('|') : '0';
}

/** `-2` → `ENOENT`; non-negative results render as their number. */
export function renderRes(res: number): string {
  if (res >= 0) return String(res);
  const e = -res;
  return errnoText(e) ?? `E${e}`;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;
const S_IFIFO = 0o010000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;

/** fd.type from the inode mode and, for sockets, the family. Memfd is told by its name. */
export function fdTypeOf(mode: number, sockFamily: number, name?: string): FdType {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return 'directory';
    case S_IFREG:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
      return name?.startsWith('/memfd:') ? 'memfd' : 'file';
    case S_IFIFO:
      return 'pipe';
    case S_IFSOCK:
      if (sockFamily === AF_INET) return 'ipv4';
      if (sockFamily === AF_INET6) return 'ipv6';
      if (sockFamily === AF_UNIX) return 'unix';
      if (sockFamily === AF_NETLINK) return 'netlink';
      return 'unknown';
    default:
      return 'unknown';
  }
}

function l4ProtoOf(proto: number, skType: number): L4Proto {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 || proto === 58) return 'icmp';
  if (skType === 3) return 'raw';
  return 'unknown';
}

export function ipText(family: number, addr: Uint8Array): string {
  if (family === AF_INET) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((addr[i] ?? 0) << 8) | (addr[i + 1] ?? 0)).toString(16));
  // Collapse the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function hostPort(family: number, ip: string, port: number): string {
  return family === AF_INET6 ? `${ip}:${port}` : `${ip}:${port}`;
}

/**
 * The connection tuple, client first as Falco orders it. `isServer` is true for
 * accept: the remote end is then the client.
 */
export function netTupleOf(t: SockTupleRaw, isServer: boolean): NetTuple | undefined {
  if (t.family !== AF_INET && t.family !== AF_INET6) return undefined;
  const local = ipText(t.family, t.laddr);
  const remote = ipText(t.family, t.raddr);
  const [sip, sport, dip, dport] = isServer
    ? [remote, t.rport, local, t.lport]
    : [local, t.lport, remote, t.rport];
  return {
    l4proto: l4ProtoOf(t.proto, t.skType),
    family: t.family === AF_INET ? 'ipv4' : 'ipv6',
    sip,
    sport,
    dip,
    dport,
    is_server: isServer,
    connected: t.rport !== 0,
  };
}

/** `127.0.0.1:34567->127.0.0.1:8080` */
export function renderTuple(n: NetTuple): string {
  const fam = n.family === 'ipv6' ? AF_INET6 : AF_INET;
  return `${hostPort(fam, n.sip, n.sport)}->${hostPort(fam, n.dip, n.dport)}`;
}

export interface SockaddrText {
  readonly family: number;
  /** `1.2.3.4:80`, `[::1]:80` style without brackets as Falco prints, or a unix path. */
  readonly text: string;
}

/** A user-space struct sockaddr as Falco prints it in `addr`/`tuple` args. */
export function renderSockaddr(b: Uint8Array): SockaddrText | undefined {
  if (b.length < 2) return undefined;
  const family = (b[0] ?? 0) | ((b[1] ?? 0) << 8);
  const port = b.length >= 4 ? ((b[2] ?? 0) << 8) | (b[3] ?? 0) : 0;
  if (family === AF_INET && b.length >= 8)
    return { family, text: `${ipText(AF_INET, b.subarray(4, 8))}:${port}` };
  if (family === AF_INET6 && b.length >= 24)
    return { family, text: `${ipText(AF_INET6, b.subarray(8, 24))}:${port}` };
  if (family === AF_UNIX) {
    const path = b.subarray(2);
    const nul = path.indexOf(0, path[0] === 0 ? 1 : 0);
    const raw = path.subarray(0, nul >= 0 ? nul : path.length);
    // An abstract socket starts with NUL; Falco shows it with a leading '@'.
    const text = raw[0] === 0 ? `@${Buffer.from(raw.subarray(1)).toString()}` : Buffer.from(raw).toString();
    return { family, text };
  }
  return { family, text: '' };
}

/** Joins a path the process passed with the directory it was relative to. */
export function absolutePath(raw: string, base: string | undefined): string {
  if (raw.startsWith('/')) return normalizePath(raw);
  if (base === undefined) return raw;
  return normalizePath(`${base}/${raw}`);
}

/** Lexical `.`/`..` cleanup, as Falco does for fd.name; symlinks are not resolved. */
export function normalizePath(p: string): string {
  // Fast path: already clean (absolute, no `//`, no `.`/`..` segment, no trailing `/`).
  if (
    p.charCodeAt(0) === 47 &&
    p.indexOf('//') < 0 &&
    p.indexOf('/.') < 0 &&
    (p.length === 1 || p.charCodeAt(p.length - 1) !== 47)
  )
    return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}
