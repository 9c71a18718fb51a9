import type { Expr, FieldOperand } from '../condition/ast.js';

/**
 * Event types of the syscall source, and which of them a condition can match.
 *
 * The universe is every event name libsinsp gives `evt.type`: the system calls
 * of its syscall table (a call without a dedicated event still has its name)
 * and its own events (`container`, `procexit`, `switch`, `signaldeliver`,
 * `pluginevent`, `asyncevent`, ...). The names are facts about Linux and
 * libsinsp, listed here once.
 */
const NAMES = `
_llseek _newselect _sysctl accept accept4 access acct add_key adjtimex alarm arch_prctl asyncevent
bdflush bind bpf brk cachestat capget capset chdir chmod chown chroot clock_adjtime clock_getres
clock_gettime clock_nanosleep clock_settime clone clone3 close close_range connect container
copy_file_range cpu_hotplug creat create_module delete_module drop dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd
eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate fanotify_init
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchownat fcntl fcntl64 fdatasync fgetxattr
file_getattr file_setattr finit_module flistxattr flock fork fremovexattr fsconfig fsetxattr
fsmount fsopen fspick fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate futex futex_requeue
futex_wait futex_waitv futex_wake futimesat get_kernel_syms get_mempolicy get_robust_list
get_thread_area getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getitimer getpeername getpgid getpgrp getpid getpmsg getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname
getsockopt gettid gettimeofday getuid getuid32 getxattr getxattrat groupadded groupdeleted idle
infra init_module inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel
io_destroy io_getevents io_pgetevents io_setup io_submit io_uring_enter io_uring_register
io_uring_setup ioctl ioperm iopl ioprio_get ioprio_set ipc k8s kcmp kexec_file_load kexec_load
keyctl kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lgetxattr link
linkat listen listmount listns listxattr listxattrat llistxattr llseek lookup_dcookie lremovexattr
lseek lsetxattr lsm_get_self_attr lsm_list_modules lsm_set_self_attr lstat lstat64 madvise
map_shadow_stack mbind membarrier memfd_create memfd_secret mesos migrate_pages mincore mkdir
mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 modify_ldt mount mount_setattr move_mount
move_pages mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap
mseal msgctl msgget msgrcv msgsnd msync multiplexer munlock munlockall munmap na_1
name_to_handle_at nanosleep newfstatat nfsservctl nice notification oldfstat oldlstat oldolduname
oldstat olduname open open_by_handle_at open_tree open_tree_attr openat openat2 page_fault pause
pciconfig_iobase pciconfig_read pciconfig_write perf_event_open personality pidfd_getfd pidfd_open
pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect pluginevent poll ppoll
prctl pread pread64 preadv preadv2 prlimit prlimit64 process_madvise process_mrelease
process_vm_readv process_vm_writev procexit procinfo pselect6 ptrace pwrite pwrite64 pwritev
pwritev2 query_module quotactl quotactl_fd read readahead readdir readlink readlinkat readv reboot
recv recvfrom recvmmsg recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
request_key restart_syscall riscv_flush_icache riscv_hwprobe rmdir rseq rseq_slice_yield
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_tgsigqueueinfo rtas s390_guarded_storage s390_pci_mmio_read s390_pci_mmio_write
s390_runtime_instr s390_sthyi scapevent sched_get_priority_max sched_get_priority_min
sched_getaffinity sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
semget semop semtimedop send sendfile sendfile64 sendmmsg sendmsg sendto set_mempolicy
set_mempolicy_home_node set_robust_list set_thread_area set_tid_address setdomainname setfsgid
setfsuid setgid setgid32 setgroups sethostname setitimer setns setpgid setpriority setregid
setresgid setresgid32 setresuid setresuid32 setreuid setrlimit setsid setsockopt settimeofday
setuid setuid32 setxattr setxattrat sgetmask shmat shmctl shmdt shmget shutdown sigaction
sigaltstack signal signaldeliver signalfd signalfd4 sigpending sigprocmask sigreturn sigsuspend
socket socketcall socketpair splice spu_create spu_run ssetmask stat stat64 statfs statfs64
statmount statx stime subpage_prot swapcontext swapoff swapon switch switch_endian symlink
symlinkat sync sync_file_range sync_file_range2 syncfs sys_debug_setcontext syscall sysfs sysinfo
syslog task task_file_directory task_file_memfd task_file_pipe task_file_regular
task_file_socket_inet task_file_socket_inet6 task_file_socket_netlink task_file_socket_unix tee
tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime timerfd
timerfd_create timerfd_gettime timerfd_settime times tkill tracer truncate ugetrlimit umask umount
umount2 uname unlink unlinkat unshare uprobe uretprobe uselib useradded userdeleted userfaultfd
ustat utime utimensat utimes vfork vhangup vm86 vmsplice wait4 waitid waitpid write writev
`;

