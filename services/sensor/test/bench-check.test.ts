import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCapture, checkPacedRate, pacedDropGoal, workloadEventKind } from '../bench/sensor-check.js';

/** The checks bench:sensor makes before it prints a figure, fed injected faults. */
describe('bench:sensor check', () => {
  const pids = new Set([4242]);

  it("counts only the workload's own events: its opens, its children's execs", () => {
    const ev = (type: string, pid: number, ppid: number, path?: string) => ({ type, pid, ppid, path });
    assert.equal(workloadEventKind(ev('openat', 4242, 1, '/etc/hostname'), pids), 'open');
    assert.equal(workloadEventKind(ev('execve', 4243, 4242, '/bin/true'), pids), 'exec');
    assert.equal(workloadEventKind(ev('openat', 4242, 1, '/lib/x86_64-linux-gnu/libc.so.6'), pids), 'other');
    // The host's background activity, even the same syscall on the same file, is not the workload's.
    assert.equal(workloadEventKind(ev('openat', 999, 1, '/etc/hostname'), pids), undefined);
    assert.equal(workloadEventKind(ev('execve', 1000, 999, '/bin/true'), pids), undefined);
  });

  it('passes a phase whose every operation was captured, or lost as the probe reports', () => {
    assert.deepEqual(checkCapture({ label: 'open', expected: 1000, captured: 1000, lost: 0 }), []);
    assert.deepEqual(checkCapture({ label: 'open', expected: 1000, captured: 990, lost: 10 }), []);
  });

  it("fails when the workload's opens were not captured and no drop explains it (a dropped batch)", () => {
    assert.deepEqual(checkCapture({ label: 'open', expected: 1000, captured: 488, lost: 0 }), [
      "open: 488 of the workload's 1000 operations captured, and the probe reports only 0 lost",
    ]);
  });

  it("fails when more than the workload's operations were counted, or the workload did nothing", () => {
    assert.equal(checkCapture({ label: 'open', expected: 1000, captured: 1200, lost: 0 }).length, 1);
    assert.equal(checkCapture({ label: 'open', expected: 0, captured: 0, lost: 0 }).length, 1);
  });

  it('fails a paced run that did not reach the rate it tests', () => {
    assert.deepEqual(checkPacedRate('paced', 100_000, 300_000, 3.01), []);
    assert.deepEqual(checkPacedRate('paced', 100_000, 300_000, 4.2), [
      'paced: the workload achieved 71429/s, not the 100000/s the run tests',
    ]);
  });

  it('judges 0 drops at 300k/s only when the run reached the rate, and met only without a loss', () => {
    const p = { label: 'paced', expected: 900_000, captured: 900_000, lost: 0 };
    assert.equal(pacedDropGoal(300_000, p, 3.0), 'met');
    assert.equal(pacedDropGoal(300_000, { ...p, captured: 899_000, lost: 1_000 }, 3.0), 'NOT met');
    assert.equal(pacedDropGoal(300_000, p, 22.4), 'not tested (rate not reached)');
  });
});
