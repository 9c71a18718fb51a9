/**
 * Decodes the loader's stdout: a 32-byte stream header, then frames of
 * `u32 payload_len, u16 type, u16 flags, payload`. Layouts mirror
 * bpf/sensor.h and are documented in docs/sensor.md; all little-endian.
 *
 * A malformed frame never throws out of `push`: it becomes a SensorDecodeError
 * naming the stream offset and the field, handed to `onError` and counted. A
 * frame whose length is implausible means the stream cannot be resynchronised,
 * so decoding stops (`corrupt` is set) instead of guessing.
 */
import { SensorDecodeError } from './errors.js';

const STREAM_MAGIC = 'SAKRSENS';
export const STREAM_VERSION = 2;
const STREAM_HEADER_SIZE = 32;
const FRAME_HEADER_SIZE = 8;
/** Larger than any record the probe can build (its scratch is 16 KiB) or any stats frame. */
const MAX_FRAME = 1 << 20;

export const REC_SYSCALL = 1;
export const REC_EXEC = 2;
export const REC_FORK = 3;
export const REC_EXIT = 4;
export const REC_STATS = 16;

export const P_USTR = 1;
export const P_DIRPATH = 2;
export const P_FDPATH = 3;
export const P_FDINFO = 4;
export const P_SOCKTUPLE = 5;
export const P_SOCKADDR = 6;
const P_ARGV = 7;
const P_EXEPATH = 8;
const P_CWD = 9;
export const P_CGROUP = 10;
const P_EXEINFO = 11;
const P_PROCSTATE = 13;
const P_ENV = 14;
export const ARGI_RET = 0xff;

// Record flags (bpf/sensor.h): 0x1 truncated and 0x4 path truncated are not read here.
export const RF_ARGV_TRUNCATED = 0x2;
const RF_ENV_TRUNCATED = 0x10;

/** sizeof(struct rec_hdr) etc. in bpf/sensor.h */
const REC_HEADER_SIZE = 168;
const PARAM_HEADER_SIZE = 4;
const FD_INFO_SIZE = 40;
const SOCK_TUPLE_SIZE = 48;
const EXE_INFO_SIZE = 48;
const PROC_STATE_SIZE = 32;
const STATS_SIZE = 48;

export interface StreamHeader {
  readonly version: number;
  readonly ncpus: number;
  /** CLOCK_REALTIME minus CLOCK_BOOTTIME at loader start: add to a record's ts for epoch ns. */
  readonly bootEpochNs: bigint;
  readonly loaderPid: number;
}

interface FdInfoRaw {
  readonly fd: number;
  readonly mode: number;
  readonly ino: number;
  readonly dev: number;
  readonly nlink: number;
  readonly sockFamily: number;
  readonly sockType: number;
  readonly sockProto: number;
  readonly sbMagic: number;
}

export interface SockTupleRaw {
  readonly family: number;
  readonly proto: number;
  readonly lport: number;
  readonly rport: number;
  readonly laddr: Uint8Array;
  readonly raddr: Uint8Array;
  readonly skType: number;
  readonly state: number;
}

interface ExeInfoRaw {
  readonly ino: number;
  readonly ctimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly sbMagic: number;
  readonly nlink: number;
  readonly dev: number;
  readonly upperLayer: boolean;
  /** The exec'ing task could write the file (owner, mode bits, CAP_DAC_OVERRIDE/CAP_FOWNER). */
  readonly writable: boolean;
}

/** struct proc_state: read at exec and fork only. */
export interface ProcStateRaw {
  readonly capInheritable: bigint;
  readonly capPermitted: bigint;
  readonly capEffective: bigint;
  /** Host pid namespace. */
  readonly pgid: number;
  /** In the task's own pid namespace; 0 when the group leader is outside it. */
  readonly vpgid: number;
}

/** Params of one kind, by the argument index they belong to. */
interface ParamLookup<T> {
  get(argi: number): T | undefined;
}

/** Params of a record, keyed by the argument index they belong to (ARGI_RET for the return value). */
interface RecordParams {
  // Kinds a record does not carry share one empty lookup (no allocation per record).
  readonly ustr: ParamLookup<string>;
  readonly dirpath: ParamLookup<string>;
  readonly fdpath: ParamLookup<string>;
  readonly fdinfo: ParamLookup<FdInfoRaw>;
  readonly socktuple: ParamLookup<SockTupleRaw>;
  readonly sockaddr: ParamLookup<Uint8Array>;
  argv?: string[];
  exepath?: string;
  cwd?: string;
  exeinfo?: ExeInfoRaw;
  procstate?: ProcStateRaw;
  /** The new image's environment (exec), at most ENV_MAX bytes of it. */
  env?: string[];
}