export const SYSCALL_EVENT_TYPES: ReadonlySet<string> = new Set(NAMES.split(/\s+/).filter((n) => n !== ''));

/**
 * The event types for which `expr` can be true, or undefined for "any type".
 * The engine indexes rules by these, so an event only meets the rules that
 * can match it.
 *
 * The analysis is libsinsp's: negation is pushed down to the leaves (De
 * Morgan), then
 * - `evt.type = X`, `evt.type == X`, `evt.type in (X, Y)` give their names;
 *   `evt.type != X` gives every other type; a negated leaf gives the
 *   complement;
 * - `evt.type exists` gives every type (and, negated, none);
 * - any other check gives every type, negated or not: it does not restrict
 *   the type, so negating it does not either;
 * - `and` intersects its children's sets, `or` unites them.
 *
 * Names outside SYSCALL_EVENT_TYPES are kept as written (a set can name a type
 * this list lacks), but complements are taken within SYSCALL_EVENT_TYPES, so
 * an index must treat an event whose type is not in the list as matching only
 * the rules that name it or return undefined. A result that covers the whole
 * list is returned as undefined.
 *
 * The expression must be resolved (macros substituted, lists expanded); an
 * unresolved macro counts as "any type".
 */
export function eventTypesOf(expr: Expr): ReadonlySet<string> | undefined {
  const set = typesOf(expr, false);
  if (set === ALL) return undefined;
  for (const t of SYSCALL_EVENT_TYPES) if (!set.has(t)) return set;
  return undefined;
}

/** Marker for "every type", kept apart from sets so it costs nothing. */
const ALL: ReadonlySet<string> = new Set<string>();

function typesOf(e: Expr, negated: boolean): ReadonlySet<string> {
  switch (e.kind) {
    case 'and':
    case 'or': {
      // Under negation `and` becomes `or` and the other way round.
      const intersect = (e.kind === 'and') !== negated;
      let acc: ReadonlySet<string> | undefined;
      for (const c of e.children) {
        const s = typesOf(c, negated);
        acc = acc === undefined ? s : intersect ? intersection(acc, s) : union(acc, s);
      }
      return acc ?? (intersect ? ALL : new Set());
    }
    case 'not':
      return typesOf(e.child, !negated);
    case 'unary':
      if (isEvtType(e.left)) return negated ? new Set() : ALL;
      return ALL;
    case 'binary': {
      if (!isEvtType(e.left) || e.modifier !== undefined) return ALL;
      if (e.right.kind === 'val') return ALL;
      const names = e.right.kind === 'list' ? e.right.items.map((i) => i.value) : [e.right.value];
      if (e.op === '=' || e.op === '==' || e.op === 'in') {
        const s = new Set(names);
        return negated ? complement(s) : s;
      }
      if (e.op === '!=') {
        const s = new Set(names);
        return negated ? s : complement(s);
      }
      return ALL;
    }
    default:
      return ALL;
  }
}

function isEvtType(left: FieldOperand): boolean {
  return (
    left.kind === 'field' &&
    (left.name === 'evt.type' || left.name === 'syscall.type') &&
    left.arg === undefined
  );
}

function intersection(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  if (a === ALL) return b;
  if (b === ALL) return a;
  const out = new Set<string>();
  for (const t of a) if (b.has(t)) out.add(t);
  return out;
}

function union(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  if (a === ALL || b === ALL) return ALL;
  const out = new Set(a);
  for (const t of b) out.add(t);
  return out;
}

function complement(s: ReadonlySet<string>): ReadonlySet<string> {
  const out = new Set<string>();
  for (const t of SYSCALL_EVENT_TYPES) if (!s.has(t)) out.add(t);
  return out;
}
