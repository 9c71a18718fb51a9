import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRulesRun, expectedOver } from '../bench/rules-check.js';

/** The check bench:rules makes before it prints a rate, fed injected faults. */
describe('bench:rules check', () => {
  // A pool of 5 events: the second fires two rules, the fourth one.
  const perIndex = [0, 2, 0, 1, 0];

  it('sums the reference over the pool taken round and round', () => {
    assert.equal(expectedOver(perIndex, 5), 3);
    assert.equal(expectedOver(perIndex, 12), 3 + 3 + 2);
    assert.equal(expectedOver([], 7), 0);
  });

  it('passes a timed run that found what the reference pass gives', () => {
    assert.deepEqual(checkRulesRun({ events: 12, alerting: 5, matches: 8 }, perIndex), []);
  });

  it('fails a run that missed an alert (an event skipped, a rule not evaluated)', () => {
    const p = checkRulesRun({ events: 12, alerting: 4, matches: 6 }, perIndex);
    assert.deepEqual(p, [
      'the timed run had 4 alerting events, the reference pass gives 5 for 12 events',
      'the timed run had 6 matches, the reference pass gives 8 for 12 events',
    ]);
  });

  it('fails a run that evaluated nothing, or a pool on which no rule fires', () => {
    assert.ok(checkRulesRun({ events: 0, alerting: 0, matches: 0 }, perIndex).length > 0);
    assert.ok(checkRulesRun({ events: 10, alerting: 0, matches: 0 }, [0, 0]).length > 0);
  });
});
