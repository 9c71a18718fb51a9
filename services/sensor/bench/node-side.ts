/**
 * The node path as bench:sensor drives it: every event the sensor yields is
 * evaluated in this process against a ruleset (Falco's stable rules), as an
 * engine on the same node evaluates it, and counted: all events (to tell when
 * the backlog is drained), the workload's own (for the figures), evaluations
 * and matches. The Node process's CPU time over a phase, divided by the
 * events it handled, is the user-space cost per event (decode, process
 * table, event, evaluation).
 */
import type { SyscallEvent } from '@saker/events';
import type { EvaluateOptions, RuleMatch, Ruleset } from '@saker/rules';
import { RecordEventView } from '../src/event.js';
import { workloadEventKind } from './sensor-check.js';

interface NodeCounts {
  /** Events the sensor yielded (all of them, the host's background included). */
  events: number;
  evaluated: number;
  matches: number;
  readonly own: { open: number; exec: number; other: number };
}

export interface NodeSide {
  readonly counts: NodeCounts;
  /** Up to `sampleMax` events kept for an evaluation-only measurement afterwards. */
  readonly sample: SyscallEvent[];
  /** Ends when the sensor does. */
  readonly done: Promise<void>;
}

/** What consume needs of a Sensor (this build's or another's, `--against`, which may lack evaluateRules). */
interface EventSource {
  onEvent(fn: (e: SyscallEvent) => void): () => void;
  evaluateRules?(
    ruleset: Ruleset,
    options: EvaluateOptions,
    fn: (e: SyscallEvent, matches: readonly RuleMatch[]) => void,
  ): () => void;
  whenEnded(): Promise<void>;
}

/**
 * Evaluates the sensor's events in this thread: through `evaluateRules`
 * (the rules read a view of each kernel record; an event is built only for a
 * match, or for the sample), or, for a build without it, each event taken
 * through `onEvent` (as the sensor service takes them: no promise and no
 * queue per event, as `for await` had) and evaluated whole.
 */
export function consume(
  sensor: EventSource,
  ruleset: Ruleset,
  workloadPids: ReadonlySet<number>,
  sampleMax: number,
): NodeSide {
  const counts: NodeCounts = { events: 0, evaluated: 0, matches: 0, own: { open: 0, exec: 0, other: 0 } };
  const sample: SyscallEvent[] = [];
  const opts = { ruleMatching: 'first' as const };
  const evaluated = (e: SyscallEvent, matches: number): void => {
    counts.events++;
    counts.matches += matches;
    counts.evaluated++;
    // A view is read in place (valid during the call only): the sample keeps the event built whole.
    const view = e instanceof RecordEventView ? e : undefined;
    if (sample.length < sampleMax) sample.push(view !== undefined ? view.toEvent() : e);
    // The view's pid and ppid come from the record, without making `proc`.
    const pid = view !== undefined ? view.pid : e.proc.pid;
    const ppid = view !== undefined ? view.ppid : (e.proc.ppid ?? -1);
    if (!workloadPids.has(pid) && !workloadPids.has(ppid)) return;
    const path =
      e.type === 'execve' ? e.proc.exepath : typeof e.args.name === 'string' ? e.args.name : undefined;
    const kind = workloadEventKind({ type: e.type, pid, ppid, path }, workloadPids);
    if (kind !== undefined) counts.own[kind]++;
  };
  const off =
    sensor.evaluateRules !== undefined
      ? sensor.evaluateRules(ruleset, opts, (e, found) => evaluated(e, found.length))
      : sensor.onEvent((e) => evaluated(e, ruleset.evaluate(e, opts).length));
  const done = sensor.whenEnded().finally(off);
  return { counts, sample, done };
}

/** CPU ns per event of evaluating `events` alone (the same ruleset and options), best of `rounds`. */
export function evaluateOnlyNs(ruleset: Ruleset, events: readonly SyscallEvent[], rounds = 3): number {
  if (events.length === 0) return 0;
  const opts = { ruleMatching: 'first' as const };
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    for (const e of events) ruleset.evaluate(e, opts);
    const c = process.cpuUsage(c0);
    best = Math.min(best, ((c.user + c.system) * 1000) / events.length);
  }
  return best;
}

/** This process's CPU time (user + system, all threads: the collector's too), in ns. */
export function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}
