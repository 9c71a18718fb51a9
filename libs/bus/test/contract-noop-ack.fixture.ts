import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryBus } from '../src/memory/bus.js';
/**
 * The bus contract run against a memory bus whose ack() does nothing, for
 * contract-faults.test.ts: the suite must fail where it claims acks work.
 * Registers nothing unless SAKER_CONTRACT_FIXTURE=noop-ack, so the main test
 * run (which loads every file under dist/test) passes over it.
 */
import type { Bus, DurableConsumer, StreamMessage } from '../src/transport.js';
import { busContract } from './contract.js';

/** `m` with ack() a no-op; every other member is the real one. */
function brokenAck(m: StreamMessage): StreamMessage {
  return new Proxy(m, {
    get: (target, prop) => {
      if (prop === 'ack') return () => undefined;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function wrapConsumer(c: DurableConsumer): DurableConsumer {
  return new Proxy(c, {
    get: (target, prop) => {
      if (prop === Symbol.asyncIterator) {
        return async function* () {
          for await (const m of target) yield brokenAck(m);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function wrapBus(bus: Bus): Bus {
  return new Proxy(bus, {
    get: (target, prop) => {
      if (prop === 'consumer') {
        return async (...args: Parameters<Bus['consumer']>) => wrapConsumer(await target.consumer(...args));
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

if (process.env.SAKER_CONTRACT_FIXTURE === 'noop-ack') {
  busContract('memory, ack() a no-op', async () => {
    const broker = new MemoryBroker();
    return {
      connect: async () => wrapBus(new MemoryBus({ broker })),
      [Symbol.asyncDispose]: async () => broker.close(),
    };
  });
}