export interface KernelRecord {
  readonly kind: typeof REC_SYSCALL | typeof REC_EXEC | typeof REC_FORK | typeof REC_EXIT;
  readonly syscall: number;
  readonly flags: number;
  readonly cpu: number;
  /** CLOCK_BOOTTIME ns. */
  readonly ts: bigint;
  /** `epoch + ts` as decimal epoch ns, without bigints when ts fits 53 bits. */
  epochTs(epoch: BootEpoch): string;
  readonly ret: number;
  readonly args: readonly bigint[];
  readonly pid: number;
  readonly tid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly gid: number;
  readonly euid: number;
  readonly egid: number;
  readonly loginuid: number;
  readonly tty: number;
  readonly mntns: number;
  readonly pidns: number;
  readonly vpid: number;
  readonly vtid: number;
  /** Session id (host pid namespace); 0 when unknown. */
  readonly sid: number;
  readonly cgroupId: bigint;
  readonly startBoottime: bigint;
  readonly comm: string;
  /** Decoded on first use: a repeated call rendered from CallMemo never reads them. */
  readonly params: RecordParams;
  /**
   * v2 cgroup path. The probe sends it on exec and fork records, and on a
   * syscall record only the first time its cgroup id is seen; the sensor fills
   * it in from `cgroupId` for the others.
   */
  cgroup: string | undefined;
  /** cgroupId as a number, without making a bigint. */
  cgroupIdNum(): number;
  /** Low 32 bits of args[i], unsigned / signed, without making a bigint. */
  argU32(i: number): number;
  argS32(i: number): number;
}

export interface CpuStats {
  readonly seen: bigint;
  readonly dropRingbuf: bigint;
  readonly dropScratch: bigint;
  readonly dropMissingEnter: bigint;
  readonly dropEnterFull: bigint;
  readonly truncated: bigint;
}

export interface StatsRecord {
  readonly kind: typeof REC_STATS;
  readonly ts: bigint;
  readonly perCpu: readonly CpuStats[];
}

export type DecodedRecord = KernelRecord | StatsRecord;

const utf8 = new TextDecoder('utf-8', { fatal: false });

const NS_PER_S = 1_000_000_000;
/** 000 to 999. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/**
 * The stream header's boot epoch split into seconds and nanoseconds, so that a
 * record's epoch time is made from numbers: a bigint add and toString per
 * event cost more than the rest of the timestamp's work.
 */
export class BootEpoch {
  private readonly sec: number;
  private readonly ns: number;
  private lastSec = -1;
  private lastMs = -1;
  private lastPrefix = '';
  constructor(readonly total: bigint) {
    this.sec = Number(total / 1_000_000_000n);
    this.ns = Number(total % 1_000_000_000n);
  }

  /** `total + hi * 2^32 + lo` in decimal. */
  format(hi: number, lo: number): string {
    // Past 2^53 ns of uptime (104 days) numbers are no longer exact: bigints then.
    if (hi >= 0x200000) return (this.total + ((BigInt(hi) << 32n) | BigInt(lo))).toString();
    const t = hi * 0x100000000 + lo;
    let s = Math.floor(t / NS_PER_S);
    let r = t - s * NS_PER_S;
    if (r < 0) {
      s--;
      r += NS_PER_S;
    } else if (r >= NS_PER_S) {
      s++;
      r -= NS_PER_S;
    }
    let sec = this.sec + s;
    let ns = this.ns + r;
    if (ns >= NS_PER_S) {
      ns -= NS_PER_S;
      sec++;
    }
    if (sec === 0) return String(ns);
    // Events of one millisecond share its digits; the rest is two groups of three from a table,
    // with no number turned into a string per event.
    const ms = Math.floor(ns / 1_000_000);
    if (sec !== this.lastSec || ms !== this.lastMs) {
      this.lastSec = sec;
      this.lastMs = ms;
      this.lastPrefix = String(sec) + (DIGITS3[ms] as string);
    }
    const us = ns - ms * 1_000_000;
    const u = Math.floor(us / 1000);
    return this.lastPrefix + (DIGITS3[u] as string) + (DIGITS3[us - u * 1000] as string);
  }
}

const CACHE_SLOTS = 2048;
/** Longer byte strings are decoded every time: long paths rarely repeat. */
const CACHE_MAX_BYTES = 128;

/**
 * Decoded strings by their bytes: comms, paths and path components repeat
 * from record to record, and a compare of a few dozen bytes costs far less
 * than a Buffer decode (a call into C++ and a new string). Direct-mapped by a
 * hash of the bytes; a hit is checked byte for byte, so hostile input can only
 * make it miss.
 */
class StringCache {
  private readonly keys: (Uint8Array | undefined)[] = new Array(CACHE_SLOTS);
  private readonly values: string[] = new Array(CACHE_SLOTS);

  constructor(private readonly decode: (b: Buffer, start: number, end: number) => string) {}

