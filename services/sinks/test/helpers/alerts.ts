/** Alerts for tests, in the engine's exact JSON (formatAlertJson), and a publisher. */
import { type AlertPriority, type Bus, SUBJECTS } from '@saker/bus';
import { type FalcoAlert, formatAlertJson, parsePriority } from '@saker/rules';
import type { AlertFormat } from '../../src/alert.js';

/** Falco's JSON with every `json_include_*` key on (what the engine publishes). */
export const JSON_FORMAT: AlertFormat = Object.freeze({
  json: true,
  includeOutput: true,
  includeTags: true,
  includeOutputFields: true,
  timeIso8601: false,
});

export function makeAlert(i: number, over: Partial<FalcoAlert> = {}): FalcoAlert {
  const ns = 1_700_000_000_000_000_000n + BigInt(i) * 1000n;
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const cmdline = `cat /etc/shadow id=${i}`;
  return {
    hostname: 'node-1',
    output: `${iso.slice(11)}.${frac}: Warning Sensitive file opened (cmdline=${cmdline})`,
    priority: 'Warning',
    rule: 'Read sensitive file',
    source: 'syscall',
    tags: ['filesystem', 'mitre_credential_access'],
    time: `${iso}.${frac}Z`,
    output_fields: { 'evt.time': Number(ns), 'proc.cmdline': cmdline, 'alert.id': i },
    ...over,
  };
}

export function alertJsonText(a: FalcoAlert): string {
  return formatAlertJson(a);
}

async function publishAlert(bus: Bus, a: FalcoAlert): Promise<void> {
  const p = (parsePriority(a.priority) ?? 'DEBUG').toLowerCase() as AlertPriority;
  await bus.publishDurable(SUBJECTS.alert(a.source, p), new TextEncoder().encode(formatAlertJson(a)));
}

export async function publishAlerts(bus: Bus, alerts: readonly FalcoAlert[], parallel = 64): Promise<void> {
  for (let i = 0; i < alerts.length; i += parallel) {
    await Promise.all(alerts.slice(i, i + parallel).map((a) => publishAlert(bus, a)));
  }
}

/** Polls `check` until it holds, or fails after `timeoutMs` naming `what` (and what `seen` says then). */
export async function until(
  what: string,
  check: () => boolean,
  timeoutMs = 10_000,
  seen?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for: ${what}${seen === undefined ? '' : ` (${seen()})`}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
