import { errnoText, nsToFalcoTime } from '@saker/events';
import { fsPath } from './fspath.js';
import { type Def, type Ev, field, fieldWithArg, isIndex, unavailable } from './helpers.js';

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/** `-2` → `ENOENT`; an unknown code is printed as its number. */
function errnoName(res: number): string {
  return errnoText(-res) ?? String(res);
}

/** What a call does with the fd it is given: read from it, write to it, or neither. */
const READS = new Set([
  'read',
  'pread',
  'pread64',
  'readv',
  'preadv',
  'preadv2',
  'recv',
  'recvfrom',
  'recvmsg',
  'recvmmsg',
]);
const WRITES = new Set([
  'write',
  'pwrite',
  'pwrite64',
  'writev',
  'pwritev',
  'pwritev2',
  'send',
  'sendto',
  'sendmsg',
  'sendmmsg',
  'sendfile',
  'sendfile64',
  'splice',
]);
const WAITS = new Set([
  'nanosleep',
  'clock_nanosleep',
  'futex',
  'poll',
  'ppoll',
  'select',
  'pselect6',
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'wait4',
  'waitid',
  'pause',
]);

type Category =
  | 'file'
  | 'net'
  | 'IPC'
  | 'memory'
  | 'process'
  | 'sleep'
  | 'system'
  | 'signal'
  | 'user'
  | 'time'
  | 'wait'
  | 'other';

function group(cat: Category, names: string): [string, Category][] {
  return names.split(' ').map((n) => [n, cat]);
}

/** Falco's category of each call that is not an I/O call (those take the category of their fd). */
const CATEGORY = new Map<string, Category>([
  ...group(
    'file',
    'open openat openat2 open_by_handle_at creat close stat lstat fstat newfstatat statx stat64 lstat64 fstat64 ' +
      'access faccessat faccessat2 chmod fchmod fchmodat chown lchown fchown fchownat mkdir mkdirat rmdir ' +
      'unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat readlink readlinkat truncate ' +
      'ftruncate lseek llseek getdents getdents64 flock fsync fdatasync mount umount umount2 chdir fchdir ' +
      'getcwd dup dup2 dup3 fcntl ioctl mknod mknodat utime utimes utimensat futimesat quotactl fsconfig ' +
      'memfd_create copy_file_range',
  ),
  ...group(
    'net',
    'socket bind connect listen accept accept4 shutdown getsockname getpeername setsockopt getsockopt socketcall',
  ),
  ...group(
    'IPC',
    'pipe pipe2 socketpair eventfd eventfd2 semop semget semctl msgsnd msgrcv msgget msgctl shmget',
  ),
  ...group(
    'memory',
    'brk mmap mmap2 munmap mprotect mremap mlock mlock2 munlock mlockall munlockall madvise userfaultfd',
  ),
  ...group(
    'process',
    'execve execveat clone clone3 fork vfork exit exit_group prctl ptrace setns unshare chroot pivot_root ' +
      'capset setrlimit prlimit getrlimit setsid setpgid getpid getppid gettid process_vm_readv ' +
      'process_vm_writev pidfd_open pidfd_getfd seccomp',
  ),
  ...group('sleep', 'nanosleep clock_nanosleep'),
  ...group(
    'system',
    'init_module finit_module delete_module bpf reboot sethostname setdomainname syslog sysinfo uname ' +
      'perf_event_open kexec_load kexec_file_load iopl ioperm',
  ),
  ...group(
    'signal',
    'kill tkill tgkill signalfd signalfd4 rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack',
  ),
  ...group(
    'user',
    'setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid getuid geteuid getgid getegid setgroups',
  ),
  ...group(
    'time',
    'clock_gettime clock_settime gettimeofday settimeofday adjtimex timerfd_create timerfd_settime',
  ),
  ...group('wait', 'futex poll ppoll select pselect6 epoll_wait epoll_pwait epoll_pwait2 wait4 waitid pause'),
]);

function category(e: Ev): string {
  if (READS.has(e.type) || WRITES.has(e.type)) {
    switch (e.fd?.type) {
      case 'file':
      case 'directory':
        return 'file';
      case 'ipv4':
      case 'ipv6':
        return 'net';
      case 'unix':
      case 'pipe':
        return 'ipc';
      default:
        return 'unknown';
    }
  }
  return CATEGORY.get(e.type) ?? 'other';
}

