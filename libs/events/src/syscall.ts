/**
 * A system call as the sensor saw it, made self-contained: it carries every
 * piece of process, fd and container context a rule may ask about, so any
 * engine replica can evaluate it without shared state.
 *
 * Field names follow Falco's where one exists, so the extractor for
 * `proc.exepath` reads `proc.exepath`.
 */
export interface SyscallEvent {
  readonly source: 'syscall';
  /** Nanoseconds since the Unix epoch, as a decimal string (int64 does not fit a JS number). */
  readonly ts: string;
  /** Sequence number of the event on its node (`evt.num`). */
  readonly num?: number;
  readonly cpu?: number;
  /** The node that produced the event. */
  readonly hostname?: string;
  /** The system call's name without prefix, as Falco names it: `openat`, `execve`, `connect`. */
  readonly type: string;
  /** `<` for the exit of a call (the default: the sensor emits on exit), `>` for an entry. */
  readonly dir?: '<' | '>';
  /** The call's return value. Negative values are `-errno`. Absent on entry events. */
  readonly res?: number;
  /**
   * The arguments, rendered as Falco renders them: paths made absolute, flags as
   * `O_RDONLY|O_CLOEXEC`, modes as `S_ISUID|S_IRWXU`. These back `evt.arg.X`.
   */
  readonly args: Readonly<Record<string, string | number>>;
  /** Raw numeric values of arguments whose rendered form is text (flags, modes). Backs `evt.rawarg.X`. */
  readonly rawargs?: Readonly<Record<string, string | number>>;
  readonly proc: ProcessInfo;
  /** Ancestors, nearest first: `[0]` is the parent, `[1]` the grandparent. Bounded by the sensor. */
  readonly ancestors?: readonly AncestorInfo[];
  readonly user: UserInfo;
  readonly group: GroupInfo;
  /** The file descriptor the call created or used, when there is one. */
  readonly fd?: FdInfo;
  readonly container: ContainerInfo;
  /** Kubernetes metadata of the pod the container belongs to, once joined. */
  readonly k8s?: PodInfo;
}

export interface ProcessInfo {
  readonly pid: number;
  readonly tid: number;
  readonly ppid?: number;
  /** pid and tid as seen inside the process's own pid namespace. */
  readonly vpid?: number;
  readonly vtid?: number;
  readonly sid?: number;
  readonly pgid?: number;
  readonly vpgid?: number;
  /** The kernel's `comm`: at most 15 characters. */
  readonly name: string;
  /** `argv[0]` as the process was started. */
  readonly exe: string;
  /** The full path of the executable file. */
  readonly exepath: string;
  /** `argv[1..]`, bounded by the sensor. */
  readonly args: readonly string[];
  /** True when the sensor cut the argument list short. */
  readonly args_truncated?: boolean;
  readonly cwd?: string;
  /** The controlling terminal's device number; 0 when there is none. */
  readonly tty?: number;
  /** Process start time, nanoseconds since the epoch. */
  readonly start_ts?: string;
  /** Environment, `NAME=value` entries. */
  readonly env?: readonly string[];
  /** Capability sets, rendered as Falco renders them: `CAP_CHOWN CAP_KILL`. */
  readonly cap_permitted?: string;
  readonly cap_effective?: string;
  readonly cap_inheritable?: string;
  readonly is_exe_upper_layer?: boolean;
  readonly is_exe_lower_layer?: boolean;
  readonly is_exe_from_memfd?: boolean;
  readonly is_exe_writable?: boolean;
  readonly exe_ino?: number;
  readonly exe_ino_ctime?: string;
  readonly exe_ino_mtime?: string;
  /** Name of the session leader. */
  readonly sname?: string;
  /** `argv[0]` and executable path of the session leader. */
  readonly sid_exe?: string;
  readonly sid_exepath?: string;
  /** Name, `argv[0]` and executable path of the process group leader (host pid namespace). */
  readonly pgid_name?: string;
  readonly pgid_exe?: string;
  readonly pgid_exepath?: string;
  readonly vpgid_name?: string;
  readonly vpgid_exe?: string;
  readonly vpgid_exepath?: string;
  readonly pidns?: number;
  readonly mntns?: number;
  /** Start of the process's pid namespace (its init process), nanoseconds since the epoch. */
  readonly pidns_init_start_ts?: string;
  /** Number of threads in the process. */
  readonly nthreads?: number;
  /** The types of all fds the process holds open (`fd.types`). */
  readonly fdtypes?: readonly string[];
  /** What fds 0, 1 and 2 (stdin, stdout, stderr) point to; the index is the fd number. */
  readonly stdio?: readonly StdioFd[];
}

interface StdioFd {
  readonly type: FdType;
  readonly name?: string;
}

export interface AncestorInfo {
  readonly pid: number;
  readonly name: string;
  readonly exe?: string;
  readonly exepath?: string;
  readonly args?: readonly string[];
  readonly start_ts?: string;
}

