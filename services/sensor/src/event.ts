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
import type {
  AncestorInfo,
  ContainerInfo,
  FdInfo,
  GroupInfo,
  ProcessInfo,
  SyscallEvent,
  UserInfo,
} from '@saker/events';
import { parseEvent } from '@saker/events';
import { BootEpoch, type KernelRecord, RF_ARGV_TRUNCATED } from './decoder.js';
import type { ProcEntry, ProcTable } from './proctable.js';
import { CallRenderings, type RenderedCall, callType, isExec, renderCall } from './syscalls.js';

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

/**
 * A syscall event read from its kernel record as it is asked for: the
 * sensor's counterpart of @saker/bus's `BinaryEventView`, so the rules
 * evaluate on the node as the engine evaluates a binary batch, through the
 * same `Ruleset.evaluate` and field extractors. `type` is the syscall id's
 * name, so the ruleset's `evt.type` index is consulted before anything else
 * is made; each other part (the rendered call, proc, ancestors, user, group,
 * container, the timestamp) is made on its first read, by the code that
 * builds it for a whole event, and kept for the next read. `toEvent()` makes
 * the whole event (what `buildSyscallEvent` returns) from the parts made so
 * far and the rest.
 *
 * A view holds one record at a time (`reset`) and reads the process table as
 * it is then: it is valid only until the pipeline handles the next record,
 * so it is read synchronously and never kept (a match keeps the whole event).
 * The process entry is looked up at `reset`, as for a built event (a miss
 * reads /proc and inserts it), so the table does not depend on what the rules
 * read. A part that throws when made is this event's `fault` (the pipeline
 * counts the event invalid); the engine's views do the same.
 */
export class RecordEventView implements SyscallEvent {
  num = 0;
  /** Why the event is invalid, once making a part threw. */
  fault: Error | undefined;
  #rec: KernelRecord | undefined;
  #type = '';
  #entry: ProcEntry | undefined;
  #call: (RenderedCall & { type: string }) | undefined;
  /** The rendered call's raw args (undefined when it has none) and fd, kept as fields: the rules read fd often. */
  #rawargs: Readonly<Record<string, string | number>> | undefined;
  #fd: FdInfo | undefined;
  #proc: ProcessInfo | undefined;
  #ancestors: readonly AncestorInfo[] | undefined;
  #user: UserInfo | undefined;
  #group: GroupInfo | undefined;
  #container: ContainerInfo | undefined;
  #ts: string | undefined;
  readonly #ctx: BuildContext;
  readonly #parts: EventParts;

  constructor(ctx: BuildContext) {
    this.#ctx = ctx;
    // The Sensor passes its own parts; a direct caller without them shares nothing.
    this.#parts = ctx.parts ?? new EventParts();
  }

  /** Points the view at `rec`, the event numbered `num`; forgets the parts of the last record. */
  reset(rec: KernelRecord, num: number): this {
    this.#rec = rec;
    this.#type = callType(rec.syscall);
    this.num = num;
    this.fault = undefined;
    this.#entry = this.#ctx.table.lookup(rec.pid, rec);
    this.#call = undefined;
    this.#rawargs = undefined;
    this.#fd = undefined;
    this.#proc = undefined;
    this.#ancestors = undefined;
    this.#user = undefined;
    this.#group = undefined;
    this.#container = undefined;
    this.#ts = undefined;
    return this;
  }

  /** The record's pid and parent pid, read without making `proc` (`proc.pid`, `proc.ppid`). */
  get pid(): number {
    return this.#r().pid;
  }
  get ppid(): number {
    return this.#r().ppid;
  }

