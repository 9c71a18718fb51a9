import type { MemoryBroker } from './memory/broker.js';
import { MemoryBus } from './memory/bus.js';
import { type NatsBusOptions, connectNats } from './nats/bus.js';
import type { Bus } from './transport.js';

/**
 * Where to connect: a NATS server (`{ url }`), a fresh private in-memory broker
 * (`{ memory: true }`), or a shared one (`{ memory: broker }`) so that several
 * services in one process (`saker run`) talk to each other.
 */
export type BusTarget = NatsBusOptions | { memory: true | MemoryBroker };

/** Opens a Bus on NATS or in memory. Same interface, same semantics. */
export async function connectBus(target: BusTarget): Promise<Bus> {
  if ('memory' in target) {
    return new MemoryBus(target.memory === true ? {} : { broker: target.memory });
  }
  return connectNats(target);
}
