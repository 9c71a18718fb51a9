/**
 * The names Falco gives to flag and enum arguments, as data.
 *
 * Each table lists Falco's names in the order Falco prints them, with the
 * value Falco's driver sends for each (its own encoding, which is what
 * `evt.rawarg.*` carries), and how the kernel's values (Linux x86_64 UAPI)
 * become those values. Names, order and values follow falcosecurity/libs
 * (`driver/flags_table.c`, `driver/ppm_events_public.h`) at 48dfd53; the
 * kernel values are those of the Linux UAPI headers. Falco names that have no
 * kernel value on x86_64 (e.g. `CLONE_STOPPED`, `MAP_RENAME`) are never
 * produced; names that Falco sets itself (`O_F_CREATED`, `EXE_WRITABLE`) come
 * from the probe's own facts.
 *
 * `renderNames` prints a value as Falco's event formatter does; the tests in
 * `test/flags.test.ts` hold Falco's renderings of real argument values.
 */

/**
 * - `flags`: a bit set; every name whose bits are all set is printed, its bits
 *   are then cleared, and a name equal to the whole value ends the list.
 * - `enum`: every name whose value equals the argument.
 * - `mode`: a permission set printed bit by bit (Falco's PT_MODE rule).
 */
type NameTableKind = 'flags' | 'enum' | 'mode';

export interface NameTable {
  readonly kind: NameTableKind;
  readonly names: readonly (readonly [name: string, falco: number])[];
  /**
   * Kernel value → Falco value: a bit each for `flags`/`mode`, one value each
   * for `enum` (a value not listed becomes 0, as Falco's driver maps it).
   * `same`: the kernel's values are Falco's. `falco-only`: Falco's own flags
   * (no kernel source), already in Falco's encoding.
   */
  readonly fromKernel: readonly (readonly [kernel: number, falco: number])[] | 'same' | 'falco-only';
}

function table(
  kind: NameTableKind,
  names: NameTable['names'],
  fromKernel: NameTable['fromKernel'],
): NameTable {
  return Object.freeze({ kind, names, fromKernel });
}

