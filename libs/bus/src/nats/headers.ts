import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import type { BusHeaders } from '../transport.js';

const NO_HEADERS: BusHeaders = Object.freeze({});

/** Converts our headers to nats.js headers (undefined when there are none). */
export function toNatsHeaders(h: BusHeaders | undefined): MsgHdrs | undefined {
  if (h === undefined) return undefined;
  const keys = Object.keys(h);
  if (keys.length === 0) return undefined;
  const out = natsHeaders();
  for (const k of keys) out.set(k, h[k] ?? '');
  return out;
}

/** Converts nats.js headers to ours: the last value of each name. */
export function fromNatsHeaders(h: MsgHdrs | undefined): BusHeaders {
  if (h === undefined) return NO_HEADERS;
  const out: Record<string, string> = {};
  for (const k of h.keys()) out[k] = h.last(k);
  return Object.freeze(out);
}
