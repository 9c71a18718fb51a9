/**
 * Integration: the sensor service on the real probe and a real (in-memory)
 * bus: batches arrive on saker.v1.events.syscall.<node>, the interest set
 * follows the ruleset and changes at run time, and drops raise a
 * rate-limited "syscall event drop" notice. With `evaluate` (the node
 * worker), alerts go to SAKER_ALERTS instead of event batches, and a worker
 * held to a small bound under a flood turns into counted drops and a notice.
 * Needs root.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Bus, STREAMS, connectBus, decodeBatch } from '@saker/bus';
import type { SyscallEvent } from '@saker/events';
import { readRuleFiles } from '@saker/rules';
import { repeatUntil, sharedPath, stalledBus, waitFor, within } from '@saker/testing';
import { type SyscallDropNotice, start } from '../src/service.js';
import { ATTACH_TIMEOUT_MS } from './runs.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'NOT ROOT: the sensor service test loads eBPF programs';
if (SKIP) console.error(`\n*** SKIPPING sensor service test: ${SKIP} ***\n`);

/** How long to wait for an event: the sensor sees the whole (shared, busy) host and can lag behind. */
const EVENT_WAIT_MS = 60_000;

// Every wait inside is bounded (the loader's attach, each action's event, the service's stop);
// the suite's bound only adds them up. The skip sits on each test: a skipped describe drops its
// tests from Node 20's totals.
describe('sensor service (real kernel, in-memory bus)', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'saker-svc-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes batches on the node subject and follows the interest set', { skip: SKIP }, async () => {
    const bus: Bus = await connectBus({ memory: true });
    const received: SyscallEvent[] = [];
    let published = 0;
    let foreignHost = 0;
    const svc = await start({
      bus,
      node: 'node.a-1',
      eventTypes: new Set(['openat', 'procexit']),
      sensor: { statsIntervalMs: 200, validate: true, startTimeoutMs: ATTACH_TIMEOUT_MS },
      batcher: { flushIntervalMs: 20 },
    });
    const sub = bus.subscribe(svc.subject);
    const reading = (async () => {
      for await (const m of sub) {
        const b = decodeBatch(m.data, m.headers);
        assert.deepEqual(b.invalid, []);
        // Only this test's children are kept (cat, rm): the host's other events would make every
        // poll below scan an ever longer list on a busy machine.
        for (const e of b.events) {
          if (e.hostname !== 'node.a-1') foreignHost++;
          if (e.source === 'syscall' && e.proc.ppid === process.pid) received.push(e);
          published++;
        }
      }
    })();
    const file = join(dir, 'probe.txt');
    // The sensor watches the whole (shared, busy) host: other processes can flood its ring buffer
    // and an action's record be lost with theirs, so each action is repeated until its event came.
    const cats = new Set<number>();
    const cats2 = new Set<number>();
    const rms = new Set<number>();
    let lost = 0n;
    try {
      assert.equal(svc.subject, 'saker.v1.events.syscall.node_a-1');
      assert.deepEqual(svc.stats().interest, { syscalls: ['openat'], unsupported: ['procexit'] });
      await bus.flush();
      writeFileSync(file, 'x');
      await repeatUntil(
        'a cat’s openat',
        () => void cats.add(spawnSync('cat', [file]).pid ?? -1),
        () => received.some((e) => e.type === 'openat' && cats.has(e.proc.pid) && e.fd?.name === file),
        { timeoutMs: EVENT_WAIT_MS },
      );
      // Now only unlinkat: a second cat's openat must not show up, the rm must. The events the
      // sensor publishes follow the new set at once; the probe captures unlinkat once the loader
      // read the change, and an rm before that is simply tried again.
      const next = svc.setEventTypes({ eventTypes: () => new Set(['unlinkat']) });
      assert.deepEqual(next.syscalls, ['unlinkat']);
      await repeatUntil(
        'an rm’s unlinkat',
        () => {
          writeFileSync(file, 'x');
          cats2.add(spawnSync('cat', [file]).pid ?? -1);
          rms.add(spawnSync('rm', [file]).pid ?? -1);
        },
        // Each rm ran after its cat: once an rm's unlinkat is here, that cat's openat would be too.
        () => received.some((e) => e.type === 'unlinkat' && rms.has(e.proc.pid)),
        { timeoutMs: EVENT_WAIT_MS },
      );
    } finally {
      await within('the sensor service’s stop()', svc.stop(), 30_000);
      lost = svc.stats().sensor.totals.dropRingbuf;
      await bus.flush();
      sub.unsubscribe();
      await reading;
      await bus.close();
    }
    if (lost > 0n)
      console.error(`sensor service test: the ring buffer lost ${lost} records of the busy host`);

    assert.ok(received.some((e) => e.type === 'openat' && cats.has(e.proc.pid) && e.fd?.name === file));
    assert.ok(!received.some((e) => cats2.has(e.proc.pid) && e.type === 'openat'));
    assert.ok(received.some((e) => e.type === 'unlinkat' && rms.has(e.proc.pid)));
    assert.equal(foreignHost, 0, 'events published with another hostname');
    const st = svc.stats();
    // The kernel's losses are the host's (a flood of other processes); the service itself loses none.
    assert.equal(st.batcher.dropped, 0);
    const t = st.sensor.totals;
    assert.equal(st.drops, Number(t.dropRingbuf + t.dropScratch + t.dropEnterFull));
    assert.equal(st.sensor.invalidEvents, 0, 'every event passed parseEvent (validate: true)');
    assert.ok(st.batcher.published >= published);
  });

  it('raises a rate-limited "syscall event drop" notice when events are lost', { skip: SKIP }, async () => {
    const real = await connectBus({ memory: true });
    // Every batch stays in flight, so the batcher fills up and drops.
    const stall = stalledBus<Bus['publish']>((s, d, h) => real.publish(s, d, h));
    const notices: SyscallDropNotice[] = [];
    const svc = await start({
      bus: stall.bus,
      node: 'n1',
      eventTypes: new Set(['openat']),
      sensor: { statsIntervalMs: 100, validate: true, startTimeoutMs: ATTACH_TIMEOUT_MS },
      batcher: { maxEvents: 1, maxInFlight: 1, flushIntervalMs: 5 },
      // Longer than the test: a later window's notice is the rate limit's to suppress.
      dropNoticeIntervalMs: 3_600_000,
      dropThreshold: 0,
      log: () => {},
      onDrop: (n) => notices.push(n),
    });
    // Stats windows with drops after the first notice: the rate limit must keep them quiet. Under a
    // flood the loader serves its stats between long drain passes, so windows can be far apart.
    let laterDropWindows = 0;
    svc.onWindow((w) => {
      if (notices.length > 0 && w.total > 0) laterDropWindows++;
    });
    const cats = () => {
      for (let i = 0; i < 20; i++) spawnSync('cat', ['/etc/hostname']);
    };
    let st: ReturnType<typeof svc.stats>;
    try {
      await repeatUntil('a drop notice', cats, () => notices.length > 0, { timeoutMs: 2 * EVENT_WAIT_MS });
      await repeatUntil('a later window with drops', cats, () => laterDropWindows > 0, {
        timeoutMs: 2 * EVENT_WAIT_MS,
      });
      st = svc.stats();
    } finally {
      // The server comes back: the batches in flight complete and the service stops cleanly.
      stall.release();
      await within('the sensor service’s stop()', svc.stop(), 30_000);
      await real.close();
    }
    assert.ok(st.drops > 0, 'expected drops behind a stalled bus');
    assert.equal(notices.length, 1, 'one notice per interval');
    const n = notices[0];
    assert.ok(n);
    assert.match(
      n.message,
      /^Falco internal: syscall event drop\. \d+ system calls dropped in last [\d.]+ seconds\.$/,
    );
    assert.equal(n.total, n.drops.ringbuf + n.drops.scratch + n.drops.enterFull + n.drops.batcher);
    assert.ok(st.batcher.dropped > 0, 'the batcher dropped behind the stalled bus');
    assert.equal(st.dropNotices, 1);
  });

  it('with evaluate: alerts into SAKER_ALERTS, no event batch', { skip: SKIP }, async () => {
    const bus: Bus = await connectBus({ memory: true });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const rules = await readRuleFiles([sharedPath('falco-rules', 'falco_rules.yaml') ?? '']);
    const token = `svc-worker-${process.pid}-${Date.now()}`;
    const alerts: string[] = [];
    const alertSub = bus.subscribe('saker.v1.alerts.>');
    const reading = (async () => {
      for await (const m of alertSub) {
        const line = new TextDecoder().decode(m.data);
        if (line.includes(token)) alerts.push(`${m.subject} ${line}`);
      }
    })();
    let batches = 0;
    const svc = await start({
      bus,
      node: 'n-worker',
      eventTypes: new Set(['openat', 'execve']),
      sensor: { statsIntervalMs: 200, startTimeoutMs: ATTACH_TIMEOUT_MS },
      evaluate: { rules },
      log: () => {},
    });
    const batchSub = bus.subscribe(svc.subject);
    const counting = (async () => {
      for await (const _ of batchSub) batches++;
    })();
    try {
      // Repeated until its alert came: the busy host can flood the ring buffer (see above).
      await repeatUntil(
        'the alert of cat /etc/shadow',
        () => void spawnSync('cat', ['/etc/shadow', join(dir, token)]),
        () => alerts.length > 0,
        { timeoutMs: EVENT_WAIT_MS },
      );
    } finally {
      await within('the sensor service’s stop()', svc.stop(), 30_000);
      alertSub.unsubscribe();
      batchSub.unsubscribe();
      await Promise.all([reading, counting]);
      await bus.close();
    }
    assert.match(
      alerts[0] ?? '',
      /^saker\.v1\.alerts\.syscall\.warning \{"hostname":"n-worker".*"rule":"Read sensitive file untrusted"/,
    );
    assert.equal(batches, 0, 'no event batch published');
    assert.ok((svc.stats().alerts?.published ?? 0) >= 1);
    assert.equal(svc.stats().alerts?.dropped, 0);
  });

  it(
    'with evaluate: a worker behind its bound costs counted drops and a notice',
    { skip: SKIP },
    async () => {
      const bus: Bus = await connectBus({ memory: true });
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      // A real ruleset a node could be given, slow on purpose: every openat meets 100 rules, so
      // the worker takes many times longer per event than the flood takes to make one.
      const rules = [{ name: 'slow_rules.yaml', content: slowRules(100) }];
      const notices: SyscallDropNotice[] = [];
      const svc = await start({
        bus,
        node: 'n-flood',
        eventTypes: new Set(['openat']),
        sensor: { statsIntervalMs: 100, workerQueueBytes: 65_536, startTimeoutMs: ATTACH_TIMEOUT_MS },
        evaluate: { rules },
        dropNoticeIntervalMs: 60_000,
        dropThreshold: 0,
        log: () => {},
        onDrop: (n) => notices.push(n),
      });
      let peak = 0;
      try {
        // Not spawnSync: this thread must go on reading the loader's pipe while the flood runs.
        const flood = spawn(LOAD, ['open', '300000'], { stdio: 'ignore' });
        assert.equal(await new Promise((r) => flood.on('close', r)), 0);
        await waitFor(
          () =>
            `a drop notice (drops so far: ${svc.stats().drops}, peak ${svc.sensor.nodeWorker?.peakInFlightBytes})`,
          () => notices.length > 0,
          EVENT_WAIT_MS,
        );
        // While running (stop() drains what the pipe still holds, whatever the bound).
        peak = svc.sensor.nodeWorker?.peakInFlightBytes ?? -1;
      } finally {
        await within('the sensor service’s stop()', svc.stop(), 60_000);
        await bus.close();
      }
      const n = notices[0];
      assert.ok(n && n.drops.ringbuf > 0, 'the kernel counted what the paused loader could not take');
      assert.ok(svc.stats().drops > 0);
      assert.ok(peak > 0 && peak <= 65_536 * 2, `the bound held (peak ${peak} bytes in flight)`);
    },
  );
});

const LOAD = fileURLToPath(new URL('../../build/saker-bench-load', import.meta.url));

/** `n` rules on openat that never match, each reading the command line. */
function slowRules(n: number): string {
  let y = '';
  for (let i = 0; i < n; i++)
    y += `- rule: slow ${i}\n  desc: never matches\n  condition: evt.type = openat and proc.cmdline contains "never-${i}-"\n  output: "%proc.cmdline"\n  priority: DEBUG\n`;
  return y;
}
