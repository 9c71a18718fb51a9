import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Bus, connectBus } from '@saker/bus';
import { MetricsRegistry } from '@saker/telemetry';
import { type TestPki, makeTestPki } from '@saker/testing';
import { type AuditService, start } from '../src/service.js';
import { post } from './client.js';
import { type Collected, collectAuditEvents } from './collect.js';
import { batch, eventList, podCreateEvent } from './events.js';

const TOKEN = 'test-token-0123456789abcdef';
const quiet = (): void => undefined;

describe('webhook over TLS', () => {
  let pki: TestPki;
  let bus: Bus;
  let metrics: MetricsRegistry;
  let service: AuditService;
  let url: string;
  let got: Collected;
  const tls = (): { ca: string; cert: string; key: string } => ({
    ca: pki.caCert,
    cert: pki.clientCert,
    key: pki.clientKey,
  });
  const requests = (outcome: string): number => service.counters.requests.get({ outcome });
  const rejectedEvents = (reason: string): number =>
    service.counters.eventsRejected.get({ input: 'webhook', reason });
  const alive = async (): Promise<void> => {
    const before = got.events.length;
    const r = await post(url, batch(9000, 2), tls());
    assert.equal(r.status, 200, r.body);
    await got.waitFor(before + 2);
  };

  before(async () => {
    pki = makeTestPki({ clientCn: 'kube-apiserver' });
    bus = await connectBus({ memory: true });
    got = collectAuditEvents(bus);
    metrics = new MetricsRegistry();
    service = await start({
      bus,
      metrics,
      hostname: 'audit-0',
      log: quiet,
      handoff: { mode: 'publish' },
      webhook: {
        host: '127.0.0.1',
        port: 0,
        tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
        bearerTokens: [TOKEN],
        maxBodyBytes: 1024 * 1024,
      },
    });
    url = service.webhook?.url ?? '';
  });
  after(async () => {
    await service.stop();
    got[Symbol.dispose]();
    await bus.close();
    pki[Symbol.dispose]();
  });

  it('accepts an EventList from a client certificate signed by the CA and publishes every event', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/k8s-audit$/);
    const n = got.events.length;
    const r = await post(url, batch(0, 5), tls());
    assert.equal(r.status, 200, r.body);
    assert.equal(r.message, 'accepted 5 audit events');
    await got.waitFor(n + 5);
    const ev = got.events[n];
    assert.equal(ev?.source, 'k8s_audit');
    assert.equal(ev?.hostname, 'audit-0');
    assert.equal(ev?.event.auditID, podCreateEvent(0).auditID);
    assert.equal(ev?.ts, '1715679000345678000');
  });

  it('accepts a bearer token without a client certificate', async () => {
    const r = await post(url, batch(10, 1), { ca: pki.caCert, token: TOKEN });
    assert.equal(r.status, 200, r.body);
  });

  it('refuses a wrong token, no credentials, and a certificate from another CA (401)', async () => {
    const before = requests('unauthenticated');
    const wrong = await post(url, batch(20, 1), { ca: pki.caCert, token: 'x'.repeat(27) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.message, 'the bearer token is not valid');
    const none = await post(url, batch(20, 1), { ca: pki.caCert });
    assert.equal(none.status, 401);
    assert.match(
      none.message,
      /client certificate signed by the configured CA .*or an Authorization: Bearer token/,
    );
    const rogue = await post(url, batch(20, 1), { ca: pki.caCert, cert: pki.rogueCert, key: pki.rogueKey });
    assert.equal(rogue.status, 401);
    assert.match(rogue.message, /client certificate/);
    assert.equal(requests('unauthenticated'), before + 3);
  });

  it('accepts a gzip body (Content-Encoding: gzip)', async () => {
    const n = got.events.length;
    const r = await post(url, batch(30, 50), { ...tls(), gzip: true });
    assert.equal(r.status, 200, r.body);
    await got.waitFor(n + 50);
  });

  it('accepts a single Event (the blocking mode)', async () => {
    const n = got.events.length;
    const r = await post(url, JSON.stringify(podCreateEvent(40)), tls());
    assert.equal(r.status, 200, r.body);
    await got.waitFor(n + 1);
  });

  it('accepts an empty EventList (items: null, as Go encodes it)', async () => {
    const r = await post(
      url,
      '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":null}',
      tls(),
    );
    assert.equal(r.status, 200, r.body);
  });

  const bad: readonly {
    what: string;
    body: () => string | Buffer;
    extra?: Record<string, unknown>;
    status: number;
    message: RegExp;
    outcome: string;
  }[] = [
    {
      what: 'malformed JSON',
      body: () => '{"kind":"EventList","items":[',
      status: 400,
      message: /^body is not JSON: /,
      outcome: 'bad_json',
    },
    {
      what: 'an EventList of the wrong apiVersion',
      body: () => JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v2', items: [] }),
      status: 400,
      message: /^apiVersion: expected "audit.k8s.io\/v1" or "audit.k8s.io\/v1beta1", got "audit.k8s.io\/v2"$/,
      outcome: 'bad_event',
    },
    {
      what: 'the wrong kind',
      body: () => JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: [] }),
      status: 400,
      message:
        /^kind: expected "EventList" or "Event" \(or an Event without apiVersion and kind\), got "PodList"$/,
      outcome: 'bad_event',
    },
    {
      what: 'a JSON array',
      body: () => '[]',
      status: 400,
      message: /^\$: expected an EventList or Event object, got an array$/,
      outcome: 'bad_event',
    },
    {
      what: 'a single Event with a bad apiVersion',
      body: () => JSON.stringify({ ...podCreateEvent(1), apiVersion: 'audit.k8s.io/v2' }),
      status: 400,
      message: /^\$\.apiVersion: expected "audit.k8s.io\/v1"/,
      outcome: 'bad_event',
    },
    {
      what: 'a body over the limit (Content-Length)',
      body: () => Buffer.alloc(2 * 1024 * 1024, 0x20),
      status: 413,
      message: /^request body of 2097152 bytes \(Content-Length\) exceeds the limit of 1 MiB$/,
      outcome: 'body_too_large',
    },
    {
      what: 'a body over the limit (chunked, counted while streaming)',
      body: () => Buffer.alloc(3 * 1024 * 1024, 0x20),
      extra: { chunked: true },
      status: 413,
      message: /^request body exceeds the limit of 1 MiB$/,
      outcome: 'body_too_large',
    },
    {
      what: 'a gzip bomb (tiny compressed, 64 MiB inflated)',
      body: () => gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)),
      extra: { headers: { 'content-encoding': 'gzip' } },
      status: 413,
      message: /^gunzipped request body exceeds the limit of 1 MiB$/,
      outcome: 'body_too_large',
    },
    {
      what: 'a truncated gzip body',
      body: () => {
        const z = gzipSync(Buffer.from(batch(0, 20)));
        return z.subarray(0, z.length >> 1);
      },
      extra: { headers: { 'content-encoding': 'gzip' } },
      status: 400,
      message: /^gzip body is truncated/,
      outcome: 'bad_gzip',
    },
    {
      what: 'a body that is not gzip at all, sent as gzip',
      body: () => batch(0, 1),
      extra: { headers: { 'content-encoding': 'gzip' } },
      status: 400,
      message: /^body is not valid gzip: incorrect header check$/,
      outcome: 'bad_gzip',
    },
    {
      what: 'an encoding the API server never sends',
      body: () => batch(0, 1),
      extra: { headers: { 'content-encoding': 'br' } },
      status: 415,
      message: /^Content-Encoding "br" is not supported/,
      outcome: 'encoding',
    },
    {
      what: 'a GET',
      body: () => '',
      extra: { method: 'GET' },
      status: 405,
      message: /^method GET not allowed/,
      outcome: 'method',
    },
  ];
  for (const c of bad) {
    it(`answers ${c.status} to ${c.what}, counts it, and stays up`, async () => {
      const before = requests(c.outcome);
      const r = await post(url, c.body(), { ...tls(), ...c.extra });
      assert.equal(r.status, c.status, r.body);
      assert.match(r.message, c.message);
      assert.equal(JSON.parse(r.body).kind, 'Status');
      assert.equal(requests(c.outcome), before + 1);
      await alive();
    });
  }

  it('answers 404 off the webhook path', async () => {
    const r = await post(url.replace('/k8s-audit', '/other'), batch(0, 1), tls());
    assert.equal(r.status, 404);
    assert.match(r.message, /post to \/k8s-audit/);
  });

  it('mixed batch: hands off the good events, answers 400 naming each bad item', async () => {
    const n = got.events.length;
    const accepted = service.counters.eventsAccepted.get({ input: 'webhook' });
    const invalid = rejectedEvents('invalid');
    const items: unknown[] = [
      podCreateEvent(100),
      { ...podCreateEvent(101), apiVersion: 'audit.k8s.io/v2' },
      podCreateEvent(102),
      { ...podCreateEvent(103), verb: 7 },
      'not an object',
      podCreateEvent(105),
    ];
    const r = await post(url, eventList(items), tls());
    assert.equal(r.status, 400);
    assert.equal(
      r.message,
      'accepted 3 of 6 audit events; rejected 3: items[1].apiVersion: expected "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "audit.k8s.io/v2"; ' +
        'items[3].verb: expected a string, got number; items[4]: expected an object, got string',
    );
    await got.waitFor(n + 3);
    assert.deepEqual(
      got.events.slice(n).map((e) => e.event.auditID),
      [podCreateEvent(100).auditID, podCreateEvent(102).auditID, podCreateEvent(105).auditID],
    );
    assert.equal(service.counters.eventsAccepted.get({ input: 'webhook' }), accepted + 3);
    assert.equal(rejectedEvents('invalid'), invalid + 3);
    assert.equal(got.invalid, 0);
  });

  it('accepts v1beta1 and untyped Events as Falco does, and counts them', async () => {
    const n = got.events.length;
    const lenient = (leniency: string): number =>
      service.counters.eventsLenient.get({ input: 'webhook', leniency });
    const [beta0, untyped0] = [lenient('v1beta1'), lenient('untyped')];
    const { apiVersion: _v, kind: _k, ...untyped } = podCreateEvent(201);
    const beta = { ...podCreateEvent(200), apiVersion: 'audit.k8s.io/v1beta1' };
    const list = await post(
      url,
      JSON.stringify({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1beta1',
        items: [beta, podCreateEvent(202)],
      }),
      tls(),
    );
    assert.equal(list.status, 200, list.message);
    const one = await post(url, JSON.stringify(untyped), tls());
    assert.equal(one.status, 200, one.message);
    await got.waitFor(n + 3);
    assert.deepEqual(
      got.events.slice(n).map((e) => e.event.auditID),
      [beta.auditID, podCreateEvent(202).auditID, untyped.auditID],
    );
    assert.equal(lenient('v1beta1'), beta0 + 1);
    assert.equal(lenient('untyped'), untyped0 + 1);
    const notAudit = await post(url, JSON.stringify({ metadata: { name: 'x' }, spec: {} }), tls());
    assert.equal(notAudit.status, 400);
  });

  it('keeps the connection alive between batches, as the API server does', async () => {
    const { Agent } = await import('node:https');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5; i++) {
      const r = await post(url, batch(200 + i, 1), { ...tls(), agent });
      assert.equal(r.status, 200);
      assert.equal(r.headers.connection, 'keep-alive');
    }
    agent.destroy();
  });
});

describe('webhook over plain HTTP (development)', () => {
  it('refuses to start without any authentication unless told to', async () => {
    await using bus = await connectBus({ memory: true });
    await assert.rejects(
      start({ bus, log: quiet, handoff: { mode: 'publish' }, webhook: { host: '127.0.0.1', port: 0 } }),
      { name: 'AuditConfigError', message: /^webhook: no way to authenticate the API server/ },
    );
  });

  it('serves http with allowUnauthenticated and answers like over TLS', async () => {
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using service = await start({
      bus,
      log: quiet,
      handoff: { mode: 'publish' },
      webhook: { host: '127.0.0.1', port: 0, allowUnauthenticated: true },
    });
    const url = service.webhook?.url ?? '';
    assert.match(url, /^http:\/\//);
    const r = await post(url, batch(0, 3));
    assert.equal(r.status, 200, r.body);
    await got.waitFor(3);
    // A malformed HTTP request line does not take the server down.
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-length': 'abc' } });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      req.end();
    });
    assert.equal((await post(url, batch(3, 1))).status, 200);
  });
});
