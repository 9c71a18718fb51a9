import { startNatsServer } from '@saker/testing';
import { connectBus } from '../src/mod.js';
import { busContract } from './contract.js';

busContract('nats', async () => {
  const server = await startNatsServer({ jetstream: true });
  return {
    connect: () => connectBus({ url: server.url, name: 'contract' }),
    [Symbol.asyncDispose]: () => server.stop(),
  };
});