// Open flags in Falco's own encoding (PPM_O_*), which is what evt.rawarg.flags carries.
const O_RDONLY = 1 << 0;
const O_WRONLY = 1 << 1;
const O_CREAT = 1 << 2;
const O_TMPFILE = 1 << 13;
const O_F_CREATED = 1 << 14;
const EXEC_BITS = 0o111;

const OPENS = new Set(['open', 'openat', 'openat2', 'open_by_handle_at']);

/**
 * The open flags as Falco's bit set. Numeric raw flags are used as they are;
 * rendered text (`O_RDWR|O_CREAT`, or `66(O_RDWR|O_CREAT)`) is read by name
 * without splitting, so the hot path does not allocate.
 */
function openFlags(e: Ev): number {
  const raw = e.rawargs?.flags;
  if (typeof raw === 'number') return raw;
  const v = raw ?? e.args.flags;
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const c = v.charCodeAt(0);
  if (c >= 48 && c <= 57) return Number.parseInt(v, 10);
  return FLAGS_BY_TEXT.get(v) ?? namedFlags(v);
}

/**
 * Flag sets already read, by their text: a node renders few distinct flag
 * texts, and reading one by name costs six substring searches (the
 * pipeline's engine spent ~8 % of its CPU there). Bounded in entries and in
 * text length, so hostile texts cannot grow it.
 */
const FLAGS_BY_TEXT = new Map<string, number>();
const FLAGS_BY_TEXT_ENTRIES = 1024;
const FLAGS_BY_TEXT_LENGTH = 128;

function namedFlags(v: string): number {
  let f = 0;
  if (v.includes('O_RDWR')) f |= O_RDONLY | O_WRONLY;
  if (v.includes('O_RDONLY')) f |= O_RDONLY;
  if (v.includes('O_WRONLY')) f |= O_WRONLY;
  if (v.includes('O_CREAT')) f |= O_CREAT;
  if (v.includes('O_TMPFILE')) f |= O_TMPFILE;
  if (v.includes('O_F_CREATED')) f |= O_F_CREATED;
  if (v.length <= FLAGS_BY_TEXT_LENGTH) {
    if (FLAGS_BY_TEXT.size >= FLAGS_BY_TEXT_ENTRIES) FLAGS_BY_TEXT.clear();
    FLAGS_BY_TEXT.set(v, f);
  }
  return f;
}

/** The permission bits of the `mode` argument: a number, octal text (`0755`) or names (`S_IRWXU|S_IXGRP`). */
function modeBits(e: Ev): number | undefined {
  const raw = e.rawargs?.mode;
  if (typeof raw === 'number') return raw;
  const v = raw ?? e.args.mode;
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const c = v.charCodeAt(0);
  if (c >= 48 && c <= 57) return Number.parseInt(v, 8);
  let m = 0;
  for (const [name, bit] of MODE_NAMES) if (v.includes(name)) m |= bit;
  return m;
}

const MODE_NAMES: readonly (readonly [string, number])[] = [
  ['S_IRWXU', 0o700],
  ['S_IRWXG', 0o070],
  ['S_IRWXO', 0o007],
  ['S_IRUSR', 0o400],
  ['S_IWUSR', 0o200],
  ['S_IXUSR', 0o100],
  ['S_IRGRP', 0o040],
  ['S_IWGRP', 0o020],
  ['S_IXGRP', 0o010],
  ['S_IROTH', 0o004],
  ['S_IWOTH', 0o002],
  ['S_IXOTH', 0o001],
  ['S_ISUID', 0o4000],
  ['S_ISGID', 0o2000],
  ['S_ISVTX', 0o1000],
];

function text(v: string | number | undefined): string | undefined {
  return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
}

/** The `index`-th argument in the order the sensor wrote them, without allocating a key array. */
function argAt(args: Readonly<Record<string, string | number>>, index: number): string | number | undefined {
  let i = 0;
  for (const k in args) {
    if (i === index) return args[k];
    i++;
  }
  return undefined;
}

function renderArgs(e: Ev): string {
  let out = '';
  const raw = e.rawargs;
  for (const k in e.args) {
    if (out.length > 0) out += ' ';
    const v = e.args[k];
    const r = raw?.[k];
    out += r !== undefined && r !== v ? `${k}=${r}(${v})` : `${k}=${v}`;
  }
  return out;
}

