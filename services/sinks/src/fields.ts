/**
 * The fields a routing condition may use, over a FalcoAlert, so per-output
 * conditions are written in Falco's own condition language and compiled by
 * the rules engine's compiler:
 *
 *   alert.rule, alert.priority, alert.source, alert.hostname, alert.output,
 *   alert.time, alert.tags (a list), alert.severity (0 = Emergency … 7 = Debug),
 *   output_fields.<key> (e.g. output_fields.proc.cmdline; also
 *   alert.field[<key>]).
 *
 * Falco's condition grammar requires `class.name` field names, hence the
 * `alert.` prefix.
 */
import {
  type FalcoAlert,
  type FieldDef,
  FieldRegistry,
  type FieldValue,
  type Predicate,
  compileCondition,
  parseCondition,
  parsePriority,
  severity,
} from '@saker/rules';

function stringField(
  name: string,
  description: string,
  get: (a: FalcoAlert) => string,
): FieldDef<FalcoAlert> {
  return { name, kind: 'string', falcoType: 'CHARBUF', isList: false, description, bind: () => get };
}

function outputFieldValue(alert: FalcoAlert, key: string): FieldValue {
  const v = alert.output_fields[key];
  if (v === undefined || v === null) return undefined;
  return v;
}

function outputFieldDef(name: string, dotted: boolean): FieldDef<FalcoAlert> {
  return {
    name,
    kind: 'string',
    falcoType: 'CHARBUF',
    isList: false,
    arg: { required: true, kind: 'key', dotted },
    description: "A value of the alert's output_fields, by key (missing when the alert has no such field).",
    bind(arg) {
      if (arg === undefined || arg === '') throw new Error(`${name} needs a key`);
      return (alert) => outputFieldValue(alert, arg);
    },
  };
}

/** Builds the registry. One per service (no module-level state). */
export function alertFields(): FieldRegistry<FalcoAlert> {
  return new FieldRegistry<FalcoAlert>('saker_alert', [
    stringField('alert.rule', 'The rule that fired.', (a) => a.rule),
    stringField('alert.priority', 'The priority as Falco spells it: Warning, Critical, …', (a) => a.priority),
    stringField('alert.source', 'The rule source: syscall, k8s_audit, …', (a) => a.source),
    stringField('alert.hostname', 'The host that reported the alert.', (a) => a.hostname),
    stringField('alert.output', 'The full text line.', (a) => a.output),
    stringField('alert.time', 'The event time, RFC 3339.', (a) => a.time),
    {
      name: 'alert.tags',
      kind: 'string',
      falcoType: 'LIST',
      isList: true,
      description: 'The rule tags.',
      bind: () => (a) => a.tags,
    },
    {
      name: 'alert.severity',
      kind: 'number',
      falcoType: 'UINT32',
      isList: false,
      description: 'The priority as a number: 0 Emergency … 7 Debug.',
      bind: () => (a) => {
        const p = parsePriority(a.priority);
        return p === undefined ? undefined : severity(p);
      },
    },
    outputFieldDef('output_fields', true),
    outputFieldDef('alert.field', false),
  ]);
}

export type RouteResult = { ok: true; predicate: Predicate<FalcoAlert> } | { ok: false; message: string };

/** Parses and compiles a routing condition. Never throws. */
export function compileRoute(condition: string, fields: FieldRegistry<FalcoAlert>): RouteResult {
  const parsed = parseCondition(condition);
  if (!parsed.ok) return { ok: false, message: `${parsed.message} (at offset ${parsed.offset})` };
  const compiled = compileCondition(parsed.expr, fields);
  if (!compiled.ok) return { ok: false, message: `${compiled.message} (at offset ${compiled.span.start})` };
  return { ok: true, predicate: compiled.predicate };
}
