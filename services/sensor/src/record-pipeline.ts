/**
 * Record handling shared by the Sensor (in its own thread or in the node
 * worker, node-worker-thread.ts) and bench/decode.bench.ts: keeps the process
 * table current and turns syscall records into events. One instance sees
 * every record of a stream in order, so the table is exact.
 */
import type { SyscallEvent } from '@saker/events';
import type { EvaluateOptions, RuleMatch, Ruleset } from '@saker/rules';
import {
  type KernelRecord,
  REC_EXEC,
  REC_EXIT,
  REC_FORK,
  REC_SYSCALL,
  type StreamHeader,
} from './decoder.js';
import { type BuildContext, EventParts, RecordEventView } from './event.js';
import { ProcTable } from './proctable.js';
import { SYSCALL_IDS, isExec } from './syscalls.js';

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
  /** The last cgroup id whose path was known, and that path. */
  private lastCgroupId = -1;
  private lastCgroup: string | undefined;
  /** The one view of this pipeline, pointed at each record in turn. */
  private readonly eventView: RecordEventView;
  /** The last options given to `evaluate`, and a copy of them with `render: false`. */
  private lastOptions: EvaluateOptions | undefined;
  private lastUnrendered: EvaluateOptions = { render: false };

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
    this.eventView = new RecordEventView(this.ctx);
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
    const v = this.view(rec);
    if (v === undefined) return undefined;
    try {
      const ev = v.toEvent();
      this.num++;
      return ev;
    } catch (err) {
      this.invalid(err);
      return undefined;
    }
  }

  /**
   * The rules evaluated on a syscall record's event without building it
   * (issue #18): the table is updated as by `handle`, then `ruleset` is
   * evaluated on a view of the record (event.ts, `RecordEventView`), which
   * makes only the parts the rules read, after the `evt.type` index; only a
   * match builds the whole event, and its output is rendered from that event.
   * The matches are pushed to `out`. Returns the view (valid until the next
   * record: read it at once, never keep it) or undefined for lifecycle
   * records, calls not emitted and invalid events. With `validate` every
   * event is built, checked and evaluated whole, as before.
   */
  evaluate(
    rec: KernelRecord,
    ruleset: Ruleset,
    options: EvaluateOptions,
    out: RuleMatch[],
  ): SyscallEvent | undefined {
    if (this.opts.validate) {
      const ev = this.handle(rec);
      if (ev !== undefined) for (const m of ruleset.evaluate(ev, options)) out.push(m);
      return ev;
    }
    const v = this.view(rec);
    if (v === undefined) return undefined;
    const found = ruleset.evaluate(v, this.unrendered(options));
    // A part the rules read failed to be made (the evaluation took it for no match): invalid.
    if (v.fault !== undefined) {
      this.invalid(v.fault);
      return undefined;
    }
    let ev: SyscallEvent | undefined;
    if (found.length > 0) {
      try {
        ev = v.toEvent();
      } catch (err) {
        this.invalid(err);
        return undefined;
      }
    }
    this.num++;
    if (ev !== undefined) for (const m of found) out.push(ruleset.render(m, ev));
    return v;
  }

  /** `options` with `render: false`, made once per options object. */
  private unrendered(options: EvaluateOptions): EvaluateOptions {
    if (this.lastOptions !== options) {
      this.lastOptions = options;
      this.lastUnrendered = { ...options, render: false };
    }
    return this.lastUnrendered;
  }

  private invalid(err: unknown): void {
    this.invalidEvents++;
    this.opts.onError(err as Error);
  }

  /** The table updated for `rec`; the view of its event, numbered, or undefined when it makes none. */
  private view(rec: KernelRecord): RecordEventView | undefined {
    // kernfs ids are below 2^53 in practice; a number is a much cheaper map key than a bigint.
    const cgid = rec.cgroupIdNum();
    const cgroup = rec.cgroup;
    if (cgroup !== undefined) {
      if (this.cgroupPaths.get(cgid) !== cgroup) {
        if (this.cgroupPaths.size >= 8192) this.cgroupPaths.clear();
        this.cgroupPaths.set(cgid, cgroup);
      }
      this.lastCgroupId = cgid;
      this.lastCgroup = cgroup;
    } else if (cgid === this.lastCgroupId) {
      // Runs of records of one cgroup: the last id's path, without the map.
      rec.cgroup = this.lastCgroup;
    } else {
      const known = this.cgroupPaths.get(cgid);
      if (known !== undefined) {
        rec.cgroup = known;
        this.lastCgroupId = cgid;
        this.lastCgroup = known;
      }
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
    const id = rec.syscall;
    if (isExec(id) && rec.ret === 0) {
      this.table.onExec(rec);
    } else if ((id === SYSCALL_IDS.chdir || id === SYSCALL_IDS.fchdir) && rec.params.cwd !== undefined) {
      this.table.noteCwd(rec.pid, rec.params.cwd);
    }
    if (this.emitted !== undefined && !this.emitted.has(id)) return undefined;
    this.ctx.bootEpochNs = this.bootEpochNs;
    try {
      return this.eventView.reset(rec, this.num + 1);
    } catch (err) {
      this.invalid(err);
      return undefined;
    }
  }
}
