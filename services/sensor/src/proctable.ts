/**
 * The user-space process table: seeded from /proc when the sensor starts,
 * then kept current by the probe's fork/exec/exit records. It answers what a
 * single syscall record cannot carry cheaply: argv, exe path, cwd, ancestors,
 * user and group names.
 *
 * State lives in the instance (one per Sensor), never at module level.
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { AncestorInfo } from '@saker/events';
import { HOST_CONTAINER_ID, cgroupPathFromProcFile, containerIdFromCgroup } from './container-id.js';
import type { KernelRecord, ProcStateRaw } from './decoder.js';
import { capabilitiesText } from './falco-names.js';

export interface ProcEntry {
  pid: number;
  ppid: number;
  name: string;
  /** argv[0] */
  exe: string;
  exepath: string;
  args: string[];
  argsTruncated: boolean;
  cwd?: string;
  /** Epoch ns as a decimal string. */
  startTs?: string;
  containerId: string;
  containerFullId?: string;
  isExeUpperLayer?: boolean;
  isExeLowerLayer?: boolean;
  isExeFromMemfd?: boolean;
  isExeWritable?: boolean;
  exeIno?: number;
  /** The exe inode's ctime and mtime, epoch ns as decimal strings (proc.exe_ino.ctime/mtime). */
  exeCtime?: string;
  exeMtime?: string;
  /** thread.cap_* as Falco prints them, read at exec and fork. */
  caps?: { readonly inheritable: string; readonly permitted: string; readonly effective: string };
  /** Process group at exec/fork: host and own-namespace numbers (vpgid 0: the leader is outside the namespace). */
  pgid?: number;
  vpgid?: number;
  /** The environment at exec, at most ENV_MAX (2048) bytes of it. */
  env?: string[];
  /** ms since epoch when the exit record arrived; kept a while for late children and in-flight records. */
  exitedAt?: number;
  /**
   * Event sub-objects built from this entry, shared (frozen) by every event of
   * the process until the entry or the record's own fields change. Internal.
   */
  cache?: EntryCache;
}

/** Per-entry memo of frozen event parts; see event.ts. */
interface EntryCache {
  proc?: object;
  ancGen?: number;
  ancPpid?: number;
  ancestors?: readonly AncestorInfo[];
  asAncestor?: AncestorInfo;
}

export interface NameEntry {
  readonly name: string;
  readonly homedir?: string;
  readonly shell?: string;
}

export interface ProcTableOptions {
  /** Root of the proc filesystem; tests may point elsewhere. */
  readonly procRoot?: string;
  readonly etcRoot?: string;
  /** How many ancestors an event carries. */
  readonly maxAncestors?: number;
  /** Upper bound on entries; the oldest exited ones go first. */
  readonly maxEntries?: number;
  /** How long an exited process stays answerable. */
  readonly exitGraceMs?: number;
  /** Epoch ns of boot (CLOCK_BOOTTIME 0), to turn /proc start times into timestamps. */
  readonly bootEpochNs?: bigint;
}

type Required_ = Required<ProcTableOptions>;

function normalize(o: ProcTableOptions): Required_ {
  return {
    procRoot: o.procRoot ?? '/proc',
    etcRoot: o.etcRoot ?? '/etc',
    maxAncestors: o.maxAncestors ?? 5,
    maxEntries: o.maxEntries ?? 65536,
    exitGraceMs: o.exitGraceMs ?? 5000,
    bootEpochNs: o.bootEpochNs ?? 0n,
  };
}

const CLK_TCK = 100n;
/** The host's container, shared (containerOf runs for every event). */
const HOST_CONTAINER: { readonly id: string } = Object.freeze({ id: HOST_CONTAINER_ID });
const MEMFD_PREFIX = '/memfd:';

const OVERLAYFS_MAGIC = 0x794c7630;

