import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SakerEvent, type SyscallEvent, parseEvent } from '@saker/events';
import { BATCH_CODEC_BINARY, checkView, viewFault } from '../src/batch-binary.js';
import {
  BATCH_CODEC,
  type BatcherOptions,
  EventBatcher,
  batchHeaders,
  busBatchSender,
  decodeBatch,
  encodeBatch,
} from '../src/batch.js';
import { InvalidBatchEventError } from '../src/errors.js';
import { MemoryBus } from '../src/memory/bus.js';
import { HEADERS, SUBJECTS } from '../src/subjects.js';
import { take } from './helpers.js';

const BIN = batchHeaders(0, BATCH_CODEC_BINARY);

function event(i: number, extra: Partial<SyscallEvent> = {}): SyscallEvent {
  const pid = 100 + (i % 3);
  return {
    source: 'syscall',
    ts: String(1_700_000_000_000_000_000n + BigInt(i)),
    num: i + 1,
    cpu: i % 2,
    hostname: 'node-é1',
    type: i % 2 === 0 ? 'openat' : 'execve',
    dir: i % 5 === 0 ? '>' : '<',
    res: i % 4 === 0 ? -13 : 3,
    args: { fd: 3, name: `/etc/shadow-${i}`, flags: 'O_RDONLY' },
    rawargs: { flags: 0 },
    proc: { pid, tid: pid, name: 'cat', exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow', 'ünï'] },
    ancestors: [{ pid: 1, name: 'systemd', exepath: '/usr/lib/systemd/systemd' }],
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'a1b2c3d4e5f6', image: 'nginx:1.25' },
    k8s: { pod_name: 'web-1', ns_name: 'shop' },
    ...extra,
  } as SyscallEvent;
}

/** The event as JSON values (key order aside). */
const plain = (e: SakerEvent): unknown => JSON.parse(JSON.stringify(e));