export interface UserInfo {
  readonly uid: number;
  readonly name?: string;
  readonly homedir?: string;
  readonly shell?: string;
  /** The audit login uid; -1 (or 4294967295) when unset. */
  readonly loginuid?: number;
  readonly loginname?: string;
}

export interface GroupInfo {
  readonly gid: number;
  readonly name?: string;
}

export const FD_TYPES = [
  'file',
  'directory',
  'ipv4',
  'ipv6',
  'unix',
  'pipe',
  'event',
  'signalfd',
  'eventpoll',
  'inotify',
  'timerfd',
  'netlink',
  'memfd',
  'bpf',
  'userfaultfd',
  'io_uring',
  'pidfd',
  'unknown',
] as const;
export type FdType = (typeof FD_TYPES)[number];

export const L4_PROTOS = ['tcp', 'udp', 'icmp', 'raw', 'unknown'] as const;
export type L4Proto = (typeof L4_PROTOS)[number];

export interface FdInfo {
  readonly num: number;
  readonly type: FdType;
  /**
   * A path for files and directories; for sockets Falco's tuple text
   * (`10.0.0.1:34567->10.0.0.2:443`); for unix sockets the path.
   */
  readonly name?: string;
  /** The path exactly as the process passed it, before it was made absolute. */
  readonly nameraw?: string;
  readonly name_changed?: boolean;
  readonly dev?: number;
  readonly ino?: number;
  /** Whether the file lives in the upper (written) or lower (image) layer of an overlayfs. */
  readonly is_upper_layer?: boolean;
  readonly is_lower_layer?: boolean;
  /** For sockets: the connection tuple. */
  readonly net?: NetTuple;
}

export interface NetTuple {
  readonly l4proto: L4Proto;
  readonly family: 'ipv4' | 'ipv6' | 'unix';
  /** Client (source) address and port. */
  readonly sip: string;
  readonly sport: number;
  /** Server (destination) address and port. */
  readonly dip: string;
  readonly dport: number;
  /** Whether this process is the server side of the connection (it accepted it). */
  readonly is_server?: boolean;
  readonly connected?: boolean;
}

/** `id` is always there (`host` outside containers); the rest is joined by enrichment. */
export interface ContainerInfo {
  /** 12-character short id, or `host`. */
  readonly id: string;
  readonly full_id?: string;
  readonly name?: string;
  readonly type?: string;
  readonly image?: string;
  readonly image_id?: string;
  readonly image_repository?: string;
  readonly image_tag?: string;
  readonly image_digest?: string;
  readonly privileged?: boolean;
  readonly mounts?: readonly ContainerMount[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Container start, nanoseconds since the epoch. */
  readonly start_ts?: string;
  readonly ip?: string;
  readonly cni_json?: string;
  readonly host_pid?: boolean;
  readonly host_network?: boolean;
  readonly host_ipc?: boolean;
  readonly healthcheck?: string;
  readonly liveness_probe?: string;
  readonly readiness_probe?: string;
}

export interface ContainerMount {
  readonly source: string;
  readonly dest: string;
  readonly mode?: string;
  readonly rdwr?: boolean;
  readonly propagation?: string;
}

/**
 * The pod and, when cluster-mode enrichment runs, the objects around it: its
 * namespace, its controller (a ReplicaSet and the Deployment owning that, or a
 * ReplicationController) and the Services whose selector matches it. Those
 * back Falco's `k8s.ns.*`, `k8s.rs.*`, `k8s.deployment.*`, `k8s.rc.*` and
 * `k8s.svc.*` fields.
 */
export interface PodInfo {
  readonly pod_name?: string;
  readonly pod_uid?: string;
  readonly pod_labels?: Readonly<Record<string, string>>;
  readonly pod_ip?: string;
  readonly pod_sandbox_id?: string;
  readonly pod_full_sandbox_id?: string;
  readonly ns_name?: string;
  readonly ns_uid?: string;
  readonly ns_labels?: Readonly<Record<string, string>>;
  /** The ReplicaSet controlling the pod. */
  readonly rs_name?: string;
  readonly rs_uid?: string;
  readonly rs_labels?: Readonly<Record<string, string>>;
  /** The Deployment controlling that ReplicaSet. */
  readonly deployment_name?: string;
  readonly deployment_uid?: string;
  readonly deployment_labels?: Readonly<Record<string, string>>;
  /** The ReplicationController controlling the pod. */
  readonly rc_name?: string;
  readonly rc_uid?: string;
  readonly rc_labels?: Readonly<Record<string, string>>;
  /** The Services of the pod's namespace whose selector matches its labels, by name. */
  readonly services?: readonly K8sServiceRef[];
}

export interface K8sServiceRef {
  readonly name: string;
  readonly uid: string;
  readonly labels?: Readonly<Record<string, string>>;
}
