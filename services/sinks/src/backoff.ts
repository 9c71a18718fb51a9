/** Retry delays: exponential, capped, with "equal jitter" (half fixed, half random). */

export interface BackoffOptions {
  /** Delay before the second delivery. */
  readonly initialMs: number;
  /** Largest delay. */
  readonly maxMs: number;
}

/**
 * The delay after the `attempt`-th failed delivery (1-based): base =
 * min(maxMs, initialMs·2^(attempt−1)), then a value in [base/2, base].
 * Jitter spreads the retries of alerts that failed together (an outage), so
 * they do not hit the recovering receiver in one burst.
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 40);
  const base = Math.min(o.maxMs, o.initialMs * 2 ** exp);
  return Math.round(base / 2 + random() * (base / 2));
}
