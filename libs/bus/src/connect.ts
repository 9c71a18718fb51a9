import type { MemoryBroker } from './memory/broker.js';
import { MemoryBus } from './memory/bus.js';
import { type NatsBusOptions, connectNats } from './nats/bus.js';
import type { StreamLimitsByName } from './stream-limits.js';
import type { Bus } from './transport.js';

/**
 * Where to connect: a NATS server (`{ url }`), a fresh private in-memory broker
 * (`{ memory: true }`), or a shared one (`{ memory: broker }`) so that several
 * services in one process (`saker run`) talk to each other.
 */
export type BusTarget =
  | NatsBusOptions
  | { memory: true | MemoryBroker; streamLimits?: StreamLimitsByName | undefined };

/** Opens a Bus on NATS or in memory. Same interface, same semantics. */
export async function connectBus(target: BusTarget): Promise<Bus> {
  if ('memory' in target) {
    const streamLimits = target.streamLimits ?? {};
    return new MemoryBus(target.memory === true ? { streamLimits } : { broker: target.memory, streamLimits });
  }
  return connectNats(target);
}
