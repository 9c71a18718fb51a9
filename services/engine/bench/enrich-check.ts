/**
 * The check bench:enrich makes before it prints a rate: both ways fire the
 * same rules on every batch, and each timed slice produced exactly the
 * alerts the reference pass gives for the batches it went through; no join
 * failed or had to wait. Pure, so test/bench-checks.test.ts can feed it faults.
 */

/** One timed slice: the alerts it counted and the reference count for the batches it evaluated. */
interface EnrichSlice {
  readonly mode: 'without' | 'with';
  readonly events: number;
  readonly alerts: number;
  readonly expectedAlerts: number;
}

export interface EnrichCheckInput {
  /** Alerts per batch of the reference pass, without and with the join. */
  readonly referenceWithout: readonly number[];
  readonly referenceWith: readonly number[];
  readonly slices: readonly EnrichSlice[];
  readonly joinFailures: number;
  readonly joinWaits: number;
}

export function checkEnrichRuns(c: EnrichCheckInput): string[] {
  const p: string[] = [];
  const total = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  if (c.referenceWithout.length !== c.referenceWith.length)
    p.push(`${c.referenceWithout.length} batches without the join, ${c.referenceWith.length} with`);
  const differ = c.referenceWithout.findIndex((n, i) => n !== c.referenceWith[i]);
  if (differ >= 0)
    p.push(
      `the join changes the matches of batch ${differ}: ${c.referenceWithout[differ]} without, ${c.referenceWith[differ]} with`,
    );
  if (total(c.referenceWithout) <= 0)
    p.push('the reference pass fires no rule: the comparison would prove nothing');
  for (const [i, s] of c.slices.entries()) {
    if (s.events <= 0) p.push(`slice ${i} (${s.mode}) evaluated no events`);
    if (s.alerts !== s.expectedAlerts)
      p.push(
        `slice ${i} (${s.mode}): ${s.alerts} alerts, the reference pass gives ${s.expectedAlerts} for its batches`,
      );
  }
  if (c.joinFailures !== 0) p.push(`${c.joinFailures} joins failed`);
  if (c.joinWaits !== 0) p.push(`${c.joinWaits} joins waited for a record`);
  return p;
}