  get(b: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n > CACHE_MAX_BYTES) return this.decode(b, start, end);
    let h = n;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + (b[i] as number)) | 0;
    const slot = (h ^ (h >>> 13)) & (CACHE_SLOTS - 1);
    const k = this.keys[slot];
    if (k !== undefined && k.length === n) {
      let i = 0;
      while (i < n && k[i] === b[start + i]) i++;
      if (i === n) return this.values[slot] as string;
    }
    const v = this.decode(b, start, end);
    this.keys[slot] = Uint8Array.prototype.slice.call(b, start, end);
    this.values[slot] = v;
    return v;
  }
}

const MEMO_SLOTS = 1024;
/** Calls whose id, result, args and params take more bytes than this are not memoised. */
const MEMO_MAX_BYTES = 512;

/**
 * Values that are a function of a syscall record's call alone: its id, return
 * value, six argument words and params (the renderings of an open, say), kept
 * by those bytes. A loop that opens the same file again and again makes the
 * same bytes each time but for the header (time, ids). Direct-mapped by a hash;
 * a hit is checked byte for byte, so hostile input can only make it miss.
 */
export class CallMemo<T> {
  private readonly keys: (Int32Array | undefined)[] = new Array(MEMO_SLOTS);
  private readonly values: (T | undefined)[] = new Array(MEMO_SLOTS);
  /** The last call looked up: a loop repeats one call, and a compare costs half a hash and a compare. */
  private lastKey: Int32Array | undefined;
  private lastValue: T | undefined;

  /** The value for `rec`'s call: the memoised one, or `make()` kept for the next identical call. */
  get(rec: KernelRecord, make: (rec: KernelRecord) => T): T {
    if (!(rec instanceof Rec) || rec.kind !== REC_SYSCALL) return make(rec);
    const dv = rec.view;
    const at = rec.offset;
    const plen = rec.size - REC_HEADER_SIZE;
    if (plen > MEMO_MAX_BYTES) return make(rec);
    // The key, in 32-bit words: the syscall id and the params' length, ret + args (14 words), the params.
    const words = 1 + CALL_WORDS + ((plen + 3) >> 2);
    const p0 = at + REC_HEADER_SIZE;
    const head = dv.getUint16(at + 2, true) | (plen << 16);
    const tail = tailWord(dv, p0, plen);
    const last = this.lastKey;
    if (last !== undefined && last.length === words && last[0] === head && sameCall(last, dv, at, plen, tail))
      return this.lastValue as T;
    let h = head;
    for (let i = 0; i < CALL_WORDS; i++)
      h = (Math.imul(h, 0x9e3779b1) + dv.getInt32(at + CALL_START + i * 4, true)) | 0;
    for (let i = 0; i < plen >> 2; i++) h = (Math.imul(h, 0x9e3779b1) + dv.getInt32(p0 + i * 4, true)) | 0;
    h = (Math.imul(h, 0x9e3779b1) + tail) | 0;
    const slot = (h ^ (h >>> 16)) & (MEMO_SLOTS - 1);
    const k = this.keys[slot];
    if (k !== undefined && k.length === words && k[0] === head && sameCall(k, dv, at, plen, tail)) {
      const hit = this.values[slot] as T;
      this.lastKey = k;
      this.lastValue = hit;
      return hit;
    }
    const v = make(rec);
    const key = new Int32Array(words);
    key[0] = head;
    for (let i = 0; i < CALL_WORDS; i++) key[1 + i] = dv.getInt32(at + CALL_START + i * 4, true);
    for (let i = 0; i < plen >> 2; i++) key[1 + CALL_WORDS + i] = dv.getInt32(p0 + i * 4, true);
    if ((plen & 3) !== 0) key[words - 1] = tail;
    this.keys[slot] = key;
    this.values[slot] = v;
    this.lastKey = key;
    this.lastValue = v;
    return v;
  }
}

/** rec_hdr offset of the return value, followed by the six args: 14 words. */
const CALL_START = 24;
const CALL_WORDS = 14;

/** The last 1-3 bytes of the params (when their length is not a multiple of 4) as one word; 0 otherwise. */
function tailWord(dv: DataView, p0: number, plen: number): number {
  let t = 0;
  for (let i = plen & ~3; i < plen; i++) t = (t << 8) | dv.getUint8(p0 + i);
  return t;
}

function sameCall(k: Int32Array, dv: DataView, at: number, plen: number, tail: number): boolean {
  for (let i = 0; i < CALL_WORDS; i++)
    if (k[1 + i] !== dv.getInt32(at + CALL_START + i * 4, true)) return false;
  const p0 = at + REC_HEADER_SIZE;
  for (let i = 0; i < plen >> 2; i++)
    if (k[1 + CALL_WORDS + i] !== dv.getInt32(p0 + i * 4, true)) return false;
  return (plen & 3) === 0 || k[k.length - 1] === tail;
}

