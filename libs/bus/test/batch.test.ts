import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SakerEvent } from '@saker/events';
import {
  BATCH_CODEC,
  type EncodedBatch,
  EventBatcher,
  busBatchSender,
  decodeBatch,
  encodeBatch,
} from '../src/batch.js';
import { InvalidBatchEventError } from '../src/errors.js';
import { MemoryBus } from '../src/memory/bus.js';
import { HEADERS } from '../src/subjects.js';
import { bytes, take, withDeadline } from './helpers.js';

function event(pid: number): SakerEvent {
  return {
    source: 'syscall',
    ts: String(1_700_000_000_000_000_000n + BigInt(pid)),
    type: 'openat',
    res: 3,
    args: { fd: 3, name: '/etc/shadow' },
    proc: { pid, tid: pid, name: 'cat', exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'host' },
  } as unknown as SakerEvent;
}

/** A sender that records batches and lets the test decide when each send completes. */
function controlledSender() {
  const sent: EncodedBatch[] = [];
  const waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  let notify: (() => void) | undefined;
  return {
    sent,
    waiting,
    send: (batch: EncodedBatch): Promise<void> => {
      sent.push(batch);
      notify?.();
      return new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    },
    /** Resolves once `n` batches have been handed to the sender. */
    sentCount(n: number): Promise<void> {
      if (sent.length >= n) return Promise.resolve();
      return withDeadline(
        new Promise<void>((resolve) => {
          notify = () => {
            if (sent.length >= n) resolve();
          };
        }),
        5_000,
        `${n} batches`,
      );
    },
  };
}

