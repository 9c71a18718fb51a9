import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LatencyPhase, checkLatencyPhase, percentile } from '../bench/latency-check.js';

/** The check bench:latency makes before it prints a percentile, fed injected faults. */

const RULE = 'Saker bench latency marker';
const markers = ['latency-marker-low-0', 'latency-marker-low-1', 'latency-marker-low-2'];
const GOOD: LatencyPhase = {
  name: 'embedded, low rate',
  markers,
  alerts: new Map(markers.map((m, i) => [m, [{ rule: RULE, ms: 3 + i }]])),
  rule: RULE,
};

describe('bench:latency check', () => {
  it('passes a phase whose every action has its one alert', () => {
    assert.deepEqual(checkLatencyPhase(GOOD), []);
    assert.deepEqual(checkLatencyPhase({ ...GOOD, loadPerSecond: 250_000 }), []);
  });

  it('fails on a missing alert, a second alert, and an alert of another rule', () => {
    const alerts = new Map(GOOD.alerts);
    alerts.delete('latency-marker-low-1');
    assert.deepEqual(checkLatencyPhase({ ...GOOD, alerts }), [
      'embedded, low rate: 1 of 3 actions have no alert',
    ]);
    const twice = new Map(GOOD.alerts);
    twice.set('latency-marker-low-0', [
      { rule: RULE, ms: 3 },
      { rule: RULE, ms: 9 },
    ]);
    assert.deepEqual(checkLatencyPhase({ ...GOOD, alerts: twice }), [
      'embedded, low rate: 1 actions have more than one alert',
    ]);
    const foreign = new Map(GOOD.alerts);
    foreign.set('latency-marker-low-2', [{ rule: 'Other', ms: 3 }]);
    assert.match(checkLatencyPhase({ ...GOOD, alerts: foreign }).join('\n'), /another rule/);
  });

  it('fails on alerts no action made, on no action at all, and on a load that did not run', () => {
    const stray = new Map(GOOD.alerts);
    stray.set('latency-marker-low-9', [{ rule: RULE, ms: 1 }]);
    assert.match(
      checkLatencyPhase({ ...GOOD, alerts: stray }).join('\n'),
      /1 alerts carry a marker no action made/,
    );
    assert.match(
      checkLatencyPhase({ ...GOOD, markers: [], alerts: new Map() }).join('\n'),
      /no action was made/,
    );
    assert.deepEqual(checkLatencyPhase({ ...GOOD, loadPerSecond: 0 }), [
      'embedded, low rate: the load did not run (0 operations/s)',
    ]);
  });

  it('percentiles by nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile(v, 100), 100);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
