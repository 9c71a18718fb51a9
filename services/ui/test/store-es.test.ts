/**
 * The elasticsearch backend against a real OpenSearch node (libs/testing,
 * startOpenSearch): alerts written by Saker's own elasticsearch sink output
 * (`_bulk` into `falco-YYYY.MM.DD`, dynamic mapping) are read back with the
 * same answers as the SQLite store holding the same alerts: pages and
 * paging, every filter, free text with every special character, counts and
 * timelines. Then the service itself with `ui.store.backend: elasticsearch`:
 * the API over HTTP from the index, the live stream from SAKER_ALERTS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@saker/config';
import { type FalcoAlert, PRIORITIES, priorityLabel } from '@saker/rules';
import { sidekickOutputsFromConfig } from '@saker/sinks';
import { type OpenSearchNode, type TestPki, makeTestPki, startOpenSearch } from '@saker/testing';
import type { UiEvent } from '../src/event.js';
import { parseFilters } from '../src/filters.js';
import { type AlertReader, sqlReader } from '../src/reader.js';
import { elasticsearchReader } from '../src/store-es-config.js';
import type { EsReader } from '../src/store-es.js';
import { AlertStore, COUNT_BY, TIMELINE_BY } from '../src/store.js';
import { ADMIN, Client, uiEnv, until } from './helpers/env.js';

const SPECIAL = ',.<>{}[]"\':;!@#$%^&*()+=~';
const PRIORITY_NAMES = PRIORITIES.map(priorityLabel);
const NOW = Date.now();

/** Alerts over the last 50 minutes, a few ms apart at least, with hostile text in outputs and fields. */
function alerts(n: number): FalcoAlert[] {
  return Array.from({ length: n }, (_, i) => {
    const ms = NOW - 50 * 60_000 + i * 47_113 + (i % 7);
    const odd = i % 3 === 0 ? ` ${SPECIAL} \\back\\slash *star? "q" 'a' é` : '';
    const fields: Record<string, string | number | null> = {
      'fd.name': `/etc/shadow${i}`,
      'proc.pid': i,
      'proc.cmdline': `sh -c "echo $HOME; cat /etc/*"${odd}`,
      'container.image.repository': `registry/app-${i % 3}`,
    };
    if (i % 4 !== 3) fields['k8s.ns.name'] = `ns-${i % 2}`;
    if (i % 4 !== 3) fields['k8s.pod.name'] = `pod-${i % 5}`;
    if (i % 6 === 0) fields['k8s.node.name'] = 'worker-a';
    return {
      hostname: `node-${i % 3}`,
      output: `File opened (file=/etc/shadow${i} pid=${i} cmd=sh -c "echo $HOME; cat /etc/*"${odd})`,
      priority: PRIORITY_NAMES[i % 8] ?? 'Warning',
      rule: i % 5 === 0 ? 'Rule "quoted" <1>' : `Rule ${i % 4}`,
      source: i % 5 === 4 ? 'k8s_audit' : 'syscall',
      tags: ['filesystem', `t${i % 2}`, ...(i % 3 === 0 ? ['mitre_T1'] : [])],
      time: new Date(ms).toISOString().replace('Z', `${String(i).padStart(6, '0')}Z`),
      output_fields: fields,
    };
  });
}

const QUERIES = [
  '',
  'source=syscall',
  'source=k8s_audit&priority=warning',
  'priority=warning&priority=critical&priority=info',
  'min_priority=error',
  'hostname=node-1',
  'rule=Rule+%22quoted%22+%3C1%3E',
  'rule=Rule+1&rule=Rule+2',
  'tag=t1',
  'tag=mitre_T1&source=syscall',
  'namespace=ns-1',
  'namespace=',
  'pod=pod-3',
  'node=worker-a',
  'node=node-2',
  'image=registry%2Fapp-1',
  'field.fd.name=%2Fetc%2Fshadow3',
  'field.proc.pid=5&field.proc.pid=6',
  'field.no.such=1',
  `from=${NOW - 30 * 60_000}`,
  `from=${NOW - 40 * 60_000}&to=${NOW - 20 * 60_000 + 1234}`,
  ...[...SPECIAL].map((c) => `q=${encodeURIComponent(c)}`),
  ...[
    SPECIAL,
    '\\',
    '*',
    '?',
    '\\back',
    'star?',
    '"q"',
    "'a'",
    'é',
    'SHADOW1',
    '/etc/shadow1',
    '$HOME;',
    'cat /etc/*',
    'a b',
    'fd.name',
    'k8s',
    'nothing here',
    'adow',
    'etc/shad',
    'pid=1 ',
    'ns.na',
    '%',
    '_',
  ].map((q) => `q=${encodeURIComponent(q)}`),
  `q=shadow&priority=warning&namespace=ns-0&from=${NOW - 45 * 60_000}`,
];

