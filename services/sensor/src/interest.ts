/**
 * The interest set: which system calls the probe captures, from the event
 * types a ruleset needs (Ruleset.eventTypes()). `undefined` there means some
 * enabled rule needs every type, so the sensor captures every call it knows.
 */
import { SYSCALL_IDS } from './syscalls.js';

export interface InterestSet {
  /** Syscall names (Falco's) to capture, or `all`. */
  readonly syscalls: readonly string[] | 'all';
  /** Event types the rules name that the sensor cannot produce (non-syscall types, or calls it does not decode yet). */
  readonly unsupported: readonly string[];
}

export function interestFromEventTypes(types: ReadonlySet<string> | undefined): InterestSet {
  if (types === undefined) return { syscalls: 'all', unsupported: [] };
  const syscalls: string[] = [];
  const unsupported: string[] = [];
  for (const t of [...types].sort()) {
    if (SYSCALL_IDS[t] !== undefined) syscalls.push(t);
    else unsupported.push(t);
  }
  return { syscalls, unsupported };
}
