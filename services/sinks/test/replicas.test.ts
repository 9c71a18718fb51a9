/**
 * Scaling out: sinks replicas that run the same output share its durable
 * consumer on a real nats-server. Each alert goes to one replica; together
 * they deliver every alert, and a replica that stops leaves its share to the
 * others (only redelivery can then duplicate an alert, and it is counted).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { STREAMS, connectBus } from '@saker/bus';
import { MetricsRegistry } from '@saker/telemetry';
import { WebhookOutput } from '../src/outputs/webhook.js';
import { type SinksService, start } from '../src/service.js';
import { durableName } from '../src/subjects.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv, waitForConsumer } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

const N = 600;

/** How often each alert id reached the receiver. */
function counts(bodies: readonly string[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const b of bodies) {
    const id = (JSON.parse(b) as { output_fields: Record<string, number> }).output_fields['alert.id'] ?? -1;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

describe('replicas', () => {
  it('two sinks instances share one webhook output: every alert once, each replica a share', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    // Each replica has its own connection, as separate processes would.
    await using busA = await connectBus({ url: env.server.url });
    await using busB = await connectBus({ url: env.server.url });
    const abort = new AbortController();
    const replica = (bus: typeof busA, hostname: string): Promise<SinksService> =>
      start(
        {
          bus,
          hostname,
          metrics: new MetricsRegistry(),
          log: (level, m) => env.logs.push(`${hostname} ${level}: ${m}`),
          outputs: [{ output: new WebhookOutput({ address: rx.url }), concurrency: 8 }],
        },
        abort.signal,
      );
    // Started together: both create-or-open the same durable at once.
    const [a, b] = await Promise.all([replica(busA, 'replica-a'), replica(busB, 'replica-b')]);
    try {
      await publishAlerts(
        env.bus,
        Array.from({ length: N }, (_, i) => makeAlert(i)),
      );
      await until(`${N} alerts received`, () => rx.accepted.length >= N);
      const delivered = (s: SinksService): number => s.stats('webhook')?.delivered ?? 0;
      await until('both replicas settled', () => delivered(a) + delivered(b) >= N);
      const seen = counts(rx.accepted);
      assert.equal(seen.size, N, 'every alert delivered');
      for (let i = 0; i < N; i++) assert.ok(seen.has(i), `alert ${i} delivered`);
      const duplicates = rx.accepted.length - seen.size;
      assert.equal(duplicates, 0, 'no alert delivered twice without a failure');
      assert.equal(delivered(a) + delivered(b), N);
      assert.ok(delivered(a) > 0 && delivered(b) > 0, `shares: a ${delivered(a)}, b ${delivered(b)}`);
      const consumer = await env.bus.consumer(STREAMS.alerts.name, durableName('webhook'), {
        filterSubject: STREAMS.alerts.subjects[0],
      });
      try {
        // A replica acks after it counts a delivery: the last acks may still be on their way.
        let state = await consumer.state();
        const deadline = Date.now() + 10_000;
        while (state.ackPending > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          state = await consumer.state();
        }
        assert.equal(state.pending, 0);
        assert.equal(state.ackPending, 0, 'every alert acked by the replica that delivered it');
      } finally {
        await consumer.stop();
      }
    } finally {
      abort.abort();
      await Promise.all([a.stopped, b.stopped]);
    }
  });

  it('a replica that stops midway leaves the rest to the other: nothing lost, duplicates counted', async (t) => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await using busA = await connectBus({ url: env.server.url });
    await using busB = await connectBus({ url: env.server.url });
    const settings = {
      concurrency: 8,
      // What the stopped replica had fetched and not yet taken comes back after the ack wait.
      ackWaitMs: 3000,
    };
    const abortA = new AbortController();
    const abortB = new AbortController();
    const opts = (bus: typeof busA, hostname: string) => ({
      bus,
      hostname,
      metrics: new MetricsRegistry(),
      log: (level: string, m: string) => env.logs.push(`${hostname} ${level}: ${m}`),
      outputs: [{ output: new WebhookOutput({ address: rx.url }), ...settings }],
    });
    const a = await start(opts(busA, 'replica-a'), abortA.signal);
    const b = await start(opts(busB, 'replica-b'), abortB.signal);
    try {
      await publishAlerts(
        env.bus,
        Array.from({ length: N }, (_, i) => makeAlert(i)),
      );
      await until('replica a delivered some', () => (a.stats('webhook')?.delivered ?? 0) >= 50);
      // A graceful stop without drain: deliveries in progress finish and are acked, the rest is left.
      await a.stop();
      await until(`${N} distinct alerts received`, () => counts(rx.accepted).size >= N, 20_000);
      // The receiver records a POST when it arrives, the replica counts it once answered: wait
      // for the answers of the POSTs still under way (what follows reads both, with no await).
      const shares = () => (a.stats('webhook')?.delivered ?? 0) + (b.stats('webhook')?.delivered ?? 0);
      await until(
        'each POST counted once, by the replica that made it',
        () => shares() === rx.accepted.length,
        10_000,
        () => `${shares()} counted, ${rx.accepted.length} received`,
      );
      const seen = counts(rx.accepted);
      for (let i = 0; i < N; i++) assert.ok(seen.has(i), `alert ${i} delivered`);
      // A stop settles every delivery it started and gives back (nak) what it took and did not
      // start, so the stop itself sends nothing twice. Debian's nats-server (2.9.10) can still
      // hand a given-back alert out twice (its delivery to the stopped replica's stale pull
      // request fails, and the server then rewinds the consumer; fixed upstream by
      // nats-io/nats-server#5305). Those
      // duplicates are redeliveries, bounded by what the stopped replica had fetched (one pull
      // batch, 100 by default in nats.js); they are counted here.
      const duplicates = rx.accepted.length - seen.size;
      t.diagnostic(`replica stopped midway: ${N} alerts, ${duplicates} duplicates`);
      assert.ok(duplicates <= 100, `duplicates: ${duplicates}\n${env.logs.join('\n')}`);
      assert.ok((b.stats('webhook')?.delivered ?? 0) > 0, 'replica b took over');
      assert.equal(shares(), rx.accepted.length, 'each POST counted once, by the replica that made it');
    } finally {
      abortA.abort();
      abortB.abort();
      await Promise.all([a.stopped, b.stopped]);
    }
  });
});

