import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectBus, decodeBatch } from '@saker/bus';
import { startNatsServer } from '@saker/testing';
import { AUDIT_STREAM } from '../src/handoff.js';
import { start } from '../src/service.js';
import { post } from './client.js';
import { batch } from './events.js';

const quiet = (): void => undefined;
const webhook = { host: '127.0.0.1', port: 0, allowUnauthenticated: true } as const;

describe('durable hand-off to JetStream (real nats-server)', () => {
  it('answers 200 only once SAKER_AUDIT has stored the events', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url });
    await using service = await start({ bus, log: quiet, webhook, handoff: { mode: 'durable' } });
    const r = await post(service.webhook?.url ?? '', batch(0, 40));
    assert.equal(r.status, 200, r.body);
    // Stored before the answer: the stream already holds every event.
    const info = await bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects);
    assert.ok(info.messages >= 1);
    await using feed = await bus.consumer(AUDIT_STREAM.name, 'test-reader');
    const ids: string[] = [];
    for await (const m of feed) {
      const d = decodeBatch(m.data, m.headers);
      assert.equal(d.invalid.length, 0);
      for (const e of d.events) if (e.source === 'k8s_audit') ids.push(e.event.auditID);
      m.ack();
      if (ids.length >= 40) break;
    }
    assert.equal(new Set(ids).size, 40);
  });

  it('splits a large batch into messages under the size limit, all stored', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url });
    await using service = await start({
      bus,
      log: quiet,
      webhook,
      handoff: { mode: 'durable', maxMessageBytes: 16 * 1024 },
    });
    const r = await post(service.webhook?.url ?? '', batch(0, 100));
    assert.equal(r.status, 200, r.body);
    const info = await bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects);
    assert.ok(info.messages > 5, `${info.messages} messages`);
  });

  it('a batch sent again (the API server retrying) is not stored twice', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url });
    await using service = await start({ bus, log: quiet, webhook });
    const body = batch(0, 10);
    assert.equal((await post(service.webhook?.url ?? '', body)).status, 200);
    const first = await bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects);
    assert.equal((await post(service.webhook?.url ?? '', body)).status, 200);
    const second = await bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects);
    assert.equal(second.messages, first.messages);
  });

  it('no stream captures the subject: 503 with Retry-After, counted, never 200', async () => {
    await using nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url });
    await using service = await start({
      bus,
      log: quiet,
      webhook,
      handoff: { mode: 'durable', declareStream: false, ackTimeoutMs: 1000 },
    });
    const r = await post(service.webhook?.url ?? '', batch(0, 3));
    assert.equal(r.status, 503, r.body);
    assert.equal(r.headers['retry-after'], '1');
    // The API server's REST client reads the Status: ServiceUnavailable with retryAfterSeconds is retried.
    const status = JSON.parse(r.body) as { reason: string; details?: { retryAfterSeconds?: number } };
    assert.equal(status.reason, 'ServiceUnavailable');
    assert.equal(status.details?.retryAfterSeconds, 1);
    assert.match(r.message, /^events not handed to the bus: NoStreamError/);
    assert.equal(service.counters.handoffFailures.get({ input: 'webhook' }), 1);
    assert.equal(service.counters.requests.get({ outcome: 'handoff' }), 1);
    assert.equal(service.counters.eventsAccepted.get({ input: 'webhook' }), 0);
    // Once the stream exists, the API server's retry succeeds.
    await bus.stream(AUDIT_STREAM.name, AUDIT_STREAM.subjects);
    assert.equal((await post(service.webhook?.url ?? '', batch(0, 3))).status, 200);
  });

  it('JetStream gone (server stopped): the webhook does not answer 200', async () => {
    const nats = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: nats.url, maxReconnectAttempts: -1 });
    await using service = await start({ bus, log: quiet, webhook, handoff: { ackTimeoutMs: 1000 } });
    assert.equal((await post(service.webhook?.url ?? '', batch(0, 1))).status, 200);
    await nats.stop();
    const r = await post(service.webhook?.url ?? '', batch(1, 5));
    assert.equal(r.status, 503, r.body);
    assert.match(r.message, /^events not handed to the bus: /);
    assert.ok(service.counters.handoffFailures.get({ input: 'webhook' }) >= 1);
  });
});
