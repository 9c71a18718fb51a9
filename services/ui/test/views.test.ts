/**
 * The detail, rules and health views against real services: the control
 * API (gRPC, rulesets in KV on the same nats-server) for rules and an
 * alert's rule, engine stats reports, event batches and dead letters on
 * the bus, and the sinks' counters in the metrics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADERS, SUBJECTS } from '@saker/bus';
import { ControlClient, start as startControl } from '@saker/control';
import { encodeEngineStats } from '@saker/engine';
import { MetricsRegistry } from '@saker/telemetry';
import { ControlRules } from '../src/mod.js';
import { ADMIN, Client, VIEWER, alert, uiEnv, until } from './helpers/env.js';

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

describe('views', () => {
  it('shows rules from the control API, an alert with its rule, and lets an admin disable rules with a comment', async () => {
    const halt = new AbortController();
    const holder: { rules?: ControlRules } = {};
    await using env = await uiEnv({
      extra: {
        get rules() {
          return holder.rules ?? null;
        },
      },
    });
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
      // Control records who authenticated (the UI), and keeps the UI's user as the claimed author.
      assert.equal(head.value?.comment, `[claimed author: ${ADMIN.username}] too noisy`);
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

  it('shows sensors, engines, outputs and dead letters, and redelivers a dead letter', async () => {
    const metrics = new MetricsRegistry();
    const delivered = metrics.counter('saker_sinks_alerts_delivered_total', 'test', ['output']);
    delivered.inc({ output: 'webhook' }, 41);
    await using env = await uiEnv({ extra: { metrics } });
    env.bus.publish(SUBJECTS.syscallEvents('node-a'), new TextEncoder().encode('{}'), {
      [HEADERS.batchCount]: '250',
    });
    env.bus.publish(
      SUBJECTS.engineStats('engine-0'),
      encodeEngineStats({
        replica: 'engine-0',
        state: 'running',
        seq: 1,
        time: Date.now(),
        revision: 7,
        batches: 1,
        malformedBatches: 0,
        received: 250,
        invalid: 0,
        dropped: 0,
        evaluated: 250,
        inFlight: 0,
        alertsPublished: 1,
        alertsFailed: 0,
        reloadFailures: 0,
      }),
    );
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
      sensors: { node: string; last_seen: string }[];
      engines: { id: string; revision: string }[];
      outputs: { name: string; delivered: number; failed: number; last_error: string | null }[];
      dead_letters: { id: string; output: string; error: string; event_id: string }[];
    };
    let h: Health | undefined;
    await until('health filled', async () => {
      h = (await c.json<Health>('api/health')).body;
      return h.sensors.length === 1 && h.engines.length === 1 && h.dead_letters.length === 1;
    });
    assert.equal(h?.sensors[0]?.node, 'node-a');
    assert.equal(h?.engines[0]?.revision, '7');
    assert.deepEqual(h?.outputs, [{ name: 'webhook', delivered: 41, failed: 0, last_error: 'HTTP 400' }]);
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
