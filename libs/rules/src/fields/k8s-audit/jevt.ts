import type { K8sAuditEvent } from '@saker/events';
import { nsToFalcoTime } from '@saker/events';
import type { AuditFieldDef } from './define.js';
import { keyed, plain } from './define.js';
import { parseJsonPointer, resolveJsonPointer } from './json-pointer.js';
import { jsonText } from './json.js';

/**
 * The generic JSON fields, `jevt.*` and their newer `json.*` names: any part of
 * the audit event by JSON pointer, the whole event, and its time. All are text.
 * `jevt.rawtime` stays text too: nanoseconds since the epoch exceed what a
 * JavaScript number holds exactly, and Falco's json plugin declares it a string.
 */

function valueField(name: string, alias: string): AuditFieldDef {
  return keyed(
    name,
    `${alias}A part of the audit event chosen by a JSON pointer, e.g. ${name}[/objectRef/resource]: strings as they are, numbers and booleans as text, objects and arrays as JSON.`,
    (arg) => {
      const pointer = parseJsonPointer(arg);
      return (ev: K8sAuditEvent) => {
        const v = resolveJsonPointer(ev.event, pointer);
        return v === undefined ? undefined : jsonText(v);
      };
    },
  );
}

/** The whole event, indented by two spaces as the json plugin prints it. */
function wholeEvent(ev: K8sAuditEvent): string {
  return JSON.stringify(ev.event, null, 2);
}

function rawTime(ev: K8sAuditEvent): string {
  return ev.ts;
}

export const jevtFields: readonly AuditFieldDef[] = [
  valueField('jevt.value', ''),
  plain('jevt.obj', 'The whole audit event as JSON text.', false, wholeEvent),
  plain(
    'jevt.rawtime',
    'The time of the event in nanoseconds since the epoch, as decimal text.',
    false,
    rawTime,
  ),
  plain(
    'jevt.time',
    'The time of day of the event with nanoseconds (UTC), e.g. 16:17:57.881781397.',
    false,
    (ev) => nsToFalcoTime(ev.ts, false),
  ),
  plain(
    'jevt.time.iso8601',
    'The time of the event in ISO 8601 with nanoseconds, in UTC: 2016-08-04T16:17:57.881781397+0000.',
    false,
    (ev) => nsToFalcoTime(ev.ts, true),
  ),
  valueField('json.value', 'Same as jevt.value. '),
  plain('json.obj', 'Same as jevt.obj: the whole audit event as JSON text.', false, wholeEvent),
  plain(
    'json.rawtime',
    'Same as jevt.rawtime: the time of the event in nanoseconds since the epoch.',
    false,
    rawTime,
  ),
];
