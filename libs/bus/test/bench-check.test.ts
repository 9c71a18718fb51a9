import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDecodedBatch, checkRoundTrip } from '../bench/codec-check.js';
import { decodeBatch, encodeBatch } from '../src/batch.js';

/** The checks the codec bench makes before it prints a rate, fed injected faults. */
describe('codec bench check', () => {
  const event = (i: number) => ({
    source: 'syscall',
    ts: String(1_470_327_477_881_781_397n + BigInt(i)),
    type: 'openat',
    res: 3,
    args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY', mode: 0 },
    proc: { pid: 42, tid: 42, ppid: 1, name: 'cat', exe: 'cat', exepath: '/usr/bin/cat', args: [] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'host' },
  });
  const events = [event(1), event(2), event(3)];

  it('passes a batch decoded whole', () => {
    const data = encodeBatch(events as never[]).data;
    assert.deepEqual(checkDecodedBatch('b', 3, decodeBatch(data)), []);
    assert.deepEqual(checkRoundTrip('c', events, structuredClone(events)), []);
  });

  it('fails when decodeBatch drops an invalid line instead of decoding it', () => {
    const text = new TextDecoder().decode(encodeBatch(events as never[]).data).split('\n');
    text[1] = '{"source":"syscall","ts":"x"}';
    const result = decodeBatch(new TextEncoder().encode(text.join('\n')));
    const p = checkDecodedBatch('b', 3, result);
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0] ?? '', /1 invalid lines/);
    assert.match(p[1] ?? '', /2 events decoded of 3/);
  });

  it('fails a codec that loses or changes an event', () => {
    assert.deepEqual(checkRoundTrip('c', events, events.slice(1)), ['c: 2 events back from 3']);
    assert.deepEqual(checkRoundTrip('c', events, [events[0], { ...events[1], res: 4 }, events[2]]), [
      'c: event 1 comes back different',
    ]);
  });
});
