/**
 * The detail, rules and health views against real services: the control
 * API (gRPC, rulesets in KV on the same nats-server) for rules and an
 * alert's rule, engine stats reports, event batches and dead letters on
 * the bus, and the sinks' counters in the metrics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADERS, SUBJECTS, encodeSensorStats } from '@saker/bus';
import { start as startControl } from '@saker/control';
import { ControlClient } from '@saker/control/client';
import { start as startEngine } from '@saker/engine';
import { MetricsRegistry } from '@saker/telemetry';
import { makeTestPki } from '@saker/testing';
import { ControlRules } from '../src/mod.js';
import { ADMIN, Client, type EnvOptions, VIEWER, alert, uiEnv, until } from './helpers/env.js';

const RULES = `
- rule: Rule 1
  desc: a test rule
  condition: evt.type = open and fd.name = /etc/shadow
  output: shadow opened (file=%fd.name)
  priority: WARNING
  tags: [filesystem]
- rule: Rule 2
  desc: another
  condition: evt.type = execve
  output: exec (cmd=%proc.cmdline)
  priority: NOTICE
`;

/** The UI's options with the rules view on `holder.rules`, set once control runs (after the UI starts). */
function rulesFrom(holder: { rules?: ControlRules }): EnvOptions {
  return {
    extra: {
      get rules() {
        return holder.rules ?? null;
      },
    },
  };
}

