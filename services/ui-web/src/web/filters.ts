/**
 * The filter state lives in the URL's query string (so a view can be shared):
 * repeated keys are OR, different keys AND, exactly as the API reads them.
 * A few keys only steer the page (time zone, open event, live) and are kept
 * out of the API's query.
 */

/** Filter keys the API understands besides `field.<name>`. */
export const FILTER_KEYS = [
  'source',
  'priority',
  'min_priority',
  'hostname',
  'tag',
  'rule',
  'namespace',
  'pod',
  'node',
  'image',
] as const;

/** falcosidekick-ui's fixed "since" list. */
export const SINCE = ['5m', '15m', '30m', '1h', '6h', '12h', '24h', '2d', '7d'] as const;

export const PRIORITIES = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
] as const;

const PAGE_ONLY = new Set(['tz', 'event']);

export type Pair = readonly [key: string, value: string];

/** An immutable view of the query string with the edits the UI makes. */
export class Filters {
  private constructor(private readonly pairs: readonly Pair[]) {}

  static parse(search: string): Filters {
    return new Filters([...new URLSearchParams(search)]);
  }

  all(key: string): string[] {
    return this.pairs.filter(([k]) => k === key).map(([, v]) => v);
  }

  get(key: string): string | undefined {
    return this.pairs.find(([k]) => k === key)?.[1];
  }

  has(key: string, value: string): boolean {
    return this.pairs.some(([k, v]) => k === key && v === value);
  }

  /** Adds key=value (OR with the same key's other values), or removes it if present. */
  toggle(key: string, value: string): Filters {
    return this.has(key, value)
      ? new Filters(this.pairs.filter(([k, v]) => !(k === key && v === value)))
      : new Filters([...this.pairs, [key, value]]);
  }

  /** Replaces every value of `keys` with `value` (none when undefined or ''). */
  set(keys: string | readonly string[], value?: string): Filters {
    const drop = new Set(typeof keys === 'string' ? [keys] : keys);
    const kept = this.pairs.filter(([k]) => !drop.has(k));
    const first = typeof keys === 'string' ? keys : keys[0];
    return new Filters(
      value === undefined || value === '' || first === undefined ? kept : [...kept, [first, value]],
    );
  }

  /** The pairs shown as removable chips: every filter but the time range, text and page keys. */
  chips(): Pair[] {
    return this.pairs.filter(([k]) => !PAGE_ONLY.has(k) && !['since', 'from', 'to', 'q'].includes(k));
  }

  /** The query string for the page URL (everything). */
  toString(): string {
    return encode(this.pairs);
  }

  /** The query string for the API: no page-only keys, and `since=24h` when no range is given. */
  apiQuery(): string {
    const pairs = this.pairs.filter(([k]) => !PAGE_ONLY.has(k));
    if (!pairs.some(([k]) => k === 'since' || k === 'from' || k === 'to')) pairs.push(['since', '24h']);
    return encode(pairs);
  }
}

/** The filter key for an output field: the named filters for the Kubernetes ones, `field.<name>` for the rest. */
export function fieldFilterKey(field: string): string {
  switch (field) {
    case 'k8s.ns.name':
      return 'namespace';
    case 'k8s.pod.name':
      return 'pod';
    case 'container.image.repository':
      return 'image';
    default:
      return `field.${field}`;
  }
}

function encode(pairs: readonly Pair[]): string {
  const params = new URLSearchParams();
  for (const [k, v] of pairs) params.append(k, v);
  return params.toString();
}
