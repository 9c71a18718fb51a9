/**
 * falcosidekick's common output semantics, for any output that opts in:
 *
 * - `minimumpriority`: the framework's own `minimumPriority` (sidekickSettings maps it);
 * - `customfields`: `key:value` pairs set in `output_fields`;
 * - `customtags`: tags added to `tags`;
 * - `templatedfields`: `output_fields` rendered from templates (template.ts).
 *
 * An output opts in with `sidekickSettings(output, common)`: its alerts are
 * enriched (withSidekick) before it sees them, and `raw` is re-rendered so
 * the JSON carries the added fields and tags. The transport the HTTP outputs
 * share is transport.ts; the text of chat messages, chat-text.ts.
 */
import {
  type FalcoAlert,
  type OutputFieldValue,
  type Priority,
  formatAlertJson,
  parsePriority,
} from '@saker/rules';
import { type AlertFormat, DEFAULT_FORMAT } from '../alert.js';
import { SinksOptionsError } from '../errors.js';
import type { OutputSettings } from '../options.js';
import type { Delivery, Output } from '../outputs/output.js';
import { parseKeyValues, parseList } from './key-values.js';
import { Template } from './template.js';
import type { SidekickHttpOptions } from './transport.js';

export interface SidekickCommonOptions extends SidekickHttpOptions {
  /** `minimumpriority`; the framework's minimumPriority. Default: every alert. */
  readonly minimumPriority?: Priority | string;
  /** `customfields`: set in output_fields (they replace an alert's own value of that key). */
  readonly customFields?: Readonly<Record<string, string>> | string;
  /** `customtags`: added to tags. */
  readonly customTags?: readonly string[] | string;
  /** `templatedfields`: key → template (see Template), rendered over the alert as received. */
  readonly templatedFields?: Readonly<Record<string, string>>;
}

/** The enrichment of one output: identity when nothing is configured. */
export interface Enricher {
  readonly active: boolean;
  enrich(alert: FalcoAlert): FalcoAlert;
}

export function compileEnricher(path: string, o: SidekickCommonOptions): Enricher {
  const custom = parseKeyValues(`${path}.customFields`, o.customFields);
  const tags = parseList(o.customTags);
  const templated: [string, Template][] = Object.entries(o.templatedFields ?? {}).map(([k, src]) => {
    if (k === '') throw new SinksOptionsError(`${path}.templatedFields`, 'empty key');
    return [k, new Template(`${path}.templatedFields[${JSON.stringify(k)}]`, src)];
  });
  const active = Object.keys(custom).length > 0 || tags.length > 0 || templated.length > 0;
  return {
    active,
    enrich(alert) {
      if (!active) return alert;
      const fields: Record<string, OutputFieldValue> = { ...alert.output_fields };
      for (const [k, v] of Object.entries(custom)) fields[k] = v;
      // Templates see the alert as received, as falcosidekick renders them over the payload's fields.
      for (const [k, t] of templated) fields[k] = t.render(alert);
      const allTags = tags.length > 0 ? [...new Set([...alert.tags, ...tags])].sort() : alert.tags;
      return { ...alert, output_fields: fields, tags: allTags };
    },
  };
}

/**
 * Wraps an output so that it sees enriched alerts, and a `raw` JSON that
 * carries the enrichment (rendered with `format`'s `json_include_*` keys).
 */
function withSidekick(output: Output, enricher: Enricher, format: AlertFormat = DEFAULT_FORMAT): Output {
  if (!enricher.active) return output;
  const opts = {
    includeOutput: format.includeOutput,
    includeTags: format.includeTags,
    includeOutputFields: format.includeOutputFields,
  };
  const one = (alert: FalcoAlert): Delivery => {
    const enriched = enricher.enrich(alert);
    return { alert: enriched, raw: formatAlertJson(enriched, opts) };
  };
  const batch = output.deliverBatch?.bind(output);
  const reopen = output.reopen?.bind(output);
  return {
    name: output.name,
    deliver(alert) {
      const d = one(alert);
      return output.deliver(d.alert, d.raw);
    },
    ...(batch ? { deliverBatch: (items: readonly Delivery[]) => batch(items.map((d) => one(d.alert))) } : {}),
    ...(reopen ? { reopen } : {}),
    close: () => output.close(),
  };
}

/**
 * Output settings for an output that opts in to falcosidekick's semantics:
 * `minimumPriority` from `common` (unless `extra` sets it), alerts enriched
 * with custom fields, custom tags and templated fields.
 */
export function sidekickSettings(
  output: Output,
  common: SidekickCommonOptions,
  extra: Omit<OutputSettings, 'output'> = {},
): OutputSettings {
  const path = `outputs.${output.name}`;
  if (common.minimumPriority !== undefined && parsePriority(common.minimumPriority) === undefined) {
    throw new SinksOptionsError(
      `${path}.minimumPriority`,
      `${JSON.stringify(common.minimumPriority)} is not a Falco priority`,
    );
  }
  const format: AlertFormat = { ...DEFAULT_FORMAT, ...extra.format };
  const minimumPriority = extra.minimumPriority ?? common.minimumPriority;
  return {
    ...extra,
    ...(minimumPriority !== undefined ? { minimumPriority } : {}),
    output: withSidekick(output, compileEnricher(path, common), format),
  };
}