// Derived from the tables named above (names, order and values), checked by test/flags.test.ts.
export const SOCKET_FAMILIES: NameTable = table(
  'enum',
  [
    ['AF_NFC', 39],
    ['AF_ALG', 38],
    ['AF_CAIF', 37],
    ['AF_IEEE802154', 36],
    ['AF_PHONET', 35],
    ['AF_ISDN', 34],
    ['AF_RXRPC', 33],
    ['AF_IUCV', 32],
    ['AF_BLUETOOTH', 31],
    ['AF_TIPC', 30],
    ['AF_CAN', 29],
    ['AF_LLC', 26],
    ['AF_WANPIPE', 25],
    ['AF_PPPOX', 24],
    ['AF_IRDA', 23],
    ['AF_SNA', 22],
    ['AF_RDS', 21],
    ['AF_ATMSVC', 20],
    ['AF_ECONET', 19],
    ['AF_ASH', 18],
    ['AF_PACKET', 17],
    ['AF_ROUTE', 16],
    ['AF_NETLINK', 16],
    ['AF_KEY', 15],
    ['AF_SECURITY', 14],
    ['AF_NETBEUI', 13],
    ['AF_DECnet', 12],
    ['AF_ROSE', 11],
    ['AF_INET6', 10],
    ['AF_X25', 9],
    ['AF_ATMPVC', 8],
    ['AF_BRIDGE', 7],
    ['AF_NETROM', 6],
    ['AF_APPLETALK', 5],
    ['AF_IPX', 4],
    ['AF_AX25', 3],
    ['AF_INET', 2],
    ['AF_LOCAL', 1],
    ['AF_UNIX', 1],
    ['AF_UNSPEC', 0],
  ],
  [
    [39, 39],
    [38, 38],
    [37, 37],
    [36, 36],
    [35, 35],
    [34, 34],
    [33, 33],
    [32, 32],
    [31, 31],
    [30, 30],
    [29, 29],
    [26, 26],
    [25, 25],
    [24, 24],
    [23, 23],
    [22, 22],
    [21, 21],
    [20, 20],
    [19, 19],
    [18, 18],
    [17, 17],
    [16, 16],
    [15, 15],
    [14, 14],
    [13, 13],
    [12, 12],
    [11, 11],
    [10, 10],
    [9, 9],
    [8, 8],
    [7, 7],
    [6, 6],
    [5, 5],
    [4, 4],
    [3, 3],
    [2, 2],
    [1, 1],
    [0, 0],
  ],
);
export const OPEN_FLAGS: NameTable = table(
  'flags',
  [
    ['O_LARGEFILE', 2048],
    ['O_DIRECTORY', 1024],
    ['O_DIRECT', 512],
    ['O_TRUNC', 256],
    ['O_SYNC', 128],
    ['O_NONBLOCK', 64],
    ['O_EXCL', 32],
    ['O_DSYNC', 16],
    ['O_APPEND', 8],
    ['O_CREAT', 4],
    ['O_RDWR', 3],
    ['O_WRONLY', 2],
    ['O_RDONLY', 1],
    ['O_CLOEXEC', 0x1000],
    ['O_NONE', 0],
    ['O_TMPFILE', 0x2000],
    ['O_F_CREATED', 0x4000],
    ['FD_UPPER_LAYER', 0x8000],
    ['FD_LOWER_LAYER', 0x10000],
  ],
  'falco-only',
);
const CREAT_FLAGS: NameTable = table(
  'flags',
  [
    ['FD_UPPER_LAYER_CREAT', 1],
    ['FD_LOWER_LAYER_CREAT', 2],
  ],
  'falco-only',
);
export const CLONE_FLAGS: NameTable = table(
  'flags',
  [
    ['CLONE_FILES', 1],
    ['CLONE_FS', 2],
    ['CLONE_IO', 4],
    ['CLONE_NEWIPC', 8],
    ['CLONE_NEWNET', 16],
    ['CLONE_NEWNS', 32],
    ['CLONE_NEWPID', 64],
    ['CLONE_NEWUTS', 128],
    ['CLONE_PARENT', 256],
    ['CLONE_PARENT_SETTID', 512],
    ['CLONE_PTRACE', 1024],
    ['CLONE_SIGHAND', 2048],
    ['CLONE_SYSVSEM', 0x1000],
    ['CLONE_THREAD', 0x2000],
    ['CLONE_UNTRACED', 0x4000],
    ['CLONE_VM', 0x8000],
    ['CLONE_INVERTED', 0x10000],
    ['NAME_CHANGED', 0x20000],
    ['CLOSED', 0x40000],
    ['CLONE_NEWUSER', 0x100000],
    ['CLONE_CHILD_CLEARTID', 0x800000],
    ['CLONE_CHILD_SETTID', 0x1000000],
    ['CLONE_SETTLS', 0x2000000],
    ['CLONE_STOPPED', 0x4000000],
    ['CLONE_VFORK', 0x8000000],
    ['CLONE_NEWCGROUP', 0x10000000],
    ['CLONE_CHILD_IN_PIDNS', 0x20000000],
  ],
  [
    [1024, 1],
    [512, 2],
    [0x80000000, 4],
    [0x8000000, 8],
    [0x40000000, 16],
    [0x20000, 32],
    [0x20000000, 64],
    [0x4000000, 128],
    [0x8000, 256],
    [0x100000, 512],
    [0x2000, 1024],
    [2048, 2048],
    [0x40000, 0x1000],
    [0x10000, 0x2000],
    [0x800000, 0x4000],
    [256, 0x8000],
    [0x10000000, 0x100000],
    [0x200000, 0x800000],
    [0x1000000, 0x1000000],
    [0x80000, 0x2000000],
    [0x4000, 0x8000000],
    [0x2000000, 0x10000000],
  ],
);
export const MOUNT_FLAGS: NameTable = table(
  'flags',
  [
    ['RDONLY', 1],
    ['NOSUID', 2],
    ['NODEV', 4],
    ['NOEXEC', 8],
    ['SYNCHRONOUS', 16],
    ['REMOUNT', 32],
    ['MANDLOCK', 64],
    ['DIRSYNC', 128],
    ['NOATIME', 1024],
    ['NODIRATIME', 2048],
    ['BIND', 0x1000],
    ['MOVE', 0x2000],
    ['REC', 0x4000],
    ['SILENT', 0x8000],
    ['POSIXACL', 0x10000],
    ['UNBINDABLE', 0x20000],
    ['PRIVATE', 0x40000],
    ['SLAVE', 0x80000],
    ['SHARED', 0x100000],
    ['RELATIME', 0x200000],
    ['KERNMOUNT', 0x400000],
    ['I_VERSION', 0x800000],
    ['STRICTATIME', 0x1000000],
    ['LAZYTIME', 0x2000000],
    ['NOSEC', 0x10000000],
    ['BORN', 0x20000000],
    ['ACTIVE', 0x40000000],
    ['NOUSER', 0x80000000],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
    [8, 8],
    [16, 16],
    [32, 32],
    [64, 64],
    [128, 128],
    [1024, 1024],
    [2048, 2048],
    [0x1000, 0x1000],
    [0x2000, 0x2000],
    [0x4000, 0x4000],
    [0x8000, 0x8000],
    [0x10000, 0x10000],
    [0x20000, 0x20000],
    [0x40000, 0x40000],
    [0x80000, 0x80000],
    [0x100000, 0x100000],
    [0x200000, 0x200000],
    [0x400000, 0x400000],
    [0x800000, 0x800000],
    [0x1000000, 0x1000000],
    [0x2000000, 0x2000000],
    [0x10000000, 0x10000000],
    [0x20000000, 0x20000000],
    [0x40000000, 0x40000000],
    [0x80000000, 0x80000000],
  ],
);
export const UMOUNT_FLAGS: NameTable = table(
  'flags',
  [
    ['FORCE', 1],
    ['DETACH', 2],
    ['EXPIRE', 4],
    ['NOFOLLOW', 8],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
    [8, 8],
  ],
);
const FCNTL_COMMANDS: NameTable = table(
  'enum',
  [
    ['F_GETPIPE_SZ', 29],
    ['F_SETPIPE_SZ', 28],
    ['F_NOTIFY', 27],
    ['F_DUPFD_CLOEXEC', 26],
    ['F_CANCELLK', 25],
    ['F_GETLEASE', 24],
    ['F_SETLEASE', 23],
    ['F_GETOWN_EX', 22],
    ['F_SETOWN_EX', 21],
    ['F_GETSIG', 15],
    ['F_SETSIG', 13],
    ['F_GETOWN', 12],
    ['F_SETOWN', 10],
    ['F_SETLKW', 9],
    ['F_SETLK', 8],
    ['F_GETLK', 6],
    ['F_SETFL', 5],
    ['F_GETFL', 4],
    ['F_SETFD', 3],
    ['F_GETFD', 2],
    ['F_DUPFD', 1],
    ['F_OFD_GETLK', 30],
    ['F_OFD_SETLK', 31],
    ['F_OFD_SETLKW', 32],
    ['UNKNOWN', 0],
  ],
  [
    [1032, 29],
    [1031, 28],
    [1026, 27],
    [1030, 26],
    [1025, 24],
    [1024, 23],
    [16, 22],
    [15, 21],
    [11, 15],
    [10, 13],
    [9, 12],
    [8, 10],
    [7, 9],
    [6, 8],
    [5, 6],
    [4, 5],
    [3, 4],
    [2, 3],
    [1, 2],
    [0, 1],
    [36, 30],
    [37, 31],
    [38, 32],
  ],
);
export const PTRACE_REQUESTS: NameTable = table(
  'enum',
  [
    ['PTRACE_SINGLEBLOCK', 38],
    ['PTRACE_SYSEMU_SINGLESTEP', 37],
    ['PTRACE_SYSEMU', 36],
    ['PTRACE_ARCH_PRCTL', 35],
    ['PTRACE_SET_THREAD_AREA', 34],
    ['PTRACE_GET_THREAD_AREA', 33],
    ['PTRACE_OLDSETOPTIONS', 32],
    ['PTRACE_SETFPXREGS', 31],
    ['PTRACE_GETFPXREGS', 30],
    ['PTRACE_SETFPREGS', 29],
    ['PTRACE_GETFPREGS', 28],
    ['PTRACE_SETREGS', 27],
    ['PTRACE_GETREGS', 26],
    ['PTRACE_SETSIGMASK', 25],
    ['PTRACE_GETSIGMASK', 24],
    ['PTRACE_PEEKSIGINFO', 23],
    ['PTRACE_LISTEN', 22],
    ['PTRACE_INTERRUPT', 21],
    ['PTRACE_SEIZE', 20],
    ['PTRACE_SETREGSET', 19],
    ['PTRACE_GETREGSET', 18],
    ['PTRACE_SETSIGINFO', 17],
    ['PTRACE_GETSIGINFO', 16],
    ['PTRACE_GETEVENTMSG', 15],
    ['PTRACE_SETOPTIONS', 14],
    ['PTRACE_SYSCALL', 13],
    ['PTRACE_DETACH', 12],
    ['PTRACE_ATTACH', 11],
    ['PTRACE_SINGLESTEP', 10],
    ['PTRACE_KILL', 9],
    ['PTRACE_CONT', 8],
    ['PTRACE_POKEUSR', 7],
    ['PTRACE_POKEDATA', 6],
    ['PTRACE_POKETEXT', 5],
    ['PTRACE_PEEKUSR', 4],
    ['PTRACE_PEEKDATA', 3],
    ['PTRACE_PEEKTEXT', 2],
    ['PTRACE_TRACEME', 1],
    ['PTRACE_UNKNOWN', 0],
  ],
  [
    [33, 38],
    [32, 37],
    [31, 36],
    [30, 35],
    [26, 34],
    [25, 33],
    [21, 32],
    [19, 31],
    [18, 30],
    [15, 29],
    [14, 28],
    [13, 27],
    [12, 26],
    [0x420b, 25],
    [0x420a, 24],
    [0x4209, 23],
    [0x4208, 22],
    [0x4207, 21],
    [0x4206, 20],
    [0x4205, 19],
    [0x4204, 18],
    [0x4203, 17],
    [0x4202, 16],
    [0x4201, 15],
    [0x4200, 14],
    [24, 13],
    [17, 12],
    [16, 11],
    [9, 10],
    [8, 9],
    [7, 8],
    [6, 7],
    [5, 6],
    [4, 5],
    [3, 4],
    [2, 3],
    [1, 2],
    [0, 1],
  ],
);
const PROT_FLAGS: NameTable = table(
  'flags',
  [
    ['PROT_READ', 1],
    ['PROT_WRITE', 2],
    ['PROT_EXEC', 4],
    ['PROT_SEM', 8],
    ['PROT_GROWSDOWN', 16],
    ['PROT_GROWSUP', 32],
    ['PROT_SAO', 64],
    ['PROT_NONE', 0],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
    [0x1000000, 16],
    [0x2000000, 32],
  ],
);
const MMAP_FLAGS: NameTable = table(
  'flags',
  [
    ['MAP_SHARED', 1],
    ['MAP_PRIVATE', 2],
    ['MAP_FIXED', 4],
    ['MAP_ANONYMOUS', 8],
    ['MAP_32BIT', 16],
    ['MAP_RENAME', 32],
    ['MAP_NORESERVE', 64],
    ['MAP_POPULATE', 128],
    ['MAP_NONBLOCK', 256],
    ['MAP_GROWSDOWN', 512],
    ['MAP_DENYWRITE', 1024],
    ['MAP_EXECUTABLE', 2048],
    ['MAP_INHERIT', 0x1000],
    ['MAP_FILE', 0x2000],
    ['MAP_LOCKED', 0x4000],
  ],
  [
    [1, 1],
    [2, 2],
    [16, 4],
    [32, 8],
    [64, 16],
    [0x4000, 64],
    [0x8000, 128],
    [0x10000, 256],
    [256, 512],
    [2048, 1024],
    [0x1000, 2048],
    [0x2000, 0x4000],
  ],
);
const ACCESS_FLAGS: NameTable = table(
  'flags',
  [
    ['F_OK', 0],
    ['R_OK', 4],
    ['W_OK', 2],
    ['X_OK', 1],
  ],
  [
    [4, 4],
    [2, 2],
    [1, 1],
  ],
);
export const UNLINKAT_FLAGS: NameTable = table('flags', [['AT_REMOVEDIR', 512]], [[512, 512]]);
export const LINKAT_FLAGS: NameTable = table(
  'flags',
  [
    ['AT_SYMLINK_FOLLOW', 1024],
    ['AT_EMPTY_PATH', 0x1000],
  ],
  [
    [1024, 1024],
    [0x1000, 0x1000],
  ],
);
export const CHMOD_MODE: NameTable = table(
  'mode',
  [
    ['S_IXOTH', 1],
    ['S_IWOTH', 2],
    ['S_IROTH', 4],
    ['S_IXGRP', 8],
    ['S_IWGRP', 16],
    ['S_IRGRP', 32],
    ['S_IXUSR', 64],
    ['S_IWUSR', 128],
    ['S_IRUSR', 256],
    ['S_ISVTX', 512],
    ['S_ISGID', 1024],
    ['S_ISUID', 2048],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
    [8, 8],
    [16, 16],
    [32, 32],
    [64, 64],
    [128, 128],
    [256, 256],
    [512, 512],
    [1024, 1024],
    [2048, 2048],
  ],
);
export const FCHOWNAT_FLAGS: NameTable = table(
  'flags',
  [
    ['AT_SYMLINK_NOFOLLOW', 1024],
    ['AT_EMPTY_PATH', 0x1000],
  ],
  [
    [1024, 1024],
    [0x1000, 0x1000],
  ],
);
export const RENAMEAT2_FLAGS: NameTable = table(
  'flags',
  [
    ['RENAME_NOREPLACE', 1],
    ['RENAME_EXCHANGE', 2],
    ['RENAME_WHITEOUT', 4],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
  ],
);
export const OPENAT2_RESOLVE: NameTable = table(
  'flags',
  [
    ['RESOLVE_BENEATH', 1],
    ['RESOLVE_IN_ROOT', 2],
    ['RESOLVE_NO_MAGICLINKS', 4],
    ['RESOLVE_NO_SYMLINKS', 8],
    ['RESOLVE_NO_XDEV', 16],
    ['RESOLVE_CACHED', 32],
  ],
  [
    [8, 1],
    [16, 2],
    [2, 4],
    [4, 8],
    [1, 16],
    [32, 32],
  ],
);
const EXECVE_FLAGS: NameTable = table(
  'flags',
  [
    ['EXE_WRITABLE', 1],
    ['EXE_UPPER_LAYER', 2],
    ['EXE_FROM_MEMFD', 4],
    ['EXE_LOWER_LAYER', 8],
  ],
  'falco-only',
);
export const EXECVEAT_FLAGS: NameTable = table(
  'flags',
  [
    ['AT_EMPTY_PATH', 1],
    ['AT_SYMLINK_NOFOLLOW', 2],
  ],
  [
    [0x1000, 1],
    [256, 2],
  ],
);
export const PRCTL_OPTIONS: NameTable = table(
  'enum',
  [
    ['PR_GET_DUMPABLE', 3],
    ['PR_SET_DUMPABLE', 4],
    ['PR_GET_KEEPCAPS', 7],
    ['PR_SET_KEEPCAPS', 8],
    ['PR_SET_NAME', 15],
    ['PR_GET_NAME', 16],
    ['PR_GET_SECCOMP', 21],
    ['PR_SET_SECCOMP', 22],
    ['PR_CAPBSET_READ', 23],
    ['PR_CAPBSET_DROP', 24],
    ['PR_GET_SECUREBITS', 27],
    ['PR_SET_SECUREBITS', 28],
    ['PR_MCE_KILL', 33],
    ['PR_MCE_KILL', 33],
    ['PR_SET_MM', 35],
    ['PR_SET_CHILD_SUBREAPER', 36],
    ['PR_GET_CHILD_SUBREAPER', 37],
    ['PR_SET_NO_NEW_PRIVS', 38],
    ['PR_GET_NO_NEW_PRIVS', 39],
    ['PR_GET_TID_ADDRESS', 40],
    ['PR_SET_THP_DISABLE', 41],
    ['PR_GET_THP_DISABLE', 42],
    ['PR_CAP_AMBIENT', 47],
  ],
  'same',
);
export const MEMFD_CREATE_FLAGS: NameTable = table(
  'flags',
  [
    ['MFD_CLOEXEC', 1],
    ['MFD_ALLOW_SEALING', 2],
    ['MFD_HUGETLB', 4],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
  ],
);
export const BPF_COMMANDS: NameTable = table(
  'enum',
  [
    ['BPF_MAP_CREATE', 0],
    ['BPF_MAP_LOOKUP_ELEM', 1],
    ['BPF_MAP_UPDATE_ELEM', 2],
    ['BPF_MAP_DELETE_ELEM', 3],
    ['BPF_MAP_GET_NEXT_KEY', 4],
    ['BPF_PROG_LOAD', 5],
    ['BPF_OBJ_PIN', 6],
    ['BPF_OBJ_GET', 7],
    ['BPF_PROG_ATTACH', 8],
    ['BPF_PROG_DETACH', 9],
    ['BPF_PROG_TEST_RUN', 10],
    ['BPF_PROG_RUN', 10],
    ['BPF_PROG_GET_NEXT_ID', 11],
    ['BPF_MAP_GET_NEXT_ID', 12],
    ['BPF_PROG_GET_FD_BY_ID', 13],
    ['BPF_MAP_GET_FD_BY_ID', 14],
    ['BPF_OBJ_GET_INFO_BY_FD', 15],
    ['BPF_PROG_QUERY', 16],
    ['BPF_RAW_TRACEPOINT_OPEN', 17],
    ['BPF_BTF_LOAD', 18],
    ['BPF_BTF_GET_FD_BY_ID', 19],
    ['BPF_TASK_FD_QUERY', 20],
    ['BPF_MAP_LOOKUP_AND_DELETE_ELEM', 21],
    ['BPF_MAP_FREEZE', 22],
    ['BPF_BTF_GET_NEXT_ID', 23],
    ['BPF_MAP_LOOKUP_BATCH', 24],
    ['BPF_MAP_LOOKUP_AND_DELETE_BATCH', 25],
    ['BPF_MAP_UPDATE_BATCH', 26],
    ['BPF_MAP_DELETE_BATCH', 27],
    ['BPF_LINK_CREATE', 28],
    ['BPF_LINK_UPDATE', 29],
    ['BPF_LINK_GET_FD_BY_ID', 30],
    ['BPF_LINK_GET_NEXT_ID', 31],
    ['BPF_ENABLE_STATS', 32],
    ['BPF_ITER_CREATE', 33],
    ['BPF_LINK_DETACH', 34],
    ['BPF_PROG_BIND_MAP', 35],
  ],
  'same',
);
export const FINIT_MODULE_FLAGS: NameTable = table(
  'flags',
  [
    ['MODULE_INIT_IGNORE_MODVERSIONS', 1],
    ['MODULE_INIT_IGNORE_VERMAGIC', 2],
    ['MODULE_INIT_COMPRESSED_FILE', 4],
  ],
  [
    [1, 1],
    [2, 2],
    [4, 4],
  ],
);

