/**
 * Falco's priorities, most severe first. Rule files may spell them in any
 * case, and `INFO` stands for `INFORMATIONAL`.
 */
export const PRIORITIES = [
  'EMERGENCY',
  'ALERT',
  'CRITICAL',
  'ERROR',
  'WARNING',
  'NOTICE',
  'INFORMATIONAL',
  'DEBUG',
] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Parses any spelling Falco accepts; undefined when it is not a priority. */
export function parsePriority(text: string): Priority | undefined {
  const up = text.trim().toUpperCase();
  if (up === 'INFO') return 'INFORMATIONAL';
  return (PRIORITIES as readonly string[]).includes(up) ? (up as Priority) : undefined;
}

/** 0 for EMERGENCY … 7 for DEBUG: lower is more severe. */
export function severity(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

/** Whether `p` passes a minimum-priority threshold (`priority: warning` keeps WARNING and worse). */
export function meetsThreshold(p: Priority, threshold: Priority): boolean {
  return severity(p) <= severity(threshold);
}

/** The spelling Falco uses in alerts: `Warning`, `Informational`. */
export function priorityLabel(p: Priority): string {
  return p.charAt(0) + p.slice(1).toLowerCase();
}
