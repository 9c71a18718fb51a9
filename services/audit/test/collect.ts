/** Collects the k8s_audit events published on a bus, decoded as a consumer would. */
import { type Bus, SUBJECTS, decodeBatch } from '@saker/bus';
import type { K8sAuditEvent } from '@saker/events';

export interface Collected extends Disposable {
  readonly events: K8sAuditEvent[];
  readonly invalid: number;
  /** Resolves once `n` events have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

export function collectAuditEvents(bus: Bus): Collected {
  const sub = bus.subscribe(SUBJECTS.k8sAuditEvents);
  const events: K8sAuditEvent[] = [];
  let invalid = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  void (async () => {
    for await (const m of sub) {
      const d = decodeBatch(m.data, m.headers);
      invalid += d.invalid.length;
      for (const e of d.events) if (e.source === 'k8s_audit') events.push(e);
      for (const w of [...waiters]) {
        if (events.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  })();
  return {
    events,
    get invalid() {
      return invalid;
    },
    waitFor(n: number, timeoutMs = 5000): Promise<void> {
      if (events.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`expected ${n} events, got ${events.length} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
    },
    [Symbol.dispose]() {
      sub.unsubscribe();
    },
  };
}