describe('batch codec binary-v1', () => {
  it('round-trips events field for field, JSON.stringify of a view included', () => {
    const events: SakerEvent[] = Array.from({ length: 40 }, (_, i) => event(i));
    // One with optional fields absent, one k8s_audit event (carried as JSON), one with a key the record has no slot for.
    const bare = event(40);
    const {
      num: _n,
      cpu: _c,
      hostname: _h,
      dir: _d,
      res: _r,
      rawargs: _ra,
      ancestors: _a,
      fd: _f,
      k8s: _k,
      ...rest
    } = bare;
    events.push(rest as SyscallEvent);
    events.push({
      source: 'k8s_audit',
      ts: '1700000000000000000',
      event: {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        auditID: 'x',
        stage: 'ResponseComplete',
        requestURI: '/api',
        verb: 'get',
        user: { username: 'u' },
      },
    } as unknown as SakerEvent);
    events.push({ ...event(41), extra: 'kept' } as unknown as SakerEvent);
    const enc = encodeBatch(events, { codec: BATCH_CODEC_BINARY });
    assert.equal(enc.codec, BATCH_CODEC_BINARY);
    const { events: out, invalid } = decodeBatch(enc.data, BIN);
    assert.deepEqual(invalid, []);
    assert.equal(out.length, events.length);
    for (let i = 0; i < events.length; i++) {
      assert.deepEqual(plain(out[i] as SakerEvent), plain(events[i] as SakerEvent), `event ${i}`);
      assert.equal(checkView(out[i] as SakerEvent), undefined);
    }
    // Parts shared by events of the batch are one frozen object.
    const a = out[0] as SyscallEvent;
    const b = out[3] as SyscallEvent;
    assert.equal(a.proc, b.proc);
    assert.ok(Object.isFrozen(a.proc) && Object.isFrozen(a.proc.args));
  });

  it('keeps process-table updates exact across batches: a new frozen part, or an unfrozen one changed in place', () => {
    const proc = Object.freeze({ ...event(0).proc, args: Object.freeze(['a']) });
    const first = encodeBatch([{ ...event(0), proc }], { codec: BATCH_CODEC_BINARY });
    // The sensor replaces a frozen part with a new one when the process changes (here: its cwd).
    const moved = Object.freeze({ ...proc, cwd: '/tmp' });
    const second = encodeBatch([{ ...event(1), proc: moved }], { codec: BATCH_CODEC_BINARY });
    const cwd = (data: Uint8Array): unknown => (decodeBatch(data, BIN).events[0] as SyscallEvent).proc.cwd;
    assert.equal(cwd(first.data), undefined);
    assert.equal(cwd(second.data), '/tmp');
    // A part that is not frozen all the way down is written out again in every batch.
    const args = ['x'];
    const loose = Object.freeze({ ...proc, args });
    const a = encodeBatch([{ ...event(2), proc: loose }], { codec: BATCH_CODEC_BINARY });
    args[0] = 'y';
    const b = encodeBatch([{ ...event(3), proc: loose }], { codec: BATCH_CODEC_BINARY });
    const arg0 = (data: Uint8Array): unknown =>
      (decodeBatch(data, BIN).events[0] as SyscallEvent).proc.args[0];
    assert.equal(arg0(a.data), 'x');
    assert.equal(arg0(b.data), 'y');
  });

  it('is smaller than JSON lines', () => {
    const events = Array.from({ length: 512 }, (_, i) => event(i));
    const bin = encodeBatch(events, { codec: BATCH_CODEC_BINARY }).data.length;
    const json = encodeBatch(events, { codec: BATCH_CODEC }).data.length;
    assert.ok(bin < json / 2, `binary ${bin} B, jsonl ${json} B`);
  });

  it('decodes a part only when read: a bad part leaves the type readable and faults the event once read', () => {
    const events = [event(0), event(1)];
    const data = encodeBatch(events, { codec: BATCH_CODEC_BINARY }).data;
    // Spoil the proc JSON text in place (same length): `"pid":100` becomes `"pid":"00`.
    const text = Buffer.from(data).toString('latin1');
    const at = text.indexOf('"pid":100');
    assert.ok(at > 0);
    const bad = Buffer.from(data);
    bad.write('"pid":"00', at, 'latin1');
    const { events: out, invalid } = decodeBatch(bad, BIN);
    assert.deepEqual(invalid, []);
    const e = out[0] as SyscallEvent;
    assert.equal(e.type, 'openat');
    assert.equal(e.fd?.name, '/etc/shadow');
    assert.equal(viewFault(e), undefined, 'nothing wrong read yet');
    assert.throws(() => e.proc, /\$\.proc/);
    const fault = viewFault(e);
    assert.ok(fault instanceof InvalidBatchEventError);
    assert.equal(fault.line, 1);
    assert.match(fault.path, /^\$\.proc/);
    // The second event carries another proc (pid 101): valid.
    assert.equal(checkView(out[1] as SakerEvent), undefined);
  });

  it('names what is wrong with a frame and where', () => {
    const good = encodeBatch([event(0)], { codec: BATCH_CODEC_BINARY }).data;
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 10), /10 bytes, shorter than the 16-byte header \(at byte 0\)/],
      [Buffer.concat([Buffer.from('XYZ'), good.subarray(3)]), /does not start with "SKB"/],
      [
        Buffer.concat([good.subarray(0, 3), Buffer.from([9]), good.subarray(4)]),
        /format version 9, this decoder reads 1 \(at byte 3\)/,
      ],
      [good.subarray(0, good.length - 1), /header says 1 events, .* the message has/],
    ];
    for (const [data, reason] of cases) {
      const { events, invalid } = decodeBatch(data, BIN);
      assert.equal(events.length, 0);
      assert.equal(invalid.length, 1);
      assert.match(invalid[0]?.reason ?? '', reason);
    }
    // A huge event count in a short message allocates nothing and is refused.
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xfffffff0, 4);
    assert.match(decodeBatch(huge, BIN).invalid[0]?.reason ?? '', /header says 4294967280 events/);
  });

  it('fuzz: random and mutated bytes never throw, every error names a line and path, valid events stay whole', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = encodeBatch(
      Array.from({ length: 20 }, (_, i) => event(i)),
      { codec: BATCH_CODEC_BINARY },
    ).data;
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      let data: Uint8Array;
      const kind = round % 4;
      if (kind === 0) {
        data = Uint8Array.from({ length: rnd(200) }, () => rnd(256));
      } else {
        const m = Buffer.from(base);
        const flips = 1 + rnd(kind === 3 ? 40 : 4);
        for (let k = 0; k < flips; k++) m[rnd(m.length)] = rnd(256);
        data = kind === 2 ? m.subarray(0, rnd(m.length + 1)) : m;
      }
      const { events, invalid } = decodeBatch(data, BIN);
      for (const err of invalid) {
        assert.ok(err instanceof InvalidBatchEventError);
        assert.ok(err.line >= 1 && err.path.startsWith('$') && err.reason.length > 0, err.message);
      }
      for (const e of events) {
        const fault = checkView(e);
        if (fault !== undefined) {
          assert.ok(fault.path.startsWith('$') && fault.reason.length > 0);
          refused++;
          continue;
        }
        // An event accepted whole is a valid event, all of it readable.
        parseEvent(plain(e));
        accepted++;
      }
      // Records only go missing when the frame itself is refused.
      if (invalid.every((err) => !err.reason.startsWith('binary batch:')) && data.length >= 16)
        assert.equal(events.length + invalid.length, Buffer.from(data).readUInt32LE(4));
    }
    assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
  });
});

