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
export const STREAM_VERSION = 1;
export const STREAM_HEADER_SIZE = 32;
export const FRAME_HEADER_SIZE = 8;
/** Larger than any record the probe can build (its scratch is 16 KiB) or any stats frame. */
export const MAX_FRAME = 1 << 20;

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
export const P_ARGV = 7;
export const P_EXEPATH = 8;
export const P_CWD = 9;
export const P_CGROUP = 10;
export const P_EXEINFO = 11;
export const ARGI_RET = 0xff;

export const RF_TRUNCATED = 0x1;
export const RF_ARGV_TRUNCATED = 0x2;
export const RF_PATH_TRUNCATED = 0x4;

/** sizeof(struct rec_hdr) etc. in bpf/sensor.h */
export const REC_HEADER_SIZE = 168;
const PARAM_HEADER_SIZE = 4;
const FD_INFO_SIZE = 40;
const SOCK_TUPLE_SIZE = 48;
const EXE_INFO_SIZE = 48;
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
}

/** Params of a record, keyed by the argument index they belong to (ARGI_RET for the return value). */
export interface RecordParams {
  readonly ustr: Map<number, string>;
  readonly dirpath: Map<number, string>;
  readonly fdpath: Map<number, string>;
  readonly fdinfo: Map<number, FdInfoRaw>;
  readonly socktuple: Map<number, SockTupleRaw>;
  readonly sockaddr: Map<number, Uint8Array>;
  argv?: string[];
  exepath?: string;
  cwd?: string;
  cgroup?: string;
  exeinfo?: ExeInfoRaw;
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
  readonly cgroupId: bigint;
  readonly startBoottime: bigint;
  readonly comm: string;
  readonly params: RecordParams;
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
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
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
      const payload = this.buf.subarray(start, start + len);
      try {
        out.push(decodeFrame(type, payload, this.base + start));
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
  switch (type) {
    case REC_SYSCALL:
    case REC_EXEC:
    case REC_FORK:
    case REC_EXIT:
      return decodeKernelRecord(type, p, offset);
    case REC_STATS:
      return decodeStats(p, offset);
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
  const nul = b.indexOf(0, start);
  return utf8.decode(b.subarray(start, nul >= 0 && nul < end ? nul : end));
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
  const parts = cstrList(b).reverse();
  return `/${parts.join('/')}`;
}

function decodeKernelRecord(type: number, p: Buffer, offset: number): KernelRecord {
  if (p.length < REC_HEADER_SIZE) {
    throw new SensorDecodeError(
      offset,
      'record.header',
      `${p.length} bytes is shorter than the ${REC_HEADER_SIZE}-byte header`,
    );
  }
  const kind = p.readUInt16LE(0);
  if (kind !== type) {
    throw new SensorDecodeError(offset, 'record.kind', `frame type ${type} carries record kind ${kind}`);
  }
  const nparams = p.readUInt16LE(4);
  const size = p.readUInt32LE(8);
  if (size !== p.length) {
    throw new SensorDecodeError(
      offset + 8,
      'record.size',
      `header says ${size} bytes, frame has ${p.length}`,
    );
  }
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(p.readBigUInt64LE(32 + i * 8));
  const params: RecordParams = {
    ustr: new Map(),
    dirpath: new Map(),
    fdpath: new Map(),
    fdinfo: new Map(),
    socktuple: new Map(),
    sockaddr: new Map(),
  };
  let q = REC_HEADER_SIZE;
  for (let i = 0; i < nparams; i++) {
    if (q + PARAM_HEADER_SIZE > p.length) {
      throw new SensorDecodeError(
        offset + q,
        `param[${i}].header`,
        `record ends before param ${i} of ${nparams}`,
      );
    }
    const ptype = p.readUInt8(q);
    const argi = p.readUInt8(q + 1);
    const len = p.readUInt16LE(q + 2);
    const start = q + PARAM_HEADER_SIZE;
    const end = start + len;
    if (end > p.length) {
      throw new SensorDecodeError(
        offset + q + 2,
        `param[${i}].length`,
        `${len} bytes run past the record end`,
      );
    }
    const body = p.subarray(start, end);
    const need = (n: number, field: string): void => {
      if (len !== n)
        throw new SensorDecodeError(
          offset + q + 2,
          `param[${i}].${field}`,
          `expected ${n} bytes, got ${len}`,
        );
    };
    switch (ptype) {
      case P_USTR:
        params.ustr.set(argi, cstr(body, 0, body.length));
        break;
      case P_DIRPATH:
        params.dirpath.set(argi, componentsToPath(body));
        break;
      case P_FDPATH:
        params.fdpath.set(argi, componentsToPath(body));
        break;
      case P_FDINFO:
        need(FD_INFO_SIZE, 'fd_info');
        params.fdinfo.set(argi, {
          fd: body.readInt32LE(0),
          mode: body.readUInt32LE(4),
          ino: Number(body.readBigUInt64LE(8)),
          dev: body.readUInt32LE(16),
          nlink: body.readUInt32LE(20),
          sockFamily: body.readUInt16LE(24),
          sockType: body.readUInt16LE(26),
          sockProto: body.readUInt16LE(28),
          sbMagic: Number(body.readBigUInt64LE(32)),
        });
        break;
      case P_SOCKTUPLE:
        need(SOCK_TUPLE_SIZE, 'sock_tuple');
        params.socktuple.set(argi, {
          family: body.readUInt16LE(0),
          proto: body.readUInt16LE(2),
          lport: body.readUInt16LE(4),
          rport: body.readUInt16LE(6),
          laddr: Uint8Array.from(body.subarray(8, 24)),
          raddr: Uint8Array.from(body.subarray(24, 40)),
          skType: body.readUInt16LE(40),
          state: body.readUInt8(42),
        });
        break;
      case P_SOCKADDR:
        params.sockaddr.set(argi, Uint8Array.from(body));
        break;
      case P_ARGV:
        params.argv = cstrList(body);
        break;
      case P_EXEPATH:
        params.exepath = componentsToPath(body);
        break;
      case P_CWD:
        params.cwd = componentsToPath(body);
        break;
      case P_CGROUP:
        params.cgroup = componentsToPath(body);
        break;
      case P_EXEINFO:
        need(EXE_INFO_SIZE, 'exe_info');
        params.exeinfo = {
          ino: Number(body.readBigUInt64LE(0)),
          ctimeNs: body.readBigUInt64LE(8),
          mtimeNs: body.readBigUInt64LE(16),
          sbMagic: Number(body.readBigUInt64LE(24)),
          nlink: body.readUInt32LE(32),
          dev: body.readUInt32LE(36),
          upperLayer: body.readUInt32LE(40) !== 0,
        };
        break;
      default:
        throw new SensorDecodeError(offset + q, `param[${i}].type`, `unknown param type ${ptype}`);
    }
    q = end;
  }
  if (q !== p.length) {
    throw new SensorDecodeError(
      offset + q,
      'record.params',
      `${p.length - q} bytes left after ${nparams} params`,
    );
  }
  return {
    kind: kind as KernelRecord['kind'],
    syscall: p.readUInt16LE(2),
    flags: p.readUInt16LE(6),
    cpu: p.readUInt32LE(12),
    ts: p.readBigUInt64LE(16),
    ret: Number(p.readBigInt64LE(24)),
    args,
    pid: p.readUInt32LE(80),
    tid: p.readUInt32LE(84),
    ppid: p.readUInt32LE(88),
    uid: p.readUInt32LE(92),
    gid: p.readUInt32LE(96),
    euid: p.readUInt32LE(100),
    egid: p.readUInt32LE(104),
    loginuid: p.readUInt32LE(108),
    tty: p.readUInt32LE(112),
    mntns: p.readUInt32LE(116),
    pidns: p.readUInt32LE(120),
    vpid: p.readUInt32LE(124),
    vtid: p.readUInt32LE(128),
    cgroupId: p.readBigUInt64LE(136),
    startBoottime: p.readBigUInt64LE(144),
    comm: cstr(p, 152, 168),
    params,
  };
}