/** Per-decoder caches (never module state: two decoders do not share or grow each other's). */
class DecodeCaches {
  readonly comm = new StringCache((b, s, e) => b.toString('utf8', s, e));
  readonly ustr = new StringCache((b, s, e) => b.toString('utf8', s, e));
  readonly path = new StringCache(pathAt);
  /** The last record's 16 comm bytes, as 4 words, and its comm: runs of one process's records repeat it. */
  private c0 = 0;
  private c1 = 0;
  private c2 = 0;
  private c3 = 0;
  private lastComm: string | undefined;

  /** The comm at b[start, start + 16): at most 16 bytes, NUL-terminated when shorter. */
  commAt(b: Buffer, dv: DataView, start: number): string {
    const w0 = dv.getInt32(start, true);
    const w1 = dv.getInt32(start + 4, true);
    const w2 = dv.getInt32(start + 8, true);
    const w3 = dv.getInt32(start + 12, true);
    if (this.lastComm !== undefined && w0 === this.c0 && w1 === this.c1 && w2 === this.c2 && w3 === this.c3)
      return this.lastComm;
    let end = start;
    while (end < start + 16 && b[end] !== 0) end++;
    const comm = this.comm.get(b, start, end);
    this.c0 = w0;
    this.c1 = w1;
    this.c2 = w2;
    this.c3 = w3;
    this.lastComm = comm;
    return comm;
  }
}

/** The params of one kind a record carries: one or two inline, more in a map. */
class ParamSlots<T> implements ParamLookup<T> {
  private k0 = -1;
  private v0: T | undefined;
  private k1 = -1;
  private v1: T | undefined;
  private more: Map<number, T> | undefined;

  get(argi: number): T | undefined {
    if (argi === this.k0) return this.v0;
    if (argi === this.k1) return this.v1;
    return this.more?.get(argi);
  }

  set(argi: number, v: T): void {
    if (this.k0 === -1 || this.k0 === argi) {
      this.k0 = argi;
      this.v0 = v;
    } else if (this.k1 === -1 || this.k1 === argi) {
      this.k1 = argi;
      this.v1 = v;
    } else {
      this.more ??= new Map();
      this.more.set(argi, v);
    }
  }
}

export interface DecoderOptions {
  readonly onError?: (err: SensorDecodeError) => void;
}

export class StreamDecoder {
  header: StreamHeader | undefined;
  /** Frames that could not be decoded. */
  errors = 0;
  /** Set when the stream could not be resynchronised; nothing more is decoded. */
  corrupt = false;
  private buf: Buffer = Buffer.alloc(0);
  /** Stream offset of buf[0]. */
  private base = 0;
  private readonly onError: (err: SensorDecodeError) => void;
  private readonly caches = new DecodeCaches();

  constructor(options: DecoderOptions = {}) {
    this.onError = options.onError ?? (() => {});
  }

  /** Feeds bytes; returns every complete record they finish. */
  push(chunk: Uint8Array): DecodedRecord[] {
    const out: DecodedRecord[] = [];
    if (this.corrupt) return out;
    // No copy when nothing is pending: frames are decoded straight out of the chunk.
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const missing = this.missingBytes();
    if (missing > 0 && missing < c.length) {
      // A frame cut by the previous chunk: only its rest is copied to complete it, not the whole
      // chunk, and the frames after it are decoded straight out of the chunk.
      this.buf = Buffer.concat([this.buf, c.subarray(0, missing)]);
      this.decodeBuffered(out);
      if (this.corrupt) return out;
      this.buf = c.subarray(missing);
    } else {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    }
    this.decodeBuffered(out);
    return out;
  }

  /** Bytes the cut frame at the head of buf still needs; 0 when unknown (no header yet, or not even a frame header). */
  private missingBytes(): number {
    const b = this.buf;
    if (this.header === undefined || b.length < FRAME_HEADER_SIZE) return 0;
    const len = b.readUInt32LE(0);
    return len > MAX_FRAME ? 0 : FRAME_HEADER_SIZE + len - b.length;
  }