function content(e: UiEvent): Omit<UiEvent, 'id'> {
  const { id: _id, ...rest } = e;
  return rest;
}

async function allPages(r: AlertReader, query: string, limit: number): Promise<Omit<UiEvent, 'id'>[]> {
  const out: Omit<UiEvent, 'id'>[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const p = await r.page(parseFilters(new URLSearchParams(query), NOW), limit, cursor);
    out.push(...p.events.map(content));
    cursor = p.next;
    if (cursor === null) return out;
  }
  throw new Error('more than 100 pages');
}

/** A reader of `index` over plain HTTP without auth, as ui.store.elasticsearch makes it. */
function plainReader(url: string, index: string): EsReader {
  return elasticsearchReader({
    url,
    index,
    timeField: '@timestamp',
    auth: null,
    ca: null,
    timeoutMs: 10_000,
  });
}

/** Writes `list` through Saker's elasticsearch sink output (sinks.sidekick.elasticsearch), then refreshes. */
async function writeThroughSink(url: string, list: readonly FalcoAlert[], index = 'falco'): Promise<void> {
  const config = loadConfig({
    env: {},
    onNotice: () => undefined,
    overrides: { sinks: { sidekick: { elasticsearch: { hostport: url, index } } } },
  });
  const [settings] = sidekickOutputsFromConfig(config.sinks);
  assert.equal(settings?.output.name, 'elasticsearch');
  const output = settings.output;
  assert.ok(output.deliverBatch !== undefined);
  await output.deliverBatch(list.map((alert) => ({ alert, raw: JSON.stringify(alert) })));
  await output.close();
  const res = await fetch(`${url}/${index}-*/_refresh`, { method: 'POST' });
  assert.equal(res.status, 200);
}

/**
 * HTTPS with the test CA and an Authorization check in front of the node:
 * the stand-in for OpenSearch's security plugin (not started here), with
 * its 401 body. Everything else is forwarded to the real node.
 */