/**
 * Linux signal numbers (x86_64) and the names Falco prints for them (PT_SIGTYPE).
 * SIGIO is printed for 29 (SIGPOLL is the same number).
 */
export const SIGNALS: ReadonlyMap<number, string> = new Map([
  [1, 'SIGHUP'],
  [2, 'SIGINT'],
  [3, 'SIGQUIT'],
  [4, 'SIGILL'],
  [5, 'SIGTRAP'],
  [6, 'SIGABRT'],
  [7, 'SIGBUS'],
  [8, 'SIGFPE'],
  [9, 'SIGKILL'],
  [10, 'SIGUSR1'],
  [11, 'SIGSEGV'],
  [12, 'SIGUSR2'],
  [13, 'SIGPIPE'],
  [14, 'SIGALRM'],
  [15, 'SIGTERM'],
  [16, 'SIGSTKFLT'],
  [17, 'SIGCHLD'],
  [18, 'SIGCONT'],
  [19, 'SIGSTOP'],
  [20, 'SIGTSTP'],
  [21, 'SIGTTIN'],
  [22, 'SIGTTOU'],
  [23, 'SIGURG'],
  [24, 'SIGXCPU'],
  [25, 'SIGXFSZ'],
  [26, 'SIGVTALRM'],
  [27, 'SIGPROF'],
  [28, 'SIGWINCH'],
  [29, 'SIGIO'],
  [30, 'SIGPWR'],
  [31, 'SIGSYS'],
]);

