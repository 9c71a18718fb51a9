/**
 * The runner's batched acks against a real nats-server: acks held for a
 * moment still reach the server when the sinks stop right after a delivery,
 * and an alert whose delivery failed is never acked with the others.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STREAMS, connectBus } from '@saker/bus';
import type { FalcoAlert } from '@saker/rules';
import type { Output } from '../src/outputs/output.js';
import type { SinksService } from '../src/service.js';
import { durableName } from '../src/subjects.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';

const N = 300;

describe('acks', () => {
  it('every delivered alert is acked, even when the sinks stop in the same turn as the last delivery', async () => {
    await using env = await testEnv();
    await publishAlerts(
      env.bus,
      Array.from({ length: N }, (_, i) => makeAlert(i)),
    );
    const attempts = new Map<number, number>();
    let delivered = 0;
    const ref: { sinks?: SinksService } = {};
    let stopping: Promise<void> | undefined;
    const output: Output = {
      name: 'acks',
      async deliver(alert: FalcoAlert) {
        const id = Number(alert.output_fields['alert.id']);
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        // Every tenth alert fails once: it must come back, not ride along with the others' acks.
        if (id % 10 === 0 && n === 1) throw new Error('receiver busy');
        delivered++;
        // Stop while this delivery's ack is still held by the runner.
        if (delivered === N) stopping = ref.sinks?.stop();
      },
      async close() {},
    };
    ref.sinks = await env.startSinks({
      outputs: [{ output, concurrency: 16, backoff: { initialMs: 20, maxMs: 50 } }],
    });
    await until(`${N} alerts delivered`, () => delivered >= N);
    await until('stop called', () => stopping !== undefined);
    await stopping;
    // Closing the connection right after stop() must not lose a held ack.
    await env.bus.close();
    assert.equal(attempts.size, N);
    for (const [id, n] of attempts) assert.equal(n, id % 10 === 0 ? 2 : 1, `alert ${id}: ${n} attempts`);
    await using bus = await connectBus({ url: env.server.url });
    const consumer = await bus.consumer(STREAMS.alerts.name, durableName('acks'), {
      filterSubject: STREAMS.alerts.subjects[0],
    });
    try {
      const state = await consumer.state();
      assert.equal(state.pending, 0, 'nothing left undelivered');
      assert.equal(state.ackPending, 0, 'every delivered alert acked before stop() resolved');
    } finally {
      await consumer.stop();
    }
  });
});
