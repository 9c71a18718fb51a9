import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEnrichRuns } from '../bench/enrich-check.js';
import { type PipelineRun, checkPipelineRun, expectedAlerts } from '../bench/pipeline-check.js';

/** The checks bench:pipeline and bench:enrich make before printing a rate, fed injected faults. */

const GOOD: PipelineRun = {
  published: 10_240,
  publisherDropped: 0,
  caughtUp: true,
  engine: {
    received: 10_240,
    invalid: 0,
    dropped: 0,
    evaluated: 10_240,
    inFlight: 0,
    alertsPublished: 107,
    alertsFailed: 0,
  },
  alertsStored: 107,
  alertsExpected: 107,
};

describe('bench:pipeline check', () => {
  it('passes a run that did all its work', () => {
    assert.deepEqual(checkPipelineRun(GOOD), []);
  });

  it('fails on a dropped batch: the engine received and evaluated 512 fewer events', () => {
    const p = checkPipelineRun({
      ...GOOD,
      caughtUp: false,
      engine: { ...GOOD.engine, received: 9_728, evaluated: 9_728 },
    });
    assert.ok(
      p.some((x) => x.includes('received 9728 events, 10240 were published')),
      p.join('\n'),
    );
    assert.ok(p.some((x) => x.includes('did not catch up')));
  });

  it('fails on a missing alert in SAKER_ALERTS, and on alerts the reference does not give', () => {
    assert.deepEqual(checkPipelineRun({ ...GOOD, alertsStored: 106 }), [
      'SAKER_ALERTS gained 106 alerts, the reference evaluation gives 107',
    ]);
    const p = checkPipelineRun({
      ...GOOD,
      engine: { ...GOOD.engine, alertsPublished: 108 },
      alertsStored: 108,
    });
    assert.equal(p.length, 2);
  });

  it('fails on drops anywhere, events left in flight, and a reference that expects nothing', () => {
    assert.equal(checkPipelineRun({ ...GOOD, publisherDropped: 512 }).length, 1);
    assert.equal(
      checkPipelineRun({ ...GOOD, engine: { ...GOOD.engine, dropped: 1, evaluated: 10_239 } }).length,
      2,
    );
    assert.ok(checkPipelineRun({ ...GOOD, engine: { ...GOOD.engine, inFlight: 3 } }).length > 0);
    assert.ok(
      checkPipelineRun({
        ...GOOD,
        engine: { ...GOOD.engine, alertsPublished: 0 },
        alertsStored: 0,
        alertsExpected: 0,
      }).length > 0,
    );
  });

  it('sums the reference alerts of the pool events the published events copy', () => {
    assert.equal(
      expectedAlerts(5, [1, 0, 2], (i) => i % 3),
      1 + 0 + 2 + 1 + 0,
    );
  });
});

describe('bench:enrich check', () => {
  const ok = {
    referenceWithout: [3, 0, 5],
    referenceWith: [3, 0, 5],
    slices: [
      { mode: 'without' as const, events: 1536, alerts: 8, expectedAlerts: 8 },
      { mode: 'with' as const, events: 1024, alerts: 3, expectedAlerts: 3 },
    ],
    joinFailures: 0,
    joinWaits: 0,
  };

  it('passes slices that gave the reference alerts', () => {
    assert.deepEqual(checkEnrichRuns(ok), []);
  });

  it('fails when a timed slice lost an alert (a batch skipped or a rule not evaluated)', () => {
    const p = checkEnrichRuns({
      ...ok,
      slices: [...ok.slices, { mode: 'with', events: 512, alerts: 2, expectedAlerts: 3 }],
    });
    assert.deepEqual(p, ['slice 2 (with): 2 alerts, the reference pass gives 3 for its batches']);
  });

  it('fails when the join changes a batch’s matches, or a join failed or waited', () => {
    assert.equal(checkEnrichRuns({ ...ok, referenceWith: [3, 1, 4] }).length, 1);
    assert.equal(checkEnrichRuns({ ...ok, joinFailures: 2, joinWaits: 1 }).length, 2);
  });
});