async function securedProxy(
  target: string,
  pki: TestPki,
  accepted: readonly string[],
): Promise<{ url: string; seen: string[] } & AsyncDisposable> {
  const seen: string[] = [];
  const server = createHttpsServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      seen.push(auth);
      if (!accepted.includes(auth)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { root_cause: [{ reason: 'missing authentication credentials' }], reason: 'unauthorized' },
            status: 401,
          }),
        );
        return;
      }
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
      void fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('elasticsearch store', () => {
  let node: OpenSearchNode;
  const list = alerts(60);

  before(async () => {
    node = await startOpenSearch();
    await writeThroughSink(node.url, list);
  });
  after(async () => {
    await node?.stop();
  });

  it('answers as the SQLite store does for the same alerts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-es-'));
    const store = new AlertStore({
      path: join(dir, 'alerts.db'),
      maxRows: 1_000_000,
      maxBytes: 1024 ** 3,
      maxAgeMs: 86_400_000,
      cacheBytes: 8 * 1024 * 1024,
    });
    try {
      store.add(list.map((alert, i) => ({ seq: i + 1, ts: Date.parse(alert.time.slice(0, 23)), alert })));
      const sql = sqlReader(store);
      const es = plainReader(node.url, 'falco-*');
      let nonEmpty = 0;
      for (const [n, query] of QUERIES.entries()) {
        const f = parseFilters(new URLSearchParams(query), NOW);
        const a = await sql.page(f, 1000, null);
        const b = await es.page(f, 1000, null);
        assert.equal(b.total, a.total, `total of ${query}`);
        assert.deepEqual(b.events.map(content), a.events.map(content), `events of ${query}`);
        if (a.total > 0) nonEmpty++;
        assert.deepEqual(await allPages(es, query, 9), await allPages(sql, query, 9), `pages of ${query}`);
        for (const by of COUNT_BY) {
          assert.deepEqual(await es.counts(f, by), await sql.counts(f, by), `counts by ${by} of ${query}`);
        }
        for (const by of TIMELINE_BY) {
          // Odd bucket counts for the first queries only: each is a request per query.
          for (const points of n < 8 ? [1, 13, 60] : [60]) {
            assert.deepEqual(
              await es.timeline(f, by, points, NOW),
              store.timeline(f, by, points, NOW),
              `timeline by ${by}, ${points} points, of ${query}`,
            );
          }
        }
      }
      assert.ok(nonEmpty > QUERIES.length / 2, `${nonEmpty} of ${QUERIES.length} queries matched something`);
      // Every special character alone found the alerts that hold it.
      const all = await es.page(
        parseFilters(new URLSearchParams(`q=${encodeURIComponent(SPECIAL)}`)),
        1000,
        null,
      );
      assert.equal(all.total, 20);
      const first = all.events[0];
      assert.ok(first !== undefined);
      assert.deepEqual(content((await es.get(first.id)) ?? first), content(first));
      assert.equal(await es.get('no-such-id'), null);
      await assert.rejects(
        es.page(parseFilters(new URLSearchParams()), 5, 'not a cursor'),
        /cursor: not a cursor/,
      );
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the API from the index with ui.store.backend: elasticsearch, live alerts from SAKER_ALERTS', async () => {
    await using env = await uiEnv({
      ui: { store: { backend: 'elasticsearch', elasticsearch: { url: node.url } } },
    });
    assert.throws(() => env.ui.store, /no SQLite store/);
    assert.match(env.ui.holding(), /^reading falco-\* at 127\.0\.0\.1:\d+$/);
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    const q = encodeURIComponent(SPECIAL);
    const page = await c.json<{ events: UiEvent[]; next: string | null; total: number }>(
      `api/events?limit=5&q=${q}`,
    );
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 20);
    assert.equal(page.body.events.length, 5);
    const next = await c.json<{ events: UiEvent[] }>(`api/events?limit=5&q=${q}&cursor=${page.body.next}`);
    assert.equal(next.body.events.length, 5);
    assert.ok(
      (next.body.events[0]?.time ?? '') < (page.body.events[4]?.time ?? ''),
      'the next page is older',
    );
    const bad = await c.json<{ error: string }>('api/events?cursor=%7B');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^cursor: /);
    const id = page.body.events[0]?.id ?? '';
    const detail = await c.json<{ event: UiEvent }>(`api/events/${encodeURIComponent(id)}`);
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.body.event, page.body.events[0]);
    const counts = await c.json<{ buckets: { key: string; count: number }[] }>('api/counts?by=priority');
    assert.equal(
      counts.body.buckets.reduce((n, b) => n + b.count, 0),
      60,
    );
    const exported = await (await c.fetch('api/export?format=jsonl')).text();
    assert.equal(exported.trim().split('\n').length, 60);
    const info = await c.json<{ store: { backend: string; rows: number } }>('api/info');
    assert.equal(info.body.store.backend, 'elasticsearch');
    assert.equal(info.body.store.rows, 60);

    const res = await c.fetch('api/stream');
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const live = { ...list[0], rule: 'Live only', time: new Date().toISOString() } as FalcoAlert;
    await env.publish([live]);
    let text = '';
    const dec = new TextDecoder();
    while (!/^event: alert$/m.test(text)) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended early');
      text += dec.decode(value);
    }
    await reader.cancel();
    assert.match(text, /"rule":"Live only"/);
    // Nothing was written to the index: the backend is read-only.
    await until('the live alert is not in the index', async () => {
      const r = await c.json<{ total: number }>('api/events?rule=Live+only');
      return r.body.total === 0;
    });
  });

  it('answers 502 with the reason when the cluster cannot be reached', async () => {
    await using env = await uiEnv({
      ui: {
        store: { backend: 'elasticsearch', elasticsearch: { url: 'http://127.0.0.1:1', timeout_ms: 2000 } },
      },
    });
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    for (const path of ['api/events', 'api/counts?by=rule', 'api/timeline', 'api/events/abc', 'api/info']) {
      const r = await c.json<{ error: string }>(path);
      assert.equal(r.status, 502, path);
      assert.match(r.body.error, /^elasticsearch .*ECONNREFUSED/, path);
    }
  });

  it('authenticates with a password or an API key from files and trusts ui.store.elasticsearch.ca', async () => {
    using pki = makeTestPki({ prefix: 'saker-ui-es-pki-' });
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-es-auth-'));
    try {
      writeFileSync(join(dir, 'password'), 'pa:ss w\u00f6rd\n');
      writeFileSync(join(dir, 'api-key'), 'a2V5LWlkOmtleS1zZWNyZXQ=\n');
      writeFileSync(join(dir, 'wrong'), 'not-it\n');
      const basic = `Basic ${Buffer.from('reader:pa:ss w\u00f6rd').toString('base64')}`;
      await using proxy = await securedProxy(node.url, pki, [basic, 'ApiKey a2V5LWlkOmtleS1zZWNyZXQ=']);
      const reader = (es: Record<string, unknown>) => {
        const config = loadConfig({
          env: {},
          onNotice: () => undefined,
          overrides: {
            ui: { store: { backend: 'elasticsearch', elasticsearch: { url: proxy.url, ...es } } },
          },
        });
        return elasticsearchReader(config.ui.store.elasticsearch ?? undefined);
      };
      const all = parseFilters(new URLSearchParams());
      const ca = pki.files.caCert;
      const withPassword = reader({ username: 'reader', password_file: join(dir, 'password'), ca });
      assert.equal((await withPassword.page(all, 1, null)).total, 60);
      assert.equal(proxy.seen.at(-1), basic);
      const withKey = reader({ api_key_file: join(dir, 'api-key'), ca });
      assert.equal(
        (await withKey.counts(all, 'source')).reduce((n, b) => n + b.count, 0),
        60,
      );
      assert.equal(proxy.seen.at(-1), 'ApiKey a2V5LWlkOmtleS1zZWNyZXQ=');

      const wrong = reader({ username: 'reader', password_file: join(dir, 'wrong'), ca });
      await assert.rejects(wrong.page(all, 1, null), (err: Error) => {
        assert.match(err.message, /^elasticsearch .*: 401 missing authentication credentials$/);
        assert.ok(!err.message.includes('not-it'));
        return true;
      });
      // Without the CA the proxy's certificate is not trusted; with another CA neither.
      await assert.rejects(reader({ api_key_file: join(dir, 'api-key') }).page(all, 1, null), /certificate/);
      await assert.rejects(
        reader({ api_key_file: join(dir, 'api-key'), ca: pki.files.rogueCaCert }).page(all, 1, null),
        /certificate/,
      );

      assert.throws(
        () => reader({ url: null }),
        /ui\.store\.elasticsearch\.url: required when ui\.store\.backend is elasticsearch/,
      );
      assert.throws(
        () => reader({ username: 'reader', password: 'x', api_key: 'k' }),
        /ui\.store\.elasticsearch\.api_key: give username\/password or api_key, not both/,
      );
      assert.throws(() => reader({ username: 'reader' }), /ui\.store\.elasticsearch\.password: required/);
      assert.throws(
        () => reader({ index: 'falco *' }),
        /ui\.store\.elasticsearch\.index: expected an index pattern/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds text in outputs past the .keyword limit, literally where a template maps output as wildcard', async () => {
    const long = (i: number): FalcoAlert => ({
      ...(list[i] as FalcoAlert),
      output: `${'x'.repeat(300)} needle <{[*]}> tail${i}`,
    });
    // The same long outputs into a dynamically mapped index and one whose template maps output as wildcard.
    const template = await fetch(`${node.url}/_index_template/falcowild`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        index_patterns: ['falcowild-*'],
        template: { mappings: { properties: { output: { type: 'wildcard' } } } },
      }),
    });
    assert.equal(template.status, 200, await template.text());
    await writeThroughSink(node.url, [long(1), long(2)], 'falcolong');
    await writeThroughSink(node.url, [long(1), long(2)], 'falcowild');
    const total = async (index: string, q: string): Promise<number> => {
      const es = plainReader(node.url, index);
      return (await es.page(parseFilters(new URLSearchParams({ q })), 10, null)).total;
    };
    for (const index of ['falcolong-*', 'falcowild-*']) {
      assert.equal(await total(index, 'needle'), 2, index);
      assert.equal(await total(index, 'tail2'), 1, index);
      assert.equal(await total(index, 'needl'), 2, `${index}: the last word from its start`);
      assert.equal(await total(index, 'eedle'), 0, `${index}: not inside a word`);
    }
    // A pattern or name that matches no index (yet) answers nothing.
    assert.equal(await total('nothing-*', 'x'), 0);
    assert.equal(await total('nothing', 'x'), 0);
    assert.deepEqual(await plainReader(node.url, 'nothing').info(), {
      backend: 'elasticsearch',
      index: 'nothing',
      rows: 0,
      bytes: 0,
      oldest: null,
    });
    // Punctuation alone: the phrase of a text field has no terms; a wildcard field matches it literally.
    assert.equal(await total('falcolong-*', '<{[*]}>'), 0);
    assert.equal(await total('falcowild-*', '<{[*]}>'), 2);
    assert.equal(await total('falcowild-*', '<{[?]}>'), 0);
  });
});
