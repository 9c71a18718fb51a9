/**
 * Batch codec `binary-v1` (docs/bus.md, "v3"): the default for syscall
 * events. A batch is a string table and one fixed-size record per event; the
 * record holds the scalars (num, cpu, res, dir as numbers and flags) and
 * indexes into the table for everything else (ts, type, hostname, and each
 * part: args, rawargs, proc, ancestors, user, group, fd, container, k8s as
 * JSON text, each distinct text once per batch).
 *
 * Decoding is lazy: `decodeBinary` checks the frame (header, offsets, record
 * flags and indexes, integer scalars) and hands out one `BinaryEventView` per
 * record. A view decodes a string or parses a part only when it is read, once
 * per batch for every event that shares it, and checks it then, as
 * parseEvent would (same paths and messages). So the engine's `evt.type`
 * index reads only the type, and an event no rule meets costs no JSON.parse.
 * A part that turns out invalid when read makes its event invalid: the view
 * records why (`viewFault`), and `checkView` reads every part so a consumer
 * can settle an event before it acts on it (the engine does for matches).
 */
import { Buffer } from 'node:buffer';
import {
  EventValidationError,
  type SakerEvent,
  type SyscallEvent,
  type SyscallPart,
  checkSyscallPart,
  checkSyscallScalar,
  parseEvent,
} from '@saker/events';
import { InvalidBatchEventError } from './errors.js';

/** The codec name in the Saker-Batch-Codec header. */
export const BATCH_CODEC_BINARY = 'binary-v1';

/** "SKB" and the format version. */
const MAGIC = [0x53, 0x4b, 0x42] as const;
const VERSION = 1;
const HEADER_BYTES = 16;
const NONE = 0xffffffff;

// Record layout: 13 u32 slots, then 3 f64.
const F_JSON = 1; // the whole event is JSON text at slot TS (k8s_audit, or keys the record has no slot for)
const F_NUM = 2;
const F_CPU = 4;
const F_RES = 8;
const F_DIR = 16;
const F_DIR_ENTRY = 32; // dir is '>' (else '<')
const KNOWN_FLAGS = 63;

const S_FLAGS = 0;
const S_TS = 1;
const S_TYPE = 2;
const S_HOST = 3;
/** Slot of each part, in SYSCALL_PARTS order from here. */
const S_PART: { readonly [P in SyscallPart]: number } = {
  args: 4,
  rawargs: 5,
  proc: 6,
  ancestors: 7,
  user: 8,
  group: 9,
  container: 10,
  k8s: 11,
  fd: 12,
};
const PARTS = Object.keys(S_PART) as SyscallPart[];
const REQUIRED: readonly SyscallPart[] = ['args', 'proc', 'user', 'group', 'container'];
/**
 * A part's index in PARTS (its slot is S_PART_0 + index, its bit 1 << index).
 * The views read parts by these numbers: a keyed load by part name in the
 * per-read path went megamorphic (7 names through one getter).
 */
const P_ARGS = 0;
const P_RAWARGS = 1;
const P_PROC = 2;
const P_ANCESTORS = 3;
const P_USER = 4;
const P_GROUP = 5;
const P_CONTAINER = 6;
const P_K8S = 7;
const P_FD = 8;
const S_PART_0 = S_PART.args;
const U32_SLOTS = 13;
const F_NUM_AT = U32_SLOTS * 4;
const F_CPU_AT = F_NUM_AT + 8;
const F_RES_AT = F_CPU_AT + 8;
/** Bytes per event record. */
const BINARY_RECORD_BYTES = F_RES_AT + 8;

/** Top-level keys a record has a slot for; an event with any other key travels as JSON. */
const RECORD_KEYS = new Set(['source', 'ts', 'num', 'cpu', 'hostname', 'type', 'dir', 'res', ...PARTS]);

/**
 * Builds one binary batch event by event: `add` returns the bytes the event
 * added (so a batcher can bound a batch by bytes before it is encoded), and
 * `finish` lays the batch out. Parts are taken by identity first (a sensor
 * hands the same process objects again), then by their JSON text.
 */
export class BinaryBatchWriter {
  readonly #strings: string[] = [];
  readonly #byText = new Map<string, number>();
  readonly #byObject = new Map<object, number>();
  readonly #slots: number[] = [];
  readonly #floats: number[] = [];
  #stringBytes = 0;
  #count = 0;
  /** What the last add changed, for undo(). */
  #mark = { strings: 0, stringBytes: 0, objects: [] as object[] };

