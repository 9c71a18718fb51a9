/**
 * Integration: the Sensor's two ways of handing out events against the real
 * probe, with a tiny queue limit so the host's own background activity (other
 * processes' opens, which this kernel shares) fills it at once.
 *
 * - A consumer that listens with `onEvent` only must keep receiving events:
 *   the queue (and its pause of the loader's output) serves the async
 *   iterator, and used to fill with events nobody read, pausing the loader
 *   for good after `queueLimit` events.
 * - `stop()` must end while an iterator's queue is over the limit: it used to
 *   resume the output, get the next chunk, pause again and wait forever for
 *   the pipe's EOF.
 * - A flood is decoded in bounded slices: between two event-loop turns no
 *   more events are handed out than 64 KiB of the smallest records make, and
 *   the listener given with the options gets every event of the flood (or
 *   the probe counted it as a drop). Unsliced, libuv's 32 reads of a full
 *   pipe in one poll handed out thousands in one turn, and a consumer in the
 *   same thread (the engine, one batch a turn) fell behind without bound.
 * Needs root (CI runs as root).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import { waitFor, within } from '@saker/testing';
import { Sensor } from '../src/sensor.js';

const LOAD = fileURLToPath(new URL('../../build/saker-bench-load', import.meta.url));
/** 64 KiB per turn over the smallest record (the 168-byte header and the 8-byte frame header), twice: the check phase may run the budget's renewal before or after the counter's. */
const MAX_PER_TURN = 2 * Math.ceil((64 * 1024) / (168 + 8));

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'NOT ROOT: the sensor consumer test loads eBPF programs and must run as root';
if (SKIP) console.error(`\n*** SKIPPING sensor consumer test: ${SKIP} ***\n`);

const QUEUE_LIMIT = 32;
const OPENS = 300;

/** A dash that opens `file` n times (`: < file`); resolves with its pid once it exited 0. */
function openLoop(file: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do : < ${file}; i=$((i+1)); done`], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(child.pid ?? -1) : reject(new Error(`the open loop exited with ${code}`)),
    );
  });
}

describe('sensor consumers (real kernel)', { timeout: 90_000 }, () => {
  let dir = '';
  let marker = '';
  before(() => {
    if (SKIP) return;
    dir = mkdtempSync(join(tmpdir(), 'saker-consumers-'));
    marker = join(dir, 'marker');
    writeFileSync(marker, '');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'an onEvent-only consumer receives every event, past queueLimit, after a queue filled before it listened',
    { skip: SKIP },
    async () => {
      const sensor = await Sensor.start({ syscalls: ['openat', 'open'], queueLimit: QUEUE_LIMIT });
      try {
        // Before any listener, events queue (for an iterator to come) until the output pauses.
        await openLoop(marker, OPENS);
        await waitFor(
          `${QUEUE_LIMIT} queued events`,
          () => sensor.stats.eventsEmitted >= QUEUE_LIMIT,
          15_000,
        );
        const mine = new Map<number, number>();
        sensor.onEvent((e: SyscallEvent) => {
          if (e.fd?.name === marker) mine.set(e.proc.pid, (mine.get(e.proc.pid) ?? 0) + 1);
        });
        const pid = await openLoop(marker, OPENS);
        await waitFor(
          () =>
            `${OPENS} opens of ${marker} by pid ${pid} (got ${mine.get(pid) ?? 0}; events emitted in all: ${sensor.stats.eventsEmitted})`,
          () => (mine.get(pid) ?? 0) >= OPENS,
          15_000,
        );
        assert.equal(mine.get(pid), OPENS);
      } finally {
        await within('Sensor.stop()', sensor.stop(), 15_000);
      }
    },
  );

  it('stop() ends while an unread iterator queue is over queueLimit', { skip: SKIP }, async () => {
    const sensor = await Sensor.start({ syscalls: ['openat', 'open'], queueLimit: QUEUE_LIMIT });
    let stopped = false;
    try {
      // Asked for, never read: the queue fills and the loader's output is paused.
      const it = sensor[Symbol.asyncIterator]();
      assert.equal(typeof it.next, 'function');
      await openLoop(marker, OPENS);
      await waitFor(`${QUEUE_LIMIT} queued events`, () => sensor.stats.eventsEmitted >= QUEUE_LIMIT, 15_000);
      // More records wait in the loader's pipe behind the pause.
      await openLoop(marker, OPENS);
      await within('Sensor.stop() with a full queue', sensor.stop(), 15_000);
      stopped = true;
    } finally {
      if (!stopped) await within('Sensor.stop() (cleanup)', sensor.stop(), 15_000).catch(() => {});
    }
  });

  it(
    'a flood is decoded in bounded slices, one per event-loop turn, and every event reaches the onEvent option',
    { skip: SKIP },
    async () => {
      const FLOOD = 200_000;
      let pid = -1;
      let seen = 0;
      let thisTurn = 0;
      let maxPerTurn = 0;
      const sensor = await Sensor.start({
        syscalls: ['openat', 'open'],
        onEvent: (e: SyscallEvent) => {
          thisTurn++;
          if (e.proc.pid === pid && e.fd?.name === '/etc/hostname') seen++;
        },
      });
      let turning = true;
      const turn = (): void => {
        maxPerTurn = Math.max(maxPerTurn, thisTurn);
        thisTurn = 0;
        if (turning) setImmediate(turn);
      };
      setImmediate(turn);
      try {
        const drops0 = sensor.stats.totals.dropRingbuf;
        await new Promise<void>((resolve, reject) => {
          const child = spawn(LOAD, ['open', String(FLOOD)], { stdio: 'ignore' });
          pid = child.pid ?? -1;
          child.on('error', reject);
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`${LOAD} exited with ${code}`)),
          );
        });
        const lost = () => Number(sensor.stats.totals.dropRingbuf - drops0);
        await waitFor(
          () =>
            `${FLOOD} opens of /etc/hostname by pid ${pid} seen or dropped (seen ${seen}, ring-buffer drops ${lost()})`,
          () => seen + lost() >= FLOOD,
          60_000,
        );
        assert.ok(seen > 0, 'no event of the flood reached the listener');
        assert.ok(
          maxPerTurn <= MAX_PER_TURN,
          `${maxPerTurn} events were handed out in one event-loop turn (at most ${MAX_PER_TURN} expected)`,
        );
      } finally {
        turning = false;
        await within('Sensor.stop()', sensor.stop(), 15_000);
      }
    },
  );
});
