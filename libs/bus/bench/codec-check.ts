/**
 * The checks the codec bench makes before it prints a rate: each codec gives
 * back the events it was given, and the shipped decodeBatch accepts every
 * line of every timed batch (an invalid line is counted, not silently
 * dropped from the figure). Pure, so test/bench-check.test.ts can feed it faults.
 */
import { isDeepStrictEqual } from 'node:util';

/** Problems with a codec's round trip: `decoded` must equal `events`. */
export function checkRoundTrip(
  label: string,
  events: readonly unknown[],
  decoded: readonly unknown[],
): string[] {
  if (decoded.length !== events.length)
    return [`${label}: ${decoded.length} events back from ${events.length}`];
  const at = events.findIndex((e, i) => !isDeepStrictEqual(e, decoded[i]));
  return at < 0 ? [] : [`${label}: event ${at} comes back different`];
}

/** Problems with one decodeBatch result of a batch of `expected` events. */
export function checkDecodedBatch(
  label: string,
  expected: number,
  result: { readonly events: readonly unknown[]; readonly invalid: readonly { readonly message: string }[] },
): string[] {
  const p: string[] = [];
  if (result.invalid.length > 0)
    p.push(`${label}: ${result.invalid.length} invalid lines, the first: ${result.invalid[0]?.message}`);
  if (result.events.length !== expected)
    p.push(`${label}: ${result.events.length} events decoded of ${expected}`);
  return p;
}
