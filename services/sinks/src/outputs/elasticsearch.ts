/**
 * Elasticsearch (and OpenSearch): alerts indexed through the `_bulk` API,
 * one NDJSON action line and one document line per alert
 * (`Content-Type: application/x-ndjson`).
 *
 * - Index: `index` (default `falco`) with a suffix from the alert's time
 *   (UTC): `daily` → `falco-2026.11.29` (default), `monthly` →
 *   `falco-2026.11`, `none` → `falco`.
 * - Document: Falco's JSON alert with `@timestamp` (the alert's time) added.
 * - Idempotent: each action is `create` with `_id` = sha256 of the document,
 *   so an alert delivered twice (at-least-once) is stored once; a 409
 *   (already there) counts as delivered.
 * - Per-item errors: the bulk answer lists one result per action. 408, 429
 *   and 5xx items are retried (only those), any other 4xx (a mapping error)
 *   is dead-lettered; the rest of the batch counts as delivered
 *   (PartialBatchError).
 * - Auth: `username`/`password` (basic) or `apiKey` (`Authorization: ApiKey …`).
 */
import { createHash } from 'node:crypto';
import { field, oneOf, string } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { type DeliveryError, PartialBatchError, SinksOptionsError, permanent, retryable } from '../errors.js';
import { ifSet, storeOutput } from '../sidekick/descriptor.js';
import { type HttpTargetOptions, HttpTargetOutput, isRetryableStatus } from './http-client.js';
import { type Delivery, deliverAsBatch } from './output.js';

export type IndexSuffix = 'daily' | 'monthly' | 'none';

export interface ElasticsearchOutputOptions extends HttpTargetOptions {
  readonly name?: string;
  /** Index name prefix. Default `falco`. */
  readonly index?: string;
  /** Default `daily`. */
  readonly suffix?: IndexSuffix;
  /** Elasticsearch API key (the base64 `id:api_key` form): `Authorization: ApiKey <key>`. */
  readonly apiKey?: string;
}

/** The index an alert goes to: `falco-2026.11.29` (daily), `falco-2026.11` (monthly), `falco` (none). */
export function indexName(prefix: string, suffix: IndexSuffix, time: string): string {
  if (suffix === 'none') return prefix;
  const d = new Date(time);
  const ms = Number.isNaN(d.getTime()) ? Date.now() : d.getTime();
  const iso = new Date(ms).toISOString();
  const y = iso.slice(0, 4);
  const m = iso.slice(5, 7);
  return suffix === 'monthly' ? `${prefix}-${y}.${m}` : `${prefix}-${y}.${m}.${iso.slice(8, 10)}`;
}

/** The document: the alert's JSON with `@timestamp` first. */
function elasticDocument(alert: FalcoAlert, raw: string): string {
  const body = raw.trim();
  const rest = body.slice(1).trimStart();
  const ts = `"@timestamp":${JSON.stringify(alert.time)}`;
  return rest === '}' ? `{${ts}}` : `{${ts},${rest}`;
}

interface BulkItemResult {
  readonly status?: number;
  readonly error?: unknown;
}

export class ElasticsearchOutput extends HttpTargetOutput {
  readonly #prefix: string;
  readonly #suffix: IndexSuffix;

  constructor(o: ElasticsearchOutputOptions) {
    const prefix = o.index ?? 'falco';
    // Elasticsearch's index name rules: lowercase, no \ / * ? " < > | space , #, not starting with - _ +.
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix)) {
      throw new SinksOptionsError(
        'elasticsearch.index',
        `${JSON.stringify(prefix)} is not a valid index name`,
      );
    }
    const headers: Record<string, string> = { ...o.headers };
    if (o.apiKey !== undefined) headers.authorization = `ApiKey ${o.apiKey}`;
    super(o.name ?? 'elasticsearch', 'elasticsearch', { ...o, headers });
    this.#prefix = prefix;
    this.#suffix = o.suffix ?? 'daily';
  }

  /** The `_bulk` body for the deliveries. */
  bulkBody(items: readonly Delivery[]): string {
    let body = '';
    for (const d of items) {
      const doc = elasticDocument(d.alert, d.raw);
      const id = createHash('sha256').update(doc).digest('hex').slice(0, 40);
      const action = { create: { _index: indexName(this.#prefix, this.#suffix, d.alert.time), _id: id } };
      body += `${JSON.stringify(action)}\n${doc}\n`;
    }
    return body;
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    return deliverAsBatch(this, alert, raw);
  }

  async deliverBatch(items: readonly Delivery[]): Promise<void> {
    if (items.length === 0) return;
    const res = await this.http.postOk('/_bulk', this.bulkBody(items), 'application/x-ndjson');
    let answer: { errors?: unknown; items?: unknown };
    try {
      answer = JSON.parse(res.body) as { errors?: unknown; items?: unknown };
    } catch {
      throw retryable(this.name, `_bulk answered ${res.status} with a body that is not JSON`);
    }
    if (answer.errors !== true) return;
    const results = Array.isArray(answer.items) ? (answer.items as unknown[]) : [];
    if (results.length !== items.length) {
      throw retryable(this.name, `_bulk answered ${results.length} items for ${items.length} actions`);
    }
    const failures = new Map<number, DeliveryError>();
    results.forEach((entry, i) => {
      const r = firstValue(entry);
      const status = typeof r?.status === 'number' ? r.status : 0;
      if ((status >= 200 && status < 300) || status === 409) return;
      const detail = `_bulk item ${i} answered ${status}: ${JSON.stringify(r?.error ?? null).slice(0, 512)}`;
      failures.set(
        i,
        status === 0 || isRetryableStatus(status)
          ? retryable(this.name, detail)
          : permanent(this.name, detail),
      );
    });
    if (failures.size > 0) throw new PartialBatchError(this.name, failures);
  }
}

/** A bulk item is `{"create": {...}}` (or index/update/delete): its only value. */
function firstValue(entry: unknown): BulkItemResult | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const v = Object.values(entry)[0];
  return typeof v === 'object' && v !== null ? (v as BulkItemResult) : undefined;
}

/** `sinks.sidekick.elasticsearch`: on when `hostport` is set. */
export const elasticsearchSidekick = storeOutput({
  name: 'elasticsearch',
  fields: {
    index: field(string(), 'falco'),
    suffix: field(
      oneOf<IndexSuffix>(['daily', 'monthly', 'none'], (t) =>
        t === 'daily' || t === 'monthly' || t === 'none' ? t : undefined,
      ),
      'daily',
    ),
    username: field(string(), ''),
    password: field(string(), ''),
    apikey: field(string(), ''),
  },
  create: (c, target, ctx) =>
    new ElasticsearchOutput({
      ...target,
      index: c.index,
      suffix: c.suffix,
      ...(c.username === '' ? {} : { username: c.username, password: c.password }),
      ...ifSet('apiKey', c.apikey),
    }),
});
