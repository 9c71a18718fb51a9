/**
 * falcosidekick's Kafka partition balancers (its `kafka.balancer` key),
 * as kafkajs partitioners. falcosidekick produces every alert without a
 * key, so:
 *
 * - `round_robin` (default): partitions in turn;
 * - `least_bytes`: the partition this producer has written the fewest bytes to;
 * - `crc32`, `murmur2`: a hash of the key (CRC-32 IEEE, or Kafka's Java
 *   murmur2) modulo the partition count. With no key every alert hashes the
 *   same, so all go to one partition, in order;
 * - `crc32_random`, `murmur2_random`: as above for keyed messages, a random
 *   partition for unkeyed ones (every alert).
 *
 * Partitions are taken in id order, so a hash maps to the same partition on
 * every producer.
 */
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

export const KAFKA_BALANCERS = [
  'round_robin',
  'least_bytes',
  'crc32',
  'crc32_random',
  'murmur2',
  'murmur2_random',
] as const;
export type KafkaBalancer = (typeof KAFKA_BALANCERS)[number];

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), as Go's crc32.ChecksumIEEE. */
export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC32_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Kafka's murmur2 (the Java client's `Utils.murmur2`), as a signed 32-bit value. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = 0x9747b28c ^ len;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = len & 3;
  if (rest === 3) h ^= (data[whole + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[whole + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[whole] ?? 0;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

function keyBytes(key: PartitionerArgs['message']['key']): Uint8Array {
  if (key === null || key === undefined) return new Uint8Array(0);
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

function valueSize(value: PartitionerArgs['message']['value']): number {
  if (value === null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

/** The kafkajs partitioner of a balancer; `random` drives the `_random` ones. */
export function kafkaPartitioner(
  balancer: KafkaBalancer,
  random: () => number = Math.random,
): ICustomPartitioner {
  return () => {
    let next = 0;
    const bytes = new Map<string, number>();
    return ({ topic, partitionMetadata, message }) => {
      const ids = partitionMetadata.map((p) => p.partitionId).sort((a, b) => a - b);
      const pick = (i: number): number => ids[i] ?? 0;
      const key = keyBytes(message.key);
      switch (balancer) {
        case 'round_robin':
          return pick(next++ % ids.length);
        case 'least_bytes': {
          let best = pick(0);
          let least = Number.POSITIVE_INFINITY;
          for (const id of ids) {
            const n = bytes.get(`${topic}/${id}`) ?? 0;
            if (n < least) {
              least = n;
              best = id;
            }
          }
          bytes.set(`${topic}/${best}`, least + valueSize(message.value));
          return best;
        }
        case 'crc32':
        case 'crc32_random':
          if (key.length === 0 && balancer === 'crc32_random') return pick(Math.floor(random() * ids.length));
          return pick(crc32(key) % ids.length);
        case 'murmur2':
        case 'murmur2_random':
          if (key.length === 0 && balancer === 'murmur2_random')
            return pick(Math.floor(random() * ids.length));
          return pick((murmur2(key) & 0x7fffffff) % ids.length);
      }
    };
  };
}
