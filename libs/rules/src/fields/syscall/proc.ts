import type { AncestorInfo } from '@saker/events';
import type { Extractor, FieldValue } from '../types.js';
import {
  type Def,
  type Ev,
  field,
  fieldWithArg,
  isIndex,
  nonZeroTs,
  nsDiff,
  parseIndex,
  unavailable,
} from './helpers.js';

// The process itself is level 0 of the lineage; ancestors[0] (the parent) is level 1.

function cmdline(name: string, args: readonly string[] | undefined): string {
  return args === undefined || args.length === 0 ? name : `${name} ${args.join(' ')}`;
}

function parent(e: Ev): AncestorInfo | undefined {
  return e.ancestors?.[0];
}

/** The lineage field `pick` at level `n`: 0 reads the process through `self`, n ≥ 1 reads ancestors[n-1]. */
function atLevel(
  n: number,
  self: (e: Ev) => FieldValue,
  pick: (a: AncestorInfo) => FieldValue,
): Extractor<Ev> {
  if (n === 0) return self;
  const i = n - 1;
  return (e) => {
    const a = e.ancestors?.[i];
    return a === undefined ? undefined : pick(a);
  };
}

/** Every ancestor's value (not the process's own), nearest first; missing when there are none. */
function allAncestors<T extends string | number>(pick: (a: AncestorInfo) => T | undefined): Extractor<Ev> {
  return (e) => {
    const as = e.ancestors;
    if (as === undefined || as.length === 0) return undefined;
    const out: T[] = [];
    for (const a of as) {
      const v = pick(a);
      if (v !== undefined) out.push(v);
    }
    return out;
  };
}

/**
 * One of the `proc.a*` lineage fields. With an index it reads one level; without,
 * it is a list of all ancestors so that `proc.aname = bash` and `proc.aname in (...)`
 * match when any ancestor does, as in Falco.
 */
function lineage<T extends string | number>(spec: {
  name: string;
  kind: 'string' | 'number';
  falcoType: string;
  description: string;
  self: (e: Ev) => FieldValue;
  pick: (a: AncestorInfo) => T | undefined;
}): Def {
  return fieldWithArg({
    name: spec.name,
    kind: spec.kind,
    falcoType: spec.falcoType,
    isList: true,
    arg: { required: false, kind: 'index' },
    description: `${spec.description} Without an index it is the list of all ancestors' values (nearest first, the process itself excluded), so a comparison matches when any ancestor matches; with [N] it is one value: [0] the process, [1] the parent, [2] the grandparent.`,
    bind: (arg) =>
      arg === undefined ? allAncestors(spec.pick) : atLevel(parseIndex(spec.name, arg), spec.self, spec.pick),
  });
}

function envValue(env: readonly string[], key: string): string {
  const n = key.length;
  for (const entry of env) {
    if (entry.length > n + 1 && entry.charCodeAt(n) === 61 && entry.startsWith(key)) {
      return entry.slice(n + 1).trim();
    }
  }
  return '';
}

function isShell(name: string): boolean {
  return name.endsWith('sh');
}

function stdio(n: 0 | 1 | 2, what: 'type' | 'name'): Extractor<Ev> {
  return (e) => e.proc.stdio?.[n]?.[what];
}

const STD_NAMES = ['stdin', 'stdout', 'stderr'] as const;

const stdioFields: Def[] = [];
for (const what of ['type', 'name'] as const) {
  STD_NAMES.forEach((s, n) => {
    stdioFields.push(
      field({
        name: `proc.${s}.${what}`,
        kind: 'string',
        falcoType: 'CHARBUF',
        description: `The ${what} of fd ${n} (${s}) of the process${what === 'type' ? ' (file, pipe, ipv4, unix, ...)' : ''}.`,
        extract: stdio(n as 0 | 1 | 2, what),
      }),
    );
  });
}

const NO_USAGE = 'the sensor does not sample resource usage into events.';

