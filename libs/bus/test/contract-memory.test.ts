import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryBus } from '../src/memory/bus.js';
import { busContract } from './contract.js';

busContract('memory', async () => {
  const broker = new MemoryBroker();
  return {
    connect: async () => new MemoryBus({ broker }),
    [Symbol.asyncDispose]: async () => broker.close(),
  };
});
