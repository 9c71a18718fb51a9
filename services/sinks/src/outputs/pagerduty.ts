import { caseless, checked, field, httpUrl, string } from '@saker/config';
/**
 * falcosidekick's `pagerduty` output: one PagerDuty Events API v2 event per
 * alert, `POST <base>/v2/enqueue` (base `https://events.pagerduty.com`, or
 * `https://events.eu.pagerduty.com` for region `eu`, or `url`):
 *
 * `{routing_key, event_action: "trigger", payload: {summary, source,
 * severity, timestamp, custom_details}}`.
 *
 * - `summary`: Falco's output line, controls made visible, cut to
 *   PagerDuty's 1 024 characters.
 * - `source`: the alert's hostname (PagerDuty asks for the affected
 *   system), `falco` when there is none (falcosidekick's constant).
 * - `severity`: `critical` for every alert, as falcosidekick sends it;
 *   `severity: 'priority'` maps Falco's priority instead (PAGERDUTY_SEVERITY).
 * - `custom_details`: the output fields (strings cut to 4 096 characters),
 *   then `rule`, `priority`, `source`, `hostname`, `tags` (sorted, joined
 *   with `, `); fields are dropped from the end while the event is over
 *   PagerDuty's 512 KB.
 *
 * PagerDuty answers 202 when it took the event; 400 (an invalid event, the
 * reason in its `errors`) is permanent, 429 and 5xx retryable (HttpTransport's
 * classifier, Retry-After honoured).
 */
import type { FalcoAlert, OutputFieldValue, Priority } from '@saker/rules';
import { parsePriority } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { chatText, cutText, headline } from '../sidekick/chat-text.js';
import { chatOutput, ifSet } from '../sidekick/descriptor.js';
import { type SidekickHttpOptions, SidekickJsonOutput } from '../sidekick/transport.js';
import { vendorUrl } from './vendor-url.js';

const PAGERDUTY_ENDPOINTS = Object.freeze({
  us: 'https://events.pagerduty.com',
  eu: 'https://events.eu.pagerduty.com',
});

const PAGERDUTY_LIMITS = Object.freeze({
  summary: 1024,
  source: 255,
  detailValue: 4096,
  /** Bytes of the whole event, PagerDuty's documented maximum. */
  eventBytes: 512 * 1024,
});

export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** Falco's priority as a PagerDuty severity (`severity: 'priority'`). */
export const PAGERDUTY_SEVERITY: Readonly<Record<Priority, PagerDutySeverity>> = {
  EMERGENCY: 'critical',
  ALERT: 'critical',
  CRITICAL: 'critical',
  ERROR: 'error',
  WARNING: 'warning',
  NOTICE: 'info',
  INFORMATIONAL: 'info',
  DEBUG: 'info',
};

export interface PagerDutyOutputOptions extends SidekickHttpOptions {
  /** Default `pagerduty`. */
  readonly name?: string;
  /** The integration's routing key (32 characters). */
  readonly routingKey: string;
  /** `us` (default) or `eu`: which Events API host. */
  readonly region?: 'us' | 'eu' | string;
  /** The Events API's base URL instead of the region's (a proxy, a test server). */
  readonly url?: string;
  /** `critical` (default, falcosidekick's) or `priority` (PAGERDUTY_SEVERITY). */
  readonly severity?: 'critical' | 'priority';
}

/** `us` or `eu` in any case; anything else names `option`. */
export function parseRegion(option: string, region: string | undefined): 'us' | 'eu' {
  const r = (region ?? 'us').toLowerCase();
  if (r === 'us' || r === 'eu') return r;
  throw new SinksOptionsError(option, `expected us or eu, got ${JSON.stringify(region)}`);
}

function detailValue(v: OutputFieldValue): OutputFieldValue {
  if (typeof v === 'string') return cutText(v, PAGERDUTY_LIMITS.detailValue);
  if (Array.isArray(v)) return v.map((s) => cutText(String(s), PAGERDUTY_LIMITS.detailValue));
  return v;
}