const TIME_OF_DAY = 11;

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

const failed = (e: Ev): boolean => e.res !== undefined && e.res < 0;
const errorIn =
  (cats: readonly string[]) =>
  (e: Ev): number =>
    failed(e) && cats.includes(category(e)) ? 1 : 0;

export const evtFields: readonly Def[] = [
  field({
    name: 'evt.num',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The sequence number of the event on its node.',
    extract: (e) => e.num,
  }),
  field({
    name: 'evt.time',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The time of day of the event with nanoseconds, in UTC: `16:17:57.881781397`.',
    extract: (e) => nsToFalcoTime(e.ts, false),
  }),
  field({
    name: 'evt.time.s',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The time of day of the event to the second, in UTC: `16:17:57`.',
    extract: (e) => nsToFalcoTime(e.ts, false).slice(0, 8),
  }),
  field({
    name: 'evt.time.iso8601',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The event time as ISO 8601 with nanoseconds and offset: `2016-08-04T16:17:57.881781397+0000`. (Falco JSON output_fields print it as the integer nanoseconds; that is the output formatter\u2019s job.)',
    extract: (e) => nsToFalcoTime(e.ts, true),
  }),
  field({
    name: 'evt.datetime',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The event date and time with nanoseconds, in UTC: `2016-08-04 16:17:57.881781397`.',
    extract: (e) => {
      const iso = nsToFalcoTime(e.ts, true);
      return `${iso.slice(0, 10)} ${iso.slice(TIME_OF_DAY, -5)}`;
    },
  }),
  field({
    name: 'evt.datetime.s',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The event date and time to the second, in UTC: `2016-08-04 16:17:57`.',
    extract: (e) => {
      const iso = nsToFalcoTime(e.ts, true);
      return `${iso.slice(0, 10)} ${iso.slice(TIME_OF_DAY, TIME_OF_DAY + 8)}`;
    },
  }),
  field({
    name: 'evt.rawtime',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      'Nanoseconds since the epoch. Returned as the exact decimal string, because the value does not fit a JS number; compare it numerically.',
    extract: (e) => e.ts,
  }),
  field({
    name: 'evt.rawtime.s',
    kind: 'number',
    falcoType: 'ABSTIME',
    description: 'Whole seconds since the epoch.',
    extract: (e) => (e.ts.length > 9 ? Number(e.ts.slice(0, -9)) : 0),
  }),
  field({
    name: 'evt.rawtime.ns',
    kind: 'number',
    falcoType: 'ABSTIME',
    description: 'The nanoseconds within the second of the event time.',
    extract: (e) => Number(e.ts.length > 9 ? e.ts.slice(-9) : e.ts),
  }),
  unavailable({
    name: 'evt.reltime',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Nanoseconds since the start of the capture.',
    why: 'a self-contained event has no capture start.',
  }),
  unavailable({
    name: 'evt.reltime.s',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Seconds since the start of the capture.',
    why: 'a self-contained event has no capture start.',
  }),
  unavailable({
    name: 'evt.reltime.ns',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'The nanosecond part of the time since the start of the capture.',
    why: 'a self-contained event has no capture start.',
  }),
  unavailable({
    name: 'evt.deltatime',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Nanoseconds since the previous event.',
    why: 'events are evaluated independently, so there is no previous event.',
  }),
  unavailable({
    name: 'evt.deltatime.s',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Whole seconds since the previous event.',
    why: 'events are evaluated independently, so there is no previous event.',
  }),
  unavailable({
    name: 'evt.deltatime.ns',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'The nanosecond part of the time since the previous event.',
    why: 'events are evaluated independently, so there is no previous event.',
  }),
  unavailable({
    name: 'evt.pluginname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The plugin that produced the event.',
    why: 'syscall events come from the sensor, not a plugin.',
  }),
  unavailable({
    name: 'evt.plugininfo',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'A summary of a plugin event.',
    why: 'syscall events come from the sensor, not a plugin.',
  }),
  field({
    name: 'evt.source',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The event source: `syscall`.',
    extract: (e) => e.source,
  }),
  field({
    name: 'evt.is_async',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether the event is asynchronous (not tied to a system call). Always false for syscall events.',
    extract: () => false,
  }),
  unavailable({
    name: 'evt.asynctype',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The kind of an asynchronous event.',
    why: 'Saker syscall events are never asynchronous.',
  }),
  field({
    name: 'evt.hostname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the node that produced the event.',
    extract: (e) => e.hostname,
  }),
  field({
    name: 'evt.dir',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: '`<` for the return of a call (what the sensor emits), `>` for its entry.',
    extract: (e) => e.dir ?? '<',
  }),
  field({
    name: 'evt.type',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The system call, without prefix: `openat`, `execve`, `connect`.',
    extract: (e) => e.type,
  }),
  fieldWithArg({
    name: 'evt.type.is',
    kind: 'number',
    falcoType: 'UINT32',
    arg: { required: true, kind: 'key', dotted: true },
    description: '1 when the event is of the named type (`evt.type.is.open`), otherwise 0.',
    bind: (arg) => {
      const want = arg as string;
      return (e) => (e.type === want ? 1 : 0);
    },
  }),
  field({
    name: 'syscall.type',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The system call name. Every Saker syscall event is a system call, so this equals evt.type.',
    extract: (e) => e.type,
  }),
  field({
    name: 'evt.category',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'What the call is about: file, net, IPC, memory, process, sleep, system, signal, user, time, wait or other. Reads and writes take the category of their fd (file, net, ipc).',
    extract: category,
  }),
  field({
    name: 'evt.cpu',
    kind: 'number',
    falcoType: 'INT16',
    description: 'The CPU the event happened on.',
    extract: (e) => e.cpu,
  }),
  field({
    name: 'evt.args',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'All arguments as `name=value name=value`; an argument with a raw number is shown as `flags=4097(O_RDONLY|O_CLOEXEC)`.',
    extract: renderArgs,
  }),
  field({
    name: 'evt.info',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The same as evt.args.',
    extract: renderArgs,
  }),
  fieldWithArg({
    name: 'evt.arg',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: true, kind: 'index-or-key', dotted: true },
    description:
      'One argument as text, by name (`evt.arg.flags`, `evt.arg[name]`) or by position (`evt.arg[0]`). Flags and modes read as their names (`O_RDONLY|O_CLOEXEC`).',
    bind: (arg) => {
      const a = arg as string;
      if (isIndex(a)) {
        const i = Number(a);
        return (e) => text(argAt(e.args, i));
      }
      return (e) => text(e.args[a]);
    },
  }),
  fieldWithArg({
    name: 'evt.rawarg',
    kind: 'number',
    falcoType: 'DYNAMIC',
    arg: { required: true, kind: 'key', dotted: true },
    description:
      'One argument by name in its raw form: the number behind flags and modes (`evt.rawarg.flags`), otherwise the value as the sensor sent it (a number for numeric arguments, text for paths).',
    bind: (arg) => {
      const a = arg as string;
      return (e) => e.rawargs?.[a] ?? e.args[a];
    },
  }),
  field({
    name: 'evt.buffer',
    kind: 'string',
    falcoType: 'BYTEBUF',
    description:
      'The data buffer of calls that carry one (read, write, sendto, ...), as the sensor captured it.',
    // ptrace's `data` is its fourth argument, a word, not a buffer.
    extract: (e) => (e.type === 'ptrace' ? undefined : text(e.args.data)),
  }),
  field({
    name: 'evt.buflen',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'For reads and writes, the number of bytes transferred.',
    extract: (e) =>
      (READS.has(e.type) || WRITES.has(e.type)) && e.res !== undefined && e.res >= 0 ? e.res : undefined,
  }),
  field({
    name: 'evt.res',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The result as text: `SUCCESS` when the call returned 0 or more, else the errno name (`ENOENT`).',
    extract: (e) => (e.res === undefined ? undefined : e.res >= 0 ? 'SUCCESS' : errnoName(e.res)),
  }),
  field({
    name: 'evt.rawres',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The return value as a number; negative values are -errno.',
    extract: (e) => e.res,
  }),
  field({
    name: 'evt.failed',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call returned an error.',
    extract: failed,
  }),
  field({
    name: 'evt.is_io',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call reads from or writes to an fd (read, send, recvfrom, ...).',
    extract: (e) => READS.has(e.type) || WRITES.has(e.type),
  }),
  field({
    name: 'evt.is_io_read',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call reads from an fd (read, recv, recvfrom, ...).',
    extract: (e) => READS.has(e.type),
  }),
  field({
    name: 'evt.is_io_write',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call writes to an fd (write, send, sendto, ...).',
    extract: (e) => WRITES.has(e.type),
  }),
  field({
    name: 'evt.io_dir',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      '`read` for calls that read from an fd, `write` for calls that write to one; missing otherwise.',
    extract: (e) => (WRITES.has(e.type) ? 'write' : READS.has(e.type) ? 'read' : undefined),
  }),
  field({
    name: 'evt.is_wait',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call makes the thread wait (sleep, poll, select, futex, ...).',
    extract: (e) => WAITS.has(e.type),
  }),
  field({
    name: 'evt.is_syslog',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the call writes to the syslog socket /dev/log.',
    extract: (e) => WRITES.has(e.type) && e.fd?.name !== undefined && e.fd.name.includes('/dev/log'),
  }),
  field({
    name: 'evt.count',
    kind: 'number',
    falcoType: 'UINT32',
    description: 'Always 1; for counting events.',
    extract: () => 1,
  }),
  field({
    name: 'evt.count.error',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for a call that returned an error, else 0.',
    extract: (e) => (failed(e) ? 1 : 0),
  }),
  field({
    name: 'evt.count.error.file',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for a failed file call, else 0.',
    extract: errorIn(['file']),
  }),
  field({
    name: 'evt.count.error.net',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for a failed network call, else 0.',
    extract: errorIn(['net']),
  }),
  field({
    name: 'evt.count.error.memory',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for a failed memory call, else 0.',
    extract: errorIn(['memory']),
  }),
  field({
    name: 'evt.count.error.other',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for a failed call that is not a file, network or memory call, else 0.',
    extract: (e) => (failed(e) && !['file', 'net', 'memory'].includes(category(e)) ? 1 : 0),
  }),
  field({
    name: 'evt.count.exit',
    kind: 'number',
    falcoType: 'UINT32',
    description: '1 for the return (exit) of a call, else 0.',
    extract: (e) => ((e.dir ?? '<') === '<' ? 1 : 0),
  }),
  unavailable({
    name: 'evt.around',
    kind: 'number',
    falcoType: 'UINT64',
    arg: { required: true, kind: 'index' },
    description: 'Matches events within D ms of time T (`evt.around[T]=D`), a capture-browsing filter.',
    why: 'it selects a window of a capture, which a stream of independent events does not have.',
  }),
  field({
    name: 'evt.abspath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The absolute path of single-path calls such as mkdirat or unlinkat (the same as fs.path.name).',
    extract: (e) => fsPath(e, 'name'),
  }),
  field({
    name: 'evt.abspath.src',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The absolute source path of two-path calls such as renameat or symlinkat (fs.path.source).',
    extract: (e) => fsPath(e, 'source'),
  }),
  field({
    name: 'evt.abspath.dst',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The absolute destination path of two-path calls such as renameat or symlinkat (fs.path.target).',
    extract: (e) => fsPath(e, 'target'),
  }),
  field({
    name: 'evt.is_open_read',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether an open/openat/openat2/open_by_handle_at opened the path for reading.',
    extract: (e) => OPENS.has(e.type) && (openFlags(e) & O_RDONLY) !== 0,
  }),
  field({
    name: 'evt.is_open_write',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether an open/openat/openat2/open_by_handle_at opened the path for writing.',
    extract: (e) => OPENS.has(e.type) && (openFlags(e) & O_WRONLY) !== 0,
  }),
  field({
    name: 'evt.is_open_exec',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether an open* (with O_CREAT or O_TMPFILE) or creat created a file with an execute permission bit.',
    extract: (e) => {
      if (e.type === 'creat') return ((modeBits(e) ?? 0) & EXEC_BITS) !== 0;
      if (!OPENS.has(e.type) || e.type === 'open_by_handle_at') return false;
      if ((openFlags(e) & (O_CREAT | O_TMPFILE)) === 0) return false;
      return ((modeBits(e) ?? 0) & EXEC_BITS) !== 0;
    },
  }),
  field({
    name: 'evt.is_open_create',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether an open* created a file: the kernel reported it created the path, or an O_TMPFILE open succeeded.',
    extract: (e) => {
      if (!OPENS.has(e.type)) return false;
      const f = openFlags(e);
      return (f & O_F_CREATED) !== 0 || ((f & O_TMPFILE) !== 0 && e.res !== undefined && e.res >= 0);
    },
  }),
];
