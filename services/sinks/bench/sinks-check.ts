/**
 * The check bench:sinks makes before it prints a rate: nothing left pending
 * or unacked on the output's durable (an alert is acked only after a 2xx),
 * nothing dead-lettered, and the receiver saw at least one POST per alert
 * and reported no problem of its own. Pure, so test/bench-check.test.ts can
 * feed it faults.
 */
export interface SinksRun {
  readonly alerts: number;
  /** pending + ackPending of the output's durable after the run. */
  readonly unacked: number;
  readonly deadLetters: number;
  /** POSTs (or alerts, when batched) the receiver answered; undefined when there is no receiver. */
  readonly received: number | undefined;
  readonly receiverProblems: readonly string[];
}

export function checkSinksRun(r: SinksRun): string[] {
  const p = [...r.receiverProblems];
  if (r.unacked > 0) p.push(`${r.unacked} alerts not acked (lost or undelivered)`);
  if (r.deadLetters > 0) p.push(`${r.deadLetters} dead letters`);
  if (r.received !== undefined && r.received < r.alerts)
    p.push(`the receiver answered ${r.received} for ${r.alerts} alerts`);
  return p;
}
