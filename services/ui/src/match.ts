/**
 * The filters as a predicate over one alert, for the live stream (the store
 * answers the same filters in SQL, store-sql.ts). Free text is the literal,
 * ASCII case folded check the store makes after its index.
 */
import { parsePriority, severity } from '@saker/rules';
import { type StoredAlert, columnsOf, docOf, fieldText } from './event.js';
import { type Filters, asciiLower } from './filters.js';

const has = (values: readonly string[], v: string | null): boolean =>
  values.length === 0 || (v !== null && values.includes(v));

export function matches(f: Filters, s: StoredAlert): boolean {
  const a = s.alert;
  const c = columnsOf(a);
  const prio = severity(parsePriority(a.priority) ?? 'DEBUG');
  if (!has(f.sources, a.source) || !has(f.hostnames, a.hostname) || !has(f.rules, a.rule)) return false;
  if (
    !has(f.namespaces, c.namespace ?? '') ||
    !has(f.pods, c.pod) ||
    !has(f.nodes, c.node) ||
    !has(f.images, c.image)
  ) {
    return false;
  }
  if (f.priorities.length > 0 && !f.priorities.includes(prio)) return false;
  if (f.minPriority !== null && prio > f.minPriority) return false;
  if (f.tags.length > 0 && !a.tags.some((t) => f.tags.includes(t))) return false;
  for (const [name, values] of f.fields) {
    const v = fieldText(a.output_fields, name);
    if (v === null || !values.includes(v)) return false;
  }
  if (f.from !== null && s.ts < f.from) return false;
  if (f.to !== null && s.ts > f.to) return false;
  if (f.q !== null) {
    if (!asciiLower(docOf(a)).includes(asciiLower(f.q))) return false;
  }
  return true;
}
