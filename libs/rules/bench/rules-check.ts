/**
 * The check bench:rules makes before it prints a rate: the timed run, which
 * walks the pool from its start round and round, found exactly the alerts
 * the reference pass over the pool gives for the events it evaluated. Pure,
 * so test/bench-check.test.ts can feed it faults.
 */

/** The sum of `perIndex` over the first `events` indices of the pool taken round and round. */
export function expectedOver(perIndex: readonly number[], events: number): number {
  const n = perIndex.length;
  if (n === 0) return 0;
  let once = 0;
  for (const x of perIndex) once += x;
  let total = Math.floor(events / n) * once;
  const rest = events % n;
  for (let i = 0; i < rest; i++) total += perIndex[i] ?? 0;
  return total;
}

export interface RulesRun {
  readonly events: number;
  /** Events with at least one match, and matches in all, in the timed run. */
  readonly alerting: number;
  readonly matches: number;
}

/** Problems of a timed run against the reference pass (matches per pool event). */
export function checkRulesRun(run: RulesRun, matchesPerIndex: readonly number[]): string[] {
  const p: string[] = [];
  const alertingPerIndex = matchesPerIndex.map((m) => (m > 0 ? 1 : 0));
  if (run.events <= 0) p.push('the timed run evaluated no events');
  if (expectedOver(alertingPerIndex, matchesPerIndex.length) <= 0)
    p.push('the reference pass fires no rule: the check would prove nothing');
  const alerting = expectedOver(alertingPerIndex, run.events);
  const matches = expectedOver(matchesPerIndex, run.events);
  if (run.alerting !== alerting)
    p.push(
      `the timed run had ${run.alerting} alerting events, the reference pass gives ${alerting} for ${run.events} events`,
    );
  if (run.matches !== matches)
    p.push(
      `the timed run had ${run.matches} matches, the reference pass gives ${matches} for ${run.events} events`,
    );
  return p;
}
