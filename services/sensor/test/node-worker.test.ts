/**
 * The node worker (src/node-worker.ts) against the node path in one thread:
 * the same loader stream gives the same alerts, and a slow worker is held to
 * its bound. Root: the streams come from the real probe.
 *
 * - Recorded stream: the loader's bytes while the actions run are fed to the
 *   decoder, process table and evaluator in this thread, then to a worker in
 *   odd-sized chunks (frames cut anywhere): every alert of the actions is
 *   identical, byte for byte, and so is the number of events built.
 * - Live: three sensors at once, one evaluating built events in this thread,
 *   one evaluating views of the records in this thread (`evaluateRules`), one
 *   with the worker, see the same actions: the same alerts (the timestamps
 *   aside: each probe takes its own clock reading).
 * - Back-pressure: under a flood of opens, a worker bounded to 64 KiB in
 *   flight holds the bound (the loader's output is paused), and every open
 *   of the flood is either evaluated or among the drops the probe counted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RuleText, loadRules, readRuleFiles } from '@saker/rules';
import { sharedPath, waitFor } from '@saker/testing';
import { REC_STATS, StreamDecoder } from '../src/decoder.js';
import { interestFromEventTypes } from '../src/interest.js';
import { NodeEvaluator } from '../src/node-evaluator.js';
import { NodeWorker } from '../src/node-worker.js';
import { RecordPipeline } from '../src/record-pipeline.js';
import { DEFAULT_LOADER_PATH, Sensor } from '../src/sensor.js';
import { resolveSyscalls } from '../src/syscalls.js';
import { DrainMarker, FALCO_RULES, SAKER_RULES, rootRulesSkip } from './runs.js';

const SKIP = rootRulesSkip('node worker parity test', 'the node worker parity test loads eBPF programs');

const HOST = 'parity-host';

/** Actions that Falco's stable rules and Saker's defaults alert on, each carrying `token` in its alert. */
function act(dir: string, token: string): void {
  spawnSync('cat', ['/etc/shadow', join(dir, `missing-${token}`)]);
  spawnSync('sh', ['-c', `ln -sf /etc/shadow ${join(dir, `link-${token}`)}`]);
  const shm = `/dev/shm/saker-parity-${token}`;
  copyFileSync('/bin/true', shm);
  spawnSync('chmod', ['755', shm]);
  spawnSync('sh', ['-c', `${shm} ${token}`]);
  rmSync(shm, { force: true });
  spawnSync('sh', ['-c', `touch /etc/saker-parity-${token}; rm -f /etc/saker-parity-${token}`]);
}

/** The alerts that mention `token`: the test's own, not the host's background. */
const own = (lines: readonly string[], token: string) => lines.filter((l) => l.includes(token));

/** Without the times: two probes read the clock separately for the same call. */
function timeless(line: string): unknown {
  const a = JSON.parse(line) as { output: string; time?: string; output_fields: Record<string, unknown> };
  const { time: _t, ...rest } = a;
  const { 'evt.time': _e, ...fields } = a.output_fields;
  return { ...rest, output: a.output.replace(/^\S+\s+/, ''), output_fields: fields };
}

