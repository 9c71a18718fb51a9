/**
 * The filters of the query string (docs/ui.md, "Filters"), validated once
 * into a typed value: repeated keys are OR, different keys AND. A bad
 * parameter is a FilterError naming it; free text takes any character.
 */
import { PRIORITIES, type Priority, parsePriority, severity } from '@saker/rules';

export class FilterError extends Error {
  override readonly name = 'FilterError';
  readonly param: string;

  constructor(param: string, reason: string) {
    super(`${param}: ${reason}`);
    this.param = param;
  }
}

/** The `since` values falcosidekick-ui offers. */
const SINCE: Readonly<Record<string, number>> = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '30m': 30 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '12h': 12 * 3_600_000,
  '24h': 24 * 3_600_000,
  '2d': 2 * 86_400_000,
  '7d': 7 * 86_400_000,
};

/** Output fields the named filters stand for. */
export const FIELD_COLUMNS = {
  namespace: 'k8s.ns.name',
  pod: 'k8s.pod.name',
  image: 'container.image.repository',
} as const;

export interface Filters {
  readonly sources: readonly string[];
  /** Severity ranks (0 EMERGENCY … 7 DEBUG) to keep; empty: all. */
  readonly priorities: readonly number[];
  /** Keep this rank and more severe; null: no bound. */
  readonly minPriority: number | null;
  readonly hostnames: readonly string[];
  readonly tags: readonly string[];
  readonly rules: readonly string[];
  readonly namespaces: readonly string[];
  readonly pods: readonly string[];
  readonly nodes: readonly string[];
  readonly images: readonly string[];
  /** `field.<name>=<value>`: each name's accepted values. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  /** Free text, matched literally; null: none. */
  readonly q: string | null;
  /** Epoch ms, inclusive; null: unbounded. */
  readonly from: number | null;
  readonly to: number | null;
}

const MAX_VALUES = 100;
const MAX_TEXT = 1000;

const LIST_PARAMS = {
  source: 'sources',
  hostname: 'hostnames',
  tag: 'tags',
  rule: 'rules',
  namespace: 'namespaces',
  pod: 'pods',
  node: 'nodes',
  image: 'images',
} as const;

/** Parameters that are not filters, per endpoint; any other unknown key is refused. */
const PAGING = new Set(['limit', 'cursor', 'by', 'points', 'format']);

function priorityOf(param: string, value: string): Priority {
  const p = parsePriority(value);
  if (p === undefined)
    throw new FilterError(param, `expected one of ${PRIORITIES.join(', ')}, got ${JSON.stringify(value)}`);
  return p;
}

/** RFC 3339 or epoch milliseconds. */
function timeOf(param: string, value: string): number {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)$/i.test(value)) {
    const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new FilterError(
    param,
    `expected an RFC 3339 time or epoch milliseconds, got ${JSON.stringify(value)}`,
  );
}

/** Reads the filters of `params`; `now` is the reference of `since`. */
export function parseFilters(params: URLSearchParams, now = Date.now()): Filters {
  const lists: Record<(typeof LIST_PARAMS)[keyof typeof LIST_PARAMS], string[]> = {
    sources: [],
    hostnames: [],
    tags: [],
    rules: [],
    namespaces: [],
    pods: [],
    nodes: [],
    images: [],
  };
  const priorities = new Set<number>();
  const fields = new Map<string, string[]>();
  let minPriority: number | null = null;
  let q: string | null = null;
  let from: number | null = null;
  let to: number | null = null;
  let since: string | null = null;
  let count = 0;
  for (const [key, value] of params) {
    if (++count > MAX_VALUES) throw new FilterError(key, `more than ${MAX_VALUES} parameters`);
    if (value.length > MAX_TEXT) throw new FilterError(key, `longer than ${MAX_TEXT} characters`);
    if (PAGING.has(key)) continue;
    if (key in LIST_PARAMS) {
      lists[LIST_PARAMS[key as keyof typeof LIST_PARAMS]].push(value);
    } else if (key === 'priority') {
      priorities.add(severity(priorityOf(key, value)));
    } else if (key === 'min_priority') {
      minPriority = severity(priorityOf(key, value));
    } else if (key.startsWith('field.') && key.length > 'field.'.length) {
      const name = key.slice('field.'.length);
      const values = fields.get(name) ?? [];
      values.push(value);
      fields.set(name, values);
    } else if (key === 'q') {
      if (value !== '') q = value;
    } else if (key === 'since') {
      if (value !== '' && SINCE[value] === undefined) {
        throw new FilterError(
          key,
          `expected one of ${Object.keys(SINCE).join(', ')}, got ${JSON.stringify(value)}`,
        );
      }
      if (value !== '') since = value;
    } else if (key === 'from') {
      if (value !== '') from = timeOf(key, value);
    } else if (key === 'to') {
      if (value !== '') to = timeOf(key, value);
    } else {
      throw new FilterError(key, 'unknown parameter');
    }
  }
  if (since !== null) {
    if (from !== null || to !== null) throw new FilterError('since', 'give since, or from/to, not both');
    from = now - (SINCE[since] ?? 0);
  }
  if (from !== null && to !== null && from > to) throw new FilterError('from', 'is after to');
  return { ...lists, priorities: [...priorities].sort(), minPriority, fields, q, from, to };
}

/** Whether any filter is set (an unfiltered count comes from the store's counters). */
export function isUnfiltered(f: Filters): boolean {
  return (
    f.sources.length === 0 &&
    f.priorities.length === 0 &&
    f.minPriority === null &&
    f.hostnames.length === 0 &&
    f.tags.length === 0 &&
    f.rules.length === 0 &&
    f.namespaces.length === 0 &&
    f.pods.length === 0 &&
    f.nodes.length === 0 &&
    f.images.length === 0 &&
    f.fields.size === 0 &&
    f.q === null &&
    f.from === null &&
    f.to === null
  );
}

/** Lower case for ASCII letters only, as SQLite's lower() does: free text folds the same way everywhere. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
