/**
 * Record handling shared by the Sensor (in its own thread or in the node
 * worker, node-worker-thread.ts) and bench/decode.bench.ts: keeps the process
 * table current and turns syscall records into events. One instance sees
 * every record of a stream in order, so the table is exact.
 */
import type { SyscallEvent } from '@saker/events';
import {
  type KernelRecord,
  REC_EXEC,
  REC_EXIT,
  REC_FORK,
  REC_SYSCALL,
  type StreamHeader,
} from './decoder.js';
import { type BuildContext, EventParts, buildSyscallEvent } from './event.js';
import { ProcTable } from './proctable.js';
import { SYSCALL_IDS } from './syscalls.js';

export class RecordPipeline {
  readonly table: ProcTable;
  invalidEvents = 0;
  num = 0;
  bootEpochNs = 0n;
  private readonly parts = new EventParts();
  /** The build context, one per pipeline: only the event number and the boot epoch change. */
  private readonly ctx: { -readonly [K in keyof BuildContext]: BuildContext[K] };
  /** cgroup id -> v2 path: the probe sends a cgroup's path once, then only its id. */
  private readonly cgroupPaths = new Map<number, string>();

  constructor(
    private readonly opts: {
      readonly hostname: string;
      readonly maxAncestors: number;
      readonly validate: boolean;
      readonly onError: (err: Error) => void;
      /** Syscall ids published as events; others only update the table. Default: all. */
      readonly emittedIds?: readonly number[];
    },
  ) {
    this.table = new ProcTable({ maxAncestors: opts.maxAncestors });
    this.ctx = {
      table: this.table,
      bootEpochNs: 0n,
      hostname: opts.hostname,
      num: 0,
      validate: opts.validate,
      parts: this.parts,
    };
    if (opts.emittedIds !== undefined) this.emitted = new Set(opts.emittedIds);
  }

  private emitted: ReadonlySet<number> | undefined;

  /**
   * The stream is live: the boot epoch for timestamps, and the table seeded
   * from /proc. Seeded after the probe is live: a process that forks between
   * the two is then seen by both, never by neither.
   */
  onHeader(h: StreamHeader): void {
    this.bootEpochNs = h.bootEpochNs;
    this.table.setBootEpoch(h.bootEpochNs);
    this.table.seed();
  }

  /** Replaces the set of syscall ids published as events (the rest only update the table). */
  setEmitted(ids: readonly number[]): void {
    this.emitted = new Set(ids);
  }

  /** The event for a syscall record; undefined for lifecycle records and invalid events. */
  handle(rec: KernelRecord): SyscallEvent | undefined {
    // kernfs ids are below 2^53 in practice; a number is a much cheaper map key than a bigint.
    const cgid = rec.cgroupIdNum();
    const cgroup = rec.cgroup;
    if (cgroup !== undefined) {
      if (this.cgroupPaths.get(cgid) !== cgroup) {
        if (this.cgroupPaths.size >= 8192) this.cgroupPaths.clear();
        this.cgroupPaths.set(cgid, cgroup);
      }
    } else {
      const known = this.cgroupPaths.get(cgid);
      if (known !== undefined) rec.cgroup = known;
    }
    switch (rec.kind) {
      case REC_FORK:
        this.table.onFork(rec);
        return undefined;
      case REC_EXEC:
        this.table.onExec(rec);
        return undefined;
      case REC_EXIT:
        this.table.onExit(rec);
        return undefined;
      case REC_SYSCALL:
        break;
    }
    if ((rec.syscall === SYSCALL_IDS.execve || rec.syscall === SYSCALL_IDS.execveat) && rec.ret === 0) {
      this.table.onExec(rec);
    } else if (
      (rec.syscall === SYSCALL_IDS.chdir || rec.syscall === SYSCALL_IDS.fchdir) &&
      rec.params.cwd !== undefined
    ) {
      this.table.noteCwd(rec.pid, rec.params.cwd);
    }
    if (this.emitted !== undefined && !this.emitted.has(rec.syscall)) return undefined;
    try {
      const ctx = this.ctx;
      ctx.bootEpochNs = this.bootEpochNs;
      ctx.num = this.num + 1;
      const ev = buildSyscallEvent(rec, ctx);
      this.num++;
      return ev;
    } catch (err) {
      this.invalidEvents++;
      this.opts.onError(err as Error);
      return undefined;
    }
  }
}
