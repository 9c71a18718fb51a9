import { FD_TYPE_CHARS, type FdInfo, type NetTuple } from '@saker/events';
import type { Extractor, FieldValue } from '../types.js';
import { type Def, type Ev, field, fieldWithArg, parseIndex, unavailable } from './helpers.js';

/** Calls that name a file they open; when they fail there is no fd, and Falco reads the path from the arguments. */
const OPENS = new Set(['open', 'openat', 'openat2', 'creat', 'open_by_handle_at']);

function failedOpen(e: Ev): boolean {
  return e.fd === undefined && OPENS.has(e.type) && e.res !== undefined && e.res < 0;
}

function argText(v: string | number | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

/** fd.name, falling back for a failed open to the path it tried. */
function fdName(e: Ev): string | undefined {
  if (e.fd !== undefined) return e.fd.name;
  return failedOpen(e) ? argText(e.args.name ?? e.args.path) : undefined;
}

function isFileLike(fd: FdInfo | undefined): boolean {
  return fd === undefined || fd.type === 'file';
}

/** The last path dirOf cut and its folder: events of a loop carry the same path, so no new string each. */
let lastDirPath = '';
let lastDir = '/';

/** The folder part of a file path, as Falco cuts it: `/etc/shadow` → `/etc`, `shadow` → `/`. */
function dirOf(path: string): string {
  if (path === lastDirPath) return lastDir;
  const i = path.lastIndexOf('/');
  const dir = i <= 0 ? '/' : i < path.length - 1 ? path.slice(0, i) : path;
  lastDirPath = path;
  lastDir = dir;
  return dir;
}

function baseOf(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '/';
  return i < path.length - 1 ? path.slice(i + 1) : path;
}

function fdDirectory(e: Ev): string | undefined {
  const fd = e.fd;
  if (fd !== undefined && fd.type !== 'file' && fd.type !== 'directory') return undefined;
  const name = fdName(e);
  if (name === undefined) return undefined;
  return fd?.type === 'directory' ? name : dirOf(name);
}

/** The tuple of an IP socket; unix sockets and other fds have none. */
function ipNet(e: Ev): NetTuple | undefined {
  const net = e.fd?.net;
  return net !== undefined && net.family !== 'unix' ? net : undefined;
}

// Client/server come straight from the tuple. Local/remote depend on which side
// this process is: the accepting (server) side is local to the server address.
const cip = (e: Ev): FieldValue => ipNet(e)?.sip;
const sip = (e: Ev): FieldValue => ipNet(e)?.dip;
const lip = (e: Ev): FieldValue => {
  const n = ipNet(e);
  return n === undefined ? undefined : n.is_server ? n.dip : n.sip;
};
const rip = (e: Ev): FieldValue => {
  const n = ipNet(e);
  return n === undefined ? undefined : n.is_server ? n.sip : n.dip;
};
const cport = (e: Ev): number | undefined => ipNet(e)?.sport;
const sport = (e: Ev): number | undefined => ipNet(e)?.dport;
const lport = (e: Ev): number | undefined => {
  const n = ipNet(e);
  return n === undefined ? undefined : n.is_server ? n.dport : n.sport;
};
const rport = (e: Ev): number | undefined => {
  const n = ipNet(e);
  return n === undefined ? undefined : n.is_server ? n.sport : n.dport;
};
const bothIps = (e: Ev): FieldValue => {
  const n = ipNet(e);
  return n === undefined ? undefined : [n.sip, n.dip];
};
const bothPorts = (e: Ev): FieldValue => {
  const n = ipNet(e);
  return n === undefined ? undefined : [n.sport, n.dport];
};

/** Falco prints a port "protocol" as the port number unless name resolution is on; Saker never resolves. */
function proto(port: (e: Ev) => number | undefined): Extractor<Ev> {
  return (e) => {
    const p = port(e);
    return p === undefined ? undefined : String(p);
  };
}

const EITHER =
  'Matches when either end (client or server) matches: `=` and `in` hold when one end does, `!=` holds when neither does.';
const NET_NOTE =
  'The value is the address; a comparison against a network (`fd.snet in (10.0.0.0/8)`, `fd.net != "127.0.0.0/8"`) tests whether the address lies in it.';

/** Linux packs major/minor device numbers into one; Falco splits them the same way. */
const devMajor = (dev: number): number => (dev & 0xfff00) >>> 8;
const devMinor = (dev: number): number => (dev & 0xff) | ((dev >>> 12) & 0xfff00);

export const fdFields: readonly Def[] = [
  field({
    name: 'fd.num',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The number of the fd the call used or created; -1 for an open that failed.',
    extract: (e) => (e.fd !== undefined ? e.fd.num : failedOpen(e) ? -1 : undefined),
  }),
  field({
    name: 'fd.type',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The kind of fd: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, memfd, bpf, userfaultfd, io_uring, pidfd.',
    extract: (e) => e.fd?.type,
  }),
  field({
    name: 'fd.typechar',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The kind of fd as one letter: f file, d directory, 4 IPv4, 6 IPv6, u unix socket or userfaultfd, p pipe, e eventfd, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, m memfd, b bpf, r io_uring, P pidfd, o unknown. A failed open reads as f.',
    extract: (e) => (e.fd !== undefined ? FD_TYPE_CHARS[e.fd.type] : failedOpen(e) ? 'f' : undefined),
  }),
  field({
    name: 'fd.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The full name of the fd: the absolute path of a file, the tuple `10.0.0.1:34567->10.0.0.2:443` of a socket, the path of a unix socket. For a failed open, the path it tried.',
    extract: fdName,
  }),
  field({
    name: 'fd.nameraw',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The path of a file fd exactly as the process passed it, before it was made absolute.',
    extract: (e) => {
      if (e.fd !== undefined)
        return e.fd.nameraw ?? (isFileLike(e.fd) || e.fd.type === 'directory' ? e.fd.name : undefined);
      if (!failedOpen(e)) return undefined;
      const raw = e.rawargs?.name;
      return typeof raw === 'string' ? raw : argText(e.args.name ?? e.args.path);
    },
  }),
  field({
    name: 'fd.directory',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'For a file, the folder that holds it; for a directory fd, the directory itself.',
    extract: fdDirectory,
  }),
  field({
    name: 'fd.filename',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'For a file, its name without the folder.',
    extract: (e) => (e.fd?.type === 'file' && e.fd.name !== undefined ? baseOf(e.fd.name) : undefined),
  }),
  field({
    name: 'fd.ip',
    kind: 'ip',
    falcoType: 'IPADDR',
    isList: true,
    anyElement: true,
    description: `The IP addresses of both ends of an IP socket, client first. ${EITHER}`,
    extract: bothIps,
  }),
  field({
    name: 'fd.cip',
    kind: 'ip',
    falcoType: 'IPADDR',
    description: 'The client (connecting side) IP address.',
    extract: cip,
  }),
  field({
    name: 'fd.sip',
    kind: 'ip',
    falcoType: 'IPADDR',
    description: 'The server (accepting side) IP address.',
    extract: sip,
  }),
  field({
    name: 'fd.lip',
    kind: 'ip',
    falcoType: 'IPADDR',
    description:
      "The local IP address: the server's for a socket this process accepted, the client's for one it connected.",
    extract: lip,
  }),
  field({
    name: 'fd.rip',
    kind: 'ip',
    falcoType: 'IPADDR',
    description: 'The remote IP address: the peer of this process on the connection.',
    extract: rip,
  }),
  field({
    name: 'fd.port',
    kind: 'number',
    falcoType: 'PORT',
    isList: true,
    anyElement: true,
    description: `The ports of both ends of an IP socket, client first. ${EITHER} Ordering operators hold when either port satisfies them.`,
    extract: bothPorts,
  }),
  field({
    name: 'fd.cport',
    kind: 'number',
    falcoType: 'PORT',
    description: 'For TCP/UDP sockets, the client port.',
    extract: cport,
  }),
  field({
    name: 'fd.sport',
    kind: 'number',
    falcoType: 'PORT',
    description: 'For TCP/UDP sockets, the server port.',
    extract: sport,
  }),
  field({
    name: 'fd.lport',
    kind: 'number',
    falcoType: 'PORT',
    description: 'For TCP/UDP sockets, the local port (see fd.lip).',
    extract: lport,
  }),
  field({
    name: 'fd.rport',
    kind: 'number',
    falcoType: 'PORT',
    description: 'For TCP/UDP sockets, the remote port (see fd.rip).',
    extract: rport,
  }),
  field({
    name: 'fd.l4proto',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The transport protocol of a socket: tcp, udp, icmp or raw.',
    extract: (e) => {
      const p = e.fd?.net?.l4proto;
      return p === 'unknown' ? undefined : p;
    },
  }),
  field({
    name: 'fd.sockfamily',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The family of a socket: `ip` or `unix`.',
    extract: (e) => {
      const t = e.fd?.type;
      return t === 'ipv4' || t === 'ipv6' ? 'ip' : t === 'unix' ? 'unix' : undefined;
    },
  }),
  field({
    name: 'fd.is_server',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether this process is the server end of the connection (it accepted it).',
    extract: (e) => (e.fd === undefined ? undefined : (e.fd.net?.is_server ?? false)),
  }),
  field({
    name: 'fd.uid',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'An id for the fd that is unique on the node: the thread id followed by the fd number.',
    extract: (e) => (e.fd === undefined ? undefined : `${e.proc.tid}${e.fd.num}`),
  }),
  field({
    name: 'fd.containername',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The container id and fd.name joined by a colon, to tell apart the same path in different containers.',
    extract: (e) => {
      const n = fdName(e);
      return n === undefined ? undefined : `${e.container.id}:${n}`;
    },
  }),
  field({
    name: 'fd.containerdirectory',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The container id and fd.directory joined by a colon.',
    extract: (e) => {
      const d = fdDirectory(e);
      return d === undefined ? undefined : `${e.container.id}:${d}`;
    },
  }),
  field({
    name: 'fd.proto',
    kind: 'number',
    falcoType: 'PORT',
    isList: true,
    anyElement: true,
    description: `The protocol (port) of both ends of an IP socket. ${EITHER}`,
    extract: bothPorts,
  }),
  field({
    name: 'fd.cproto',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'For TCP/UDP sockets, the client protocol, shown as the port number (Saker does not resolve service names).',
    extract: proto(cport),
  }),
  field({
    name: 'fd.sproto',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'For TCP/UDP sockets, the server protocol, shown as the port number.',
    extract: proto(sport),
  }),
  field({
    name: 'fd.lproto',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'For TCP/UDP sockets, the local protocol, shown as the port number.',
    extract: proto(lport),
  }),
  field({
    name: 'fd.rproto',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'For TCP/UDP sockets, the remote protocol, shown as the port number.',
    extract: proto(rport),
  }),
  field({
    name: 'fd.net',
    kind: 'ipnet',
    falcoType: 'IPNET',
    isList: true,
    anyElement: true,
    description: `The network of either end of an IP socket. ${NET_NOTE} ${EITHER}`,
    extract: bothIps,
  }),
  field({
    name: 'fd.cnet',
    kind: 'ipnet',
    falcoType: 'IPNET',
    description: `The client network. ${NET_NOTE}`,
    extract: cip,
  }),
  field({
    name: 'fd.snet',
    kind: 'ipnet',
    falcoType: 'IPNET',
    description: `The server network. ${NET_NOTE}`,
    extract: sip,
  }),
  field({
    name: 'fd.lnet',
    kind: 'ipnet',
    falcoType: 'IPNET',
    description: `The local network (see fd.lip). ${NET_NOTE}`,
    extract: lip,
  }),
  field({
    name: 'fd.rnet',
    kind: 'ipnet',
    falcoType: 'IPNET',
    description: `The remote network (see fd.rip). ${NET_NOTE}`,
    extract: rip,
  }),
  field({
    name: 'fd.connected',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'For TCP/UDP sockets, whether the socket is connected.',
    extract: (e) => (e.fd === undefined ? undefined : (e.fd.net?.connected ?? false)),
  }),
  field({
    name: 'fd.name_changed',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether this call changed the name of the fd, as when a UDP socket is connected to a new peer.',
    extract: (e) => (e.fd === undefined ? undefined : (e.fd.name_changed ?? false)),
  }),
  ...(['cip', 'sip', 'lip', 'rip'] as const).map((end) =>
    unavailable({
      name: `fd.${end}.name`,
      kind: 'string',
      falcoType: 'CHARBUF',
      description: `The domain name the program looked up for fd.${end}.`,
      why: 'the sensor does not track DNS answers.',
    }),
  ),
  field({
    name: 'fd.dev',
    kind: 'number',
    falcoType: 'INT32',
    description: 'The device number (major and minor packed) of the file system that holds the file.',
    extract: (e) => e.fd?.dev,
  }),
  field({
    name: 'fd.dev.major',
    kind: 'number',
    falcoType: 'INT32',
    description: 'The major device number of the file system that holds the file.',
    extract: (e) => (e.fd?.dev === undefined ? undefined : devMajor(e.fd.dev)),
  }),
  field({
    name: 'fd.dev.minor',
    kind: 'number',
    falcoType: 'INT32',
    description: 'The minor device number of the file system that holds the file.',
    extract: (e) => (e.fd?.dev === undefined ? undefined : devMinor(e.fd.dev)),
  }),
  field({
    name: 'fd.ino',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The inode number of the file.',
    extract: (e) => e.fd?.ino,
  }),
  fieldWithArg({
    name: 'fd.types',
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: true,
    arg: { required: false, kind: 'index' },
    description:
      'The distinct kinds of all fds the process has open, as a list. fd.types[N] is a one-item list with the kind of fd N; Saker knows it for 0, 1, 2 (stdio) and for the fd of the event.',
    bind: (arg) => {
      if (arg === undefined) return (e) => e.proc.fdtypes;
      const n = parseIndex('fd.types', arg);
      return (e) => {
        const t = n <= 2 ? e.proc.stdio?.[n]?.type : undefined;
        if (t !== undefined) return [t];
        return e.fd !== undefined && e.fd.num === n ? [e.fd.type] : undefined;
      };
    },
  }),
  field({
    name: 'fd.is_upper_layer',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether the file is in the upper (written) layer of an overlayfs: created or changed in the container.',
    extract: (e) => e.fd?.is_upper_layer,
  }),
  field({
    name: 'fd.is_lower_layer',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the file is in a lower (image) layer of an overlayfs.',
    extract: (e) => e.fd?.is_lower_layer,
  }),
];
