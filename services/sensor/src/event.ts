/**
 * Turns a decoded syscall record plus the process table into a self-contained
 * SyscallEvent (libs/events).
 *
 * Hot path. The parts of an event that only change when the process does
 * (proc, ancestors, user, group, container) are built once and shared, frozen,
 * by the events of the same process until something they depend on changes.
 * The event is not run through `parseEvent` by default: the sensor builds it
 * itself from a record the decoder already validated (the kernel's bytes are
 * the untrusted input, and the decoder is the boundary). `validate: true`
 * (tests, debugging) runs parseEvent on every event as before.
 */
import type { ContainerInfo, GroupInfo, ProcessInfo, SyscallEvent, UserInfo } from '@saker/events';
import { parseEvent } from '@saker/events';
import { BootEpoch, type KernelRecord, RF_ARGV_TRUNCATED } from './decoder.js';
import type { ProcEntry, ProcTable } from './proctable.js';
import { CallRenderings, renderCall } from './syscalls.js';

export interface BuildContext {
  readonly table: ProcTable;
  readonly bootEpochNs: bigint;
  readonly hostname?: string;
  readonly num: number;
  /** Run parseEvent on the result (default: true here, for direct callers; the Sensor passes its own setting). */
  readonly validate?: boolean;
  /** Shared frozen user/group/container objects; one per Sensor (absent: nothing is shared). */
  readonly parts?: EventParts;
}

const UNSET_LOGINUID = 0xffffffff;

/** Interned, frozen user/group/container sub-objects, keyed by what they are built from. */
export class EventParts {
  /** euid -> loginuid -> user. */
  private users = new Map<number, Map<number, UserInfo>>();
  private nUsers = 0;
  private groups = new Map<number, GroupInfo>();
  private readonly containers = new Map<string, ContainerInfo>();
  private namesVersion = -1;
  private bootEpoch: BootEpoch | undefined;
  /** Renderings of repeated open calls, shared frozen (syscalls.ts). */
  readonly calls = new CallRenderings();

  /** The boot epoch in the split form records format their time with (one per stream). */
  epoch(total: bigint): BootEpoch {
    if (this.bootEpoch?.total !== total) this.bootEpoch = new BootEpoch(total);
    return this.bootEpoch;
  }

  /** The last complete user handed out, by euid and loginuid: runs of one process's events repeat it. */
  private lastUser: UserInfo | undefined;
  private lastEuid = -1;
  private lastLoginuid = -1;

  user(table: ProcTable, euid: number, loginuid: number): UserInfo {
    if (
      this.lastUser !== undefined &&
      euid === this.lastEuid &&
      loginuid === this.lastLoginuid &&
      this.namesVersion === table.namesVersion
    )
      return this.lastUser;
    this.checkNames(table);
    let byLogin = this.users.get(euid);
    let u = byLogin?.get(loginuid);
    // Unknown names are looked up again (the table re-reads /etc at most every 5 s on a miss).
    if (u === undefined || u.name === undefined || ((u.loginuid ?? -1) >= 0 && u.loginname === undefined)) {
      const user = table.user(euid);
      const lu = loginuid === UNSET_LOGINUID ? -1 : loginuid;
      const loginname = lu >= 0 ? table.user(lu)?.name : undefined;
      this.checkNames(table);
      u = Object.freeze({
        uid: euid,
        ...(user?.name !== undefined ? { name: user.name } : {}),
        ...(user?.homedir !== undefined ? { homedir: user.homedir } : {}),
        ...(user?.shell !== undefined ? { shell: user.shell } : {}),
        loginuid: lu,
        ...(loginname !== undefined ? { loginname } : {}),
      });
      if (this.nUsers >= 4096) {
        this.users.clear();
        this.nUsers = 0;
        byLogin = undefined;
      }
      if (byLogin === undefined) {
        byLogin = new Map();
        this.users.set(euid, byLogin);
      }
      if (!byLogin.has(loginuid)) this.nUsers++;
      byLogin.set(loginuid, u);
    }
    // Only a complete user is kept: an unknown name is looked up again.
    if (u.name !== undefined && !((u.loginuid ?? -1) >= 0 && u.loginname === undefined)) {
      this.lastUser = u;
      this.lastEuid = euid;
      this.lastLoginuid = loginuid;
    }
    return u;
  }

