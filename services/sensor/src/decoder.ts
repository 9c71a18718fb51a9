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

export const STREAM_MAGIC = 'SAKRSENS';
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

export interface FdInfoRaw {
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

export interface ExeInfoRaw {
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

/** Params of a record, keyed by the argument index they belong to (ARGI_RET for the return value). */
export interface RecordParams {
  // Kinds a record does not carry share one empty map (no allocation per record).
  readonly ustr: ReadonlyMap<number, string>;
  readonly dirpath: ReadonlyMap<number, string>;
  readonly fdpath: ReadonlyMap<number, string>;
  readonly fdinfo: ReadonlyMap<number, FdInfoRaw>;
  readonly socktuple: ReadonlyMap<number, SockTupleRaw>;
  readonly sockaddr: ReadonlyMap<number, Uint8Array>;
  argv?: string[];
  exepath?: string;
  cwd?: string;
  /**
   * v2 cgroup path. The probe sends it on exec and fork records, and on a
   * syscall record only the first time its cgroup id is seen; the sensor fills
   * it in from `cgroupId` for the others.
   */
  cgroup?: string;
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
  readonly params: RecordParams;
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

  constructor(options: DecoderOptions = {}) {
    this.onError = options.onError ?? (() => {});
  }

  /** Feeds bytes; returns every complete record they finish. */
  push(chunk: Uint8Array): DecodedRecord[] {
    const out: DecodedRecord[] = [];
    if (this.corrupt) return out;
    // No copy when nothing is pending: frames are decoded straight out of the chunk.
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    let pos = 0;
    if (!this.header) {
      if (this.buf.length < STREAM_HEADER_SIZE) return out;
      try {
        this.header = decodeStreamHeader(this.buf, this.base);
      } catch (err) {
        this.fail(err as SensorDecodeError);
        return out;
      }
      pos = STREAM_HEADER_SIZE;
    }
    while (this.buf.length - pos >= FRAME_HEADER_SIZE) {
      const len = this.buf.readUInt32LE(pos);
      const type = this.buf.readUInt16LE(pos + 4);
      if (len > MAX_FRAME) {
        this.fail(
          new SensorDecodeError(
            this.base + pos,
            'frame.length',
            `${len} bytes exceeds the ${MAX_FRAME}-byte limit`,
          ),
        );
        return out;
      }
      if (this.buf.length - pos - FRAME_HEADER_SIZE < len) break;
      const start = pos + FRAME_HEADER_SIZE;
      try {
        out.push(decodeFrameAt(type, this.buf, start, len, this.base + start));
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
    return out;
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

/** Decodes one frame payload. `offset` is the payload's stream offset, for errors. */
export function decodeFrame(type: number, p: Buffer, offset: number): DecodedRecord {
  return decodeFrameAt(type, p, 0, p.length, offset);
}

/** decodeFrame of the payload p[s, s + len). */
function decodeFrameAt(type: number, p: Buffer, s: number, len: number, offset: number): DecodedRecord {
  switch (type) {
    case REC_SYSCALL:
    case REC_EXEC:
    case REC_FORK:
    case REC_EXIT:
      return decodeKernelRecord(type, p, s, len, offset);
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

function cstr(b: Buffer, start: number, end: number): string {
  let nul = start;
  while (nul < end && b[nul] !== 0) nul++;
  return b.toString('utf8', start, nul);
}

/** comm is short and repeats: decode each distinct 16-byte value once. */
const commCache = new Map<string, string>();
function commOf(b: Buffer, start: number): string {
  let end = start;
  while (end < start + 16 && b[end] !== 0) end++;
  const key = b.toString('latin1', start, end);
  let v = commCache.get(key);
  if (v === undefined) {
    v = b.toString('utf8', start, end);
    if (commCache.size > 4096) commCache.clear();
    commCache.set(key, v);
  }
  return v;
}

const EMPTY = new Map<number, never>() as ReadonlyMap<number, never>;

/** u64 at o as a bigint: one allocation when it fits 53 bits (the usual case), readBigUInt64LE otherwise. */
function u64At(p: Buffer, o: number): bigint {
  const hi = p.readUInt32LE(o + 4);
  if (hi < 0x200000) return BigInt(hi * 0x100000000 + p.readUInt32LE(o));
  return p.readBigUInt64LE(o);
}

/** s64 at o as a number (return values: small or -errno). */
function s64NumAt(p: Buffer, o: number): number {
  const hi = p.readInt32LE(o + 4);
  const lo = p.readUInt32LE(o);
  if (hi >= -0x200000 && hi < 0x200000) return hi * 0x100000000 + lo;
  return Number(p.readBigInt64LE(o));
}

/** u64 at o as a number (inode numbers, magics: exact below 2^53). */
function u64NumAt(p: Buffer, o: number): number {
  const hi = p.readUInt32LE(o + 4);
  if (hi < 0x200000) return hi * 0x100000000 + p.readUInt32LE(o);
  return Number(p.readBigUInt64LE(o));
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

/** Components leaf->root -> absolute path. */
export function componentsToPath(b: Buffer): string {
  return pathAt(b, 0, b.length);
}

/** componentsToPath of b[from, to). */
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
 */
class Rec implements KernelRecord {
  private argsCache: bigint[] | undefined;
  constructor(
    readonly kind: KernelRecord['kind'],
    readonly syscall: number,
    readonly flags: number,
    readonly cpu: number,
    readonly ts: bigint,
    readonly ret: number,
    readonly pid: number,
    readonly tid: number,
    readonly ppid: number,
    readonly uid: number,
    readonly gid: number,
    readonly euid: number,
    readonly egid: number,
    readonly loginuid: number,
    readonly tty: number,
    readonly mntns: number,
    readonly pidns: number,
    readonly vpid: number,
    readonly vtid: number,
    readonly sid: number,
    readonly comm: string,
    readonly params: RecordParams,
    private readonly buf: Buffer,
    private readonly at: number,
  ) {}

  /** Read on demand: most records never need them as bigints. */
  get cgroupId(): bigint {
    return u64At(this.buf, this.at + 136);
  }

  get startBoottime(): bigint {
    return u64At(this.buf, this.at + 144);
  }

  /** cgroupId as a number (exact below 2^53, which kernfs ids are in practice). */
  cgroupIdNum(): number {
    return u64NumAt(this.buf, this.at + 136);
  }

  get args(): readonly bigint[] {
    if (this.argsCache === undefined) {
      const o = this.at + 32;
      const b = this.buf;
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
    return i >= 0 && i < 6 ? this.buf.readUInt32LE(this.at + 32 + i * 8) : 0;
  }

  argS32(i: number): number {
    return i >= 0 && i < 6 ? this.buf.readInt32LE(this.at + 32 + i * 8) : 0;
  }
}

/** The kernel record at p[s, s + plen): frames are decoded in place, without a Buffer view each. */
function decodeKernelRecord(type: number, p: Buffer, s: number, plen: number, offset: number): KernelRecord {
  if (plen < REC_HEADER_SIZE) {
    throw new SensorDecodeError(
      offset,
      'record.header',
      `${plen} bytes is shorter than the ${REC_HEADER_SIZE}-byte header`,
    );
  }
  const kind = p.readUInt16LE(s);
  if (kind !== type) {
    throw new SensorDecodeError(offset, 'record.kind', `frame type ${type} carries record kind ${kind}`);
  }
  const nparams = p.readUInt16LE(s + 4);
  const size = p.readUInt32LE(s + 8);
  if (size !== plen) {
    throw new SensorDecodeError(offset + 8, 'record.size', `header says ${size} bytes, frame has ${plen}`);
  }
  const recEnd = s + plen;
  let ustr: Map<number, string> | undefined;
  let dirpath: Map<number, string> | undefined;
  let fdpath: Map<number, string> | undefined;
  let fdinfo: Map<number, FdInfoRaw> | undefined;
  let socktuple: Map<number, SockTupleRaw> | undefined;
  let sockaddr: Map<number, Uint8Array> | undefined;
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
    if (q + PARAM_HEADER_SIZE > recEnd) {
      throw new SensorDecodeError(
        offset + q - s,
        `param[${i}].header`,
        `record ends before param ${i} of ${nparams}`,
      );
    }
    const ptype = p[q] as number;
    const argi = p[q + 1] as number;
    const len = (p[q + 2] as number) | ((p[q + 3] as number) << 8);
    const start = q + PARAM_HEADER_SIZE;
    const end = start + len;
    if (end > recEnd) {
      throw new SensorDecodeError(
        offset + q - s + 2,
        `param[${i}].length`,
        `${len} bytes run past the record end`,
      );
    }
    switch (ptype) {
      case P_USTR:
        if (ustr === undefined) {
          ustr = new Map();
          params.ustr = ustr;
        }
        ustr.set(argi, cstr(p, start, end));
        break;
      case P_DIRPATH:
        if (dirpath === undefined) {
          dirpath = new Map();
          params.dirpath = dirpath;
        }
        dirpath.set(argi, pathAt(p, start, end));
        break;
      case P_FDPATH:
        if (fdpath === undefined) {
          fdpath = new Map();
          params.fdpath = fdpath;
        }
        fdpath.set(argi, pathAt(p, start, end));
        break;
      case P_FDINFO:
        if (len !== FD_INFO_SIZE) badSize(offset + q - s + 2, i, 'fd_info', FD_INFO_SIZE, len);
        if (fdinfo === undefined) {
          fdinfo = new Map();
          params.fdinfo = fdinfo;
        }
        fdinfo.set(argi, {
          fd: p.readInt32LE(start),
          mode: p.readUInt32LE(start + 4),
          ino: u64NumAt(p, start + 8),
          dev: p.readUInt32LE(start + 16),
          nlink: p.readUInt32LE(start + 20),
          sockFamily: p.readUInt16LE(start + 24),
          sockType: p.readUInt16LE(start + 26),
          sockProto: p.readUInt16LE(start + 28),
          sbMagic: u64NumAt(p, start + 32),
        });
        break;
      case P_SOCKTUPLE:
        if (len !== SOCK_TUPLE_SIZE) badSize(offset + q - s + 2, i, 'sock_tuple', SOCK_TUPLE_SIZE, len);
        if (socktuple === undefined) {
          socktuple = new Map();
          params.socktuple = socktuple;
        }
        socktuple.set(argi, {
          family: p.readUInt16LE(start),
          proto: p.readUInt16LE(start + 2),
          lport: p.readUInt16LE(start + 4),
          rport: p.readUInt16LE(start + 6),
          laddr: Uint8Array.from(p.subarray(start + 8, start + 24)),
          raddr: Uint8Array.from(p.subarray(start + 24, start + 40)),
          skType: p.readUInt16LE(start + 40),
          state: p.readUInt8(start + 42),
        });
        break;
      case P_SOCKADDR:
        if (sockaddr === undefined) {
          sockaddr = new Map();
          params.sockaddr = sockaddr;
        }
        sockaddr.set(argi, Uint8Array.from(p.subarray(start, end)));
        break;
      case P_ARGV:
        params.argv = cstrList(p.subarray(start, end));
        break;
      case P_EXEPATH:
        params.exepath = pathAt(p, start, end);
        break;
      case P_CWD:
        params.cwd = pathAt(p, start, end);
        break;
      case P_CGROUP:
        params.cgroup = pathAt(p, start, end);
        break;
      case P_EXEINFO:
        if (len !== EXE_INFO_SIZE) badSize(offset + q - s + 2, i, 'exe_info', EXE_INFO_SIZE, len);
        params.exeinfo = {
          ino: u64NumAt(p, start),
          ctimeNs: p.readBigUInt64LE(start + 8),
          mtimeNs: p.readBigUInt64LE(start + 16),
          sbMagic: u64NumAt(p, start + 24),
          nlink: p.readUInt32LE(start + 32),
          dev: p.readUInt32LE(start + 36),
          upperLayer: p.readUInt32LE(start + 40) !== 0,
          writable: p.readUInt32LE(start + 44) !== 0,
        };
        break;
      case P_PROCSTATE:
        if (len !== PROC_STATE_SIZE) badSize(offset + q - s + 2, i, 'proc_state', PROC_STATE_SIZE, len);
        params.procstate = {
          capInheritable: p.readBigUInt64LE(start),
          capPermitted: p.readBigUInt64LE(start + 8),
          capEffective: p.readBigUInt64LE(start + 16),
          pgid: p.readUInt32LE(start + 24),
          vpgid: p.readUInt32LE(start + 28),
        };
        break;
      case P_ENV:
        params.env = cstrList(p.subarray(start, end));
        break;
      default:
        throw new SensorDecodeError(offset + q - s, `param[${i}].type`, `unknown param type ${ptype}`);
    }
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
    p.readUInt16LE(s + 2),
    p.readUInt16LE(s + 6),
    p.readUInt32LE(s + 12),
    u64At(p, s + 16),
    s64NumAt(p, s + 24),
    p.readUInt32LE(s + 80),
    p.readUInt32LE(s + 84),
    p.readUInt32LE(s + 88),
    p.readUInt32LE(s + 92),
    p.readUInt32LE(s + 96),
    p.readUInt32LE(s + 100),
    p.readUInt32LE(s + 104),
    p.readUInt32LE(s + 108),
    p.readUInt32LE(s + 112),
    p.readUInt32LE(s + 116),
    p.readUInt32LE(s + 120),
    p.readUInt32LE(s + 124),
    p.readUInt32LE(s + 128),
    p.readUInt32LE(s + 132),
    commOf(p, s + 152),
    params,
    p,
    s,
  );
}
