/**
 * The checks bench:sensor makes before it prints a figure: it counts only
 * the workload's own events (its pid, and for the fork loop the children it
 * execs), the workload's opens or execs were captured (all of them, or all
 * but what the probe reports dropped), and a paced run reached the rate it
 * claims to test. Pure, so test/bench-check.test.ts can feed it faults.
 */

/** The identity of an event the workload caused. */
export interface WorkloadEvent {
  readonly type: string;
  readonly pid: number;
  readonly ppid: number;
  /** openat: the path; execve: the exe path. */
  readonly path: string | undefined;
}

/**
 * What kind of own event `e` is, for workloads whose processes are `pids`:
 * `open` for the open loop's openat of /etc/hostname, `exec` for the fork
 * loop's execve of /bin/true by a child of the workload, `other` for the
 * workload's other events, undefined for anyone else's.
 */
export function workloadEventKind(
  e: WorkloadEvent,
  pids: ReadonlySet<number>,
): 'open' | 'exec' | 'other' | undefined {
  const own = pids.has(e.pid);
  const child = pids.has(e.ppid);
  if (!own && !child) return undefined;
  if (own && e.type === 'openat' && e.path === '/etc/hostname') return 'open';
  if (child && e.type === 'execve' && (e.path === '/bin/true' || e.path === '/usr/bin/true')) return 'exec';
  return 'other';
}

export interface PhaseCapture {
  readonly label: string;
  /** Opens (or execs) the workload reported doing. */
  readonly expected: number;
  /** Of those, the events the sensor delivered. */
  readonly captured: number;
  /** Records the probe reported lost in the phase (ring buffer, scratch, enter table). */
  readonly lost: number;
}

/** The workload's operations were captured: all, or all but what the probe says it lost. */
export function checkCapture(p: PhaseCapture): string[] {
  if (p.expected <= 0) return [`${p.label}: the workload did nothing`];
  if (p.captured > p.expected)
    return [
      `${p.label}: ${p.captured} events counted for ${p.expected} operations: events of others were counted`,
    ];
  if (p.captured + p.lost < p.expected)
    return [
      `${p.label}: ${p.captured} of the workload's ${p.expected} operations captured, and the probe reports only ${p.lost} lost`,
    ];
  return [];
}

/** A paced run tests its rate only if it reached it (at least 99 %). */
export function checkPacedRate(label: string, targetPerS: number, done: number, seconds: number): string[] {
  const achieved = done / seconds;
  return achieved >= 0.99 * targetPerS
    ? []
    : [`${label}: the workload achieved ${Math.round(achieved)}/s, not the ${targetPerS}/s the run tests`];
}

/**
 * The verdict on "0 drops at `targetPerS` paced": tested only when the run
 * reached the rate (a busy machine may not let the loop run that fast), met
 * only when every operation was captured and nothing was lost.
 */
export function pacedDropGoal(
  targetPerS: number,
  p: PhaseCapture,
  seconds: number,
): 'met' | 'NOT met' | 'not tested (rate not reached)' {
  if (checkPacedRate(p.label, targetPerS, p.expected, seconds).length > 0)
    return 'not tested (rate not reached)';
  return p.lost === 0 && p.captured === p.expected ? 'met' : 'NOT met';
}