describe('node worker: the same alerts as one thread', { skip: SKIP, timeout: 240_000 }, () => {
  let rules: RuleText[] = [];
  let syscalls: readonly string[] = [];
  let dir = '';

  before(async () => {
    rules = await readRuleFiles([FALCO_RULES ?? '', SAKER_RULES]);
    const loaded = loadRules(rules);
    assert.ok(loaded.ok, 'the rules load');
    const interest = interestFromEventTypes(loaded.ruleset.eventTypes()).syscalls;
    syscalls = interest === 'all' ? [] : interest;
    dir = mkdtempSync(join(tmpdir(), 'saker-node-worker-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a recorded loader stream: identical alerts, cut into any chunks', async () => {
    const token = `rec${process.pid}x${Date.now()}`;
    const ids = resolveSyscalls(syscalls).ids;
    const loader: ChildProcess = spawn(
      DEFAULT_LOADER_PATH,
      ['--syscalls', ids.join(','), '--stats-ms', '200'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const chunks: Buffer[] = [];
    let bytes = 0;
    loader.stdout?.on('data', (c: Buffer) => {
      chunks.push(c);
      bytes += c.length;
    });
    const closed = new Promise((r) => loader.on('close', r));
    await waitFor('the stream header', () => bytes >= 32, 30_000);
    act(dir, token);
    await new Promise((r) => setTimeout(r, 500));
    loader.stdin?.end();
    await closed;
    const stream = Buffer.concat(chunks);

    // One thread: decoder, table, evaluator.
    const decoder = new StreamDecoder();
    const pipe = new RecordPipeline({ hostname: HOST, maxAncestors: 5, validate: false, onError: () => {} });
    const evaluator = new NodeEvaluator({ rules }, HOST);
    const inThread: string[] = [];
    let seeded = false;
    for (const rec of decoder.push(stream)) {
      if (!seeded && decoder.header) {
        pipe.onHeader(decoder.header);
        seeded = true;
      }
      if (rec.kind === REC_STATS) continue;
      const ev = pipe.handle(rec);
      if (ev !== undefined) evaluator.evaluate(ev, inThread);
    }

    // The worker, in 4,093-byte chunks (frames straddle them), each a copy it takes over.
    const fromWorker: string[] = [];
    const worker = await NodeWorker.start(
      { hostname: HOST, maxAncestors: 5, validate: false, evaluation: { rules } },
      1 << 30,
      {
        onHeader: () => {},
        onStats: () => {},
        onAlerts: (l) => fromWorker.push(...l),
        onError: () => {},
        onDrained: () => {},
        onFailure: (err) => assert.fail(err),
      },
    );
    for (let off = 0; off < stream.length; off += 4093)
      worker.push(Uint8Array.prototype.slice.call(stream, off, Math.min(stream.length, off + 4093)));
    await worker.end();

    const mine = own(inThread, token);
    assert.ok(
      mine.length >= 2,
      `the actions raised alerts in one thread (${mine.length}): ${mine.join('\n')}`,
    );
    console.log(
      `recorded stream: ${stream.length} bytes, ${pipe.num} events, ${mine.length} alerts of the actions (${rulesOf(mine)})`,
    );
    assert.deepEqual(own(fromWorker, token), mine);
    assert.equal(worker.counts.events, pipe.num, 'the same events built');
    assert.equal(worker.counts.decodeErrors, 0);
  });

  it('live: a sensor with the worker, one on views of the records and one building every event, side by side', async () => {
    const token = `live${process.pid}x${Date.now()}`;
    const marker = new DrainMarker();
    const inThread: string[] = [];
    const one = await Sensor.start({ syscalls, hostname: HOST, statsIntervalMs: 200 });
    const evaluator = new NodeEvaluator({ rules }, HOST);
    one.onEvent((e) => {
      marker.note(e);
      evaluator.evaluate(e, inThread);
    });
    const withWorker = await Sensor.start({
      syscalls,
      hostname: HOST,
      statsIntervalMs: 200,
      worker: { rules },
    });
    const fromWorker: string[] = [];
    withWorker.onAlerts((l) => fromWorker.push(...l));
    // Rules on views of the records in this thread: events built for matches only.
    const viewed = await Sensor.start({ syscalls, hostname: HOST, statsIntervalMs: 200 });
    const viewMarker = new DrainMarker();
    const viewEvaluator = new NodeEvaluator({ rules }, HOST);
    const fromViews: string[] = [];
    viewed.evaluateRules(viewEvaluator.ruleset, { ruleMatching: 'first' }, (e, found) => {
      viewMarker.note(e);
      viewEvaluator.format(found, fromViews);
    });
    try {
      act(dir, token);
      await marker.drain(dir, () => `${inThread.length} alerts`);
      await viewMarker.drain(dir, () => `${fromViews.length} alerts from views`);
      // The worker's drain: the open of a marker by a process it watches.
      const w = withWorker.nodeWorker;
      assert.ok(w !== undefined);
      const m = join(dir, 'worker.marker');
      spawnSync('touch', [m]);
      const cat = spawn('cat', [m]);
      if (cat.pid !== undefined) w.watch([cat.pid]);
      await waitFor('the worker saw the marker', () => (w.watched.get(`self openat ${m}`) ?? 0) > 0, 60_000);
    } finally {
      await one.stop();
      await withWorker.stop();
      await viewed.stop();
    }
    const drops =
      one.stats.totals.dropRingbuf + withWorker.stats.totals.dropRingbuf + viewed.stats.totals.dropRingbuf;
    assert.equal(drops, 0n, 'no record lost in either ring (a flooded host proves nothing here)');
    const mine = own(inThread, token);
    assert.ok(mine.length >= 2, `the actions raised alerts (${mine.length})`);
    console.log(`live: ${mine.length} alerts of the actions (${rulesOf(mine)})`);
    assert.deepEqual(own(fromWorker, token).map(timeless).sort(cmp), mine.map(timeless).sort(cmp));
    assert.deepEqual(own(fromViews, token).map(timeless).sort(cmp), mine.map(timeless).sort(cmp));
  });
});

const LOAD = fileURLToPath(new URL('../../build/saker-bench-load', import.meta.url));

describe('node worker: back-pressure', { skip: SKIP, timeout: 180_000 }, () => {
  it('holds its bound under a flood; what it cannot take is counted as dropped', async () => {
    const rules = await readRuleFiles([FALCO_RULES ?? '']);
    const bound = 65_536;
    const sensor = await Sensor.start({
      syscalls: ['openat'],
      statsIntervalMs: 200,
      worker: { rules },
      workerQueueBytes: bound,
    });
    const w = sensor.nodeWorker;
    assert.ok(w !== undefined);
    const n = 200_000;
    try {
      const d0 = sensor.stats.totals.dropRingbuf;
      const flood = spawn(LOAD, ['open', String(n)], { stdio: 'ignore' });
      if (flood.pid !== undefined) w.watch([flood.pid]);
      await new Promise((r) => flood.on('close', r));
      const opens = () => w.watched.get('self openat /etc/hostname') ?? 0;
      const dropped = () => Number(sensor.stats.totals.dropRingbuf - d0);
      await waitFor(
        () =>
          `every open evaluated or dropped (${opens()} evaluated, ${dropped()} dropped, ${w.inFlightBytes} bytes in flight)`,
        () => opens() + dropped() >= n && w.inFlightBytes === 0,
        60_000,
      );
      console.log(
        `back-pressure: ${opens()} of ${n} opens evaluated, ${dropped()} records dropped (ringbuf), peak ${w.peakInFlightBytes} bytes in flight (bound ${bound})`,
      );
      assert.ok(w.peakInFlightBytes >= bound, 'the flood reached the bound');
      // A chunk is handed over before the pause takes effect: at most one read (64 KiB) past the bound.
      assert.ok(w.peakInFlightBytes <= bound + 65_536, `peak ${w.peakInFlightBytes} bytes in flight`);
    } finally {
      await sensor.stop();
    }
  });
});

const rulesOf = (lines: readonly string[]) =>
  [...new Set(lines.map((l) => (JSON.parse(l) as { rule: string }).rule))].join('; ');
const cmp = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
