/**
 * A read-only AlertReader over an Elasticsearch/OpenSearch index pattern
 * (`ui.store.backend: elasticsearch`), for installs that already keep their
 * alerts there (Saker's or falcosidekick's elasticsearch output,
 * `falco-YYYY.MM.DD`). It answers the same API as the SQLite store: pages
 * newest first with search_after, counts from terms aggregations, timelines
 * from a date_histogram, export page by page. Nothing is written; the live
 * stream still comes from SAKER_ALERTS.
 *
 * Field paths come from the pattern's mappings (es-query.ts), read on first
 * use and again after `mappingTtlMs`, so a dynamic mapping and a template
 * both work. Ids are the documents' `_id`; cursors are the last hit's sort
 * values, base64url JSON, checked when they come back.
 */
import { type OutputFieldValue, parsePriority, priorityLabel } from '@saker/rules';
import { type EsClient, EsRequestError } from './es-http.js';
import { type FieldPaths, QueryBuilder, fieldPaths } from './es-query.js';
import type { UiEvent } from './event.js';
import { FilterError, type Filters } from './filters.js';
import type { AlertReader, Batch } from './reader.js';
import { MINUTE, Rollup } from './rollup.js';
import type { CountBy, Page, Timeline, TimelineBy } from './store.js';

export interface EsReaderOptions {
  readonly client: EsClient;
  /** An index pattern (`falco-*`) or a comma list of them. */
  readonly index: string;
  /** The document's time. Default `@timestamp` (Saker's and falcosidekick's outputs write it). */
  readonly timeField: string;
  readonly mappingTtlMs: number;
}

const TOP = 1000;
/** A pattern that matches no index yet (a new install) answers nothing rather than an error. */
const MISSING_OK = 'ignore_unavailable=true&allow_no_indices=true';

interface Hit {
  _id?: unknown;
  _source?: unknown;
  sort?: unknown;
}

interface SearchAnswer {
  hits?: { total?: { value?: unknown } | number; hits?: Hit[] };
  aggregations?: Record<string, unknown>;
}

interface TermsBucket {
  key?: unknown;
  doc_count?: unknown;
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** A hit as the UI's event; a document of another shape gives what it has (fields are data, never trusted). */
function eventOfHit(hit: Hit): UiEvent {
  const s = (typeof hit._source === 'object' && hit._source !== null ? hit._source : {}) as Record<
    string,
    unknown
  >;
  const fields: Record<string, OutputFieldValue> = {};
  if (typeof s.output_fields === 'object' && s.output_fields !== null && !Array.isArray(s.output_fields)) {
    for (const [k, v] of Object.entries(s.output_fields as Record<string, unknown>)) {
      if (isScalar(v)) fields[k] = v;
      else if (Array.isArray(v) && v.every(isScalar)) fields[k] = v as OutputFieldValue;
      else fields[k] = JSON.stringify(v);
    }
  }
  const p = parsePriority(str(s.priority));
  return {
    id: str(hit._id),
    time: str(s.time),
    rule: str(s.rule),
    priority: p === undefined ? str(s.priority) : priorityLabel(p),
    source: str(s.source),
    hostname: str(s.hostname),
    tags: Array.isArray(s.tags) ? s.tags.map(str) : [],
    output: str(s.output),
    output_fields: fields,
  };
}

function encodeCursor(sort: unknown): string | null {
  return Array.isArray(sort) ? Buffer.from(JSON.stringify(sort), 'utf8').toString('base64url') : null;
}

function decodeCursor(cursor: string): (string | number)[] {
  const bad = new FilterError('cursor', 'not a cursor of this store (take `next` of the previous page)');
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) throw bad;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((x) => typeof x === 'string' || typeof x === 'number')
  ) {
    throw bad;
  }
  return v as (string | number)[];
}

