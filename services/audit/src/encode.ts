/**
 * One k8s_audit event as a line of a bus batch (the `jsonl` codec): the
 * envelope of wrapAuditEvent around the Event. When the Event's source text
 * is at hand (a log line) it is used as is: it parses to the very object that
 * was validated, and copying text is far cheaper than JSON.stringify. Text with a line break (pretty-printed) is re-serialised,
 * since a batch line must hold no newline.
 */
import { type AuditEvent, wrapAuditEvent } from '@saker/events';

export function encodeAuditLine(event: AuditEvent, hostname: string, text?: string): string {
  const wrapped = wrapAuditEvent(event, hostname);
  if (text === undefined || text.includes('\n') || text.includes('\r')) return JSON.stringify(wrapped);
  return `{"source":"k8s_audit","ts":"${wrapped.ts}","hostname":${JSON.stringify(hostname)},"event":${text}}`;
}
