import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SakerEvent, SyscallEvent } from '@saker/events';
import {
  BATCH_CODEC,
  BATCH_CODEC_V2,
  batchHeaders,
  busBatchSender,
  decodeBatch,
  encodeBatch,
} from '../src/batch.js';
import { MemoryBus } from '../src/memory/bus.js';
import { subjectMatches } from '../src/subject-syntax.js';
import { HEADERS, SUBJECTS } from '../src/subjects.js';
import { bytes, take } from './helpers.js';

const V2 = batchHeaders(0, BATCH_CODEC_V2);

function event(pid: number, uid = 0): SyscallEvent {
  return {
    source: 'syscall',
    ts: String(1_700_000_000_000_000_000n + BigInt(pid)),
    type: 'openat',
    res: 3,
    args: { fd: 3, name: '/etc/shadow' },
    proc: { pid, tid: pid, name: 'cat', exe: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] },
    ancestors: [{ pid: 1, name: 'systemd', exepath: '/usr/lib/systemd/systemd' }],
    user: { uid, name: uid === 0 ? 'root' : 'app' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'a1b2c3d4e5f6', image: 'nginx:1.25' },
    k8s: { pod_name: 'web-1', ns_name: 'shop' },
  } as SyscallEvent;
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

describe('batch codec v2 (jsonl-shared)', () => {
  it('round-trips events, carrying each shared sub-object once, and shares frozen parts', () => {
    const events: SakerEvent[] = [event(1), event(1), event(2), event(3, 1000)];
    const batch = encodeBatch(events, { codec: BATCH_CODEC_V2 });
    assert.equal(batch.codec, BATCH_CODEC_V2);
    assert.equal(batch.count, 4);
    const lines = text(batch.data).split('\n');
    assert.equal(lines.length, 5);
    const table = JSON.parse(lines[0] ?? '') as { shared: unknown[] };
    // Parts two or more events carry: proc of pid 1, ancestors, root, group, container, k8s.
    // The procs of pids 2 and 3 and the user uid 1000 are carried once: inline.
    assert.equal(table.shared.length, 6);
    assert.match(lines[3] ?? '', /"proc":\{"pid":2,/);
    assert.ok(batch.data.byteLength < encodeBatch(events).data.byteLength);

    const decoded = decodeBatch(batch.data, batchHeaders(batch.count, BATCH_CODEC_V2));
    assert.deepEqual(decoded.invalid, []);
    assert.deepEqual(decoded.events, events);
    const [a, b] = decoded.events as SyscallEvent[];
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(a.proc, b.proc, 'equal parts decode to one object');
    assert.equal(a.container, b.container);
    assert.ok(Object.isFrozen(a.proc) && Object.isFrozen(a.proc.args) && Object.isFrozen(a.ancestors?.[0]));
    assert.ok(!Object.isFrozen(a), 'the event itself is its own');
  });

  it('keeps k8s_audit events and short parts inline', () => {
    const audit = {
      source: 'k8s_audit',
      ts: '1',
      event: {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Event',
        level: 'Metadata',
        auditID: 'x',
        stage: 'ResponseComplete',
        requestURI: '/api',
        verb: 'get',
        user: {},
      },
    } as SakerEvent;
    const small = { ...event(5), ancestors: [] } as SakerEvent;
    const batch = encodeBatch([audit, small], { codec: BATCH_CODEC_V2 });
    assert.match(text(batch.data), /"ancestors":\[\]/);
    const decoded = decodeBatch(batch.data, V2);
    assert.deepEqual(decoded.invalid, []);
    assert.deepEqual(decoded.events, [audit, small]);
  });

  it('reports invalid events with line and path, checking a bad shared entry for each event', () => {
    const badProc = { pid: '7', tid: 7, name: 'x', exe: 'x', exepath: '/x', args: [] };
    const good = { ...event(1), proc: 0, user: 1 };
    const body = [
      JSON.stringify({ shared: [event(1).proc, event(1).user, badProc] }),
      JSON.stringify(good),
      JSON.stringify({ ...good, proc: 2 }),
      '{not json',
      JSON.stringify({ ...good, user: 9 }),
      JSON.stringify({ ...good, proc: 2 }),
      '',
      JSON.stringify({ ...good, ts: 5 }),
    ].join('\n');
    const { events, invalid } = decodeBatch(bytes(body), V2);
    assert.equal(events.length, 1);
    assert.deepEqual(
      invalid.map((e) => [e.line, e.path]),
      [
        [3, '$.proc.pid'],
        [4, '$'],
        [5, '$.user'],
        [6, '$.proc.pid'],
        [8, '$.ts'],
      ],
    );
    assert.match(invalid[2]?.reason ?? '', /index of a shared entry \(0-2\), got 9/);
    for (const e of invalid) assert.ok(e.cause !== undefined);
  });

  it('never throws on a malformed batch; events that need a broken table are invalid', () => {
    const inline = JSON.stringify(event(4));
    const ref = JSON.stringify({ ...event(4), proc: 0 });
    const { events, invalid } = decodeBatch(bytes(['{"shared":', inline, ref].join('\n')), V2);
    assert.equal(events.length, 1);
    assert.deepEqual(
      invalid.map((e) => [e.line, e.path]),
      [[3, '$.proc']],
    );
    assert.match(invalid[0]?.reason ?? '', /line 1 is not a shared table: not JSON/);
    const notTable = decodeBatch(bytes(['[1,2]', ref].join('\n')), V2);
    assert.match(notTable.invalid[0]?.reason ?? '', /not a shared table: expected/);

    const junk = new Uint8Array(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 256;
    assert.equal(decodeBatch(junk, V2).events.length, 0);
    assert.deepEqual(decodeBatch(new Uint8Array(0), V2), { events: [], invalid: [] });
    assert.deepEqual(decodeBatch(bytes('{"shared":[]}'), V2), { events: [], invalid: [] });
    // A shared entry of the wrong kind fails the part's check.
    const wrong = decodeBatch(bytes(['{"shared":[42]}', ref].join('\n')), V2);
    assert.deepEqual(
      wrong.invalid.map((e) => [e.line, e.path, e.reason]),
      [[2, '$.proc', 'expected an object, got number']],
    );
  });

  it('is picked by the codec header; v1 stays the default', () => {
    assert.equal(encodeBatch([event(1)]).codec, BATCH_CODEC);
    assert.equal(batchHeaders(3)[HEADERS.batchCodec], BATCH_CODEC);
    const v2 = encodeBatch([event(1)], { codec: BATCH_CODEC_V2 });
    // Read as v1, the table line is not an event.
    assert.equal(decodeBatch(v2.data).invalid[0]?.path, '$.source');
    assert.equal(decodeBatch(v2.data, V2).events.length, 1);
  });

  it('busBatchSender announces the batch codec', async () => {
    await using bus = new MemoryBus();
    const sub = bus.subscribe('saker.v1.events.syscall.*');
    await busBatchSender(
      bus,
      'saker.v1.events.syscall.n1',
    )(encodeBatch([event(1), event(2)], { codec: BATCH_CODEC_V2 }));
    const [msg] = await take(sub[Symbol.asyncIterator](), 1);
    assert.equal(msg?.headers[HEADERS.batchCodec], BATCH_CODEC_V2);
    assert.equal(msg?.headers[HEADERS.batchCount], '2');
    assert.equal(decodeBatch(msg?.data ?? new Uint8Array(0), msg?.headers).events.length, 2);
  });
});

describe('engine stats subjects', () => {
  it('builds a replica subject from a valid token, matched by the wildcard', () => {
    assert.equal(SUBJECTS.engineStats('engine-7f9c'), 'saker.v1.engine.stats.engine-7f9c');
    assert.ok(subjectMatches(SUBJECTS.allEngineStats, SUBJECTS.engineStats('e1')));
    for (const bad of ['', 'a.b', 'a*', 'a b', '>'])
      assert.throws(() => SUBJECTS.engineStats(bad), /replica/);
  });
});
