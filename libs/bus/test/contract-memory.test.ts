import { MemoryBroker, MemoryBus } from '../src/mod.js';
import { busContract } from './contract.js';

busContract('memory', async () => {
  const broker = new MemoryBroker();
  return {
    connect: async () => new MemoryBus({ broker }),
    [Symbol.asyncDispose]: async () => broker.close(),
  };
});
