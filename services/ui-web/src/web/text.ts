/** Turning alert data into text for display: never markup, control bytes made visible. */

/**
 * Control characters (ANSI escapes in cmdlines, for one) are shown escaped,
 * so `ESC[31m` reads as `\x1b[31m` instead of being dropped or
 * interpreted. Newlines and tabs are kept.
 */
export function visible(value: unknown): string {
  const s = typeof value === 'string' ? value : value === null || value === undefined ? '' : String(value);
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export type TimeZone = 'local' | 'UTC';

/** A timestamp in the chosen zone, to the millisecond. */
export function formatTime(time: string | number, tz: TimeZone): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return visible(String(time));
  return d
    .toLocaleString('sv-SE', {
      timeZone: tz === 'UTC' ? 'UTC' : undefined,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      fractionalSecondDigits: 3,
    })
    .replace(',', '.');
}

/** An RFC3339 instant as the value of an <input type="datetime-local"> in the chosen zone. */
export function toInputValue(iso: string | undefined, tz: TimeZone): string {
  if (iso === undefined) return '';
  const d = new Date(/^\d+$/.test(iso) ? Number(iso) : iso);
  if (Number.isNaN(d.getTime())) return '';
  const shifted = tz === 'UTC' ? d : new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** An <input type="datetime-local"> value read in the chosen zone, as RFC3339 UTC. */
export function fromInputValue(value: string, tz: TimeZone): string | undefined {
  if (value === '') return undefined;
  const d = tz === 'UTC' ? new Date(`${value}Z`) : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
