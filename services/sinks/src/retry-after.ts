/**
 * The `Retry-After` answer header (RFC 9110 §10.2.3): how long a receiver
 * that answered 429 or 503 asks the client to wait. Slack, Discord and
 * Teams send it when they rate-limit a webhook; retrying sooner only earns
 * more 429s.
 */

/**
 * The wait a Retry-After value asks for, in ms from `now`: delay-seconds
 * (`120`; a fraction such as Discord's `1.5` is accepted too) or an
 * HTTP-date (`Sun, 29 Nov 2026 08:00:00 GMT`; a date in the past means 0).
 * Undefined when absent or malformed, so the generic backoff applies.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // An HTTP-date names a weekday or month; a bare or signed number is not one.
  if (!/[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