  group(table: ProcTable, egid: number): GroupInfo {
    this.checkNames(table);
    let g = this.groups.get(egid);
    if (g === undefined || g.name === undefined) {
      const group = table.group(egid);
      this.checkNames(table);
      g = Object.freeze({ gid: egid, ...(group?.name !== undefined ? { name: group.name } : {}) });
      if (this.groups.size >= 4096) this.groups.clear();
      this.groups.set(egid, g);
    }
    return g;
  }

  container(c: { id: string; fullId?: string }): ContainerInfo {
    const key = c.fullId ?? c.id;
    let o = this.containers.get(key);
    if (o === undefined || o.id !== c.id) {
      o = Object.freeze({ id: c.id, ...(c.fullId !== undefined ? { full_id: c.fullId } : {}) });
      if (this.containers.size >= 4096) this.containers.clear();
      this.containers.set(key, o);
    }
    return o;
  }

  private checkNames(table: ProcTable): void {
    if (this.namesVersion !== table.namesVersion) {
      this.namesVersion = table.namesVersion;
      this.lastUser = undefined;
      this.users = new Map();
      this.nUsers = 0;
      this.groups = new Map();
    }
  }
}

/** proc.pgid/vpgid and the group leader's name, exe and exe path (when the table knows the leader). */
function groupLeader(proc: ProcEntry, table: ProcTable): Partial<ProcessInfo> {
  if (proc.pgid === undefined) return {};
  const out: { -readonly [K in keyof ProcessInfo]?: ProcessInfo[K] } = { pgid: proc.pgid };
  if (proc.vpgid !== undefined) out.vpgid = proc.vpgid;
  const leader = proc.pgid === proc.pid ? proc : table.get(proc.pgid);
  if (leader !== undefined) {
    out.pgid_name = leader.name;
    out.pgid_exe = leader.exe;
    out.pgid_exepath = leader.exepath;
    if (proc.vpgid !== undefined) {
      out.vpgid_name = leader.name;
      out.vpgid_exe = leader.exe;
      out.vpgid_exepath = leader.exepath;
    }
  }
  return out;
}

/** The proc sub-object: shared by consecutive events of the same process while its inputs are equal. */
function procInfo(rec: KernelRecord, proc: ProcEntry, table: ProcTable): ProcessInfo {
  const sname = rec.sid > 0 ? (rec.sid === rec.pid ? rec.comm : table.get(rec.sid)?.name) : undefined;
  const argsTruncated = proc.argsTruncated || (rec.flags & RF_ARGV_TRUNCATED) !== 0;
  if (proc.cache === undefined) proc.cache = {};
  const c = proc.cache;
  const q = c.proc as ProcessInfo | undefined;
  if (
    q !== undefined &&
    q.tid === rec.tid &&
    q.ppid === rec.ppid &&
    q.vpid === rec.vpid &&
    q.vtid === rec.vtid &&
    (q.sid ?? 0) === rec.sid &&
    q.sname === sname &&
    q.name === rec.comm &&
    (q.args_truncated ?? false) === argsTruncated &&
    q.tty === rec.tty &&
    q.pidns === rec.pidns &&
    q.mntns === rec.mntns
  )
    return q;
  const p: ProcessInfo = Object.freeze({
    pid: rec.pid,
    tid: rec.tid,
    ppid: rec.ppid,
    vpid: rec.vpid,
    vtid: rec.vtid,
    ...(rec.sid > 0 ? { sid: rec.sid } : {}),
    ...(sname !== undefined ? { sname } : {}),
    name: rec.comm,
    exe: proc.exe,
    exepath: proc.exepath,
    args: proc.args,
    ...(argsTruncated ? { args_truncated: true } : {}),
    ...(proc.cwd !== undefined ? { cwd: proc.cwd } : {}),
    tty: rec.tty,
    ...(proc.startTs !== undefined ? { start_ts: proc.startTs } : {}),
    ...(proc.isExeUpperLayer !== undefined ? { is_exe_upper_layer: proc.isExeUpperLayer } : {}),
    ...(proc.isExeLowerLayer !== undefined ? { is_exe_lower_layer: proc.isExeLowerLayer } : {}),
    ...(proc.isExeFromMemfd !== undefined ? { is_exe_from_memfd: proc.isExeFromMemfd } : {}),
    ...(proc.isExeWritable !== undefined ? { is_exe_writable: proc.isExeWritable } : {}),
    ...(proc.exeIno !== undefined ? { exe_ino: proc.exeIno } : {}),
    ...(proc.exeCtime !== undefined ? { exe_ino_ctime: proc.exeCtime } : {}),
    ...(proc.exeMtime !== undefined ? { exe_ino_mtime: proc.exeMtime } : {}),
    ...(proc.caps !== undefined
      ? {
          cap_inheritable: proc.caps.inheritable,
          cap_permitted: proc.caps.permitted,
          cap_effective: proc.caps.effective,
        }
      : {}),
    ...groupLeader(proc, table),
    pidns: rec.pidns,
    mntns: rec.mntns,
  } as ProcessInfo);
  c.proc = p;
  return p;
}