function bucketsOf(aggs: Record<string, unknown> | undefined, name: string): TermsBucket[] {
  const a = aggs?.[name] as { buckets?: unknown } | undefined;
  return Array.isArray(a?.buckets) ? (a.buckets as TermsBucket[]) : [];
}

/** A count key as the SQLite store gives it: priorities as Falco's label. */
function keyText(by: string, k: unknown): string {
  if (by === 'priority') {
    const p = parsePriority(str(k));
    return p === undefined ? str(k) : priorityLabel(p);
  }
  return str(k);
}

export class EsReader implements AlertReader {
  readonly #o: EsReaderOptions;
  #paths: { value: FieldPaths; at: number } | undefined;

  constructor(o: EsReaderOptions) {
    this.#o = o;
  }

  async #builder(): Promise<QueryBuilder> {
    const now = Date.now();
    if (this.#paths === undefined || now - this.#paths.at > this.#o.mappingTtlMs) {
      const answer = await this.#o.client.requestJson(
        `${encodeURIComponent(this.#o.index)}/_mapping?${MISSING_OK}`,
      );
      this.#paths = { value: fieldPaths(answer), at: now };
    }
    return new QueryBuilder(this.#paths.value, this.#o.timeField);
  }

  async #search(body: Record<string, unknown>): Promise<SearchAnswer> {
    const path = `${encodeURIComponent(this.#o.index)}/_search?${MISSING_OK}`;
    return (await this.#o.client.requestJson(path, body)) as SearchAnswer;
  }

  #sort(): unknown[] {
    // _id breaks ties between alerts of the same millisecond.
    return [{ [this.#o.timeField]: { order: 'desc' } }, { _id: { order: 'desc' } }];
  }

  async #hits(f: Filters, limit: number, cursor: string | null, total: boolean): Promise<SearchAnswer> {
    const after = cursor === null ? null : decodeCursor(cursor);
    const b = await this.#builder();
    return this.#search({
      query: b.filter(f),
      size: limit,
      sort: this.#sort(),
      track_total_hits: total,
      ...(after === null ? {} : { search_after: after }),
    });
  }

  async page(f: Filters, limit: number, cursor: string | null): Promise<Page> {
    // One more than asked says whether there is a next page, as the SQLite store does.
    const answer = await this.#hits(f, limit + 1, cursor, true);
    const all = answer.hits?.hits ?? [];
    const hits = all.slice(0, limit);
    const t = answer.hits?.total;
    return {
      events: hits.map(eventOfHit),
      next: all.length > limit ? encodeCursor(hits[hits.length - 1]?.sort) : null,
      total: typeof t === 'number' ? t : Number(t?.value ?? 0),
    };
  }

  async batch(f: Filters, limit: number, cursor: string | null): Promise<Batch> {
    const hits = (await this.#hits(f, limit, cursor, false)).hits?.hits ?? [];
    return {
      events: hits.map(eventOfHit),
      next: hits.length === limit ? encodeCursor(hits[hits.length - 1]?.sort) : null,
    };
  }

  async get(id: string): Promise<UiEvent | null> {
    if (id.length > 512) throw new FilterError('id', 'longer than 512 characters');
    const answer = await this.#search({ query: { ids: { values: [id] } }, size: 1 });
    const hit = answer.hits?.hits?.[0];
    return hit === undefined ? null : eventOfHit(hit);
  }

  #countField(b: QueryBuilder, by: CountBy | TimelineBy): { field: string; missing?: string } {
    if (by === 'tag') return { field: b.exact('tags') };
    if (by === 'namespace') return { field: b.exact('output_fields.k8s.ns.name'), missing: '' };
    return { field: b.exact(by) };
  }

  async counts(f: Filters, by: CountBy): Promise<{ key: string; count: number }[]> {
    const b = await this.#builder();
    const answer = await this.#search({
      query: b.filter(f),
      size: 0,
      aggs: { k: { terms: { ...this.#countField(b, by), size: TOP } } },
    });
    const sums = new Map<string, number>();
    for (const bucket of bucketsOf(answer.aggregations, 'k')) {
      const key = keyText(by, bucket.key);
      sums.set(key, (sums.get(key) ?? 0) + Number(bucket.doc_count ?? 0));
    }
    return [...sums]
      .filter(([, count]) => count > 0)
      .map(([key, count]) => ({ key, count }))
      .sort((a, c) => c.count - a.count || (a.key < c.key ? -1 : 1))
      .slice(0, TOP);
  }

  /** Buckets as the SQLite store makes them (store.ts, timeline): whole minutes when its per-minute counts would answer. */
  async timeline(f: Filters, by: TimelineBy, points: number, now = Date.now()): Promise<Timeline> {
    const b = await this.#builder();
    const to = f.to ?? now;
    let from = f.from;
    if (from === null) {
      const answer = await this.#search({ size: 0, aggs: { t: { min: { field: this.#o.timeField } } } });
      const min = (answer.aggregations?.t as { value?: unknown } | undefined)?.value;
      from = Math.min(typeof min === 'number' ? min : to - 3_600_000, to - MINUTE);
    }
    let step = Math.max(1, Math.ceil((to - from + 1) / points));
    // The alerts counted: [from, to], or the whole minutes around them.
    let last = to;
    if (Rollup.covers(f, false) && step >= MINUTE) {
      from = Math.floor(from / MINUTE) * MINUTE;
      step = Math.ceil(Math.ceil((to - from + 1) / points) / MINUTE) * MINUTE;
      last = (Math.floor(to / MINUTE) + 1) * MINUTE - 1;
    }
    const answer = await this.#search({
      query: b.filter({ ...f, from, to: last }),
      size: 0,
      aggs: {
        t: {
          date_histogram: {
            field: this.#o.timeField,
            fixed_interval: `${step}ms`,
            offset: `${from % step}ms`,
            min_doc_count: 1,
          },
          aggs: { k: { terms: { ...this.#countField(b, by), size: 100 } } },
        },
      },
    });
    const series = new Map<string, number[]>();
    for (const bucket of bucketsOf(answer.aggregations, 't')) {
      const i = Math.min(points - 1, Math.max(0, Math.floor((Number(bucket.key) - from) / step)));
      for (const k of bucketsOf(bucket as Record<string, unknown>, 'k')) {
        const key = keyText(by, k.key);
        let counts = series.get(key);
        if (counts === undefined) {
          counts = new Array<number>(points).fill(0);
          series.set(key, counts);
        }
        counts[i] = (counts[i] ?? 0) + Number(k.doc_count ?? 0);
      }
    }
    return {
      from,
      to,
      step,
      series: [...series].map(([key, counts]) => ({ key, counts })).sort((a, c) => (a.key < c.key ? -1 : 1)),
    };
  }

  async info(): Promise<unknown> {
    const index = encodeURIComponent(this.#o.index);
    let rows = 0;
    let bytes = 0;
    try {
      const stats = (await this.#o.client.requestJson(`${index}/_stats/docs,store?${MISSING_OK}`)) as {
        _all?: { primaries?: { docs?: { count?: unknown }; store?: { size_in_bytes?: unknown } } };
      };
      rows = Number(stats._all?.primaries?.docs?.count ?? 0);
      bytes = Number(stats._all?.primaries?.store?.size_in_bytes ?? 0);
    } catch (err) {
      // A user allowed to search but not to read index stats still gets the rest.
      if (!(err instanceof EsRequestError) || err.status !== 403) throw err;
    }
    const oldest = await this.#search({
      size: 1,
      sort: [{ [this.#o.timeField]: { order: 'asc' } }],
      _source: ['time'],
    });
    const first = oldest.hits?.hits?.[0];
    return {
      backend: 'elasticsearch',
      index: this.#o.index,
      rows,
      bytes,
      oldest: first === undefined ? null : eventOfHit(first).time || null,
    };
  }
}
