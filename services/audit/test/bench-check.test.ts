import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAuditRun } from '../bench/audit-check.js';

/** The check bench:audit makes before it prints a rate, fed injected faults. */
describe('bench:audit check', () => {
  const ok = { requests: 300, acceptedEvents: 30_000, failedRequests: 0, onBus: 30_000 };

  it('passes a run whose accepted events all reached the bus', () => {
    assert.deepEqual(checkAuditRun(ok), []);
  });

  it('fails when a batch accepted with 200 never reached the bus', () => {
    assert.deepEqual(checkAuditRun({ ...ok, onBus: 29_900 }), [
      '29900 events reached the bus, 30000 were accepted (answered 200)',
    ]);
  });

  it('fails on failed requests, and on a run that accepted nothing', () => {
    assert.deepEqual(checkAuditRun({ ...ok, failedRequests: 2 }), ['2 requests failed']);
    assert.ok(checkAuditRun({ requests: 0, acceptedEvents: 0, failedRequests: 0, onBus: 0 }).length > 0);
  });
});
