/**
 * The check bench:audit makes before it prints a rate or says whether the
 * goal is met: every request was accepted, and every event accepted reached
 * the bus (counted by a subscriber). Pure, so test/bench-check.test.ts can
 * feed it faults.
 */
export interface AuditRun {
  /** Requests answered 200, and the events they carried. */
  readonly requests: number;
  readonly acceptedEvents: number;
  readonly failedRequests: number;
  /** Events a subscriber counted on saker.v1.events.k8s_audit. */
  readonly onBus: number;
}

export function checkAuditRun(r: AuditRun): string[] {
  const p: string[] = [];
  if (r.requests <= 0) p.push('no request was accepted');
  if (r.failedRequests !== 0) p.push(`${r.failedRequests} requests failed`);
  if (r.onBus !== r.acceptedEvents)
    p.push(`${r.onBus} events reached the bus, ${r.acceptedEvents} were accepted (answered 200)`);
  return p;
}
