import { caseless, checked, field, httpUrl, string } from '@saker/config';
/**
 * falcosidekick's `opsgenie` output: one alert per Falco alert through the
 * Opsgenie Alert API v2, `POST <base>/v2/alerts` (base
 * `https://api.opsgenie.com`, or `https://api.eu.opsgenie.com` for region
 * `eu`, or `url`), `Authorization: GenieKey <apiKey>`:
 *
 * `{message, description, priority, entity, source?, tags, details}`.
 *
 * - `message`: Falco's output line, cut to Opsgenie's 130 characters (the
 *   API would cut it anyway); `description`: the whole line (up to 15 000),
 *   so nothing is lost to the cut. falcosidekick sends the rule as the
 *   description; Saker has it in `details.rule`.
 * - `priority`: Emergency and Alert P1, Critical P2, Error P3, Warning P4,
 *   the others P5 (falcosidekick's mapping, OPSGENIE_PRIORITY).
 * - `entity`: `Saker` (falcosidekick: `Falcosidekick`); `source`: the
 *   alert's hostname (up to 100); no `alias`, as falcosidekick: each Falco
 *   alert is its own Opsgenie alert, not deduplicated.
 * - `tags`: the alert's tags (at most 20 of 50 characters each).
 * - `details`: string values only: the output fields (keys with `.` → `_`,
 *   as falcosidekick; numbers and lists as text), then `source`, `rule`,
 *   `priority`, `hostname`, `tags`; kept under Opsgenie's 8 000 characters
 *   by leaving out the fields that do not fit.
 *
 * Every alert-controlled string has its controls made visible (`\n`,
 * `\x1b`). Opsgenie answers 202 when it queued the request; 401, 403, 422
 * are permanent, 429 and 5xx retryable (Retry-After honoured).
 */
import type { FalcoAlert, OutputFieldValue, Priority } from '@saker/rules';
import { parsePriority } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { chatText, headline } from '../sidekick/chat-text.js';
import { chatOutput, ifSet } from '../sidekick/descriptor.js';
import { parseKeyValues } from '../sidekick/key-values.js';
import { type SidekickHttpOptions, SidekickJsonOutput } from '../sidekick/transport.js';
import { parseRegion } from './pagerduty.js';
import { vendorUrl } from './vendor-url.js';

const OPSGENIE_ENDPOINTS = Object.freeze({
  us: 'https://api.opsgenie.com',
  eu: 'https://api.eu.opsgenie.com',
});

/** Opsgenie's documented limits (characters). */
const OPSGENIE_LIMITS = Object.freeze({
  message: 130,
  description: 15_000,
  source: 100,
  tags: 20,
  tag: 50,
  /** Keys and values of `details` altogether. */
  details: 8000,
  detailValue: 1000,
});

export type OpsgeniePriority = 'P1' | 'P2' | 'P3' | 'P4' | 'P5';

export const OPSGENIE_PRIORITY: Readonly<Record<Priority, OpsgeniePriority>> = {
  EMERGENCY: 'P1',
  ALERT: 'P1',
  CRITICAL: 'P2',
  ERROR: 'P3',
  WARNING: 'P4',
  NOTICE: 'P5',
  INFORMATIONAL: 'P5',
  DEBUG: 'P5',
};

export interface OpsgenieOutputOptions extends SidekickHttpOptions {
  /** Default `opsgenie`. */
  readonly name?: string;
  /** The API integration's key. */
  readonly apiKey: string;
  /** `us` (default) or `eu`: which API host. */
  readonly region?: 'us' | 'eu' | string;
  /** The Alert API's base URL instead of the region's (a proxy, a test server). */
  readonly url?: string;
}

function valueText(v: OutputFieldValue | undefined): string {
  if (v === null || v === undefined) return '';
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

export class OpsgenieOutput extends SidekickJsonOutput {
  /** Where events are posted. */
  readonly url: string;

  constructor(o: OpsgenieOutputOptions) {
    const name = o.name ?? 'opsgenie';
    const path = `outputs.${name}`;
    checkApiKey(`${path}.apiKey`, o.apiKey);
    const base = o.url ?? OPSGENIE_ENDPOINTS[parseRegion(`${path}.region`, o.region)];
    // The key wins over a custom Authorization header.
    const custom = parseKeyValues(`${path}.headers`, o.headers);
    for (const k of Object.keys(custom)) if (k.toLowerCase() === 'authorization') delete custom[k];
    const url = vendorUrl(`${path}.url`, base, '/v2/alerts');
    super(name, url, {
      ...o,
      headers: { ...custom, authorization: `GenieKey ${o.apiKey}` },
    });
    this.url = url;
  }

  /** The create-alert request for one alert. */
  payload(alert: FalcoAlert): Record<string, unknown> {
    const L = OPSGENIE_LIMITS;
    const priority = OPSGENIE_PRIORITY[parsePriority(alert.priority) ?? 'DEBUG'];
    const fixed: [string, string][] = [
      ['source', alert.source],
      ['rule', alert.rule],
      ['priority', alert.priority],
      ...(alert.hostname === '' ? [] : ([['hostname', alert.hostname]] as [string, string][])),
      ...(alert.tags.length === 0
        ? []
        : ([['tags', [...alert.tags].sort().join(', ')]] as [string, string][])),
    ];
    const details: Record<string, string> = {};
    let used = 0;
    const put = (k: string, v: string, limit: number = L.details): boolean => {
      const key = chatText(k.replaceAll('.', '_'), L.tag * 2);
      const value = chatText(v, L.detailValue);
      if (used + key.length + value.length > limit) return false;
      details[key] = value;
      used += key.length + value.length;
      return true;
    };
    for (const [k, v] of fixed) put(k, v);
    const fields = Object.keys(alert.output_fields).sort();
    let left = 0;
    // Room is kept for the marker saying how many fields were left out.
    for (const k of fields) {
      if (left > 0 || !put(k, valueText(alert.output_fields[k]), L.details - 40)) left++;
    }
    if (left > 0) put('…', `${left} more output fields`);
    const tags = [...new Set(alert.tags)]
      .sort()
      .slice(0, L.tags)
      .map((t) => chatText(t, L.tag));
    return {
      message: chatText(headline(alert), L.message),
      description: chatText(alert.output, L.description),
      priority,
      entity: 'Saker',
      ...(alert.hostname === '' ? {} : { source: chatText(alert.hostname, L.source) }),
      tags,
      details,
    };
  }
}

/** Opsgenie's keys are UUIDs; anything outside visible ASCII would also split the header. */
function checkApiKey(option: string, key: string): void {
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new SinksOptionsError(option, 'expected the API integration key (visible ASCII, no spaces)');
  }
}

/** `sinks.sidekick.opsgenie`: on when `apikey` is set. */
export const opsgenieSidekick = chatOutput({
  name: 'opsgenie',
  fields: {
    apikey: field(
      checked(string(), (k) => (k === '' ? undefined : checkApiKey('apikey', k))),
      '',
    ),
    region: field(caseless(['us', 'eu'] as const, 'us'), 'us'),
    // Saker's: the Alert API's base URL (a proxy, a test server); '': by region.
    url: field(httpUrl(), ''),
  },
  on: 'apikey',
  create: (c, http) =>
    new OpsgenieOutput({
      apiKey: c.apikey,
      region: c.region,
      ...ifSet('url', c.url),
      ...http,
    }),
});