describe('EventBatcher, adaptive', () => {
  /** Turns of the event loop, without timers (the machine may be too loaded for short ones). */
  const turns = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  const until = async (check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };
  /** A batcher whose sends return at once (the memory bus), and the size of each batch it sent. */
  const recording = (options: Omit<BatcherOptions, 'send'>): { b: EventBatcher; sent: number[] } => {
    const sent: number[] = [];
    return { b: new EventBatcher({ ...options, send: (batch) => void sent.push(batch.count) }), sent };
  };

  it('sends an event at once on an idle path, and what comes during a send as one batch when it completes', async () => {
    const sent: number[] = [];
    let release: (() => void) | undefined;
    const b = new EventBatcher({
      send: (batch) => {
        sent.push(batch.count);
        return new Promise<void>((r) => {
          release = r;
        });
      },
      flushIntervalMs: 60_000,
      minGapMs: 0,
    });
    b.add(event(0));
    await Promise.resolve();
    assert.deepEqual(sent, [1], 'the lone event went out in the same tick');
    for (let i = 1; i <= 10; i++) b.add(event(i));
    await turns(5);
    assert.deepEqual(sent, [1], 'events wait while a send is under way');
    release?.();
    await turns(2);
    assert.deepEqual(sent, [1, 10], 'and go as one batch when it completes, not after the linger');
    release?.();
    await b.close();
    assert.equal(b.stats().published, 11);
  });

  it('batches a steady flow even when sends return at once (the memory bus), and is idle again after minGapMs', async () => {
    const { b, sent } = recording({ flushIntervalMs: 60_000, minGapMs: 300 });
    b.add(event(0));
    await turns(1);
    assert.deepEqual(sent, [1]);
    for (let i = 1; i <= 20; i++) {
      b.add(event(i));
      await turns(1);
    }
    assert.deepEqual(sent, [1], 'a flow right after a send waits for minGapMs');
    await until(() => sent.length === 2);
    assert.deepEqual(sent, [1, 20], 'then goes as one batch, long before the linger');
    await new Promise((r) => setTimeout(r, 350));
    b.add(event(21));
    await Promise.resolve();
    assert.deepEqual(sent, [1, 20, 1], 'idle for minGapMs: at once again');
    await b.close();
  });

  it('after a batch of a flow (an eighth of maxEvents or more), the next one fills or lingers', async () => {
    const { b, sent } = recording({ maxEvents: 16, flushIntervalMs: 300, minGapMs: 0 });
    for (let i = 0; i < 16; i++) b.add(event(i));
    await turns(1);
    assert.deepEqual(sent, [16], 'the full batch went');
    b.add(event(16));
    await turns(5);
    assert.deepEqual(sent, [16], 'a flow: the next one waits');
    for (let i = 17; i < 32; i++) b.add(event(i));
    await turns(1);
    assert.deepEqual(sent, [16, 16], 'and goes once full');
    b.add(event(32));
    await until(() => sent.length === 3);
    assert.deepEqual(sent, [16, 16, 1], 'or after the linger');
    b.add(event(33));
    await Promise.resolve();
    assert.deepEqual(sent, [16, 16, 1, 1], 'after a small batch, an idle path sends at once again');
    for (let i = 34; i < 36; i++) b.add(event(i));
    await turns(1);
    assert.deepEqual(sent, [16, 16, 1, 1, 2], 'two of 16 is a flow already');
    b.add(event(36));
    await turns(5);
    assert.deepEqual(sent, [16, 16, 1, 1, 2], 'so the next one lingers');
    await b.close();
  });

  it('under load, a batch goes out after the linger at the latest', async () => {
    const sent: number[] = [];
    const b = new EventBatcher({
      send: (batch) => {
        sent.push(batch.count);
        return sent.length === 1 ? new Promise<void>(() => {}) : undefined;
      },
      flushIntervalMs: 10,
    });
    b.add(event(0));
    await Promise.resolve();
    for (let i = 1; i <= 3; i++) b.add(event(i));
    await until(() => sent.length === 2);
    assert.deepEqual(sent, [1, 3]);
  });

  it('publishes binary batches a consumer decodes, with the codec header', async () => {
    const bus = new MemoryBus();
    const subject = SUBJECTS.syscallEvents('node1');
    const sub = bus.subscribe(subject);
    const b = new EventBatcher({ send: busBatchSender(bus, subject) });
    for (let i = 0; i < 3; i++) b.add(event(i));
    await b.close();
    const [msg] = await take(sub[Symbol.asyncIterator](), 1);
    assert.equal(msg?.headers?.[HEADERS.batchCodec], BATCH_CODEC_BINARY);
    const { events } = decodeBatch(msg?.data ?? new Uint8Array(), msg?.headers);
    assert.deepEqual(
      events.map(plain),
      [0, 1, 2].map((i) => plain(event(i))),
    );
    await bus.close();
  });

  it('keeps a batch under maxBytes in binary too, carrying the event that did not fit to the next', async () => {
    const sizes: number[] = [];
    const b = new EventBatcher({
      send: (batch) => {
        sizes.push(batch.data.length);
      },
      maxBytes: 1500,
      maxInFlight: 100,
      flushIntervalMs: 60_000,
    });
    let accepted = 0;
    for (let i = 0; i < 30; i++) if (b.add(event(i))) accepted++;
    await b.close();
    assert.equal(accepted, 30);
    assert.equal(b.stats().published, 30);
    assert.ok(
      sizes.every((n) => n <= 1500),
      String(sizes),
    );
  });
});
