/**
 * The filter bar: time range (falcosidekick-ui's "since" list, or a custom
 * from/to in local time or UTC), free text (any characters, sent as they are),
 * and filters by any key with suggestions from the store's counts. Active
 * filters are chips; clicking one removes it.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import type { Nav } from './app.js';
import { TextInput } from './controls.js';
import { FILTER_KEYS, Filters, PRIORITIES, SINCE } from './filters.js';
import { type TimeZone, fromInputValue, toInputValue, visible } from './text.js';
import { useApi } from './use-api.js';

const SUGGEST_BY: Record<string, string> = {
  source: 'source',
  priority: 'priority',
  hostname: 'hostname',
  tag: 'tag',
  rule: 'rule',
  namespace: 'namespace',
};

export function timeZone(filters: Filters): TimeZone {
  return filters.get('tz') === 'UTC' ? 'UTC' : 'local';
}

export function FilterBar({ nav }: { nav: Nav }) {
  const f = nav.filters;
  const tz = timeZone(f);
  const [q, setQ] = useState(f.get('q') ?? '');
  const [key, setKey] = useState<string>('source');
  const [fieldName, setFieldName] = useState('');
  const [value, setValue] = useState('');
  const custom = f.get('from') !== undefined || f.get('to') !== undefined;
  const suggestBy = SUGGEST_BY[key];
  const range = new URLSearchParams(f.apiQuery());
  const rangeQuery = new URLSearchParams(
    [...range].filter(([k]) => k === 'since' || k === 'from' || k === 'to'),
  ).toString();
  const suggestions = useApi(
    () => (suggestBy === undefined ? Promise.resolve(undefined) : api.counts(rangeQuery, suggestBy)),
    `${suggestBy}|${rangeQuery}`,
  );
  const options =
    key === 'priority' || key === 'min_priority'
      ? PRIORITIES.map((p) => p as string)
      : (suggestions.data?.buckets.map((b) => b.key) ?? []);

  const addFilter = (e: Event) => {
    e.preventDefault();
    const k = key === 'field' ? `field.${fieldName.trim()}` : key;
    if (value === '' || k === 'field.') return;
    nav.filter(f.has(k, value) ? f : f.toggle(k, value));
    setValue('');
  };

  return (
    <section class="filters" aria-label="Filters">
      <form
        class="row"
        aria-label="Search"
        onSubmit={(e) => {
          e.preventDefault();
          nav.filter(f.set('q', q));
        }}
      >
        <TextInput
          type="search"
          name="q"
          label="Free text"
          placeholder="Search output, rule and fields (any characters)"
          value={q}
          onValue={setQ}
        />
        <button type="submit">Search</button>
        <label>
          Since{' '}
          <select
            name="since"
            aria-label="Since"
            value={custom ? 'custom' : (f.get('since') ?? '24h')}
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (v === 'custom') {
                const now = new Date();
                nav.filter(
                  f
                    .set(['since', 'from', 'to'])
                    .set('from', new Date(now.getTime() - 3_600_000).toISOString())
                    .set('to', now.toISOString()),
                );
              } else nav.filter(f.set(['since', 'from', 'to']).set('since', v));
            }}
          >
            {SINCE.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
            <option value="custom">custom…</option>
          </select>
        </label>
        {custom &&
          (['from', 'to'] as const).map((k) => (
            <label key={k}>
              {k === 'from' ? 'From' : 'To'}{' '}
              <input
                type="datetime-local"
                name={k}
                value={toInputValue(f.get(k), tz)}
                onChange={(e) => nav.filter(f.set(k, fromInputValue(e.currentTarget.value, tz)))}
              />
            </label>
          ))}
        <label>
          Time zone{' '}
          <select
            name="tz"
            value={tz}
            onChange={(e) => nav.filter(f.set('tz', e.currentTarget.value === 'UTC' ? 'UTC' : undefined))}
          >
            <option value="local">local</option>
            <option value="UTC">UTC</option>
          </select>
        </label>
      </form>
      <form class="row" onSubmit={addFilter} aria-label="Add filter">
        <select
          name="key"
          aria-label="Filter key"
          value={key}
          onChange={(e) => setKey(e.currentTarget.value)}
        >
          {FILTER_KEYS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
          <option value="field">output field…</option>
        </select>
        {key === 'field' && (
          <TextInput
            name="field"
            label="Field name"
            placeholder="field, e.g. proc.name"
            value={fieldName}
            onValue={setFieldName}
          />
        )}
        <TextInput
          name="value"
          label="Filter value"
          placeholder="value"
          list="filter-values"
          value={value}
          onValue={setValue}
        />
        <datalist id="filter-values">
          {options.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
        <button type="submit">Add filter</button>
        {f.chips().length > 0 && (
          <button type="button" onClick={() => nav.filter(keepOnly(f))}>
            Clear filters
          </button>
        )}
      </form>
      <ul class="chips" aria-label="Active filters">
        {f.chips().map(([k, v]) => (
          <li key={`${k}=${v}`}>
            <button
              type="button"
              class="chip"
              title="Remove filter"
              onClick={() => nav.filter(f.toggle(k, v))}
            >
              {k}={visible(v)} ✕
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function keepOnly(f: Filters): Filters {
  const kept = new URLSearchParams();
  for (const k of ['since', 'from', 'to', 'q', 'tz']) for (const v of f.all(k)) kept.append(k, v);
  return Filters.parse(kept.toString());
}
