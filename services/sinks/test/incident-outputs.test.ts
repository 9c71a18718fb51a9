/**
 * pagerduty and opsgenie, configured from `sinks.sidekick` and run through
 * JetStream against local stand-ins of PagerDuty's Events API v2 and
 * Opsgenie's Alert API v2 (helpers/incident-apis.ts) that check each body
 * against the vendor's documented format and limits: the wire format,
 * falcosidekick's priority mappings, the priority filter and routing
 * condition, 400/422 dead-lettered with the vendor's reason, 429 with
 * Retry-After, 500 and an outage retried with nothing lost, dead-lettering
 * after the maximum age, hostile and 100 KiB alerts kept inert and in bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, sinksView } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { sidekickOutputsFromConfig } from '../src/config.js';
import { SinksOptionsError } from '../src/errors.js';
import { OPSGENIE_PRIORITY, OpsgenieOutput } from '../src/outputs/opsgenie.js';
import { PAGERDUTY_SEVERITY, PagerDutyOutput } from '../src/outputs/pagerduty.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv } from './helpers/env.js';
import { OpsgenieApi, PagerDutyApi } from './helpers/incident-apis.js';

const ROUTING_KEY = 'e93facc04764012d7bfb002500d5d1a6';
const GENIE_KEY = 'eb243592-faa2-4ba2-a551-1afdf565c889';
const HOSTILE = 'x\n<script>alert(1)</script> \x1b[31mred\x1b[0m \u202etxt\r\n"quote" \\ &amp;';
const BIG = 'A&<'.repeat(35_000); // > 100 KiB

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `object expected: ${String(v)}`);
  return v as Json;
};

function sidekick(section: Json, env: Record<string, string> = {}) {
  return sinksView(
    loadConfig({ env, overrides: { sinks: { sidekick: section } }, onNotice: () => undefined }),
  );
}

function hostileAlert(): FalcoAlert {
  return makeAlert(7, {
    rule: `Shell ${HOSTILE}`,
    priority: 'Critical',
    output: `12:00:00.000000000: Critical ${HOSTILE} ${BIG}`,
    hostname: 'node\n-1',
    tags: ['<b>', 'ok', ...Array.from({ length: 30 }, (_, i) => `t${i}-${'x'.repeat(60)}`)],
    output_fields: {
      'proc.cmdline': HOSTILE,
      'big.field': BIG,
      'evt.num': 1,
      ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f.${i}`, 'v'.repeat(300)])),
    },
  });
}

function noControls(v: unknown): void {
  if (typeof v === 'string') assert.doesNotMatch(v, /[\u0000-\u001f\u007f-\u009f\u202e]/);
  else if (Array.isArray(v)) for (const x of v) noControls(x);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) noControls(x);
}

const ids = (bodies: readonly Json[], get: (b: Json) => unknown): number[] =>
  bodies.map((b) => Number(get(b))).sort((a, b) => a - b);

describe('pagerduty output', () => {
  it('sends Events API v2 triggers from sinks.sidekick.pagerduty, filtered by minimumpriority and condition', async () => {
    await using api = await new PagerDutyApi('/proxy').start();
    const view = sidekick(
      {
        customfields: 'env:prod',
        pagerduty: {
          routingkey: ROUTING_KEY,
          minimumpriority: 'error',
          condition: 'not alert.tags contains k8s',
        },
      },
      { SAKER__SINKS__SIDEKICK__PAGERDUTY__URL: api.url },
    );
    const outputs = sidekickOutputsFromConfig(view);
    assert.deepEqual(
      outputs.map((o) => [o.output.name, o.concurrency]),
      [['pagerduty', 16]],
    );
    await using env = await testEnv();
    const alerts = [
      makeAlert(1, { priority: 'Notice' }),
      makeAlert(2, { priority: 'Critical' }),
      makeAlert(3, { priority: 'Error', tags: ['k8s'] }),
      makeAlert(4, { priority: 'Emergency', hostname: '' }),
      makeAlert(5, { priority: 'Warning' }),
    ];
    await publishAlerts(env.bus, alerts);
    await env.startSinks({ outputs });
    await until('2 delivered', () => env.sinks?.stats('pagerduty')?.delivered === 2);
    await until('3 filtered', () => env.sinks?.stats('pagerduty')?.filtered === 3);
    assert.equal(api.requests.length, 2);
    assert.ok(api.requests.every((r) => r.path === '/proxy/v2/enqueue' && r.status === 202));
    const byId = new Map(api.accepted.map((e) => [obj(obj(e.payload).custom_details)['alert.id'], e]));
    const e2 = obj(byId.get(2));
    assert.equal(e2.routing_key, ROUTING_KEY);
    assert.equal(e2.event_action, 'trigger');
    assert.equal(e2.dedup_key, undefined, 'PagerDuty makes the dedup key');
    const p2 = obj(e2.payload);
    assert.equal(p2.summary, alerts[1]?.output);
    assert.equal(p2.source, 'node-1');
    assert.equal(p2.severity, 'critical', "falcosidekick's severity");
    assert.equal(p2.timestamp, '2023-11-14T22:13:20.000Z');
    assert.deepEqual(obj(p2.custom_details), {
      'alert.id': 2,
      'evt.time': alerts[1]?.output_fields['evt.time'],
      'proc.cmdline': 'cat /etc/shadow id=2',
      env: 'prod',
      rule: 'Read sensitive file',
      priority: 'Critical',
      source: 'syscall',
      hostname: 'node-1',
      tags: 'filesystem, mitre_credential_access',
    });
    const p4 = obj(obj(byId.get(4)).payload);
    assert.equal(p4.source, 'falco', 'no hostname: falcosidekick’s source');
  });

  it('maps severity from priority when asked, and picks the region host', () => {
    const at = (region: string) => new PagerDutyOutput({ routingKey: ROUTING_KEY, region }).url;
    assert.equal(at('us'), 'https://events.pagerduty.com/v2/enqueue');
    assert.equal(at('EU'), 'https://events.eu.pagerduty.com/v2/enqueue');
    const mapped = new PagerDutyOutput({ routingKey: ROUTING_KEY, severity: 'priority' });
    const sev = (priority: string) => obj(mapped.payload(makeAlert(1, { priority })).payload).severity;
    assert.deepEqual(
      ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'].map(sev),
      ['critical', 'critical', 'critical', 'error', 'warning', 'info', 'info', 'info'],
    );
    assert.equal(Object.keys(PAGERDUTY_SEVERITY).length, 8);
    const untitled = mapped.payload(makeAlert(1, { output: ' ', priority: 'Error' }));
    assert.equal(obj(untitled.payload).summary, 'Error: Read sensitive file', 'never an empty summary');
    const view = sidekick({ pagerduty: { routingkey: ROUTING_KEY, region: 'eu', severity: 'priority' } });
    const [s] = sidekickOutputsFromConfig(view);
    assert.equal(s?.output.name, 'pagerduty');
    assert.deepEqual(
      sidekickOutputsFromConfig(sidekick({ pagerduty: { region: 'eu' } })),
      [],
      'off without key',
    );
  });

  it('refuses bad keys, naming them', () => {
    const bad = (section: Json, path: string) => {
      assert.throws(
        () => sidekickOutputsFromConfig(sidekick({ pagerduty: section })),
        (e: unknown) => (e instanceof ConfigError || e instanceof SinksOptionsError) && e.path === path,
      );
    };
    bad({ routingkey: 'short key' }, 'sinks.sidekick.pagerduty.routingkey');
    bad({ routingkey: ROUTING_KEY, region: 'ap' }, 'sinks.sidekick.pagerduty.region');
    bad({ routingkey: ROUTING_KEY, url: 'events.pagerduty.com' }, 'sinks.sidekick.pagerduty.url');
    bad({ routingkey: ROUTING_KEY, severity: 'high' }, 'sinks.sidekick.pagerduty.severity');
    bad({ routingkey: ROUTING_KEY, mutualtls: true }, 'sinks.sidekick.mutualtlsclient.certfile');
    bad(
      { routingkey: ROUTING_KEY, customheaders: { 'Bad Name': 'x' } },
      'sinks.sidekick.pagerduty.customheaders',
    );
  });

  it('keeps a hostile 100 KiB alert inert and within PagerDuty’s limits', async () => {
    await using api = await new PagerDutyApi().start();
    const out = new PagerDutyOutput({ routingKey: ROUTING_KEY, url: api.url });
    await out.deliver(hostileAlert());
    assert.equal(api.requests[0]?.status, 202, api.requests[0]?.body.slice(0, 300));
    const p = obj(obj(api.accepted[0]).payload);
    const summary = String(p.summary);
    assert.ok(summary.length <= 1024 && summary.endsWith('…'));
    assert.match(summary, /\\n<script>alert\(1\)<\/script> \\x1b\[31mred/);
    noControls([p.summary, p.source]);
    assert.equal(p.source, 'node\\n-1');
    const d = obj(p.custom_details);
    assert.equal(d['proc.cmdline'], HOSTILE, 'details keep the value (JSON-escaped)');
    assert.equal(String(d['big.field']).length, 4096);
    assert.ok(Buffer.byteLength(api.requests[0]?.body ?? '') <= 512 * 1024);
    await out.close();
  });

  it('dead-letters a 400 with PagerDuty’s reason; retries 429 after Retry-After and 500', async () => {
    await using api = await new PagerDutyApi().start();
    await using env = await testEnv();
    api.failNext(400, 1);
    await publishAlerts(env.bus, [makeAlert(1)]);
    const out = new PagerDutyOutput({ routingKey: ROUTING_KEY, url: api.url });
    await env.startSinks({ outputs: [{ output: out, backoff: { initialMs: 20, maxMs: 5000 } }] });
    const [dl] = await readDeadLetters(env.bus, 1);
    assert.equal(dl?.output, 'pagerduty');
    assert.equal(dl?.reason, 'permanent');
    assert.equal(dl?.attempts, 1);
    assert.match(String(dl?.error), /answered 400: .*Event object is invalid.*failing on purpose/);
    assert.equal(obj(dl?.alert).rule, 'Read sensitive file');

    api.failNext(429, 1, { 'retry-after': '1' });
    await publishAlerts(env.bus, [makeAlert(2)]);
    await until('429 then delivered', () => env.sinks?.stats('pagerduty')?.delivered === 1);
    const [limited, next] = api.requests.slice(1);
    assert.equal(limited?.status, 429);
    assert.equal(next?.status, 202);
    assert.ok((next?.at ?? 0) - (limited?.at ?? 0) >= 950, 'waited what Retry-After asked');

    api.failNext(500, 3);
    await publishAlerts(env.bus, [makeAlert(3)]);
    await until('500s then delivered', () => env.sinks?.stats('pagerduty')?.delivered === 2);
    assert.deepEqual(
      api.requests.slice(3).map((r) => r.status),
      [500, 500, 500, 202],
    );
    assert.equal(env.sinks?.stats('pagerduty')?.deadLettered, 1);
  });

  it('rides out an outage with nothing lost, and dead-letters after the maximum age', async () => {
    await using api = await new PagerDutyApi().start();
    await using env = await testEnv();
    await api.stop();
    const N = 40;
    await publishAlerts(
      env.bus,
      Array.from({ length: N }, (_, i) => makeAlert(i)),
    );
    await env.startSinks({
      outputs: [
        {
          output: new PagerDutyOutput({ routingKey: ROUTING_KEY, url: api.url }),
          concurrency: 16,
          backoff: { initialMs: 50, maxMs: 200 },
        },
      ],
    });
    await until('retrying while down', () => (env.sinks?.stats('pagerduty')?.retried ?? 0) >= 16);
    await api.restart();
    await until('all delivered', () => env.sinks?.stats('pagerduty')?.delivered === N, 15_000);
    const got = ids(api.accepted, (e) => obj(obj(e.payload).custom_details)['alert.id']);
    assert.deepEqual(
      [...new Set(got)],
      Array.from({ length: N }, (_, i) => i),
    );
    assert.equal(env.sinks?.stats('pagerduty')?.deadLettered, 0);

    await using env2 = await testEnv();
    api.failNext(503, 1000);
    await publishAlerts(env2.bus, [makeAlert(8), makeAlert(9)]);
    await env2.startSinks({
      outputs: [
        {
          output: new PagerDutyOutput({ routingKey: ROUTING_KEY, url: api.url }),
          maxAgeMs: 1500,
          backoff: { initialMs: 100, maxMs: 400 },
        },
      ],
    });
    const dls = await readDeadLetters(env2.bus, 2);
    assert.deepEqual(
      dls.map((d) => [d.reason, /answered 503/.test(String(d.error))]),
      [
        ['max_age', true],
        ['max_age', true],
      ],
    );
    assert.ok(dls.every((d) => Number(d.attempts) >= 3));
  });
});

describe('opsgenie output', () => {
  it('creates alerts with GenieKey from sinks.sidekick.opsgenie, filtered by minimumpriority and condition', async () => {
    await using api = await new OpsgenieApi(GENIE_KEY).start();
    const view = sidekick({
      customtags: 'team-sec',
      opsgenie: {
        apikey: GENIE_KEY,
        url: api.url,
        minimumpriority: 'warning',
        condition: 'alert.source = syscall',
        customheaders: { Authorization: 'Bearer not-this', 'X-Proxy': 'yes' },
      },
    });
    const outputs = sidekickOutputsFromConfig(view);
    assert.deepEqual(
      outputs.map((o) => [o.output.name, o.concurrency]),
      [['opsgenie', 16]],
    );
    await using env = await testEnv();
    const priorities = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Debug'];
    const alerts = [
      ...priorities.map((priority, i) => makeAlert(i, { priority })),
      makeAlert(10, { priority: 'Critical', source: 'k8s_audit' }),
    ];
    await publishAlerts(env.bus, alerts);
    await env.startSinks({ outputs });
    await until('5 delivered', () => env.sinks?.stats('opsgenie')?.delivered === 5);
    await until('3 filtered', () => env.sinks?.stats('opsgenie')?.filtered === 3);
    assert.ok(api.requests.every((r) => r.status === 202 && r.headers['x-proxy'] === 'yes'));
    const byId = new Map(api.accepted.map((b) => [Number(obj(b.details).alert_id), b]));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => obj(byId.get(i)).priority),
      ['P1', 'P1', 'P2', 'P3', 'P4'],
    );
    const b = obj(byId.get(2));
    const output = alerts[2]?.output ?? '';
    assert.ok(output.length <= 130);
    assert.equal(b.message, output);
    assert.equal(b.description, output);
    assert.equal(b.entity, 'Saker');
    assert.equal(b.source, 'node-1');
    assert.equal(b.alias, undefined);
    assert.deepEqual(b.tags, ['filesystem', 'mitre_credential_access', 'team-sec']);
    assert.deepEqual(obj(b.details), {
      source: 'syscall',
      rule: 'Read sensitive file',
      priority: 'Critical',
      hostname: 'node-1',
      tags: 'filesystem, mitre_credential_access, team-sec',
      alert_id: '2',
      evt_time: String(alerts[2]?.output_fields['evt.time']),
      proc_cmdline: 'cat /etc/shadow id=2',
    });
    assert.deepEqual(
      ['NOTICE', 'INFORMATIONAL', 'DEBUG'].map((p) => OPSGENIE_PRIORITY[p as 'DEBUG']),
      ['P5', 'P5', 'P5'],
    );
  });

  it('picks the region host; refuses bad keys, naming them', () => {
    assert.equal(new OpsgenieOutput({ apiKey: GENIE_KEY }).url, 'https://api.opsgenie.com/v2/alerts');
    assert.equal(
      new OpsgenieOutput({ apiKey: GENIE_KEY, region: 'eu' }).url,
      'https://api.eu.opsgenie.com/v2/alerts',
    );
    const bad = (section: Json, path: string) => {
      assert.throws(
        () => sidekickOutputsFromConfig(sidekick({ opsgenie: section })),
        (e: unknown) => (e instanceof ConfigError || e instanceof SinksOptionsError) && e.path === path,
      );
    };
    const untitled = new OpsgenieOutput({ apiKey: GENIE_KEY }).payload(makeAlert(1, { output: '' }));
    assert.equal(untitled.message, 'Warning: Read sensitive file', 'never an empty message');
    bad({ apikey: 'a key\r\nX-Evil: 1' }, 'sinks.sidekick.opsgenie.apikey');
    bad({ apikey: GENIE_KEY, region: 'asia' }, 'sinks.sidekick.opsgenie.region');
    bad({ apikey: GENIE_KEY, url: 'ftp://x' }, 'sinks.sidekick.opsgenie.url');
    assert.deepEqual(
      sidekickOutputsFromConfig(sidekick({ opsgenie: { region: 'eu' } })),
      [],
      'off without key',
    );
  });

  it('keeps a hostile 100 KiB alert inert and within Opsgenie’s limits', async () => {
    await using api = await new OpsgenieApi(GENIE_KEY).start();
    const out = new OpsgenieOutput({ apiKey: GENIE_KEY, url: api.url });
    await out.deliver(hostileAlert());
    assert.equal(api.requests[0]?.status, 202, api.requests[0]?.body.slice(0, 300));
    const b = obj(api.accepted[0]);
    noControls(b);
    assert.equal(String(b.message).length, 130);
    assert.match(String(b.message), /\\n<script>alert\(1\)<\/script> \\x1b\[31mred/);
    assert.ok(String(b.description).length <= 15_000 && String(b.description).endsWith('…'));
    assert.equal((b.tags as unknown[]).length, 20);
    const d = obj(b.details);
    assert.equal(
      d.rule,
      'Shell x\\n<script>alert(1)</script> \\x1b[31mred\\x1b[0m \\u202etxt\\r\\n"quote" \\ &amp;',
    );
    assert.equal(String(d.big_field).length, 1000);
    assert.match(String(d['…']), /^\d+ more output fields$/);
    await out.close();
  });

  it('dead-letters a 422 and a refused key with the reason; retries 429 and an outage', async () => {
    await using api = await new OpsgenieApi(GENIE_KEY).start();
    await using other = await new OpsgenieApi(GENIE_KEY).start();
    await using env = await testEnv();
    api.failNext(422, 1);
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2, { priority: 'Error' })]);
    await env.startSinks({
      outputs: [
        {
          output: new OpsgenieOutput({ apiKey: GENIE_KEY, url: api.url }),
          backoff: { initialMs: 50, maxMs: 2000 },
        },
        { output: new OpsgenieOutput({ name: 'wrong-key', apiKey: 'nope', url: other.url }) },
      ],
    });
    const dls = await readDeadLetters(env.bus, 3);
    const reasons = dls.map((d) => `${d.output} ${d.reason} ${/answered (\d+)/.exec(String(d.error))?.[1]}`);
    assert.deepEqual(reasons.sort(), [
      'opsgenie permanent 422',
      'wrong-key permanent 401',
      'wrong-key permanent 401',
    ]);
    assert.ok(dls.some((d) => /Could not authenticate/.test(String(d.error))));
    await until('the other delivered', () => env.sinks?.stats('opsgenie')?.delivered === 1);

    api.failNext(429, 1, { 'retry-after': '1' });
    await publishAlerts(env.bus, [makeAlert(3)]);
    await until('after 429', () => env.sinks?.stats('opsgenie')?.delivered === 2);
    await api.stop();
    await publishAlerts(env.bus, [makeAlert(4), makeAlert(5)]);
    await until('retrying while down', () => (env.sinks?.stats('opsgenie')?.retried ?? 0) >= 3);
    await api.restart();
    await until('after the outage', () => env.sinks?.stats('opsgenie')?.delivered === 4, 10_000);
    assert.deepEqual(
      ids(api.accepted, (b) => obj(b.details).alert_id),
      [2, 3, 4, 5],
    );
  });
});