  get count(): number {
    return this.#count;
  }

  /** The bytes `finish()` would return now. */
  get byteLength(): number {
    const strings = HEADER_BYTES + 4 * this.#strings.length + this.#stringBytes;
    return align4(strings) + this.#count * BINARY_RECORD_BYTES;
  }

  /** Adds an event; returns how many bytes the batch grew by. */
  add(event: SakerEvent): number {
    const before = this.byteLength;
    this.#mark = { strings: this.#strings.length, stringBytes: this.#stringBytes, objects: [] };
    const s = this.#slots;
    if (event.source !== 'syscall' || hasForeignKeys(event)) {
      s.push(F_JSON, this.#text(JSON.stringify(toPlainEvent(event))), NONE, NONE);
      for (let i = 4; i < U32_SLOTS; i++) s.push(NONE);
      this.#floats.push(0, 0, 0);
    } else {
      let flags = 0;
      if (event.num !== undefined) flags |= F_NUM;
      if (event.cpu !== undefined) flags |= F_CPU;
      if (event.res !== undefined) flags |= F_RES;
      if (event.dir !== undefined) flags |= event.dir === '>' ? F_DIR | F_DIR_ENTRY : F_DIR;
      s.push(
        flags,
        this.#text(event.ts),
        this.#text(event.type),
        event.hostname === undefined ? NONE : this.#text(event.hostname),
      );
      // In S_PART's order, each read by name (one property load each, not a keyed one).
      s.push(
        this.#part(event.args),
        this.#part(event.rawargs),
        this.#part(event.proc),
        this.#part(event.ancestors),
        this.#part(event.user),
        this.#part(event.group),
        this.#part(event.container),
        this.#part(event.k8s),
        this.#part(event.fd),
      );
      this.#floats.push(event.num ?? 0, event.cpu ?? 0, event.res ?? 0);
    }
    this.#count++;
    return this.byteLength - before;
  }

  /** Takes the last added event out again (a batcher that finds it would overflow the batch). */
  undo(): void {
    if (this.#count === 0) return;
    const m = this.#mark;
    for (let i = m.strings; i < this.#strings.length; i++) this.#byText.delete(this.#strings[i] as string);
    this.#strings.length = m.strings;
    this.#stringBytes = m.stringBytes;
    for (const o of m.objects) this.#byObject.delete(o);
    m.objects = [];
    this.#count--;
    this.#slots.length = this.#count * U32_SLOTS;
    this.#floats.length = this.#count * 3;
  }

  /** The batch, laid out; the writer can be dropped after. */
  finish(): Uint8Array {
    const strings = this.#strings;
    const tableAt = HEADER_BYTES;
    const textAt = tableAt + 4 * strings.length;
    const recordsAt = align4(textAt + this.#stringBytes);
    const buf = Buffer.alloc(recordsAt + this.#count * BINARY_RECORD_BYTES);
    buf[0] = MAGIC[0];
    buf[1] = MAGIC[1];
    buf[2] = MAGIC[2];
    buf[3] = VERSION;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    dv.setUint32(4, this.#count, true);
    dv.setUint32(8, strings.length, true);
    dv.setUint32(12, this.#stringBytes, true);
    let end = 0;
    for (let i = 0; i < strings.length; i++) {
      end += buf.write(strings[i] as string, textAt + end, 'utf8');
      dv.setUint32(tableAt + 4 * i, end, true);
    }
    const slots = this.#slots;
    const floats = this.#floats;
    for (let r = 0; r < this.#count; r++) {
      const at = recordsAt + r * BINARY_RECORD_BYTES;
      for (let k = 0; k < U32_SLOTS; k++) dv.setUint32(at + 4 * k, slots[r * U32_SLOTS + k] as number, true);
      dv.setFloat64(at + F_NUM_AT, floats[r * 3] as number, true);
      dv.setFloat64(at + F_CPU_AT, floats[r * 3 + 1] as number, true);
      dv.setFloat64(at + F_RES_AT, floats[r * 3 + 2] as number, true);
    }
    return buf;
  }

  #text(text: string, bytes?: number): number {
    let at = this.#byText.get(text);
    if (at === undefined) {
      at = this.#strings.length;
      this.#strings.push(text);
      this.#byText.set(text, at);
      this.#stringBytes += bytes ?? Buffer.byteLength(text, 'utf8');
    }
    return at;
  }

  #part(value: unknown): number {
    if (value === undefined) return NONE;
    if (typeof value === 'object' && value !== null) {
      let at = this.#byObject.get(value);
      if (at === undefined) {
        const known = Object.isFrozen(value) ? frozenText.get(value) : undefined;
        if (known !== undefined) at = this.#text(known.text, known.bytes);
        else {
          const text = JSON.stringify(value);
          const bytes = Buffer.byteLength(text, 'utf8');
          // A part frozen all the way down cannot change: its text serves every later batch.
          if (isDeepFrozen(value)) frozenText.set(value, { text, bytes });
          at = this.#text(text, bytes);
        }
        this.#byObject.set(value, at);
        this.#mark.objects.push(value);
      }
      return at;
    }
    return this.#text(JSON.stringify(value));
  }
}

/**
 * The JSON text of parts frozen all the way down, kept across batches: their
 * text cannot go stale (the sensor makes a new frozen object when a
 * process's details change, so process-table updates show at once). The deep
 * check is paid once per object, when it is first met; a part with anything
 * unfrozen inside is written out again in every batch.
 */
const frozenText = new WeakMap<object, { readonly text: string; readonly bytes: number }>();

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (!Object.isFrozen(value)) return false;
  for (const k in value) if (!isDeepFrozen((value as Record<string, unknown>)[k])) return false;
  return true;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hasForeignKeys(event: SakerEvent): boolean {
  for (const k in event) if (!RECORD_KEYS.has(k)) return true;
  return false;
}

/** Encodes events as one `binary-v1` batch. */
export function encodeBinary(events: readonly SakerEvent[]): Uint8Array {
  const w = new BinaryBatchWriter();
  for (const e of events) w.add(e);
  return w.finish();
}

/** Why a frame was refused: one invalid entry for the whole message. */
function frameError(reason: string, at: number): InvalidBatchEventError {
  const why = `binary batch: ${reason} (at byte ${at})`;
  return new InvalidBatchEventError(1, '$', why, { cause: new EventValidationError('$', why) });
}

/**
 * Decodes a `binary-v1` batch into `events` (lazy views, and parsed events
 * for records carried as JSON) and `invalid`. Never throws. A frame that does
 * not hold together (magic, version, sizes, offsets) is one invalid entry
 * naming the byte where it broke; a record with a bad flag, index or scalar
 * is invalid on its own (line = the event's 1-based position).
 */
export function decodeBinary(
  data: Uint8Array,
  events: SakerEvent[],
  invalid: InvalidBatchEventError[],
): void {
  if (data.length === 0) return;
  if (data.length < HEADER_BYTES) {
    invalid.push(frameError(`${data.length} bytes, shorter than the ${HEADER_BYTES}-byte header`, 0));
    return;
  }
  if (data[0] !== MAGIC[0] || data[1] !== MAGIC[1] || data[2] !== MAGIC[2]) {
    invalid.push(frameError('does not start with "SKB"', 0));
    return;
  }
  if (data[3] !== VERSION) {
    invalid.push(frameError(`format version ${data[3]}, this decoder reads ${VERSION}`, 3));
    return;
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = dv.getUint32(4, true);
  const nStrings = dv.getUint32(8, true);
  const textBytes = dv.getUint32(12, true);
  const textAt = HEADER_BYTES + 4 * nStrings;
  const recordsAt = align4(textAt + textBytes);
  const expected = recordsAt + count * BINARY_RECORD_BYTES;
  if (expected !== data.length) {
    invalid.push(
      frameError(
        `header says ${count} events, ${nStrings} strings, ${textBytes} text bytes (${expected} bytes in all), the message has ${data.length}`,
        4,
      ),
    );
    return;
  }
  let prev = 0;
  for (let i = 0; i < nStrings; i++) {
    const end = dv.getUint32(HEADER_BYTES + 4 * i, true);
    if (end < prev || end > textBytes) {
      invalid.push(
        frameError(
          `string ${i} ends at ${end}, outside ${prev}-${textBytes} (offsets must grow within the text)`,
          HEADER_BYTES + 4 * i,
        ),
      );
      return;
    }
    prev = end;
  }
  const batch = new BinaryBatch(data, dv, nStrings, textAt);
  for (let r = 0; r < count; r++) {
    const at = recordsAt + r * BINARY_RECORD_BYTES;
    const line = r + 1;
    const wrong = checkRecord(dv, at, nStrings);
    if (wrong !== undefined) {
      const cause = new EventValidationError(wrong.path, wrong.reason);
      invalid.push(
        new InvalidBatchEventError(line, wrong.path, `${wrong.reason} (record at byte ${at})`, { cause }),
      );
      continue;
    }
    if ((dv.getUint32(at, true) & F_JSON) !== 0) {
      const text = batch.string(dv.getUint32(at + 4 * S_TS, true));
      try {
        events.push(parseEvent(JSON.parse(text)));
      } catch (err) {
        if (err instanceof EventValidationError)
          invalid.push(new InvalidBatchEventError(line, err.path, err.reason, { cause: err }));
        else
          invalid.push(
            new InvalidBatchEventError(line, '$', `not JSON: ${(err as Error).message}`, { cause: err }),
          );
      }
      continue;
    }
    events.push(new BinaryEventView(batch, at, line));
  }
}

/** Slot → the path it is reported under, and whether it must be present (syscall records). */
const SLOTS: readonly { readonly path: string; readonly required: boolean }[] = [
  { path: '$', required: false },
  { path: '$.ts', required: true },
  { path: '$.type', required: true },
  { path: '$.hostname', required: false },
  ...PARTS.map((part) => ({ path: `$.${part}`, required: REQUIRED.includes(part) })),
];
/** Per slot, 1 when the slot must hold an index. */
const REQUIRED_SLOTS = SLOTS.map((s) => (s.required ? 1 : 0));
const FLOATS = [
  [F_NUM, F_NUM_AT, '$.num'],
  [F_CPU, F_CPU_AT, '$.cpu'],
  [F_RES, F_RES_AT, '$.res'],
] as const;

/** What is wrong with a record's frame, or undefined. Straight loops: it runs for every record. */
function checkRecord(
  dv: DataView,
  at: number,
  nStrings: number,
): { path: string; reason: string } | undefined {
  const flags = dv.getUint32(at, true);
  if ((flags & ~KNOWN_FLAGS) !== 0)
    return { path: '$', reason: `unknown record flags 0x${flags.toString(16)}` };
  if ((flags & F_JSON) !== 0) return checkSlot(dv, at, S_TS, nStrings, '$', true);
  for (let k = 1; k < U32_SLOTS; k++) {
    const i = dv.getUint32(at + 4 * k, true);
    if (i === NONE ? REQUIRED_SLOTS[k] === 1 : i >= nStrings) {
      const slot = SLOTS[k] as { path: string; required: boolean };
      return checkSlot(dv, at, k, nStrings, slot.path, slot.required);
    }
  }
  for (const [flag, off, path] of FLOATS) {
    if ((flags & flag) === 0) continue;
    const v = dv.getFloat64(at + off, true);
    if (!Number.isInteger(v)) return { path, reason: `expected an integer, got ${v}` };
  }
  if ((flags & F_DIR_ENTRY) !== 0 && (flags & F_DIR) === 0)
    return { path: '$.dir', reason: 'entry flag without the dir flag' };
  return undefined;
}

function checkSlot(
  dv: DataView,
  at: number,
  slot: number,
  nStrings: number,
  path: string,
  required: boolean,
): { path: string; reason: string } | undefined {
  const i = dv.getUint32(at + 4 * slot, true);
  if (i === NONE) return required ? { path, reason: 'required, absent' } : undefined;
  if (i >= nStrings) return { path, reason: `string ${i} is not in the table (${nStrings} strings)` };
  return undefined;
}

/** One decoded batch: its string table, decoded and parsed on demand, once per entry. */
class BinaryBatch {
  readonly #buf: Buffer;
  readonly dv: DataView;
  readonly #n: number;
  readonly #textAt: number;
  readonly #strings: (string | undefined)[];
  readonly #parsed: unknown[];
  /** Per string: why it is not JSON, once a read found out. */
  readonly #failed: (EventValidationError | undefined)[];
  /** Per string: the parts (bit 1 << P_…) it passed the check of. */
  readonly #passed: Uint16Array;
  /** Per string: the type/ts checks passed (1: type, 2: ts). */
  readonly #scalars: Uint8Array;
  /** Events (by line) found invalid when read. */
  readonly faults = new Map<number, InvalidBatchEventError>();

  constructor(data: Uint8Array, dv: DataView, n: number, textAt: number) {
    this.#buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.dv = dv;
    this.#n = n;
    this.#textAt = textAt;
    this.#strings = new Array(n);
    this.#parsed = new Array(n);
    this.#failed = new Array(n);
    this.#passed = new Uint16Array(n);
    this.#scalars = new Uint8Array(n);
  }

  string(i: number): string {
    let s = this.#strings[i];
    if (s === undefined) {
      const start = i === 0 ? 0 : this.dv.getUint32(HEADER_BYTES + 4 * (i - 1), true);
      const end = this.dv.getUint32(HEADER_BYTES + 4 * i, true);
      s = this.#buf.toString('utf8', this.#textAt + start, this.#textAt + end);
      this.#strings[i] = s;
    }
    return s;
  }

  /** The ts (bit 2) or type (bit 1) string at `i`, checked once. */
  scalar(i: number, key: 'ts' | 'type', line: number): string {
    const s = this.string(i);
    const bit = key === 'type' ? 1 : 2;
    if (((this.#scalars[i] as number) & bit) === 0) {
      this.#guard(line, () => checkSyscallScalar(key, s));
      (this.#scalars as Uint8Array)[i] = (this.#scalars[i] as number) | bit;
    }
    return s;
  }

  /** Part number `p` (P_ARGS…) of the event at `line`, whose slot holds `i`. */
  part(i: number, p: number, line: number): unknown {
    // Absent: only optional parts can be (checkRecord refuses a record without a required one).
    if (i === NONE) return undefined;
    // The common case: this string was parsed and passed this part's check already.
    if (((this.#passed[i] as number) & (1 << p)) !== 0) return this.#parsed[i];
    return this.#firstRead(i, p, line);
  }

  /** A part's first read as this part: parse (once per string), check, or fail naming why. */
  #firstRead(i: number, p: number, line: number): unknown {
    const part = PARTS[p] as SyscallPart;
    let failed = this.#failed[i];
    let v = this.#parsed[i];
    if (v === undefined && failed === undefined) {
      try {
        v = JSON.parse(this.string(i));
        deepFreeze(v);
        this.#parsed[i] = v;
      } catch (err) {
        failed = new EventValidationError(`$.${part}`, `not JSON: ${(err as Error).message}`);
        this.#failed[i] = failed;
      }
    }
    if (failed !== undefined) {
      const error = failed;
      this.#guard(line, () => {
        throw error;
      });
    }
    this.#guard(line, () => checkSyscallPart(part, v));
    (this.#passed as Uint16Array)[i] = (this.#passed[i] as number) | (1 << p);
    return v;
  }

  #guard(line: number, check: () => void): void {
    try {
      check();
    } catch (err) {
      if (!this.faults.has(line)) {
        const e = err instanceof EventValidationError ? err : new EventValidationError('$', String(err));
        this.faults.set(line, new InvalidBatchEventError(line, e.path, e.reason, { cause: e }));
      }
      throw err;
    }
  }
}

export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
}

type Joinable = Pick<SyscallEvent, 'container' | 'k8s'>;

/** The getters of LAZY_PARTS, put on the class's prototype after it. */
interface BinaryEventView extends Pick<SyscallEvent, (typeof LAZY_PARTS)[number][0]> {}

/**
 * A syscall event read in place from a binary batch: every field is decoded
 * when read (once per batch for what events share). Parts are frozen and
 * shared; `container` and `k8s` can be set (the engine's metadata join).
 * JSON.stringify gives the event's JSON, as the JSON codecs carry it.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface declares the LAZY_PARTS getters defined on the prototype
class BinaryEventView implements SyscallEvent {
  readonly #b: BinaryBatch;
  readonly #at: number;
  readonly #line: number;
  #joined: Joinable | undefined;

  constructor(batch: BinaryBatch, at: number, line: number) {
    this.#b = batch;
    this.#at = at;
    this.#line = line;
  }

  get source(): 'syscall' {
    return 'syscall';
  }
  get type(): string {
    return this.#b.scalar(this.#b.dv.getUint32(this.#at + 4 * S_TYPE, true), 'type', this.#line);
  }
  get ts(): string {
    return this.#b.scalar(this.#b.dv.getUint32(this.#at + 4 * S_TS, true), 'ts', this.#line);
  }
  get hostname(): string | undefined {
    const i = this.#b.dv.getUint32(this.#at + 4 * S_HOST, true);
    return i === NONE ? undefined : this.#b.string(i);
  }
  get num(): number | undefined {
    return this.#flag(F_NUM) ? this.#b.dv.getFloat64(this.#at + F_NUM_AT, true) : undefined;
  }
  get cpu(): number | undefined {
    return this.#flag(F_CPU) ? this.#b.dv.getFloat64(this.#at + F_CPU_AT, true) : undefined;
  }
  get res(): number | undefined {
    return this.#flag(F_RES) ? this.#b.dv.getFloat64(this.#at + F_RES_AT, true) : undefined;
  }
  get dir(): '<' | '>' | undefined {
    if (!this.#flag(F_DIR)) return undefined;
    return this.#flag(F_DIR_ENTRY) ? '>' : '<';
  }
  get container(): SyscallEvent['container'] {
    return this.#joined?.container ?? (this.#part(P_CONTAINER) as SyscallEvent['container']);
  }
  set container(value: SyscallEvent['container']) {
    this.#joined = { container: value, k8s: this.#joined === undefined ? this.#ownK8s() : this.#joined.k8s };
  }
  get k8s(): SyscallEvent['k8s'] {
    return this.#joined === undefined ? this.#ownK8s() : this.#joined.k8s;
  }
  set k8s(value: SyscallEvent['k8s']) {
    this.#joined = { container: this.#joined?.container ?? this.container, k8s: value };
  }

  /** The event as a plain object, keys in the JSON codecs' order. */
  toJSON(): SyscallEvent {
    return toPlainEvent(this) as SyscallEvent;
  }

  /** Why this event is invalid, once a read found out; undefined while none did. */
  fault(): InvalidBatchEventError | undefined {
    const faults = this.#b.faults;
    return faults.size === 0 ? undefined : faults.get(this.#line);
  }

  #ownK8s(): SyscallEvent['k8s'] {
    return this.#part(P_K8S) as SyscallEvent['k8s'];
  }
  #flag(bit: number): boolean {
    return (this.#b.dv.getUint32(this.#at, true) & bit) !== 0;
  }
  #part(p: number): unknown {
    const b = this.#b;
    return b.part(b.dv.getUint32(this.#at + 4 * (S_PART_0 + p), true), p, this.#line);
  }

  /** Reads part number `p` (the getters of LAZY_PARTS, defined below). */
  static read(view: BinaryEventView, p: number): unknown {
    return view.#part(p);
  }
}

/** The parts read through plain getters, by number; container and k8s have their own (the join sets them). */
const LAZY_PARTS = [
  ['args', P_ARGS],
  ['rawargs', P_RAWARGS],
  ['proc', P_PROC],
  ['ancestors', P_ANCESTORS],
  ['user', P_USER],
  ['group', P_GROUP],
  ['fd', P_FD],
] as const;
for (const [name, p] of LAZY_PARTS) {
  Object.defineProperty(BinaryEventView.prototype, name, {
    get(this: BinaryEventView) {
      return BinaryEventView.read(this, p);
    },
  });
}

const PLAIN_ORDER = [
  'source',
  'ts',
  'num',
  'cpu',
  'hostname',
  'type',
  'dir',
  'res',
  'args',
  'rawargs',
  'proc',
  'ancestors',
  'user',
  'group',
  'fd',
  'container',
  'k8s',
] as const;

/** An event as a plain object (a view's fields read out; any other event as it is). */
export function toPlainEvent(event: SakerEvent): SakerEvent {
  if (!(event instanceof BinaryEventView)) return event;
  const out: Record<string, unknown> = {};
  for (const k of PLAIN_ORDER) {
    const v = event[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as SakerEvent;
}

/**
 * Reads every field of a binary view, so that a part nobody read yet is
 * checked too; returns why the event is invalid, or undefined (always for
 * events that are not views). Consumers call it before acting on an event
 * they may otherwise have read only in part.
 */
export function checkView(event: SakerEvent): InvalidBatchEventError | undefined {
  if (!(event instanceof BinaryEventView)) return undefined;
  try {
    toPlainEvent(event);
  } catch {
    // recorded as the view's fault
  }
  return event.fault();
}

/** Why a binary view was found invalid when read; undefined for other events and valid views. */
export function viewFault(event: SakerEvent): InvalidBatchEventError | undefined {
  return event instanceof BinaryEventView ? event.fault() : undefined;
}
