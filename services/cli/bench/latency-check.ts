/**
 * The check bench:latency makes before it prints a percentile: every action
 * was seen by its alert, once, from the bench's rule, and the heavy phase
 * really ran its load. Pure, so test/bench-checks.test.ts can feed it faults.
 */

/** One phase (a transport and a load): its actions and what the alert file showed. */
export interface LatencyPhase {
  readonly name: string;
  /** The markers of the actions, in order. */
  readonly markers: readonly string[];
  /** Per marker, the alert lines that carried it (rule name and arrival latency, ms). */
  readonly alerts: ReadonlyMap<string, readonly { readonly rule: string; readonly ms: number }[]>;
  /** The rule every alert must come from. */
  readonly rule: string;
  /** For a phase under load: the load's operations per second while it ran (0: it did not run). */
  readonly loadPerSecond?: number;
}

/** The problems of a phase; empty when its percentiles may be printed. */
export function checkLatencyPhase(p: LatencyPhase): string[] {
  const out: string[] = [];
  if (p.markers.length === 0) out.push(`${p.name}: no action was made`);
  let missing = 0;
  let twice = 0;
  let foreign = 0;
  for (const m of p.markers) {
    const seen = p.alerts.get(m) ?? [];
    if (seen.length === 0) missing++;
    if (seen.length > 1) twice++;
    if (seen.some((a) => a.rule !== p.rule)) foreign++;
  }
  if (missing > 0) out.push(`${p.name}: ${missing} of ${p.markers.length} actions have no alert`);
  if (twice > 0) out.push(`${p.name}: ${twice} actions have more than one alert`);
  if (foreign > 0) out.push(`${p.name}: ${foreign} actions have an alert of another rule than '${p.rule}'`);
  const known = new Set(p.markers);
  const stray = [...p.alerts.keys()].filter((m) => !known.has(m)).length;
  if (stray > 0) out.push(`${p.name}: ${stray} alerts carry a marker no action made`);
  if (p.loadPerSecond !== undefined && !(p.loadPerSecond > 0))
    out.push(`${p.name}: the load did not run (0 operations/s)`);
  return out;
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}