describe('prefetch', () => {
  // The feed fetches 16 ahead of an output at concurrency 1 (2 × concurrency, at least 16),
  // not nats.js's 100: at 50 ms per alert the last of 16 waits 0.8 s, of 100 it would wait 5 s.
  it('a slow output holds no more alerts than it can start within the ack wait: nothing redelivered', async (t) => {
    await using env = await testEnv();
    const received: number[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          output_fields: Record<string, number>;
        };
        received.push(body.output_fields['alert.id'] ?? -1);
        // A slow receiver: 60 alerts one at a time take 3 s, past the 2 s ack wait.
        setTimeout(() => res.end(), 50);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const N = 60;
      await publishAlerts(
        env.bus,
        Array.from({ length: N }, (_, i) => makeAlert(i)),
      );
      const sinks = await env.startSinks({
        outputs: [
          {
            output: new WebhookOutput({ address: `http://127.0.0.1:${port}/` }),
            concurrency: 1,
            ackWaitMs: 2000,
          },
        ],
      });
      await until(`${N} delivered`, () => (sinks.stats('webhook')?.delivered ?? 0) >= N, 20_000);
      // The server's count, not a wait: once nothing is pending or unacked, no redelivery can
      // still come, and deliveries made = N means the server never redelivered one.
      const state = await waitForConsumer(sinks, 'webhook', (s) => s.pending === 0 && s.ackPending === 0);
      const duplicates = received.length - new Set(received).size;
      t.diagnostic(
        `slow receiver: ${N} alerts, ${received.length} POSTs, ${duplicates} duplicates, ${state.delivered} deliveries by the server`,
      );
      assert.equal(new Set(received).size, N);
      assert.equal(state.delivered, N, 'alerts waiting in the feed were redelivered');
      assert.equal(duplicates, 0, 'an alert was POSTed twice');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