describe('batch codec (JSON lines)', () => {
  it('round-trips events', () => {
    const events = [event(1), event(2), event(3)];
    const batch = encodeBatch(events);
    assert.equal(batch.count, 3);
    const decoded = decodeBatch(batch.data);
    assert.equal(decoded.invalid.length, 0);
    assert.deepEqual(
      decoded.events.map((e) => (e.source === 'syscall' ? e.proc.pid : 0)),
      [1, 2, 3],
    );
  });

  it('reports bad lines with line and path, and keeps the good ones', () => {
    const good = JSON.stringify(event(7));
    const badPid = JSON.stringify({
      ...event(8),
      proc: { ...(event(8) as { proc: object }).proc, pid: '8' },
    });
    const data = bytes([good, '{not json', '', badPid, '42', good].join('\n'));
    const { events, invalid } = decodeBatch(data);
    assert.equal(events.length, 2);
    assert.deepEqual(
      invalid.map((e) => [e.line, e.path]),
      [
        [2, '$'],
        [4, '$.proc.pid'],
        [5, '$'],
      ],
    );
    for (const e of invalid) {
      assert.ok(e instanceof InvalidBatchEventError);
      assert.equal(e.name, 'InvalidBatchEventError');
      assert.ok(e.cause !== undefined);
    }
  });

  it('never throws, whatever the bytes', () => {
    const junk = new Uint8Array(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 256;
    const { events, invalid } = decodeBatch(junk);
    assert.equal(events.length, 0);
    assert.ok(invalid.length > 0);
    assert.deepEqual(decodeBatch(new Uint8Array(0)), { events: [], invalid: [] });
  });

  it('refuses a batch in another codec as a whole', () => {
    const { events, invalid } = decodeBatch(encodeBatch([event(1)]).data, { [HEADERS.batchCodec]: 'cbor' });
    assert.equal(events.length, 0);
    assert.match(invalid[0]?.reason ?? '', /unknown batch codec "cbor"/);
  });
});

describe('EventBatcher', () => {
  it('flushes when a batch reaches maxEvents, and on close', async () => {
    const s = controlledSender();
    const b = new EventBatcher({ send: s.send, maxEvents: 3, flushIntervalMs: 60_000, maxInFlight: 10 });
    for (let i = 0; i < 7; i++) assert.equal(b.add(event(i)), true);
    assert.deepEqual(
      s.sent.map((x) => x.count),
      [3, 3],
    );
    const closing = b.close();
    await s.sentCount(3);
    for (const w of s.waiting) w.resolve();
    await closing;
    assert.deepEqual(
      s.sent.map((x) => x.count),
      [3, 3, 1],
    );
    assert.deepEqual(b.stats(), {
      accepted: 7,
      published: 7,
      dropped: 0,
      batches: 3,
      failedBatches: 0,
      inFlight: 0,
      buffered: 0,
    });
    assert.equal(b.add(event(99)), false, 'closed');
    assert.equal(b.stats().dropped, 1);
  });

  it('flushes when the next event would pass maxBytes', async () => {
    const s = controlledSender();
    const one = encodeBatch([event(1)]).data.byteLength + 1;
    const b = new EventBatcher({ send: s.send, maxBytes: one * 2 + 1, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) b.add(event(i));
    assert.deepEqual(
      s.sent.map((x) => x.count),
      [2, 2],
    );
    for (const x of s.sent) assert.ok(x.data.byteLength <= one * 2 + 1);
    assert.equal(b.stats().buffered, 1);
    const closing = b.close();
    await s.sentCount(3);
    for (const w of s.waiting) w.resolve();
    await closing;
  });

  it('flushes a partial batch after flushIntervalMs', async () => {
    const s = controlledSender();
    const b = new EventBatcher({ send: s.send, maxEvents: 100, flushIntervalMs: 20 });
    b.add(event(1));
    b.add(event(2));
    assert.equal(s.sent.length, 0);
    await s.sentCount(1);
    assert.equal(s.sent[0]?.count, 2);
    for (const w of s.waiting) w.resolve();
    await b.close();
  });

  it('drops and counts events when every send slot is busy, and catches up after', async () => {
    const s = controlledSender();
    const b = new EventBatcher({ send: s.send, maxEvents: 2, maxInFlight: 1, flushIntervalMs: 60_000 });
    b.add(event(1));
    b.add(event(2)); // batch 1 in flight
    b.add(event(3));
    b.add(event(4)); // open batch full, no slot
    assert.equal(b.add(event(5)), false);
    assert.equal(b.add(event(6)), false);
    assert.deepEqual([b.stats().dropped, b.stats().inFlight, b.stats().buffered], [2, 1, 2]);
    s.waiting[0]?.resolve();
    await s.sentCount(2); // the full batch goes as soon as the slot frees
    assert.equal(s.sent[1]?.count, 2);
    s.waiting[1]?.resolve();
    await b.close();
    const st = b.stats();
    assert.deepEqual([st.accepted, st.published, st.dropped, st.batches], [4, 4, 2, 2]);
  });

  it('counts a failed send as dropped and reports it', async () => {
    const errors: Array<[unknown, number]> = [];
    const b = new EventBatcher({
      send: () => Promise.reject(new Error('bus closed')),
      maxEvents: 3,
      onError: (err, n) => errors.push([err, n]),
    });
    for (let i = 0; i < 3; i++) b.add(event(i));
    await b.close();
    assert.deepEqual([b.stats().dropped, b.stats().failedBatches, b.stats().published], [3, 1, 0]);
    assert.equal(errors[0]?.[1], 3);
  });

  it('drops an event bigger than maxBytes on its own', async () => {
    const s = controlledSender();
    const b = new EventBatcher({ send: s.send, maxBytes: 64 });
    assert.equal(b.add(event(1)), false);
    assert.equal(b.stats().dropped, 1);
    await b.close();
  });

  it('rejects nonsense options, naming the option', () => {
    assert.throws(() => new EventBatcher({ send: () => undefined, maxEvents: 0 }), /maxEvents/);
    assert.throws(
      () => new EventBatcher({ send: () => undefined, flushIntervalMs: Number.NaN }),
      /flushIntervalMs/,
    );
    assert.throws(
      () => new EventBatcher({ send: () => undefined, flushIntervalMs: 5, minGapMs: 6 }),
      /minGapMs must be between 0 and flushIntervalMs \(5\), got 6/,
    );
  });

  it('publishes batches on the bus with codec headers', async () => {
    await using bus = new MemoryBus();
    const sub = bus.subscribe('saker.v1.events.syscall.*');
    const b = new EventBatcher({
      send: busBatchSender(bus, 'saker.v1.events.syscall.node1'),
      maxEvents: 2,
      codec: BATCH_CODEC,
    });
    for (let i = 0; i < 4; i++) b.add(event(i));
    await b.close();
    const msgs = await take(sub[Symbol.asyncIterator](), 2);
    assert.equal(msgs[0]?.headers[HEADERS.batchCodec], BATCH_CODEC);
    assert.equal(msgs[0]?.headers[HEADERS.batchCount], '2');
    const all = msgs.flatMap((m) => decodeBatch(m.data, m.headers).events);
    assert.equal(all.length, 4);
  });
});
