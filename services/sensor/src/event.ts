/**
 * Turns a decoded syscall record plus the process table into a self-contained
 * SyscallEvent (libs/events), validated by parseEvent before it leaves.
 */
import { type SyscallEvent, parseEvent } from '@saker/events';
import { type KernelRecord, RF_ARGV_TRUNCATED } from './decoder.js';
import type { ProcTable } from './proctable.js';
import { renderCall } from './syscalls.js';

export interface BuildContext {
  readonly table: ProcTable;
  readonly bootEpochNs: bigint;
  readonly hostname?: string;
  readonly num: number;
}

const UNSET_LOGINUID = 0xffffffff;

export function buildSyscallEvent(rec: KernelRecord, ctx: BuildContext): SyscallEvent {
  const { table } = ctx;
  const call = renderCall(rec);
  const proc = table.lookup(rec.pid, rec);
  const user = table.user(rec.euid);
  const group = table.group(rec.egid);
  const loginuid = rec.loginuid === UNSET_LOGINUID ? -1 : rec.loginuid;
  const loginname = loginuid >= 0 ? table.user(loginuid)?.name : undefined;
  const container = table.containerOf(rec.params.cgroup, rec.pid);
  const ancestors = table.ancestors(rec.pid, rec.ppid);
  const event = {
    source: 'syscall' as const,
    ts: (ctx.bootEpochNs + rec.ts).toString(),
    num: ctx.num,
    cpu: rec.cpu,
    ...(ctx.hostname !== undefined ? { hostname: ctx.hostname } : {}),
    type: call.type,
    dir: '<' as const,
    res: rec.ret,
    args: call.args,
    ...(Object.keys(call.rawargs).length > 0 ? { rawargs: call.rawargs } : {}),
    proc: {
      pid: rec.pid,
      tid: rec.tid,
      ppid: rec.ppid,
      vpid: rec.vpid,
      vtid: rec.vtid,
      name: rec.comm,
      exe: proc.exe,
      exepath: proc.exepath,
      args: proc.args,
      ...(proc.argsTruncated || (rec.flags & RF_ARGV_TRUNCATED) !== 0 ? { args_truncated: true } : {}),
      ...(proc.cwd !== undefined ? { cwd: proc.cwd } : {}),
      tty: rec.tty,
      ...(proc.startTs !== undefined ? { start_ts: proc.startTs } : {}),
      ...(proc.isExeUpperLayer !== undefined ? { is_exe_upper_layer: proc.isExeUpperLayer } : {}),
      ...(proc.isExeFromMemfd !== undefined ? { is_exe_from_memfd: proc.isExeFromMemfd } : {}),
      ...(proc.exeIno !== undefined ? { exe_ino: proc.exeIno } : {}),
      pidns: rec.pidns,
      mntns: rec.mntns,
    },
    ancestors,
    user: {
      uid: rec.euid,
      ...(user?.name !== undefined ? { name: user.name } : {}),
      ...(user?.homedir !== undefined ? { homedir: user.homedir } : {}),
      ...(user?.shell !== undefined ? { shell: user.shell } : {}),
      loginuid,
      ...(loginname !== undefined ? { loginname } : {}),
    },
    group: { gid: rec.egid, ...(group?.name !== undefined ? { name: group.name } : {}) },
    ...(call.fd ? { fd: call.fd } : {}),
    container: { id: container.id, ...(container.fullId !== undefined ? { full_id: container.fullId } : {}) },
  };
  return parseEvent(event) as SyscallEvent;
}
