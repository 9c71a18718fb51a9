/**
 * Falco-style text for raw kernel values: open flags, errno names, socket
 * tuples (the other flag arguments: falco-names.ts). Inputs are Linux x86_64
 * kernel values.
 */
import { type FdType, type L4Proto, type NetTuple, errnoText } from '@saker/events';
import type { SockTupleRaw } from './decoder.js';
import { OPEN_FLAGS, renderNames } from './falco-names.js';

// Linux asm-generic/fcntl.h (x86_64)
const O_ACCMODE = 0o3;

/** Memo for the renderers below: programs use a handful of flag values over and over. */
export function memo<T>(f: (n: number) => T): (n: number) => T {
  const m = new Map<number, T>();
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

/** `O_RDONLY|O_CLOEXEC`, `O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC`: Falco's names in Falco's order. */
export const renderOpenFlags = memo((flags) => renderNames(OPEN_FLAGS, ppmOpenFlags(flags)));

// Kernel open flag → Falco's own open-flag bit (PPM_O_*), which `evt.rawarg.flags`
// and the rule engine's evt.is_open_read/write read. The access mode becomes two
// bits: O_RDONLY is bit 0 and O_WRONLY bit 1, so O_RDWR sets both.
const PPM_OPEN: readonly (readonly [number, number])[] = [
  [0o100, 1 << 2], // O_CREAT
  [0o2000, 1 << 3], // O_APPEND
  [0o10000, 1 << 4], // O_DSYNC
  [0o200, 1 << 5], // O_EXCL
  [0o4000, 1 << 6], // O_NONBLOCK
  [0o1000, 1 << 8], // O_TRUNC
  [0o40000, 1 << 9], // O_DIRECT
  [0o200000, 1 << 10], // O_DIRECTORY
  [0o100000, 1 << 11], // O_LARGEFILE
  [0o2000000, 1 << 12], // O_CLOEXEC
  [0o20200000, 1 << 13], // O_TMPFILE
];
const O_SYNC = 0o4010000;
const PPM_O_SYNC = 1 << 7;

/**
 * Kernel open flags in Falco's PPM_O_* encoding. O_SYNC is set by either of its
 * bits, as Falco's driver tests it (so O_DSYNC alone reads `O_SYNC|O_DSYNC`);
 * O_TMPFILE needs both of its bits here, where Falco's driver takes
 * O_DIRECTORY alone for it (every directory open would read as a temp file).
 */
export function ppmOpenFlags(flags: number): number {
  const f = flags >>> 0;
  const acc = f & O_ACCMODE;
  let out = acc === 1 ? 2 : acc === 2 ? 3 : 1;
  for (const [bit, ppm] of PPM_OPEN) if ((f & bit) === bit) out |= ppm;
  if ((f & O_SYNC) !== 0) out |= PPM_O_SYNC;
  return out;
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
function normalizePath(p: string): string {
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
