/**
 * Builds loader-stream bytes exactly as bpf/sensor.h and loader/loader.c lay
 * them out, for decoder tests. Kept separate from src/ on purpose: the test
 * writes the wire format independently of the decoder it checks.
 */
const HDR = 168;

export function streamHeader(
  opts: { magic?: string; version?: number; ncpus?: number; bootEpoch?: bigint } = {},
): Buffer {
  const b = Buffer.alloc(32);
  b.write(opts.magic ?? 'SAKRSENS', 0, 'latin1');
  b.writeUInt16LE(opts.version ?? 2, 8); // SAKER_STREAM_VERSION (bpf/sensor.h)
  b.writeUInt16LE(32, 10);
  b.writeUInt32LE(opts.ncpus ?? 2, 12);
  b.writeBigUInt64LE(opts.bootEpoch ?? 1_700_000_000_000_000_000n, 16);
  b.writeUInt32LE(4242, 24);
  return b;
}

export function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(payload.length, 0);
  h.writeUInt16LE(type, 4);
  return Buffer.concat([h, payload]);
}

export function param(type: number, argi: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt8(type, 0);
  h.writeUInt8(argi, 1);
  h.writeUInt16LE(body.length, 2);
  return Buffer.concat([h, body]);
}

/** Path components leaf first, NUL-terminated, as the probe emits them. */
export function components(path: string): Buffer {
  const parts = path
    .split('/')
    .filter((s) => s)
    .reverse();
  return Buffer.from(parts.map((p) => `${p}\0`).join(''));
}

export interface RecordSpec {
  kind?: number;
  syscall?: number;
  ret?: bigint;
  args?: bigint[];
  pid?: number;
  tid?: number;
  ppid?: number;
  uid?: number;
  comm?: string;
  flags?: number;
  ts?: bigint;
  params?: Buffer[];
}

export function record(s: RecordSpec): Buffer {
  const params = s.params ?? [];
  const body = Buffer.concat(params);
  const b = Buffer.alloc(HDR);
  b.writeUInt16LE(s.kind ?? 1, 0);
  b.writeUInt16LE(s.syscall ?? 0, 2);
  b.writeUInt16LE(params.length, 4);
  b.writeUInt16LE(s.flags ?? 0, 6);
  b.writeUInt32LE(HDR + body.length, 8);
  b.writeUInt32LE(1, 12);
  b.writeBigUInt64LE(s.ts ?? 5_000_000_000n, 16);
  b.writeBigInt64LE(s.ret ?? 0n, 24);
  (s.args ?? []).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, a), 32 + i * 8));
  b.writeUInt32LE(s.pid ?? 100, 80);
  b.writeUInt32LE(s.tid ?? s.pid ?? 100, 84);
  b.writeUInt32LE(s.ppid ?? 1, 88);
  for (const off of [92, 96, 100, 104]) b.writeUInt32LE(s.uid ?? 0, off);
  b.writeUInt32LE(0xffffffff, 108);
  b.write(s.comm ?? 'cat', 152, 'latin1');
  return Buffer.concat([b, body]);
}

export function fdInfo(fd: number, mode: number, ino = 7, family = 0, proto = 0): Buffer {
  const b = Buffer.alloc(40);
  b.writeInt32LE(fd, 0);
  b.writeUInt32LE(mode, 4);
  b.writeBigUInt64LE(BigInt(ino), 8);
  b.writeUInt32LE(0x10300001, 16);
  b.writeUInt32LE(1, 20);
  b.writeUInt16LE(family, 24);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(proto, 28);
  return b;
}

export function sockTuple(
  l: [number, number, number, number],
  lport: number,
  r: [number, number, number, number],
  rport: number,
): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt16LE(2, 0);
  b.writeUInt16LE(6, 2);
  b.writeUInt16LE(lport, 4);
  b.writeUInt16LE(rport, 6);
  Buffer.from(l).copy(b, 8);
  Buffer.from(r).copy(b, 24);
  b.writeUInt16LE(1, 40);
  return b;
}

export function stats(perCpu: bigint[][]): Buffer {
  const b = Buffer.alloc(16 + perCpu.length * 48);
  b.writeUInt32LE(perCpu.length, 0);
  b.writeUInt32LE(48, 4);
  b.writeBigUInt64LE(9n, 8);
  perCpu.forEach((c, i) => c.forEach((v, j) => b.writeBigUInt64LE(v, 16 + i * 48 + j * 8)));
  return b;
}