/**
 * Capability names by bit number (linux/capability.h), as Falco prints
 * `thread.cap_*`: the names of the set bits, lowest first, separated by spaces.
 */
const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** A kernel argument value in Falco's encoding for `t` (unsigned 32-bit). */
export function toFalco(t: NameTable, kernel: number): number {
  const v = kernel >>> 0;
  const map = t.fromKernel;
  if (map === 'same' || map === 'falco-only') return v;
  if (t.kind === 'enum') {
    for (const [k, f] of map) if (k === v) return f;
    return 0;
  }
  let out = 0;
  for (const [k, f] of map) if ((v & k) >>> 0 !== 0) out |= f;
  return out >>> 0;
}

/** Falco's names for a value already in Falco's encoding, `|`-separated; '' when none applies. */
export function renderNames(t: NameTable, value: number): string {
  const initial = value >>> 0;
  let out = '';
  const add = (name: string): void => {
    out = out === '' ? name : `${out}|${name}`;
  };
  if (t.kind === 'enum') {
    for (const [name, v] of t.names) if (v === initial) add(name);
    return out;
  }
  let rest = initial;
  if (t.kind === 'mode') {
    // Bits are printed until an entry equals the whole value; that entry ends the list.
    for (const [name, v] of t.names) {
      if (v === initial) {
        add(name);
        break;
      }
      if (v !== 0 && rest !== 0 && (rest & v) >>> 0 === v) {
        add(name);
        rest = (rest & ~v) >>> 0;
      }
    }
    return out;
  }
  for (const [name, v] of t.names) {
    const match = v === 0 ? initial === 0 : rest !== 0 && (rest & v) >>> 0 === v;
    if (!match) continue;
    add(name);
    rest = (rest & ~v) >>> 0;
    if (v === initial) break;
  }
  return out;
}

/** `thread.cap_*` text: the names of the set bits, lowest first, space-separated. */
export function capabilitiesText(caps: bigint): string {
  let out = '';
  for (let i = 0; i < CAPABILITIES.length; i++) {
    if (((caps >> BigInt(i)) & 1n) === 0n) continue;
    const name = CAPABILITIES[i] as string;
    out = out === '' ? name : `${out} ${name}`;
  }
  return out;
}