  get source(): 'syscall' {
    return 'syscall';
  }
  get type(): string {
    return this.#type;
  }
  get ts(): string {
    return this.#ts ?? (this.#made(PART_TS) as string);
  }
  get cpu(): number {
    return this.#r().cpu;
  }
  get hostname(): string | undefined {
    return this.#ctx.hostname;
  }
  get dir(): '<' {
    return '<';
  }
  get res(): number {
    return this.#r().ret;
  }
  get args(): Readonly<Record<string, string | number>> {
    return this.#renderedCall().args;
  }
  get rawargs(): Readonly<Record<string, string | number>> | undefined {
    if (this.#call === undefined) this.#renderedCall();
    return this.#rawargs;
  }
  get fd(): FdInfo | undefined {
    if (this.#call === undefined) this.#renderedCall();
    return this.#fd;
  }
  get proc(): ProcessInfo {
    return this.#proc ?? (this.#made(PART_PROC) as ProcessInfo);
  }
  get ancestors(): readonly AncestorInfo[] {
    return this.#ancestors ?? (this.#made(PART_ANCESTORS) as readonly AncestorInfo[]);
  }
  get user(): UserInfo {
    return this.#user ?? (this.#made(PART_USER) as UserInfo);
  }
  get group(): GroupInfo {
    return this.#group ?? (this.#made(PART_GROUP) as GroupInfo);
  }
  get container(): ContainerInfo {
    return this.#container ?? (this.#made(PART_CONTAINER) as ContainerInfo);
  }

  /** The whole event, as `buildSyscallEvent` makes it (parseEvent run on it unless `validate` is false). */
  toEvent(): SyscallEvent {
    const ctx = this.#ctx;
    const rec = this.#r();
    // In the order buildSyscallEvent always made them; what throws here is the caller's to count.
    const call = this.#call ?? this.#renderedCall();
    const proc = this.#proc ?? this.#makeProc();
    const ancestors = this.#ancestors ?? this.#makeAncestors();
    const user = this.#user ?? this.#makeUser();
    const group = this.#group ?? this.#makeGroup();
    const container = this.#container ?? this.#makeContainer();
    const rawargs = this.#rawargs;
    const ts = this.#ts ?? this.#makeTs();
    const fd = this.#fd;
    if (ctx.hostname !== undefined && rawargs !== undefined && fd !== undefined && ctx.validate === false) {
      // The common shape (an open: raw flags and an fd), made in one literal: an object built key by
      // key keeps most of its keys out of line, in a backing store that is reallocated as it grows.
      return {
        source: 'syscall',
        ts,
        num: this.num,
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
      num: this.num,
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

  /** The event's JSON is the whole event's. */
  toJSON(): SyscallEvent {
    return this.toEvent();
  }

  #r(): KernelRecord {
    const rec = this.#rec;
    if (rec === undefined) throw new Error('RecordEventView: read before reset() gave it a record');
    return rec;
  }

  #renderedCall(): RenderedCall & { type: string } {
    let call = this.#call;
    if (call === undefined) {
      try {
        const rec = this.#r();
        const table = this.#ctx.table;
        call = this.#ctx.parts !== undefined ? this.#parts.calls.render(rec, table) : renderCall(rec, table);
      } catch (err) {
        this.#fail(err);
      }
      this.#call = call;
      this.#fd = call.fd;
      this.#rawargs = undefined;
      for (const _ in call.rawargs) {
        this.#rawargs = call.rawargs;
        break;
      }
    }
    return call;
  }

  /** Makes part `p` (PART_*) and keeps it; if that throws, the error is this event's fault, and thrown on. */
  #made(p: number): unknown {
    try {
      return this.#make(p);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Part `p`, made by the code that builds it for every event, and kept. */
  #make(p: number): unknown {
    switch (p) {
      case PART_TS:
        return this.#makeTs();
      case PART_PROC:
        return this.#makeProc();
      case PART_ANCESTORS:
        return this.#makeAncestors();
      case PART_USER:
        return this.#makeUser();
      case PART_GROUP:
        return this.#makeGroup();
      default:
        return this.#makeContainer();
    }
  }

  // One method per part: toEvent, which makes them all for every built event, calls them directly.
  #makeTs(): string {
    this.#ts = this.#r().epochTs(this.#parts.epoch(this.#ctx.bootEpochNs));
    return this.#ts;
  }
  #makeProc(): ProcessInfo {
    const rec = this.#r();
    const entry = this.#entry as ProcEntry;
    const proc = procInfo(rec, entry, this.#ctx.table);
    // The environment (up to 2 KiB) rides only on exec events: on every event it would multiply
    // the size of each message on the bus for a field no stable rule reads.
    this.#proc =
      entry.env !== undefined && rec.ret === 0 && isExec(rec.syscall)
        ? Object.freeze({ ...proc, env: entry.env })
        : proc;
    return this.#proc;
  }
  #makeAncestors(): readonly AncestorInfo[] {
    this.#ancestors = this.#ctx.table.cachedAncestors(this.#entry as ProcEntry, this.#r().ppid);
    return this.#ancestors;
  }
  #makeUser(): UserInfo {
    const rec = this.#r();
    this.#user = this.#parts.user(this.#ctx.table, rec.euid, rec.loginuid);
    return this.#user;
  }
  #makeGroup(): GroupInfo {
    this.#group = this.#parts.group(this.#ctx.table, this.#r().egid);
    return this.#group;
  }
  #makeContainer(): ContainerInfo {
    const rec = this.#r();
    this.#container = this.#parts.container(this.#ctx.table.containerOf(rec.cgroup, rec.pid));
    return this.#container;
  }

  #fail(err: unknown): never {
    this.fault ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  }
}

/** The parts of a RecordEventView made on first read. */
const PART_TS = 0;
const PART_PROC = 1;
const PART_ANCESTORS = 2;
const PART_USER = 3;
const PART_GROUP = 4;
const PART_CONTAINER = 5;

export function buildSyscallEvent(rec: KernelRecord, ctx: BuildContext): SyscallEvent {
  return new RecordEventView(ctx).reset(rec, ctx.num).toEvent();
}
