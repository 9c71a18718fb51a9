/**
 * Kafka's binary protocol primitives, written from the protocol guide
 * (kafka.apache.org/protocol) for the test broker: big-endian fixed-width
 * integers, int16-length strings, int32-length bytes and arrays, zigzag
 * varints (record fields) and CRC-32C (record batches). Independent of any
 * client library, so the broker checks what kafkajs really sends.
 */

/** A bounds-checked cursor over one request; a short read throws naming the field. */
export class WireReader {
  #at = 0;

  constructor(readonly buf: Buffer) {}

  get offset(): number {
    return this.#at;
  }

  get remaining(): number {
    return this.buf.length - this.#at;
  }

  #need(n: number, what: string): number {
    if (n < 0 || this.#at + n > this.buf.length) {
      throw new Error(`${what}: needs ${n} bytes at ${this.#at}, ${this.remaining} left`);
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  int8(what: string): number {
    return this.buf.readInt8(this.#need(1, what));
  }

  int16(what: string): number {
    return this.buf.readInt16BE(this.#need(2, what));
  }

  int32(what: string): number {
    return this.buf.readInt32BE(this.#need(4, what));
  }

  uint32(what: string): number {
    return this.buf.readUInt32BE(this.#need(4, what));
  }

  int64(what: string): bigint {
    return this.buf.readBigInt64BE(this.#need(8, what));
  }

  /** int16 length, -1 = null. */
  nullableString(what: string): string | null {
    const len = this.int16(`${what}.length`);
    if (len === -1) return null;
    return this.buf.toString('utf8', this.#need(len, what), this.#at);
  }

  string(what: string): string {
    const s = this.nullableString(what);
    if (s === null) throw new Error(`${what}: null where a string is required`);
    return s;
  }

  /** int32 length, -1 = null. */
  nullableBytes(what: string): Buffer | null {
    const len = this.int32(`${what}.length`);
    if (len === -1) return null;
    return this.raw(len, what);
  }

  raw(n: number, what: string): Buffer {
    const at = this.#need(n, what);
    return this.buf.subarray(at, at + n);
  }

  /** int32 count, -1 = null. */
  nullableArray<T>(what: string, item: (r: WireReader, i: number) => T): T[] | null {
    const n = this.int32(`${what}.count`);
    if (n === -1) return null;
    if (n < 0 || n > this.remaining) throw new Error(`${what}: bad count ${n}`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this, i));
    return out;
  }

  array<T>(what: string, item: (r: WireReader, i: number) => T): T[] {
    const a = this.nullableArray(what, item);
    if (a === null) throw new Error(`${what}: null where an array is required`);
    return a;
  }

  /** Zigzag varint (at most 5 bytes, a 32-bit value). */
  varint(what: string): number {
    const v = this.#varbig(what, 5);
    return Number((v >> 1n) ^ -(v & 1n));
  }

  /** Zigzag varlong (at most 10 bytes). */
  varlong(what: string): bigint {
    const v = this.#varbig(what, 10);
    return (v >> 1n) ^ -(v & 1n);
  }

  #varbig(what: string, maxBytes: number): bigint {
    let v = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.buf.readUInt8(this.#need(1, what));
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return v;
    }
    throw new Error(`${what}: varint longer than ${maxBytes} bytes`);
  }

  /** Varint length (-1 = null) then bytes, as record keys, values and headers are framed. */
  varBytes(what: string): Buffer | null {
    const len = this.varint(`${what}.length`);
    if (len === -1) return null;
    return this.raw(len, what);
  }
}

/** Builds a response body. */
export class WireWriter {
  readonly #parts: Buffer[] = [];

  #fixed(n: number, put: (b: Buffer) => void): this {
    const b = Buffer.alloc(n);
    put(b);
    this.#parts.push(b);
    return this;
  }

  int8(v: number): this {
    return this.#fixed(1, (b) => b.writeInt8(v));
  }

  int16(v: number): this {
    return this.#fixed(2, (b) => b.writeInt16BE(v));
  }

  int32(v: number): this {
    return this.#fixed(4, (b) => b.writeInt32BE(v));
  }

  int64(v: bigint): this {
    return this.#fixed(8, (b) => b.writeBigInt64BE(v));
  }

  nullableString(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).raw(b);
  }

  bytes(b: Buffer): this {
    return this.int32(b.length).raw(b);
  }

  raw(b: Buffer): this {
    this.#parts.push(b);
    return this;
  }

  array<T>(items: readonly T[], put: (w: WireWriter, item: T) => void): this {
    this.int32(items.length);
    for (const item of items) put(this, item);
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), the checksum of a v2 record batch. */
export function crc32c(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC32C_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