/** Capabilities and the namespace pgid of a process found in /proc (seeding): its status file. */
function statusState(dir: string): Pick<ProcEntry, 'caps' | 'vpgid'> {
  let text: string;
  try {
    text = readFileSync(`${dir}/status`, 'latin1');
  } catch {
    return {};
  }
  const hex = (key: string): bigint | undefined => {
    const m = new RegExp(`^${key}:\\s*([0-9a-f]{1,16})$`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : BigInt(`0x${m[1]}`);
  };
  const inh = hex('CapInh');
  const prm = hex('CapPrm');
  const eff = hex('CapEff');
  const out: Pick<ProcEntry, 'caps' | 'vpgid'> = {};
  if (inh !== undefined && prm !== undefined && eff !== undefined) {
    out.caps = capsOf({ capInheritable: inh, capPermitted: prm, capEffective: eff, pgid: 0, vpgid: 0 });
  }
  // NSpgid lists the group's number in each pid namespace, outermost first: the last is the process's own.
  const ns = /^NSpgid:\s*([\d\s]+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  const v = Number(ns?.[ns.length - 1]);
  if (Number.isInteger(v) && v > 0) out.vpgid = v;
  return out;
}

/** Capabilities and process group from the probe's proc_state, or the parent's. */
function procState(
  ps: ProcStateRaw | undefined,
  parent: ProcEntry | undefined,
): Pick<ProcEntry, 'caps' | 'pgid' | 'vpgid'> {
  if (ps === undefined) {
    const out: Pick<ProcEntry, 'caps' | 'pgid' | 'vpgid'> = {};
    if (parent?.caps !== undefined) out.caps = parent.caps;
    if (parent?.pgid !== undefined) out.pgid = parent.pgid;
    if (parent?.vpgid !== undefined) out.vpgid = parent.vpgid;
    return out;
  }
  return {
    caps: capsOf(ps),
    pgid: ps.pgid,
    ...(ps.vpgid !== 0 ? { vpgid: ps.vpgid } : {}),
  };
}

/** Most processes share a few capability sets: their texts are interned. */
const CAPS_TEXT = new Map<string, NonNullable<ProcEntry['caps']>>();
function capsOf(ps: ProcStateRaw): NonNullable<ProcEntry['caps']> {
  const key = `${ps.capInheritable}:${ps.capPermitted}:${ps.capEffective}`;
  let c = CAPS_TEXT.get(key);
  if (c === undefined) {
    c = Object.freeze({
      inheritable: capabilitiesText(ps.capInheritable),
      permitted: capabilitiesText(ps.capPermitted),
      effective: capabilitiesText(ps.capEffective),
    });
    if (CAPS_TEXT.size >= 1024) CAPS_TEXT.clear();
    CAPS_TEXT.set(key, c);
  }
  return c;
}

/** How long a pid found missing from /proc is not looked for again. */
const ABSENT_TTL_MS = 2000;

export class ProcTable {
  private readonly opts: Required_;
  private readonly procs = new Map<number, ProcEntry>();
  private users = new Map<number, NameEntry>();
  private groups = new Map<number, NameEntry>();
  private namesLoadedAt = 0;
  /** Bumped whenever an entry is added, replaced or removed: ancestor chains built before are stale. */
  generation = 0;
  /** Bumped whenever the user/group name maps are re-read. */
  namesVersion = 0;
  private sweptAt = 0;
  /** pid -> when /proc last had no such process (readProcUnlessAbsent). */
  private readonly absent = new Map<number, number>();
  /** cgroup path -> container identity (containerIdFromCgroup is a parse per call). */
  private readonly containerByPath = new Map<string, { id: string; fullId?: string }>();

  constructor(options: ProcTableOptions = {}) {
    this.opts = normalize(options);
  }

  get size(): number {
    return this.procs.size;
  }

  setBootEpoch(ns: bigint): void {
    (this.opts as { bootEpochNs: bigint }).bootEpochNs = ns;
  }

  /** Reads every /proc/<pid>. Processes that vanish meanwhile are skipped. */
  seed(): void {
    this.loadNames(true);
    let dirs: string[];
    try {
      dirs = readdirSync(this.opts.procRoot);
    } catch {
      return;
    }
    for (const d of dirs) {
      const pid = Number(d);
      if (Number.isInteger(pid) && pid > 0) this.readProc(pid);
    }
  }

  get(pid: number): ProcEntry | undefined {
    return this.procs.get(pid);
  }

  /** The entry for pid, read from /proc on a miss (a process older than the sensor that we never saw). */
  lookup(pid: number, rec?: KernelRecord): ProcEntry {
    const e = this.procs.get(pid) ?? this.readProc(pid);
    if (e) return e;
    // Gone from /proc already: keep what the record itself says.
    const made: ProcEntry = {
      pid,
      ppid: rec?.ppid ?? 0,
      name: rec?.comm ?? '',
      exe: rec?.comm ?? '',
      exepath: '',
      args: [],
      argsTruncated: false,
      containerId: this.containerOf(rec?.cgroup, pid).id,
    };
    this.insert(made);
    return made;
  }

  onFork(rec: KernelRecord): void {
    const parent = this.procs.get(Number(rec.args[0])) ?? this.procs.get(rec.ppid);
    const c = this.containerOf(rec.cgroup, rec.pid);
    const entry: ProcEntry = {
      pid: rec.pid,
      ppid: rec.ppid,
      name: rec.comm,
      exe: parent?.exe ?? rec.comm,
      exepath: parent?.exepath ?? '',
      args: parent ? [...parent.args] : [],
      argsTruncated: parent?.argsTruncated ?? false,
      startTs: this.epoch(rec.startBoottime),
      containerId: c.id,
      ...(parent?.cwd !== undefined ? { cwd: parent.cwd } : {}),
      ...(c.fullId !== undefined ? { containerFullId: c.fullId } : {}),
      ...(parent?.isExeUpperLayer !== undefined ? { isExeUpperLayer: parent.isExeUpperLayer } : {}),
      ...(parent?.isExeLowerLayer !== undefined ? { isExeLowerLayer: parent.isExeLowerLayer } : {}),
      ...(parent?.isExeFromMemfd !== undefined ? { isExeFromMemfd: parent.isExeFromMemfd } : {}),
      ...(parent?.isExeWritable !== undefined ? { isExeWritable: parent.isExeWritable } : {}),
      ...(parent?.exeIno !== undefined ? { exeIno: parent.exeIno } : {}),
      ...(parent?.exeCtime !== undefined ? { exeCtime: parent.exeCtime } : {}),
      ...(parent?.exeMtime !== undefined ? { exeMtime: parent.exeMtime } : {}),
      ...(parent?.env !== undefined ? { env: parent.env } : {}),
      ...procState(rec.params.procstate, parent),
    };
    this.insert(entry);
  }

  /** From a sched_process_exec record or a successful execve/execveat exit. */
  onExec(rec: KernelRecord): ProcEntry {
    const p = rec.params;
    const argv = p.argv ?? [];
    const exepath = p.exepath ?? '';
    const c = this.containerOf(rec.cgroup, rec.pid);
    const entry: ProcEntry = {
      pid: rec.pid,
      ppid: rec.ppid,
      name: rec.comm,
      exe: argv[0] ?? exepath,
      exepath,
      args: argv.slice(1),
      argsTruncated: (rec.flags & 0x2) !== 0,
      startTs: this.epoch(rec.startBoottime),
      containerId: c.id,
      isExeFromMemfd: exepath.startsWith(MEMFD_PREFIX),
      ...(p.cwd !== undefined ? { cwd: p.cwd } : {}),
      ...(c.fullId !== undefined ? { containerFullId: c.fullId } : {}),
      ...(p.exeinfo
        ? {
            isExeUpperLayer: p.exeinfo.upperLayer,
            isExeLowerLayer: p.exeinfo.sbMagic === OVERLAYFS_MAGIC && !p.exeinfo.upperLayer,
            isExeWritable: p.exeinfo.writable,
            exeIno: p.exeinfo.ino,
            exeCtime: p.exeinfo.ctimeNs.toString(),
            exeMtime: p.exeinfo.mtimeNs.toString(),
          }
        : {}),
      ...(p.env !== undefined ? { env: p.env } : {}),
      ...procState(p.procstate, undefined),
    };
    this.insert(entry);
    return entry;
  }

  onExit(rec: KernelRecord): void {
    const e = this.procs.get(rec.pid);
    const now = Date.now();
    if (e) e.exitedAt = now;
    // A sweep walks the whole table: at most a few times per grace period, not per exit.
    if (now - this.sweptAt >= this.opts.exitGraceMs / 4) {
      this.sweptAt = now;
      this.sweep();
    }
  }

  /** Tracks chdir-like changes we learn from records (exec carries cwd). */
  noteCwd(pid: number, cwd: string): void {
    const e = this.procs.get(pid);
    if (e) {
      e.cwd = cwd;
      e.cache = undefined;
    }
  }

  /** Parent first, bounded by maxAncestors; stops at pid 0/1 loops and unknown parents. */
  ancestors(pid: number, ppid?: number): AncestorInfo[] {
    const out: AncestorInfo[] = [];
    const seen = new Set<number>([pid]);
    let next = ppid ?? this.procs.get(pid)?.ppid ?? 0;
    while (next > 0 && out.length < this.opts.maxAncestors && !seen.has(next)) {
      seen.add(next);
      const e = this.procs.get(next) ?? this.readProcUnlessAbsent(next);
      if (!e) break;
      out.push(this.asAncestor(e));
      next = e.ppid;
    }
    return out;
  }

  /** The entry as an ancestor, built once per entry and shared (frozen). */
  private asAncestor(e: ProcEntry): AncestorInfo {
    if (e.cache === undefined) e.cache = {};
    const c = e.cache;
    if (c.asAncestor) return c.asAncestor;
    const a: AncestorInfo = Object.freeze({
      pid: e.pid,
      name: e.name,
      exe: e.exe,
      exepath: e.exepath,
      args: e.args,
      ...(e.startTs !== undefined ? { start_ts: e.startTs } : {}),
    });
    c.asAncestor = a;
    return a;
  }

  /** ancestors(), memoised on the entry until the table changes. The array is shared and frozen. */
  cachedAncestors(e: ProcEntry, ppid: number): readonly AncestorInfo[] {
    if (e.cache === undefined) e.cache = {};
    const c = e.cache;
    if (c.ancestors !== undefined && c.ancGen === this.generation && c.ancPpid === ppid) return c.ancestors;
    const a = Object.freeze(this.ancestors(e.pid, ppid));
    // ancestors() may have read /proc and bumped the generation: take it after.
    c.ancestors = a;
    c.ancGen = this.generation;
    c.ancPpid = ppid;
    return a;
  }

  user(uid: number): NameEntry | undefined {
    return this.users.get(uid) ?? (this.loadNames(false) ? this.users.get(uid) : undefined);
  }

  group(gid: number): NameEntry | undefined {
    return this.groups.get(gid) ?? (this.loadNames(false) ? this.groups.get(gid) : undefined);
  }

  /** Container of a process: the kernel's cgroup v2 path first, /proc/<pid>/cgroup (v1/hybrid hosts) second. */
  containerOf(
    cgroupPath: string | undefined,
    pid: number,
  ): { readonly id: string; readonly fullId?: string } {
    if (cgroupPath !== undefined) {
      let c = this.containerByPath.get(cgroupPath);
      if (c === undefined) {
        c = containerIdFromCgroup(cgroupPath);
        if (this.containerByPath.size >= 4096) this.containerByPath.clear();
        this.containerByPath.set(cgroupPath, c);
      }
      if (c.id !== HOST_CONTAINER_ID) return c;
    }
    const known = this.procs.get(pid);
    if (known && known.containerId !== HOST_CONTAINER_ID) {
      return known.containerFullId !== undefined
        ? { id: known.containerId, fullId: known.containerFullId }
        : { id: known.containerId };
    }
    if (known) return HOST_CONTAINER;
    try {
      return containerIdFromCgroup(
        cgroupPathFromProcFile(readFileSync(`${this.opts.procRoot}/${pid}/cgroup`, 'utf8')),
      );
    } catch {
      return HOST_CONTAINER;
    }
  }

  private epoch(bootNs: bigint): string | undefined {
    if (bootNs === 0n) return undefined;
    return (this.opts.bootEpochNs + bootNs).toString();
  }

  private insert(e: ProcEntry): void {
    this.generation++;
    this.procs.set(e.pid, e);
    if (this.procs.size > this.opts.maxEntries) this.sweep(true);
  }

  private sweep(force = false): void {
    const now = Date.now();
    for (const [pid, e] of this.procs) {
      if (e.exitedAt !== undefined && (force || now - e.exitedAt > this.opts.exitGraceMs)) {
        this.procs.delete(pid);
        this.generation++;
      }
    }
    if (this.procs.size > this.opts.maxEntries) {
      // Still too big (a fork bomb we never saw exit): drop the oldest inserted.
      const excess = this.procs.size - this.opts.maxEntries;
      let i = 0;
      for (const pid of this.procs.keys()) {
        if (i++ >= excess) break;
        this.procs.delete(pid);
      }
      this.generation++;
    }
  }

  /**
   * readProc, but a pid found missing from /proc is not looked for again for
   * a while: the ancestors of a process whose parent exited are rebuilt after
   * every table change, and each rebuild would read /proc for the same gone
   * parent. A process that appears meanwhile under that pid comes in by its
   * fork or exec record, which this does not consult.
   */
  private readProcUnlessAbsent(pid: number): ProcEntry | undefined {
    const now = Date.now();
    const at = this.absent.get(pid);
    if (at !== undefined && now - at < ABSENT_TTL_MS) return undefined;
    const e = this.readProc(pid);
    if (e === undefined) {
      if (this.absent.size >= 4096) this.absent.clear();
      this.absent.set(pid, now);
    } else this.absent.delete(pid);
    return e;
  }

  private readProc(pid: number): ProcEntry | undefined {
    const dir = `${this.opts.procRoot}/${pid}`;
    try {
      const stat = readFileSync(`${dir}/stat`, 'latin1');
      // comm may hold spaces and parens: it ends at the last ')'.
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const rest = stat.slice(close + 2).split(' ');
      const ppid = Number(rest[1] ?? 0);
      const pgid = Number(rest[2] ?? 0);
      const startTicks = BigInt(rest[19] ?? '0');
      const cmd = readFileSync(`${dir}/cmdline`, 'utf8').split('\0');
      if (cmd[cmd.length - 1] === '') cmd.pop();
      const exepath = safeReadlink(`${dir}/exe`) ?? '';
      const cwd = safeReadlink(`${dir}/cwd`);
      let cgroupPath = '/';
      try {
        cgroupPath = cgroupPathFromProcFile(readFileSync(`${dir}/cgroup`, 'utf8'));
      } catch {
        // kernel thread or gone
      }
      const c = containerIdFromCgroup(cgroupPath);
      const cleanExe = exepath.endsWith(' (deleted)') ? exepath.slice(0, -10) : exepath;
      const e: ProcEntry = {
        pid,
        ppid,
        name,
        exe: cmd[0] ?? name,
        exepath: cleanExe,
        args: cmd.slice(1),
        argsTruncated: false,
        startTs: this.epoch((startTicks * 1_000_000_000n) / CLK_TCK),
        containerId: c.id,
        isExeFromMemfd: cleanExe.startsWith(MEMFD_PREFIX),
        ...(cwd !== undefined ? { cwd } : {}),
        ...(c.fullId !== undefined ? { containerFullId: c.fullId } : {}),
        ...(pgid > 0 ? { pgid } : {}),
        ...statusState(dir),
      };
      this.insert(e);
      return e;
    } catch {
      return undefined;
    }
  }

  /** (Re)reads /etc/passwd and /etc/group; on a miss at most every 5 s. Returns whether it read. */
  private loadNames(force: boolean): boolean {
    const now = Date.now();
    if (!force && now - this.namesLoadedAt < 5000) return false;
    this.namesLoadedAt = now;
    this.namesVersion++;
    this.users = parseColonFile(`${this.opts.etcRoot}/passwd`, (f) => ({
      name: f[0] ?? '',
      ...(f[5] !== undefined ? { homedir: f[5] } : {}),
      ...(f[6] !== undefined ? { shell: f[6] } : {}),
    }));
    this.groups = parseColonFile(`${this.opts.etcRoot}/group`, (f) => ({ name: f[0] ?? '' }));
    return true;
  }
}

function safeReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function parseColonFile(path: string, make: (fields: string[]) => NameEntry): Map<number, NameEntry> {
  const out = new Map<number, NameEntry>();
  try {
    statSync(path);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const f = line.split(':');
      const id = Number(f[2]);
      if (Number.isInteger(id) && !out.has(id)) out.set(id, make(f));
    }
  } catch {
    // no such file: names stay unknown
  }
  return out;
}
