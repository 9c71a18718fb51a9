/**
 * Shared by the real-kernel tests that run actions under a sensor watching
 * the whole host (whose kernel other tests and benches share): the drain
 * marker, the repeat of a run that lost records in the ring buffer, and the
 * validation of every event once a run is over.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SyscallEvent, parseEvent } from '@saker/events';
import { repeatUntil, sharedPath, waitFor } from '@saker/testing';
import { Sensor, type SensorOptions } from '../src/sensor.js';

/** Falco's stable rules (shared data) and Saker's own rules directory. */
export const FALCO_RULES = sharedPath('falco-rules', 'falco_rules.yaml');
export const SAKER_RULES = fileURLToPath(new URL('../../../../rules/', import.meta.url));

/**
 * Why a test that loads the probe and reads Falco's rules cannot run (not
 * root, the shared rules missing), printed loudly; false when it can.
 */
export function rootRulesSkip(test: string, why: string): string | false {
  const skip =
    process.getuid?.() !== 0
      ? `NOT ROOT: ${why}`
      : FALCO_RULES === undefined || !existsSync(FALCO_RULES)
        ? 'the shared Falco rules are missing (SAKER_SHARED)'
        : false;
  if (skip) console.error(`\n*** SKIPPING ${test}: ${skip} ***\n`);
  return skip;
}

/**
 * How long a test lets the loader attach the probe. Loading and verifying it
 * takes under a second of CPU, but tests run at nice 10 on a shared 2-CPU
 * host wait for that second behind everything else: 86 to 96 s were measured
 * at load 21 to 32 (the default, 30 s, made a busy host's run fail at start).
 */
export const ATTACH_TIMEOUT_MS = 180_000;

/** A file opened after every action: its open coming through proves the sensor drained. */
export class DrainMarker {
  private path = '';
  private seen = false;

  /** For the sensor's onEvent: notes the marker's open (a flag, not a scan of every event per poll). */
  note(e: SyscallEvent): void {
    if (this.path !== '' && e.type === 'openat' && e.fd?.name === this.path) this.seen = true;
  }

  /**
   * Opens a new marker in dir and waits for its event, opening it again
   * while it does not come: a flood of the host's other events can overflow
   * the ring buffer and lose the marker's own record. On a busy shared
   * machine the sensor can lag well behind, hence the generous bound.
   */
  async drain(dir: string, state: () => string): Promise<void> {
    const marker = join(dir, 'drained.marker');
    writeFileSync(marker, '');
    this.seen = false;
    this.path = marker;
    await repeatUntil(
      () => `the marker open (${state()})`,
      () => {
        const mk = spawnSync('cat', [marker]);
        assert.equal(mk.status, 0, `cat ${marker}: ${mk.stderr}`);
      },
      () => this.seen,
      { timeoutMs: 60_000, everyMs: 2_000 },
    );
  }
}

/**
 * Runs `attempt` (one run of every action under a fresh sensor, which it
 * returns stopped) until its sensor lost no record in the ring buffer, at
 * most `max` times. A flood of other processes' events can overflow the ring
 * (the kernel counts it), and the events of the actions may be among the lost
 * ones: such a run proves nothing. `reset` clears what a run collected.
 */
export async function untilNoRingDrops(
  label: string,
  max: number,
  attempt: (n: number) => Promise<Sensor>,
  reset: () => void,
): Promise<void> {
  for (let n = 1; ; n++) {
    const sensor = await attempt(n);
    const lost = sensor.stats.totals.dropRingbuf;
    if (lost === 0n || n === max) return;
    console.error(
      `${label}: run ${n} lost ${lost} records in the shared ring buffer (other processes' events flooded it); running the actions again`,
    );
    reset();
  }
}

/**
 * parseEvent on each event, the failures appended to errors. The tests run
 * the sensor without `validate` (it would slow the consumer down while the
 * actions run) and check every event this way once the run is over.
 */
export function validateAfterRun(events: readonly SyscallEvent[], errors: Error[]): void {
  for (const e of events) {
    try {
      parseEvent(e);
    } catch (err) {
      errors.push(err as Error);
    }
  }
}

/**
 * Starts a sensor that collects every event into `events` (noting the drain
 * marker) and every error into `errors`, without `validate` (see
 * validateAfterRun).
 */
export async function startCollecting(
  syscalls: SensorOptions['syscalls'],
  events: SyscallEvent[],
  errors: Error[],
  drain: DrainMarker,
): Promise<Sensor> {
  const sensor = await Sensor.start({
    syscalls,
    statsIntervalMs: 200,
    validate: false,
    startTimeoutMs: ATTACH_TIMEOUT_MS,
    onError: (e) => errors.push(e),
  });
  sensor.onEvent((e) => {
    drain.note(e);
    events.push(e);
  });
  return sensor;
}