  /** Decodes the stream header and every complete frame in buf, and keeps the rest. */
  private decodeBuffered(out: DecodedRecord[]): void {
    let pos = 0;
    if (!this.header) {
      if (this.buf.length < STREAM_HEADER_SIZE) return;
      try {
        this.header = decodeStreamHeader(this.buf, this.base);
      } catch (err) {
        this.fail(err as SensorDecodeError);
        return;
      }
      pos = STREAM_HEADER_SIZE;
    }
    const buf = this.buf;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (buf.length - pos >= FRAME_HEADER_SIZE) {
      const len = dv.getUint32(pos, true);
      const type = dv.getUint16(pos + 4, true);
      if (len > MAX_FRAME) {
        this.fail(
          new SensorDecodeError(
            this.base + pos,
            'frame.length',
            `${len} bytes exceeds the ${MAX_FRAME}-byte limit`,
          ),
        );
        return;
      }
      if (buf.length - pos - FRAME_HEADER_SIZE < len) break;
      const start = pos + FRAME_HEADER_SIZE;
      try {
        out.push(decodeFrameAt(type, buf, dv, start, len, this.base + start, this.caches));
      } catch (err) {
        this.errors++;
        this.onError(
          err instanceof SensorDecodeError
            ? err
            : new SensorDecodeError(this.base + start, 'frame', String(err), { cause: err }),
        );
      }
      pos = start + len;
    }
    this.buf = this.buf.subarray(pos);
    this.base += pos;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buf.length;
  }

  private fail(err: SensorDecodeError): void {
    this.errors++;
    this.corrupt = true;
    this.buf = Buffer.alloc(0);
    this.onError(err);
  }
}

export function decodeStreamHeader(b: Buffer, offset = 0): StreamHeader {
  const magic = b.toString('latin1', 0, 8);
  if (magic !== STREAM_MAGIC) {
    throw new SensorDecodeError(
      offset,
      'header.magic',
      `expected "${STREAM_MAGIC}", got ${JSON.stringify(magic)}`,
    );
  }
  const version = b.readUInt16LE(8);
  if (version !== STREAM_VERSION) {
    throw new SensorDecodeError(
      offset + 8,
      'header.version',
      `stream version ${version} is not supported (this decoder reads ${STREAM_VERSION}); rebuild the loader and the package together`,
    );
  }
  const hlen = b.readUInt16LE(10);
  if (hlen !== STREAM_HEADER_SIZE) {
    throw new SensorDecodeError(offset + 10, 'header.length', `expected ${STREAM_HEADER_SIZE}, got ${hlen}`);
  }
  return {
    version,
    ncpus: b.readUInt32LE(12),
    bootEpochNs: b.readBigUInt64LE(16),
    loaderPid: b.readUInt32LE(24),
  };
}

/**
 * Decodes the frame payload p[s, s + len); `dv` views the same bytes as `p`.
 * `offset` is the payload's stream offset, for errors.
 */
function decodeFrameAt(
  type: number,
  p: Buffer,
  dv: DataView,
  s: number,
  len: number,
  offset: number,
  caches: DecodeCaches,
): DecodedRecord {
  switch (type) {
    case REC_SYSCALL:
    case REC_EXEC:
    case REC_FORK:
    case REC_EXIT:
      return decodeKernelRecord(type, p, dv, s, len, offset, caches);
    case REC_STATS:
      return decodeStats(p.subarray(s, s + len), offset);
    default:
      throw new SensorDecodeError(offset - 4, 'frame.type', `unknown record type ${type}`);
  }
}

function decodeStats(p: Buffer, offset: number): StatsRecord {
  if (p.length < 16)
    throw new SensorDecodeError(offset, 'stats', `${p.length} bytes is shorter than the 16-byte header`);
  const ncpu = p.readUInt32LE(0);
  const recSize = p.readUInt32LE(4);
  if (recSize < STATS_SIZE) {
    throw new SensorDecodeError(
      offset + 4,
      'stats.record_size',
      `expected at least ${STATS_SIZE}, got ${recSize}`,
    );
  }
  if (p.length !== 16 + ncpu * recSize) {
    throw new SensorDecodeError(
      offset,
      'stats.ncpu',
      `${ncpu} CPUs of ${recSize} bytes do not fit a ${p.length}-byte payload`,
    );
  }
  const perCpu: CpuStats[] = [];
  for (let i = 0; i < ncpu; i++) {
    const o = 16 + i * recSize;
    perCpu.push({
      seen: p.readBigUInt64LE(o),
      dropRingbuf: p.readBigUInt64LE(o + 8),
      dropScratch: p.readBigUInt64LE(o + 16),
      dropMissingEnter: p.readBigUInt64LE(o + 24),
      dropEnterFull: p.readBigUInt64LE(o + 32),
      truncated: p.readBigUInt64LE(o + 40),
    });
  }
  return { kind: REC_STATS, ts: p.readBigUInt64LE(8), perCpu };
}

/** The NUL-terminated string in b[start, end). */
function cstr(b: Buffer, start: number, end: number, cache: StringCache): string {
  let nul = start;
  while (nul < end && b[nul] !== 0) nul++;
  return cache.get(b, start, nul);
}

const EMPTY: ParamLookup<never> = Object.freeze({ get: () => undefined });

/** u64 at o as a bigint: one allocation when it fits 53 bits (the usual case), getBigUint64 otherwise. */
function u64At(dv: DataView, o: number): bigint {
  const hi = dv.getUint32(o + 4, true);
  if (hi < 0x200000) return BigInt(hi * 0x100000000 + dv.getUint32(o, true));
  return dv.getBigUint64(o, true);
}

