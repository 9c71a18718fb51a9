/**
 * An alert as the UI stores and returns it: Falco's JSON alert plus `id`
 * (its sequence in SAKER_ALERTS). Fields are data: nothing here is ever
 * rendered into HTML by the server.
 */
import { type FalcoAlert, type OutputFieldValue, parsePriority, priorityLabel } from '@saker/rules';
import { FIELD_COLUMNS } from './filters.js';

export interface UiEvent {
  readonly id: string;
  readonly time: string;
  readonly rule: string;
  readonly priority: string;
  readonly source: string;
  readonly hostname: string;
  readonly tags: readonly string[];
  readonly output: string;
  readonly output_fields: Readonly<Record<string, OutputFieldValue>>;
}

/** An alert ready for the store: the event, its sort keys and the columns filters use. */
export interface StoredAlert {
  readonly seq: number;
  readonly ts: number;
  readonly alert: FalcoAlert;
}

/** The value of an output field as text (`field.<name>=` compares with it); null when absent. */
export function fieldText(fields: Readonly<Record<string, OutputFieldValue>>, name: string): string | null {
  const v = fields[name];
  if (v === undefined || v === null) return null;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The node of an alert: `k8s.node.name` when the alert has it, else its hostname. */
function nodeOf(alert: FalcoAlert): string {
  return fieldText(alert.output_fields, 'k8s.node.name') ?? alert.hostname;
}

export const columnsOf = (alert: FalcoAlert) => ({
  namespace: fieldText(alert.output_fields, FIELD_COLUMNS.namespace),
  pod: fieldText(alert.output_fields, FIELD_COLUMNS.pod),
  image: fieldText(alert.output_fields, FIELD_COLUMNS.image),
  node: nodeOf(alert),
});

/** The event a stored alert is returned as (the store's rows give the same). */
export function eventOf(s: StoredAlert): UiEvent {
  const a = s.alert;
  const p = parsePriority(a.priority);
  return {
    id: String(s.seq),
    time: a.time,
    rule: a.rule,
    priority: p === undefined ? a.priority : priorityLabel(p),
    source: a.source,
    hostname: a.hostname,
    tags: a.tags,
    output: a.output,
    output_fields: a.output_fields,
  };
}

/** The text free text is matched against: rule, output, and each field's name and value, a line each. */
export function docOf(alert: FalcoAlert): string {
  return docText(alert.rule, alert.output, alert.output_fields);
}

/** docOf from a stored row's columns (the store keeps no copy of the text: it is rebuilt when a query checks it). */
export function docText(
  rule: string,
  output: string,
  fields: Readonly<Record<string, OutputFieldValue>>,
): string {
  const parts = [rule, output];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(k);
    if (v !== null) parts.push(Array.isArray(v) ? v.join(',') : String(v));
  }
  return parts.join('\n');
}
