import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
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
      await new Promise((r) => setTimeout(r, 200));
      return (await c.state()).ackPending;
    };
    assert.equal(await ahead('five', 5), 5);
    assert.equal(await ahead('default'), 50, 'the default fetches far ahead (100)');
    await assert.rejects(bus.consumer('PREFETCH', 'zero', { prefetch: 0 }), RangeError);
  });
});
