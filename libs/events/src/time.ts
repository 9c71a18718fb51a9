/** Splits a nanosecond decimal string into whole seconds' ISO date-time and the 9-digit fraction. */
function split(ns: string): { iso: string; frac: string } {
  const n = BigInt(ns);
  const ms = Number(n / 1_000_000n);
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  const iso = new Date(ms).toISOString().slice(0, 19);
  return { iso, frac };
}

/** `2016-08-04T16:17:57.881781397Z`: the `time` property of Falco's JSON alert. */
export function nsToIso(ns: string): string {
  const { iso, frac } = split(ns);
  return `${iso}.${frac}Z`;
}

/**
 * The time at the head of Falco's text line. With `time_format_iso_8601` it is
 * `2016-08-04T16:17:57.881781397+0000`; otherwise Falco prints the time of day
 * only, `16:17:57.881781397`. Saker prints UTC in both.
 */
export function nsToFalcoTime(ns: string, iso8601: boolean): string {
  const { iso, frac } = split(ns);
  return iso8601 ? `${iso}.${frac}+0000` : `${iso.slice(11)}.${frac}`;
}