export const procFields: readonly Def[] = [
  field({
    name: 'proc.exe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The first command-line argument (argv[0]) the process was started with; it may differ from the file run.',
    extract: (e) => e.proc.exe,
  }),
  field({
    name: 'proc.pexe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.exe of the parent process.',
    extract: (e) => parent(e)?.exe,
  }),
  lineage({
    name: 'proc.aexe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.exe of an ancestor.',
    self: (e) => e.proc.exe,
    pick: (a) => a.exe,
  }),
  field({
    name: 'proc.exepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The full, resolved path of the executable file the process runs.',
    extract: (e) => e.proc.exepath,
  }),
  field({
    name: 'proc.pexepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.exepath of the parent process.',
    extract: (e) => parent(e)?.exepath,
  }),
  lineage({
    name: 'proc.aexepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.exepath of an ancestor.',
    self: (e) => e.proc.exepath,
    pick: (a) => a.exepath,
  }),
  field({
    name: 'proc.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The process name as the kernel keeps it (comm, at most 15 characters); a process can rename itself.',
    extract: (e) => e.proc.name,
  }),
  field({
    name: 'proc.pname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.name of the parent process.',
    extract: (e) => parent(e)?.name,
  }),
  lineage({
    name: 'proc.aname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.name of an ancestor.',
    self: (e) => e.proc.name,
    pick: (a) => a.name,
  }),
  fieldWithArg({
    name: 'proc.args',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: false, kind: 'index' },
    description:
      'The command-line arguments after argv[0], joined by spaces; proc.args[N] is the N-th of them (proc.args[0] is argv[1]).',
    bind: (arg) => {
      if (arg === undefined) return (e) => e.proc.args.join(' ');
      const i = parseIndex('proc.args', arg);
      return (e) => e.proc.args[i];
    },
  }),
  fieldWithArg({
    name: 'proc.aargs',
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: true,
    arg: { required: false, kind: 'index' },
    description:
      "proc.args of an ancestor: [0] the process, [1] the parent, ... Without an index, the list of all ancestors' arguments, so a comparison matches when any ancestor matches.",
    bind: (arg) => {
      const pick = (a: AncestorInfo): string | undefined => a.args?.join(' ');
      if (arg === undefined) return allAncestors(pick);
      return atLevel(parseIndex('proc.aargs', arg), (e) => e.proc.args.join(' '), pick);
    },
  }),
  field({
    name: 'proc.cmdline',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.name followed by the arguments: `cat /etc/shadow`.',
    extract: (e) => cmdline(e.proc.name, e.proc.args),
  }),
  field({
    name: 'proc.pcmdline',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.cmdline of the parent process.',
    extract: (e) => {
      const p = parent(e);
      return p === undefined ? undefined : cmdline(p.name, p.args);
    },
  }),
  lineage({
    name: 'proc.acmdline',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.cmdline of an ancestor.',
    self: (e) => cmdline(e.proc.name, e.proc.args),
    pick: (a) => cmdline(a.name, a.args),
  }),
  field({
    name: 'proc.cmdnargs',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The number of command-line arguments after argv[0].',
    extract: (e) => e.proc.args.length,
  }),
  field({
    name: 'proc.cmdlenargs',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The total length of the arguments after argv[0], not counting the spaces between them.',
    extract: (e) => {
      let n = 0;
      for (const a of e.proc.args) n += a.length;
      return n;
    },
  }),
  field({
    name: 'proc.exeline',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'proc.exe followed by a space and the arguments (argv joined by spaces).',
    extract: (e) => `${e.proc.exe} ${e.proc.args.join(' ')}`,
  }),
  fieldWithArg({
    name: 'proc.env',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: false, kind: 'key' },
    description:
      'The environment as `NAME=value NAME2=value2`; proc.env[NAME] is the value of one variable (empty when it is not set).',
    bind: (arg) => {
      if (arg === undefined) return (e) => e.proc.env?.join(' ');
      return (e) => (e.proc.env === undefined ? undefined : envValue(e.proc.env, arg));
    },
  }),
  fieldWithArg({
    name: 'proc.aenv',
    kind: 'string',
    falcoType: 'CHARBUF',
    arg: { required: false, kind: 'index-or-key' },
    description:
      "The environment along the lineage. Without argument or with [0] it is the process's own (as proc.env); ancestors' environments are not carried by Saker events, so [N>0] and [NAME] are missing.",
    bind: (arg) => {
      if (arg === undefined || (isIndex(arg) && Number(arg) === 0)) return (e) => e.proc.env?.join(' ');
      return () => undefined;
    },
  }),
  field({
    name: 'proc.cwd',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The current working directory of the process.',
    extract: (e) => e.proc.cwd,
  }),
  field({
    name: 'proc.loginshellid',
    kind: 'number',
    falcoType: 'INT64',
    description:
      'The pid of the eldest shell (a name ending in `sh`) among the process and its known ancestors; separates user sessions.',
    extract: (e) => {
      let found: number | undefined = isShell(e.proc.name) ? e.proc.pid : undefined;
      for (const a of e.ancestors ?? []) if (isShell(a.name)) found = a.pid;
      return found;
    },
  }),
  field({
    name: 'proc.tty',
    kind: 'number',
    falcoType: 'UINT32',
    description: 'The controlling terminal of the process; 0 when it has none.',
    extract: (e) => e.proc.tty,
  }),
  field({
    name: 'proc.pid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The process id (host pid namespace).',
    extract: (e) => e.proc.pid,
  }),
  field({
    name: 'proc.ppid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The pid of the parent process.',
    extract: (e) => e.proc.ppid ?? parent(e)?.pid,
  }),
  lineage({
    name: 'proc.apid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The pid of an ancestor.',
    self: (e) => e.proc.pid,
    pick: (a) => a.pid,
  }),
  field({
    name: 'proc.vpid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The process id as seen inside its own pid namespace.',
    extract: (e) => e.proc.vpid,
  }),
  unavailable({
    name: 'proc.pvpid',
    kind: 'number',
    falcoType: 'INT64',
    description: "The parent's pid as seen inside its pid namespace.",
    why: 'ancestors are carried with host pids only.',
  }),
  field({
    name: 'proc.sid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The session id of the process.',
    extract: (e) => e.proc.sid,
  }),
  field({
    name: 'proc.sname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description:
      'The name of the session leader (the process whose pid is the session id, or the eldest ancestor in the session).',
    extract: (e) => e.proc.sname,
  }),
  field({
    name: 'proc.sid.exe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'argv[0] of the session leader.',
    extract: (e) => e.proc.sid_exe,
  }),
  field({
    name: 'proc.sid.exepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The executable path of the session leader.',
    extract: (e) => e.proc.sid_exepath,
  }),
  field({
    name: 'proc.vpgid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The process group id as seen inside the pid namespace of the process.',
    extract: (e) => e.proc.vpgid,
  }),
  field({
    name: 'proc.vpgid.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the process group leader (pid namespace view).',
    extract: (e) => e.proc.vpgid_name,
  }),
  field({
    name: 'proc.vpgid.exe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'argv[0] of the process group leader (pid namespace view).',
    extract: (e) => e.proc.vpgid_exe,
  }),
  field({
    name: 'proc.vpgid.exepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The executable path of the process group leader (pid namespace view).',
    extract: (e) => e.proc.vpgid_exepath,
  }),
  field({
    name: 'proc.pgid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The process group id in the host pid namespace.',
    extract: (e) => e.proc.pgid,
  }),
  field({
    name: 'proc.pgid.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the process group leader (host view).',
    extract: (e) => e.proc.pgid_name,
  }),
  field({
    name: 'proc.pgid.exe',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'argv[0] of the process group leader (host view).',
    extract: (e) => e.proc.pgid_exe,
  }),
  field({
    name: 'proc.pgid.exepath',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The executable path of the process group leader (host view).',
    extract: (e) => e.proc.pgid_exepath,
  }),
  field({
    name: 'proc.duration',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Nanoseconds from the start of the process to this event.',
    extract: (e) => {
      const start = nonZeroTs(e.proc.start_ts);
      return start === undefined ? undefined : nsDiff(e.ts, start);
    },
  }),
  field({
    name: 'proc.ppid.duration',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'Nanoseconds from the start of the parent process to this event.',
    extract: (e) => {
      const start = nonZeroTs(parent(e)?.start_ts);
      return start === undefined ? undefined : nsDiff(e.ts, start);
    },
  }),
  field({
    name: 'proc.pid.ts',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'When the process started, in nanoseconds since the epoch (exact decimal string).',
    extract: (e) => nonZeroTs(e.proc.start_ts),
  }),
  field({
    name: 'proc.ppid.ts',
    kind: 'number',
    falcoType: 'RELTIME',
    description: 'When the parent process started, in nanoseconds since the epoch (exact decimal string).',
    extract: (e) => nonZeroTs(parent(e)?.start_ts),
  }),
  field({
    name: 'proc.is_exe_writable',
    kind: 'bool',
    falcoType: 'BOOL',
    description: "Whether the process's executable file is writable by the user that started it.",
    extract: (e) => e.proc.is_exe_writable,
  }),
  field({
    name: 'proc.is_exe_upper_layer',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      "Whether the process's executable file is in the upper (written) layer of an overlayfs: it was added or changed after the container started.",
    extract: (e) => e.proc.is_exe_upper_layer,
  }),
  field({
    name: 'proc.is_exe_lower_layer',
    kind: 'bool',
    falcoType: 'BOOL',
    description: "Whether the process's executable file is in a lower (image) layer of an overlayfs.",
    extract: (e) => e.proc.is_exe_lower_layer,
  }),
  field({
    name: 'proc.is_exe_from_memfd',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether the process runs an anonymous in-memory file (memfd_create), a fileless-execution sign.',
    extract: (e) => e.proc.is_exe_from_memfd,
  }),
  field({
    name: 'proc.is_sid_leader',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the process leads its session (session id equals its pid-namespace pid).',
    extract: (e) => (e.proc.sid === undefined ? undefined : e.proc.sid === (e.proc.vpid ?? e.proc.pid)),
  }),
  field({
    name: 'proc.is_vpgid_leader',
    kind: 'bool',
    falcoType: 'BOOL',
    description:
      'Whether the process leads its process group (pid-namespace view): true for a command typed in a terminal, false for one a script spawned.',
    extract: (e) => (e.proc.vpgid === undefined ? undefined : e.proc.vpgid === (e.proc.vpid ?? e.proc.pid)),
  }),
  field({
    name: 'proc.is_pgid_leader',
    kind: 'bool',
    falcoType: 'BOOL',
    description: 'Whether the process leads its process group (host view).',
    extract: (e) => (e.proc.pgid === undefined ? undefined : e.proc.pgid === e.proc.pid),
  }),
  field({
    name: 'proc.exe_ino',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The inode number of the executable file; compare with fd.ino.',
    extract: (e) => (e.proc.exe_ino === 0 ? undefined : e.proc.exe_ino),
  }),
  field({
    name: 'proc.exe_ino.ctime',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      "The executable file's last status change (inode ctime), nanoseconds since the epoch (exact decimal string).",
    extract: (e) => nonZeroTs(e.proc.exe_ino_ctime),
  }),
  field({
    name: 'proc.exe_ino.mtime',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      "The executable file's last content change (inode mtime), nanoseconds since the epoch (exact decimal string).",
    extract: (e) => nonZeroTs(e.proc.exe_ino_mtime),
  }),
  field({
    name: 'proc.exe_ino.ctime_duration_proc_start',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      'Nanoseconds between the last status change of the executable file and the start of this process; small values mean a freshly dropped binary.',
    extract: (e) => {
      const ctime = nonZeroTs(e.proc.exe_ino_ctime);
      const start = nonZeroTs(e.proc.start_ts);
      if (ctime === undefined || start === undefined) return undefined;
      const d = nsDiff(start, ctime);
      return d > 0 ? d : undefined;
    },
  }),
  field({
    name: 'proc.exe_ino.ctime_duration_pidns_start',
    kind: 'number',
    falcoType: 'ABSTIME',
    description:
      'Nanoseconds from the start of the pid namespace (the container) to the last status change of the executable file, when the file changed after the namespace started.',
    extract: (e) => {
      const ctime = nonZeroTs(e.proc.exe_ino_ctime);
      const nsStart = pidnsStart(e);
      if (ctime === undefined || nsStart === undefined) return undefined;
      const d = nsDiff(ctime, nsStart);
      return d > 0 ? d : undefined;
    },
  }),
  field({
    name: 'proc.pidns_init_start_ts',
    kind: 'number',
    falcoType: 'UINT64',
    description:
      "When the process's pid namespace (its container) started, nanoseconds since the epoch (exact decimal string).",
    extract: (e) => pidnsStart(e),
  }),
  unavailable({
    name: 'proc.fdopencount',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The number of fds the process has open.',
    why: NO_USAGE,
  }),
  unavailable({
    name: 'proc.fdlimit',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The most fds the process may open.',
    why: NO_USAGE,
  }),
  unavailable({
    name: 'proc.fdusage',
    kind: 'number',
    falcoType: 'DOUBLE',
    description: 'Open fds as a share of the fd limit.',
    why: NO_USAGE,
  }),
  unavailable({
    name: 'proc.vmsize',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'Total virtual memory of the process, in KiB.',
    why: NO_USAGE,
  }),
  unavailable({
    name: 'proc.vmrss',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'Resident memory of the process, in KiB.',
    why: NO_USAGE,
  }),
  unavailable({
    name: 'proc.vmswap',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'Swapped-out memory of the process, in KiB.',
    why: NO_USAGE,
  }),
  field({
    name: 'proc.nthreads',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The number of live threads of the process, the leader included.',
    extract: (e) => e.proc.nthreads,
  }),
  field({
    name: 'proc.nchilds',
    kind: 'number',
    falcoType: 'UINT64',
    description: 'The number of live threads of the process other than the leader.',
    extract: (e) => (e.proc.nthreads === undefined ? undefined : Math.max(0, e.proc.nthreads - 1)),
  }),
  ...stdioFields,
];

/** The pid namespace start; for a container process the container start is the same instant. */
function pidnsStart(e: Ev): string | undefined {
  return (
    nonZeroTs(e.proc.pidns_init_start_ts) ??
    (e.container.id === 'host' ? undefined : nonZeroTs(e.container.start_ts))
  );
}