export function buildSyscallEvent(rec: KernelRecord, ctx: BuildContext): SyscallEvent {
  const { table } = ctx;
  // The Sensor passes its own parts; a direct caller without them shares nothing.
  const parts = ctx.parts ?? new EventParts();
  const call = ctx.parts !== undefined ? parts.calls.render(rec, table) : renderCall(rec, table);
  const entry = table.lookup(rec.pid, rec);
  let proc = procInfo(rec, entry, table);
  // The environment (up to 2 KiB) rides only on exec events: on every event it would multiply
  // the size of each message on the bus for a field no stable rule reads.
  if (entry.env !== undefined && rec.ret === 0 && (call.type === 'execve' || call.type === 'execveat')) {
    proc = Object.freeze({ ...proc, env: entry.env });
  }
  const ancestors = table.cachedAncestors(entry, rec.ppid);
  const user = parts.user(table, rec.euid, rec.loginuid);
  const group = parts.group(table, rec.egid);
  const container = parts.container(table.containerOf(rec.cgroup, rec.pid));
  let rawargs: Record<string, string | number> | undefined;
  for (const _ in call.rawargs) {
    rawargs = call.rawargs;
    break;
  }
  const ts = rec.epochTs(parts.epoch(ctx.bootEpochNs));
  const fd = call.fd;
  if (ctx.hostname !== undefined && rawargs !== undefined && fd !== undefined && ctx.validate === false) {
    // The common shape (an open: raw flags and an fd), made in one literal: an object built key by
    // key keeps most of its keys out of line, in a backing store that is reallocated as it grows.
    return {
      source: 'syscall',
      ts,
      num: ctx.num,
      cpu: rec.cpu,
      hostname: ctx.hostname,
      type: call.type,
      dir: '<',
      res: rec.ret,
      args: call.args,
      rawargs,
      proc,
      ancestors,
      user,
      group,
      fd,
      container,
    } as SyscallEvent;
  }
  // Same key order as before: the JSON of an event does not change.
  const event: { -readonly [K in keyof SyscallEvent]: SyscallEvent[K] } = {
    source: 'syscall',
    ts,
    num: ctx.num,
    cpu: rec.cpu,
  } as SyscallEvent;
  if (ctx.hostname !== undefined) event.hostname = ctx.hostname;
  event.type = call.type;
  event.dir = '<';
  event.res = rec.ret;
  event.args = call.args;
  if (rawargs !== undefined) event.rawargs = rawargs;
  event.proc = proc;
  event.ancestors = ancestors;
  event.user = user;
  event.group = group;
  if (fd) event.fd = fd;
  event.container = container;
  return ctx.validate === false ? event : (parseEvent(event) as SyscallEvent);
}
