import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSinksRun } from '../bench/sinks-check.js';

/** The check bench:sinks makes before it prints a rate, fed injected faults. */
describe('bench:sinks check', () => {
  const ok = { alerts: 50_000, unacked: 0, deadLetters: 0, received: 50_003, receiverProblems: [] };

  it('passes a run where every alert was acked after a 2xx', () => {
    assert.deepEqual(checkSinksRun(ok), []);
    assert.deepEqual(checkSinksRun({ ...ok, received: undefined }), [], 'the null output has no receiver');
  });

  it('fails on a dropped batch: alerts left unacked on the durable', () => {
    assert.deepEqual(checkSinksRun({ ...ok, unacked: 512 }), ['512 alerts not acked (lost or undelivered)']);
  });

  it('fails on a missing alert at the receiver, dead letters, and problems the receiver reports', () => {
    assert.deepEqual(checkSinksRun({ ...ok, received: 49_999 }), [
      'the receiver answered 49999 for 50000 alerts',
    ]);
    assert.deepEqual(checkSinksRun({ ...ok, deadLetters: 1 }), ['1 dead letters']);
    assert.deepEqual(checkSinksRun({ ...ok, receiverProblems: ['alert 17 never arrived'] }), [
      'alert 17 never arrived',
    ]);
  });
});