/** s64 at o as a number (return values: small or -errno). */
function s64NumAt(dv: DataView, o: number): number {
  const hi = dv.getInt32(o + 4, true);
  const lo = dv.getUint32(o, true);
  if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
  return Number(dv.getBigInt64(o, true));
}

/** u64 at o as a number (inode numbers, magics: exact below 2^53). */
function u64NumAt(dv: DataView, o: number): number {
  const hi = dv.getUint32(o + 4, true);
  if (hi < 0x200000) return hi * 0x100000000 + dv.getUint32(o, true);
  return Number(dv.getBigUint64(o, true));
}

function badSize(offset: number, i: number, field: string, want: number, len: number): never {
  throw new SensorDecodeError(offset, `param[${i}].${field}`, `expected ${want} bytes, got ${len}`);
}

/** NUL-separated list, dropping the empty tail after the last NUL. */
function cstrList(b: Buffer): string[] {
  if (b.length === 0) return [];
  const parts = utf8.decode(b).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Path components b[from, to), leaf to root, NUL-terminated -> absolute path. */
function pathAt(b: Buffer, from: number, to: number): string {
  // Walk the NUL-terminated components from the end (the root side) backwards.
  let out = '';
  let end = to;
  if (end > from && b[end - 1] === 0) end--;
  while (end > from) {
    let start = end - 1;
    while (start >= from && b[start] !== 0) start--;
    out += `/${b.toString('utf8', start + 1, end)}`;
    end = start;
  }
  return out === '' ? '/' : out;
}

/**
 * A decoded kernel record. The six argument words stay in the frame bytes
 * until asked for: `args` makes bigints on first use, and the renderers read
 * the 32-bit words they need as numbers (argU32/argS32) without any bigint.
 * The params were checked when the record was decoded (types, lengths, sizes:
 * a malformed one is a decode error then), but their values are built on first
 * use of `params`: a repeated open is rendered from CallMemo by its bytes and
 * never reads them.
 */
class Rec implements KernelRecord {
  private argsCache: bigint[] | undefined;
  private paramsCache: RecordParams | undefined;
  constructor(
    readonly kind: KernelRecord['kind'],
    readonly comm: string,
    public cgroup: string | undefined,
    private readonly nparams: number,
    private readonly buf: Buffer,
    private readonly caches: DecodeCaches,
    private readonly dv: DataView,
    private readonly at: number,
    readonly size: number,
  ) {}

  // The header's fields are read from the frame's bytes when asked for (the
  // record's size was checked): fewer fields make a smaller object per record.
  get syscall(): number {
    return this.dv.getUint16(this.at + 2, true);
  }
  get flags(): number {
    return this.dv.getUint16(this.at + 6, true);
  }
  get cpu(): number {
    return this.dv.getUint32(this.at + 12, true);
  }
  get ret(): number {
    return s64NumAt(this.dv, this.at + 24);
  }
  get pid(): number {
    return this.dv.getUint32(this.at + 80, true);
  }
  get tid(): number {
    return this.dv.getUint32(this.at + 84, true);
  }
  get ppid(): number {
    return this.dv.getUint32(this.at + 88, true);
  }
  get uid(): number {
    return this.dv.getUint32(this.at + 92, true);
  }
  get gid(): number {
    return this.dv.getUint32(this.at + 96, true);
  }
  get euid(): number {
    return this.dv.getUint32(this.at + 100, true);
  }
  get egid(): number {
    return this.dv.getUint32(this.at + 104, true);
  }
  get loginuid(): number {
    return this.dv.getUint32(this.at + 108, true);
  }
  get tty(): number {
    return this.dv.getUint32(this.at + 112, true);
  }
  get mntns(): number {
    return this.dv.getUint32(this.at + 116, true);
  }
  get pidns(): number {
    return this.dv.getUint32(this.at + 120, true);
  }
  get vpid(): number {
    return this.dv.getUint32(this.at + 124, true);
  }
  get vtid(): number {
    return this.dv.getUint32(this.at + 128, true);
  }
  get sid(): number {
    return this.dv.getUint32(this.at + 132, true);
  }

  get params(): RecordParams {
    this.paramsCache ??= paramValues(this.buf, this.dv, this.at, this.nparams, this.caches);
    return this.paramsCache;
  }

  /** For CallMemo: the record is at [offset, offset + size) of view. */
  get offset(): number {
    return this.at;
  }

  get view(): DataView {
    return this.dv;
  }

  /** Read on demand: most records never need them as bigints. */
  get ts(): bigint {
    return u64At(this.dv, this.at + 16);
  }

  epochTs(epoch: BootEpoch): string {
    return epoch.format(this.dv.getUint32(this.at + 20, true), this.dv.getUint32(this.at + 16, true));
  }

  get cgroupId(): bigint {
    return u64At(this.dv, this.at + 136);
  }

  get startBoottime(): bigint {
    return u64At(this.dv, this.at + 144);
  }

  /** cgroupId as a number (exact below 2^53, which kernfs ids are in practice). */
  cgroupIdNum(): number {
    return u64NumAt(this.dv, this.at + 136);
  }

  get args(): readonly bigint[] {
    if (this.argsCache === undefined) {
      const o = this.at + 32;
      const b = this.dv;
      this.argsCache = [
        u64At(b, o),
        u64At(b, o + 8),
        u64At(b, o + 16),
        u64At(b, o + 24),
        u64At(b, o + 32),
        u64At(b, o + 40),
      ];
    }
    return this.argsCache;
  }

  argU32(i: number): number {
    return i >= 0 && i < 6 ? this.dv.getUint32(this.at + 32 + i * 8, true) : 0;
  }

  argS32(i: number): number {
    return i >= 0 && i < 6 ? this.dv.getInt32(this.at + 32 + i * 8, true) : 0;
  }
}

/** The fixed size of a param type, 0 for variable-length ones, -1 for an unknown type. */
function paramSize(ptype: number): number {
  switch (ptype) {
    case P_FDINFO:
      return FD_INFO_SIZE;
    case P_SOCKTUPLE:
      return SOCK_TUPLE_SIZE;
    case P_EXEINFO:
      return EXE_INFO_SIZE;
    case P_PROCSTATE:
      return PROC_STATE_SIZE;
    case P_USTR:
    case P_DIRPATH:
    case P_FDPATH:
    case P_SOCKADDR:
    case P_ARGV:
    case P_EXEPATH:
    case P_CWD:
    case P_CGROUP:
    case P_ENV:
      return 0;
    default:
      return -1;
  }
}

const PARAM_FIELDS: Readonly<Record<number, string>> = {
  [P_FDINFO]: 'fd_info',
  [P_SOCKTUPLE]: 'sock_tuple',
  [P_EXEINFO]: 'exe_info',
  [P_PROCSTATE]: 'proc_state',
};

/** The kernel record at p[s, s + plen): frames are decoded in place, without a Buffer view each. */
function decodeKernelRecord(
  type: number,
  p: Buffer,
  dv: DataView,
  s: number,
  plen: number,
  offset: number,
  caches: DecodeCaches,
): KernelRecord {
  if (plen < REC_HEADER_SIZE) {
    throw new SensorDecodeError(
      offset,
      'record.header',
      `${plen} bytes is shorter than the ${REC_HEADER_SIZE}-byte header`,
    );
  }
  const kind = dv.getUint16(s, true);
  if (kind !== type) {
    throw new SensorDecodeError(offset, 'record.kind', `frame type ${type} carries record kind ${kind}`);
  }
  const nparams = dv.getUint16(s + 4, true);
  const size = dv.getUint32(s + 8, true);
  if (size !== plen) {
    throw new SensorDecodeError(offset + 8, 'record.size', `header says ${size} bytes, frame has ${plen}`);
  }
  const recEnd = s + plen;
  // Every param is checked here, so that a malformed record is a decode error now; the values
  // are built when `params` is first read (paramValues), and only the cgroup path is read now.
  let cgroup: string | undefined;
  let q = s + REC_HEADER_SIZE;
  for (let i = 0; i < nparams; i++) {
    if (q + PARAM_HEADER_SIZE > recEnd) {
      throw new SensorDecodeError(
        offset + q - s,
        `param[${i}].header`,
        `record ends before param ${i} of ${nparams}`,
      );
    }
    const ptype = p[q] as number;
    const len = dv.getUint16(q + 2, true);
    const start = q + PARAM_HEADER_SIZE;
    const end = start + len;
    if (end > recEnd) {
      throw new SensorDecodeError(
        offset + q - s + 2,
        `param[${i}].length`,
        `${len} bytes run past the record end`,
      );
    }
    const fixed = paramSize(ptype);
    if (fixed < 0) {
      throw new SensorDecodeError(offset + q - s, `param[${i}].type`, `unknown param type ${ptype}`);
    }
    if (fixed > 0 && len !== fixed) {
      badSize(offset + q - s + 2, i, PARAM_FIELDS[ptype] as string, fixed, len);
    }
    if (ptype === P_CGROUP) cgroup = caches.path.get(p, start, end);
    q = end;
  }
  if (q !== recEnd) {
    throw new SensorDecodeError(
      offset + q - s,
      'record.params',
      `${recEnd - q} bytes left after ${nparams} params`,
    );
  }
  return new Rec(
    kind as KernelRecord['kind'],
    caches.commAt(p, dv, s + 152),
    cgroup,
    nparams,
    p,
    caches,
    dv,
    s,
    plen,
  );
}

/** The values of the params of the record at p[s, ...), already checked by decodeKernelRecord. */
function paramValues(
  p: Buffer,
  dv: DataView,
  s: number,
  nparams: number,
  caches: DecodeCaches,
): RecordParams {
  let ustr: ParamSlots<string> | undefined;
  let dirpath: ParamSlots<string> | undefined;
  let fdpath: ParamSlots<string> | undefined;
  let fdinfo: ParamSlots<FdInfoRaw> | undefined;
  let socktuple: ParamSlots<SockTupleRaw> | undefined;
  let sockaddr: ParamSlots<Uint8Array> | undefined;
  const params: {
    -readonly [K in keyof RecordParams]: RecordParams[K];
  } = {
    ustr: EMPTY,
    dirpath: EMPTY,
    fdpath: EMPTY,
    fdinfo: EMPTY,
    socktuple: EMPTY,
    sockaddr: EMPTY,
  };
  let q = s + REC_HEADER_SIZE;
  for (let i = 0; i < nparams; i++) {
    const ptype = p[q] as number;
    const argi = p[q + 1] as number;
    const len = dv.getUint16(q + 2, true);
    const start = q + PARAM_HEADER_SIZE;
    const end = start + len;
    switch (ptype) {
      case P_USTR:
        if (ustr === undefined) {
          ustr = new ParamSlots();
          params.ustr = ustr;
        }
        ustr.set(argi, cstr(p, start, end, caches.ustr));
        break;
      case P_DIRPATH:
        if (dirpath === undefined) {
          dirpath = new ParamSlots();
          params.dirpath = dirpath;
        }
        dirpath.set(argi, caches.path.get(p, start, end));
        break;
      case P_FDPATH:
        if (fdpath === undefined) {
          fdpath = new ParamSlots();
          params.fdpath = fdpath;
        }
        fdpath.set(argi, caches.path.get(p, start, end));
        break;
      case P_FDINFO:
        if (fdinfo === undefined) {
          fdinfo = new ParamSlots();
          params.fdinfo = fdinfo;
        }
        fdinfo.set(argi, {
          fd: dv.getInt32(start, true),
          mode: dv.getUint32(start + 4, true),
          ino: u64NumAt(dv, start + 8),
          dev: dv.getUint32(start + 16, true),
          nlink: dv.getUint32(start + 20, true),
          sockFamily: dv.getUint16(start + 24, true),
          sockType: dv.getUint16(start + 26, true),
          sockProto: dv.getUint16(start + 28, true),
          sbMagic: u64NumAt(dv, start + 32),
        });
        break;
      case P_SOCKTUPLE:
        if (socktuple === undefined) {
          socktuple = new ParamSlots();
          params.socktuple = socktuple;
        }
        socktuple.set(argi, {
          family: dv.getUint16(start, true),
          proto: dv.getUint16(start + 2, true),
          lport: dv.getUint16(start + 4, true),
          rport: dv.getUint16(start + 6, true),
          laddr: Uint8Array.from(p.subarray(start + 8, start + 24)),
          raddr: Uint8Array.from(p.subarray(start + 24, start + 40)),
          skType: dv.getUint16(start + 40, true),
          state: dv.getUint8(start + 42),
        });
        break;
      case P_SOCKADDR:
        if (sockaddr === undefined) {
          sockaddr = new ParamSlots();
          params.sockaddr = sockaddr;
        }
        sockaddr.set(argi, Uint8Array.from(p.subarray(start, end)));
        break;
      case P_ARGV:
        params.argv = cstrList(p.subarray(start, end));
        break;
      case P_EXEPATH:
        params.exepath = caches.path.get(p, start, end);
        break;
      case P_CWD:
        params.cwd = caches.path.get(p, start, end);
        break;
      case P_EXEINFO:
        params.exeinfo = {
          ino: u64NumAt(dv, start),
          ctimeNs: dv.getBigUint64(start + 8, true),
          mtimeNs: dv.getBigUint64(start + 16, true),
          sbMagic: u64NumAt(dv, start + 24),
          nlink: dv.getUint32(start + 32, true),
          dev: dv.getUint32(start + 36, true),
          upperLayer: dv.getUint32(start + 40, true) !== 0,
          writable: dv.getUint32(start + 44, true) !== 0,
        };
        break;
      case P_PROCSTATE:
        params.procstate = {
          capInheritable: dv.getBigUint64(start, true),
          capPermitted: dv.getBigUint64(start + 8, true),
          capEffective: dv.getBigUint64(start + 16, true),
          pgid: dv.getUint32(start + 24, true),
          vpgid: dv.getUint32(start + 28, true),
        };
        break;
      case P_ENV:
        params.env = cstrList(p.subarray(start, end));
        break;
    }
    q = end;
  }
  return params;
}