export class PagerDutyOutput extends SidekickJsonOutput {
  /** Where events are posted. */
  readonly url: string;
  readonly #routingKey: string;
  readonly #mapSeverity: boolean;

  constructor(o: PagerDutyOutputOptions) {
    const name = o.name ?? 'pagerduty';
    const path = `outputs.${name}`;
    checkRoutingKey(`${path}.routingKey`, o.routingKey);
    const severity = o.severity ?? 'critical';
    if (severity !== 'critical' && severity !== 'priority') {
      throw new SinksOptionsError(
        `${path}.severity`,
        `expected critical or priority, got ${String(severity)}`,
      );
    }
    const base = o.url ?? PAGERDUTY_ENDPOINTS[parseRegion(`${path}.region`, o.region)];
    const url = vendorUrl(`${path}.url`, base, '/v2/enqueue');
    super(name, url, o);
    this.url = url;
    this.#routingKey = o.routingKey;
    this.#mapSeverity = severity === 'priority';
  }

  /** The event for one alert. */
  payload(alert: FalcoAlert): Record<string, unknown> {
    const L = PAGERDUTY_LIMITS;
    const priority = parsePriority(alert.priority) ?? 'DEBUG';
    const fixed: Record<string, OutputFieldValue> = {
      rule: alert.rule,
      priority: alert.priority,
      source: alert.source,
      ...(alert.hostname === '' ? {} : { hostname: alert.hostname }),
      ...(alert.tags.length === 0 ? {} : { tags: [...alert.tags].sort().join(', ') }),
    };
    const fields = Object.keys(alert.output_fields).sort();
    const time = Date.parse(alert.time);
    const event = (keep: number): Record<string, unknown> => {
      const details: Record<string, OutputFieldValue> = {};
      for (const k of fields.slice(0, keep)) details[k] = detailValue(alert.output_fields[k] ?? null);
      Object.assign(details, fixed);
      if (keep < fields.length) details['…'] = `${fields.length - keep} more output fields`;
      return {
        routing_key: this.#routingKey,
        event_action: 'trigger',
        payload: {
          summary: chatText(headline(alert), L.summary),
          source: chatText(alert.hostname === '' ? 'falco' : alert.hostname, L.source),
          severity: this.#mapSeverity ? PAGERDUTY_SEVERITY[priority] : 'critical',
          ...(Number.isNaN(time) ? {} : { timestamp: new Date(time).toISOString() }),
          custom_details: details,
        },
      };
    };
    let keep = fields.length;
    let e = event(keep);
    while (keep > 0 && Buffer.byteLength(JSON.stringify(e)) > L.eventBytes) {
      keep = Math.floor(keep / 2);
      e = event(keep);
    }
    return e;
  }
}

/** A key with anything else in it is a paste error; say so now rather than dead-letter every alert. */
function checkRoutingKey(option: string, key: string): void {
  if (!/^[A-Za-z0-9]{32}$/.test(key)) {
    throw new SinksOptionsError(
      option,
      `expected the integration's 32-character routing key, got ${key.length} characters`,
    );
  }
}

/** `sinks.sidekick.pagerduty`: on when `routingkey` is set. */
export const pagerdutySidekick = chatOutput({
  name: 'pagerduty',
  fields: {
    routingkey: field(
      checked(string(), (k) => (k === '' ? undefined : checkRoutingKey('routingkey', k))),
      '',
    ),
    region: field(caseless(['us', 'eu'] as const, 'us'), 'us'),
    // Saker's: `critical` for every alert (falcosidekick's), or `priority` (mapped from Falco's).
    severity: field(caseless(['critical', 'priority'] as const, 'critical'), 'critical'),
    // Saker's: the Events API's base URL (a proxy, a test server); '': by region.
    url: field(httpUrl(), ''),
  },
  on: 'routingkey',
  create: (c, http) =>
    new PagerDutyOutput({
      routingKey: c.routingkey,
      region: c.region,
      severity: c.severity,
      ...ifSet('url', c.url),
      ...http,
    }),
});
