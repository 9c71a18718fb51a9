import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { BusClosedError, BusTimeoutError } from '../src/errors.js';
import { busContract } from './contract.js';

busContract('nats', async () => {
  const server = await startNatsServer({ jetstream: true });
  return {
    connect: () => connectBus({ url: server.url, name: 'contract' }),
    [Symbol.asyncDispose]: () => server.stop(),
  };
});

describe('nats: prefetch', () => {
  it('a feed fetches at most `prefetch` messages ahead of its reader', async () => {
    await using server = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: server.url });
    await bus.stream('PREFETCH', ['prefetch.>'], { storage: 'memory' });
    for (let i = 0; i < 50; i++) await bus.publishDurable('prefetch.x', new TextEncoder().encode(String(i)));
    const ahead = async (durable: string, prefetch?: number): Promise<number> => {
      await using c = await bus.consumer('PREFETCH', durable, prefetch === undefined ? {} : { prefetch });
      const it = c[Symbol.asyncIterator]();
      // One message read and held: the rest the server sent are in the feed, unacked.
      await it.next();
      // The server may still be sending: wait until it has sent what the prefetch allows
      // (at most 5 s), then a little longer, so that sending past it would show.
      const expected = Math.min(prefetch ?? 100, 50);
      const deadline = Date.now() + 5_000;
      let pending = (await c.state()).ackPending;
      while (pending < expected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        pending = (await c.state()).ackPending;
      }
      await new Promise((r) => setTimeout(r, 200));
      return (await c.state()).ackPending;
    };
    assert.equal(await ahead('five', 5), 5);
    assert.equal(await ahead('default'), 50, 'the default fetches far ahead (100)');
    await assert.rejects(bus.consumer('PREFETCH', 'zero', { prefetch: 0 }), RangeError);
  });
});

describe('nats: publishDurableBatch', () => {
  it('a message nobody acknowledges times out alone; the connection closing settles what waits', async () => {
    await using server = await startNatsServer({ jetstream: true });
    await using bus = await connectBus({ url: server.url });
    await bus.stream('BATCHACK', ['batchack.>'], { storage: 'memory' });
    // A core subscriber that never answers: no "no responders", no ack either.
    await using _silent = bus.subscribe('silent.>');
    await bus.flush();
    const bytes = new TextEncoder().encode('x');
    const started = Date.now();
    const [stored, unanswered] = await bus.publishDurableBatch(
      [
        { subject: 'batchack.a', data: bytes },
        { subject: 'silent.a', data: bytes },
      ],
      { timeoutMs: 300 },
    );
    assert.ok(Date.now() - started >= 250, `settled after ${Date.now() - started} ms`);
    assert.deepEqual(stored, { stream: 'BATCHACK', sequence: 1, duplicate: false });
    assert.ok(unanswered instanceof BusTimeoutError, `unanswered: ${String(unanswered)}`);
    assert.equal(unanswered.subject, 'silent.a');
    const waiting = bus.publishDurableBatch([{ subject: 'silent.b', data: bytes }], { timeoutMs: 30_000 });
    await bus.flush();
    await bus.close();
    const [closed] = await waiting;
    assert.ok(closed instanceof BusClosedError, `after close: ${String(closed)}`);
  });
});
