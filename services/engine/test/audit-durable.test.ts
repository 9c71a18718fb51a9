/**
 * Audit batches reach the engine through SAKER_AUDIT and its durable
 * consumer: batches stored while no engine runs, or while one is restarted,
 * are evaluated once it is back (a core subscription lost them). Each batch
 * is acked only once its alerts are stored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Bus, STREAMS, SUBJECTS, batchHeaders, connectBus, encodeBatch } from '@saker/bus';
import { type SakerEvent, parseEvent } from '@saker/events';
import type { RulesetDocument } from '@saker/rules';
import { startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import { readAlerts } from './helpers/alerts.js';
import { until } from './helpers/metadata-records.js';

const RULES = `- rule: Secret read
  desc: a secret was read
  condition: ka.verb = get and ka.target.resource = secrets
  output: secret %ka.target.name read by %ka.user.name
  priority: WARNING
  source: k8s_audit
`;

const doc: RulesetDocument = {
  format: 1,
  files: [{ name: 'audit.yaml', content: RULES }],
  selections: [],
  updatedAt: '2024-01-01T00:00:00Z',
};

function auditEvent(i: number): SakerEvent {
  return parseEvent({
    source: 'k8s_audit',
    ts: String(1_700_000_000_000_000_000n + BigInt(i)),
    event: {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      stage: 'ResponseComplete',
      requestURI: `/api/v1/namespaces/default/secrets/s${i}`,
      verb: 'get',
      user: { username: 'mallory' },
      objectRef: { resource: 'secrets', namespace: 'default', name: `s${i}` },
      requestReceivedTimestamp: '2024-05-14T09:30:12.338678Z',
      stageTimestamp: '2024-05-14T09:30:12.338678Z',
    },
  });
}

async function storeBatches(bus: Bus, from: number, batches: number, per: number): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const events = Array.from({ length: per }, (_, k) => auditEvent(from + b * per + k));
    const batch = encodeBatch(events);
    await bus.publishDurable(SUBJECTS.k8sAuditEvents, batch.data, { headers: batchHeaders(batch.count) });
  }
}

describe('audit events through the SAKER_AUDIT durable consumer', { timeout: 60_000 }, () => {
  it('evaluates batches stored while no engine ran, and across an engine restart', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    await bus.stream(STREAMS.audit.name, STREAMS.audit.subjects);
    await storeBatches(bus, 0, 5, 20); // before any engine: a core subscription would have lost these

    const options = {
      bus,
      name: 'audit-1',
      rules: doc,
      watchRules: false,
      streamWatch: null,
      log: () => undefined,
    };
    const first = await start(options, new AbortController().signal);
    await until('100 evaluated', () => first.stats().evaluated === 100, 20_000);
    await first.stop();
    await storeBatches(bus, 100, 5, 20); // while the engine is stopped
    const second = await start({ ...options, name: 'audit-2' }, new AbortController().signal);
    await until('the next 100 evaluated', () => second.stats().evaluated === 100, 20_000);
    await second.stop();

    const alerts = await readAlerts(bus, 'audit-reader', { expected: 200 });
    assert.equal(alerts.length, 200);
    assert.equal(new Set(alerts.map((a) => a.msgId)).size, 200);
    assert.ok(alerts.every((a) => a.rule === 'Secret read'));
    const state = await (await bus.consumer(STREAMS.audit.name, 'engine')).state();
    assert.equal(state.pending, 0, 'every batch acked');
    assert.equal(state.ackPending, 0);
  });
});