describe('views', () => {
  it('shows rules from the control API, an alert with its rule, and lets an admin disable rules with a comment', async () => {
    const halt = new AbortController();
    const holder: { rules?: ControlRules } = {};
    await using env = await uiEnv(rulesFrom(holder));
    const control = await startControl({ bus: env.bus, listen: '127.0.0.1:0' }, halt.signal);
    const client = new ControlClient({ address: control.address });
    try {
      await client.putRuleset({
        files: [{ name: 'r.yaml', content: RULES }],
        author: 'test',
        comment: 'first',
      });
      holder.rules = new ControlRules({ address: control.address });
      await env.restartWith();
      await env.publish([
        alert(1, {
          rule: 'Rule 1',
          output_fields: { 'k8s.ns.name': 'prod', 'k8s.pod.name': 'web-1', 'proc.ppid': 7 },
        }),
      ]);
      await until('stored', () => env.ui.store.rows === 1);
      const c = new Client(env.ui.url);
      await c.login(VIEWER);
      const rules = await c.json<{
        revision: string;
        rules: { name: string; enabled: boolean; condition: string }[];
      }>('api/rules');
      assert.equal(rules.status, 200);
      assert.deepEqual(
        rules.body.rules.map((r) => [r.name, r.enabled]),
        [
          ['Rule 1', true],
          ['Rule 2', true],
        ],
      );
      const detail = await c.json<{
        event: { id: string };
        rule: { description: string; condition: string } | null;
        related: { pod: string; process: string };
      }>('api/events/1');
      assert.equal(detail.body.rule?.description, 'a test rule');
      assert.match(detail.body.rule?.condition ?? '', /fd\.name = \/etc\/shadow/);
      assert.equal(detail.body.related.pod, 'namespace=prod&pod=web-1');
      assert.equal(detail.body.related.process, 'hostname=node-1&field.proc.ppid=7');
      assert.equal((await c.fetch('api/events/999')).status, 404);
      assert.equal((await c.fetch('api/events/x%27')).status, 400);

      const admin = new Client(env.ui.url);
      await admin.login(ADMIN);
      const off = await admin.post('api/rules/enabled', {
        rules: ['Rule 2'],
        enabled: false,
        comment: 'too noisy',
      });
      assert.equal(off.status, 200, await off.clone().text());
      const rev = ((await off.json()) as { revision: string }).revision;
      assert.ok(Number(rev) > Number(rules.body.revision));
      const after = await client.listRules({});
      assert.deepEqual(
        after.rules.map((r) => [r.name, r.enabled]),
        [
          ['Rule 1', true],
          ['Rule 2', false],
        ],
      );
      const watch = await client.watchRulesets({}, AbortSignal.timeout(5000));
      const head = await watch.next();
      // Control records the UI's user as the author, with the identity the UI authenticated as
      // (no token here: an unauthenticated caller on loopback, one of control's default delegates).
      const author = `ui:${ADMIN.username} via unauthenticated:127.0.0.1`;
      assert.equal(head.value?.author, author);
      assert.equal(head.value?.comment, 'too noisy');
      // The rules view's history: the revision written at start and the UI's, with their authors.
      const history = await c.json<{ revisions: { revision: string; author: string; comment: string }[] }>(
        'api/rules/revisions',
      );
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.revisions.map((r) => [r.revision, r.author, r.comment]),
        [
          [rev, author, 'too noisy'],
          [rules.body.revision, 'unauthenticated:127.0.0.1', '[claimed author: test] first'],
        ],
      );
      const missing = await admin.post('api/rules/enabled', {
        rules: ['No such rule'],
        enabled: false,
        comment: '',
      });
      assert.equal(missing.status, 404);
      const wild = await admin.post('api/rules/enabled', { rules: ['Rule *'], enabled: false, comment: '' });
      assert.equal(wild.status, 400);
    } finally {
      client.close();
      holder.rules?.close();
      halt.abort();
      await control.close();
    }
  });

  it('refuses a rule change when control does not let the UI act for its user', async () => {
    const halt = new AbortController();
    const holder: { rules?: ControlRules } = {};
    await using env = await uiEnv(rulesFrom(holder));
    // The UI authenticates with the token, and control lets no one delegate.
    const control = await startControl(
      { bus: env.bus, listen: '127.0.0.1:0', token: 'control-token-1', delegates: [] },
      halt.signal,
    );
    const client = new ControlClient({ address: control.address, token: 'control-token-1' });
    try {
      await client.putRuleset({ files: [{ name: 'r.yaml', content: RULES }], author: '', comment: '' });
      holder.rules = new ControlRules({ address: control.address, token: 'control-token-1' });
      await env.restartWith();
      const admin = new Client(env.ui.url);
      await admin.login(ADMIN);
      const off = await admin.post('api/rules/enabled', { rules: ['Rule 2'], enabled: false, comment: 'x' });
      assert.equal(off.status, 403);
      assert.match(
        ((await off.json()) as { error: string }).error,
        /PERMISSION_DENIED: saker-on-behalf-of-bin: token may not act on behalf of another author/,
      );
      assert.deepEqual(
        (await client.listRules({})).rules.map((r) => r.enabled),
        [true, true],
        'nothing was written',
      );
    } finally {
      client.close();
      holder.rules?.close();
      halt.abort();
      await control.close();
    }
  });

  it("reaches a control that requires client certificates (mTLS) with the UI's own, as a delegate named by its CN", async () => {
    using pki = makeTestPki({ clientCn: 'saker-ui' });
    const halt = new AbortController();
    const holder: { rules?: ControlRules } = {};
    await using env = await uiEnv(rulesFrom(holder));
    const control = await startControl(
      {
        bus: env.bus,
        listen: '127.0.0.1:0',
        tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
        delegates: ['mtls:saker-ui'],
      },
      halt.signal,
    );
    const tls = { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey };
    const client = new ControlClient({ address: control.address, tls });
    const noCert = new ControlRules({ address: control.address, tls: { ca: pki.caCert }, timeoutMs: 5000 });
    try {
      await client.putRuleset({ files: [{ name: 'r.yaml', content: RULES }], author: '', comment: '' });
      // Without a client certificate the TLS handshake is refused: the rules view has nothing.
      holder.rules = noCert;
      await env.restartWith();
      const admin = new Client(env.ui.url);
      await admin.login(ADMIN);
      assert.notEqual((await admin.fetch('api/rules')).status, 200);
      holder.rules = new ControlRules({ address: control.address, tls, timeoutMs: 5000 });
      await env.restartWith();
      const a2 = new Client(env.ui.url);
      await a2.login(ADMIN);
      assert.equal((await a2.fetch('api/rules')).status, 200);
      const off = await a2.post('api/rules/enabled', { rules: ['Rule 2'], enabled: false, comment: 'mtls' });
      assert.equal(off.status, 200, await off.clone().text());
      const head = await (await client.watchRulesets({}, AbortSignal.timeout(5000))).next();
      assert.equal(head.value?.author, `ui:${ADMIN.username} via mtls:saker-ui`);
    } finally {
      client.close();
      noCert.close();
      holder.rules?.close();
      halt.abort();
      await control.close();
    }
  });

  it('shows sensors, engines, outputs and dead letters, and redelivers a dead letter', async () => {
    const metrics = new MetricsRegistry();
    const delivered = metrics.counter('saker_sinks_alerts_delivered_total', 'test', ['output']);
    delivered.inc({ output: 'webhook' }, 41);
    await using env = await uiEnv({ extra: { metrics } });
    // A real engine on the same nats-server, reading the audit stream too: its stats reports.
    const halt = new AbortController();
    await using engine = await startEngine(
      {
        bus: env.bus,
        name: 'engine-0',
        rules: {
          format: 1,
          files: [{ name: 'r.yaml', content: RULES }],
          selections: [],
          updatedAt: '2024-01-01T00:00:00Z',
        },
        watchRules: false,
        auditStream: true,
        statsIntervalMs: 200,
        log: () => {},
      },
      halt.signal,
    );
    // A replay publisher: batches and no status reports, so its drops are unknown.
    env.bus.publish(SUBJECTS.syscallEvents('node-a'), new TextEncoder().encode('{}'), {
      [HEADERS.batchCount]: '250',
    });
    // A sensor's status report, as services/cli's sensor-drops.ts publishes each window.
    env.bus.publish(
      SUBJECTS.sensorStats('node-b_example'),
      encodeSensorStats({
        node: 'node-b.example',
        version: '0.1.0',
        time: Date.now(),
        windowS: 2,
        events: 9000,
        drops: { ringbuf: 30, scratch: 0, enterFull: 0, batcher: 10 },
        ratio: 40 / 9040,
        eventsTotal: 120_000,
        dropsTotal: { ringbuf: 130, scratch: 1, enterFull: 2, batcher: 10 },
      }),
    );
    env.bus.publish(SUBJECTS.sensorStats('node-c'), new TextEncoder().encode('{"node":"forged"}'));
    const dead = alert(5, { rule: 'Dead rule' });
    await env.bus.publishDurable(
      SUBJECTS.deadLetter('webhook'),
      new TextEncoder().encode(
        JSON.stringify({
          output: 'webhook',
          reason: 'permanent',
          error: 'HTTP 400',
          attempts: 1,
          count: 1,
          dead_lettered_at: new Date().toISOString(),
          stream_sequences: [3],
          alert: dead,
        }),
      ),
    );
    const c = new Client(env.ui.url);
    await c.login(ADMIN);
    type Health = {
      sensors: {
        node: string;
        events_per_sec: number;
        drops_per_sec: number | null;
        drops_total: number | null;
        drops_by_stage: Record<string, number> | null;
        version: string | null;
        last_seen: string;
      }[];
      engines: {
        id: string;
        state: string;
        revision: string;
        lag_ms: number | null;
        in_flight: number;
        audit_pending: number | null;
        report_age_ms: number;
      }[];
      outputs: { name: string; delivered: number; failed: number; last_error: string | null }[];
      dead_letters: { id: string; output: string; error: string; event_id: string }[];
    };
    let h: Health | undefined;
    await until('health filled', async () => {
      h = (await c.json<Health>('api/health')).body;
      return h.sensors.length === 2 && h.engines[0]?.audit_pending === 0 && h.dead_letters.length === 1;
    });
    const [a, b] = h?.sensors ?? [];
    assert.equal(a?.node, 'node-a');
    assert.equal(a?.events_per_sec, 25, 'its batches of the last 10 s over 10 s');
    assert.equal(a?.drops_total, null, 'no status report: drops unknown');
    assert.equal(b?.node, 'node-b.example');
    assert.equal(b?.events_per_sec, 4500);
    assert.equal(b?.drops_per_sec, 20);
    assert.equal(b?.drops_total, 143);
    assert.deepEqual(b?.drops_by_stage, { ringbuf: 130, scratch: 1, enter_full: 2, batcher: 10 });
    assert.equal(b?.version, '0.1.0');
    assert.equal(h?.engines.length, 1);
    const e = h?.engines[0];
    assert.equal(e?.id, 'engine-0');
    assert.equal(e?.state, 'running');
    assert.equal(e?.revision, '0', 'the ruleset given at start');
    assert.equal(e?.lag_ms, 0, 'nothing held');
    assert.equal(e?.in_flight, 0);
    assert.ok((e?.report_age_ms ?? -1) >= 0 && (e?.report_age_ms ?? 1e9) < 5000);
    // No sinks report here: the figures come from the metrics (the process's registry).
    assert.deepEqual(h?.outputs, [
      {
        name: 'webhook',
        delivered: 41,
        failed: 0,
        retried: 0,
        dead_lettered: 0,
        last_error: 'HTTP 400',
        last_error_at: null,
        instances: 0,
        source: 'metrics',
      },
    ]);
    assert.equal(h?.dead_letters[0]?.event_id, '3');
    const id = h?.dead_letters[0]?.id ?? '';
    const viewer = new Client(env.ui.url);
    await viewer.login(VIEWER);
    assert.equal((await viewer.post(`api/dead-letters/${id}/redeliver`, {})).status, 403);
    assert.equal((await c.post(`api/dead-letters/${id}/redeliver`, {})).status, 200);
    await until('the alert is back on SAKER_ALERTS', () => env.ui.store.rows === 1);
    assert.equal(env.ui.store.select({ ...env.noFilters }, 1, null)[0]?.rule, 'Dead rule');
    assert.equal((await c.post('api/dead-letters/999/redeliver', {})).status, 404);
  });
});
