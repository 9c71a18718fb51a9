/**
 * `npm run bench:pipeline`: the whole event path on one machine.
 *
 *   publisher (EventBatcher + busBatchSender, this process)
 *     → nats-server (real, spawned through @saker/testing)
 *     → ONE engine (rules/saker_rules.yaml), or N replicas in its queue group (`--engines N`)
 *     → alerts into JetStream SAKER_ALERTS
 *
 * The engine runs in a child process (`node dist/src/main.js`, as deployed)
 * and, for comparison, in this process next to the publisher. Each mode runs
 * for SAKER_BENCH_SECONDS (default 10) after a 2 s warm-up. Figures come from
 * the engine's own stats reports (saker.v1.engine.stats.<name>): events
 * evaluated per second (its alerts acknowledged), alerts per second, drops,
 * and the CPU seconds the engine, this process (the publisher) and
 * nats-server used meanwhile: events per engine CPU-second moves less with the
 * machine's load than the rate does.
 *
 * The publisher stands for the sensors, which in production run on other
 * nodes: their encoding should not take this machine's CPU from the engine.
 * By default (`--publisher preencoded`) it encodes each pool batch once (in
 * `--codec`) and, per event, only splices a fresh `ts` and `num` into its
 * line, then sends batches through busBatchSender; `--publisher batcher` goes
 * through EventBatcher.add (JSON.stringify per event), as a sensor does.
 *
 * Flags / env:
 *   --mode child|inproc|both   (default both)
 *   --publisher preencoded|batcher (default preencoded)
 *   --codec C[,C...]           codecs to run, in turn, in this one run (default
 *                               binary-v1,jsonl-shared: the binary codec and the
 *                               JSON one beside it); jsonl too
 *   --batch N                  events per batch (default 512; SAKER_BENCH_BATCH)
 *   --baseline MAIN            also run, beside each child engine, the engine
 *                               at MAIN (another build's dist/src/main.js, e.g.
 *                               main's), with the same codec and load: mode
 *                               `base`; first for the 1st, 3rd... codec listed,
 *                               second for the others (A-B-B-A with a codec
 *                               listed twice)
 *   --profile DIR              the child engine writes a V8 CPU profile
 *                               (`node --cpu-prof`) into DIR when it exits
 *   --engine-node-args "A B"   node flags for this build's child engines (not the
 *                               base's, so that --baseline compares with and
 *                               without them), e.g. --initial-old-space-size=256
 *   --engines N                child (and base) modes run N engine replicas
 *                               in the queue group `engine` (default 1); the
 *                               rate, the check and the CPU are their sums
 *   SAKER_BENCH_SECONDS        measured seconds per mode (default 10)
 */
import { Buffer } from 'node:buffer';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BATCH_CODEC,
  BATCH_CODECS,
  BATCH_CODEC_BINARY,
  BATCH_CODEC_V2,
  type BatchCodec,
  type Bus,
  EventBatcher,
  STREAMS,
  busBatchSender,
  connectBus,
  encodeBatch,
} from '@saker/bus';
import type { SyscallEvent } from '@saker/events';
import { loadRules, readRuleFiles } from '@saker/rules';
import { type NatsServerHandle, procCpuSeconds, repoRoot, startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import type { EngineStats } from '../src/stats.js';
import { generateEvents } from '../test/helpers/events.js';
import { type Replica, StatsCollector, startReplica } from '../test/helpers/replica.js';
import { type PipelineRun, checkPipelineRun, expectedAlerts } from './pipeline-check.js';

const RULES = join(repoRoot(), 'rules', 'saker_rules.yaml');
const SUBJECT = 'saker.v1.events.syscall.bench';
const WARMUP_S = 2;

interface Figures {
  readonly mode: string;
  readonly engines: number;
  readonly codec: BatchCodec;
  readonly seconds: number;
  readonly published: number;
  readonly evaluated: number;
  readonly alerts: number;
  readonly engineDropped: number;
  readonly publisherDropped: number;
  readonly inFlightAtEnd: number;
  /** CPU seconds used during the measured seconds. */
  readonly cpu: CpuUse;
  /** What the check found wrong; the rate is printed only when empty. */
  readonly problems: readonly string[];
}

/** CPU seconds of the processes on the path; the engine's is NaN in-process (this process holds the publisher too). */
interface CpuUse {
  readonly engine: number;
  /** This process: the publisher and the stats collector (and the engine, in-process). */
  readonly bench: number;
  readonly nats: number;
}

function cpuNow(enginePids: readonly number[], natsPid: number | undefined): CpuUse {
  const own = process.cpuUsage();
  return {
    engine: enginePids.length === 0 ? Number.NaN : enginePids.reduce((n, pid) => n + procCpuSeconds(pid), 0),
    bench: (own.user + own.system) / 1e6,
    nats: procCpuSeconds(natsPid),
  };
}

function cpuSince(a: CpuUse, b: CpuUse): CpuUse {
  return { engine: b.engine - a.engine, bench: b.bench - a.bench, nats: b.nats - a.nats };
}

/** `12,345 events/s per engine CPU-second (engine 0.93 CPU, this process 0.41, nats-server 0.52)`. */
function cpuLine(f: Figures): string {
  const per = (x: number): string => (x / f.seconds).toFixed(2);
  const perCore = Number.isNaN(f.cpu.engine)
    ? ''
    : `${Math.round((f.evaluated * f.seconds) / f.cpu.engine).toLocaleString('en')} events per engine CPU-second; `;
  const engines = f.engines > 1 ? `${f.engines} engines` : 'engine';
  const engine = Number.isNaN(f.cpu.engine) ? '' : `${engines} ${per(f.cpu.engine)}, `;
  const bench = f.mode === 'inproc' ? 'this process (publisher + engine)' : 'publisher process';
  return `    ${perCore}CPUs used: ${engine}${bench} ${per(f.cpu.bench)}, nats-server ${per(f.cpu.nats)}\n`;
}

/**
 * Core NATS has no backpressure: a publisher faster than the engine only makes
 * the engine drop. So the publisher is paced by credit: it stops while more
 * than WINDOW events it sent are not yet reported evaluated by the engine. The
 * figure measured is then the rate the pipeline sustains without drops.
 */
const WINDOW = 65_536;

interface PublishState {
  stop: boolean;
  /** Resolves when the publisher, having sent `sent` events, may send more. */
  credit(sent: number): Promise<void>;
}

/** Publishes as fast as the batcher's send slots allow until `stop` is set; returns what was published. */
async function publishLoop(
  bus: Bus,
  pool: readonly SyscallEvent[],
  batch: number,
  state: PublishState,
  base: bigint,
  codec: BatchCodec,
): Promise<{ published: number; dropped: number }> {
  const batcher = new EventBatcher({
    send: busBatchSender(bus, SUBJECT),
    codec,
    maxEvents: batch,
    maxBytes: 900 * 1024,
    maxInFlight: 4,
    flushIntervalMs: 20,
  });
  let refused = 0;
  for (let i = 0; !state.stop; i++) {
    if (i % batch === 0) await state.credit(i);
    const e = pool[i % pool.length] as SyscallEvent;
    // A fresh identity per event, so each alert has its own msgId.
    const ev: SyscallEvent = { ...e, num: i + 1, ts: (base + BigInt(i)).toString() };
    while (!batcher.add(ev)) {
      refused++;
      await batcher.flush();
    }
  }
  await batcher.close();
  const s = batcher.stats();
  return { published: s.published, dropped: s.dropped - refused };
}

/**
 * Like publishLoop, but batches are encoded once, ahead of time, and replayed:
 * each batch of the pool is encoded with `codec` (for v2 with its shared
 * table), and per event only a fresh `ts` and `num` are written (binary: in
 * place, into one of a few reused buffers; JSON: spliced into its line).
 * Batches go straight to busBatchSender with at most MAX_IN_FLIGHT in flight
 * (the batcher's default). The encoding cost belongs to the sensors, on
 * other nodes, so the replay allocates nothing per event.
 */
async function publishPreencoded(
  bus: Bus,
  templates: readonly Template[],
  state: PublishState,
  codec: BatchCodec,
  base: bigint,
): Promise<{ published: number; dropped: number }> {
  const size = templates.reduce((n, t) => Math.max(n, t.bytes), 0);
  // A buffer goes back to `free` once its send settled: the bus has copied it by then.
  const free: Buffer[] = Array.from({ length: MAX_IN_FLIGHT }, () => Buffer.alloc(size));
  const ts = tsStamp(base);
  const send = busBatchSender(bus, SUBJECT);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled = (): Promise<void> =>
    new Promise<void>((r) => {
      wake = r;
    });
  let published = 0;
  let dropped = 0;
  for (let i = 0, b = 0; !state.stop; b++) {
    await state.credit(i);
    while (inFlight >= MAX_IN_FLIGHT) await settled();
    const t = templates[b % templates.length] as Template;
    const out = free.pop() as Buffer;
    const data = t.stamp(ts, i, out);
    const count = t.count;
    i += count;
    inFlight++;
    const settle = (ok: boolean): void => {
      if (ok) published += count;
      else dropped += count;
      free.push(out);
      inFlight--;
      wake?.();
      wake = undefined;
    };
    Promise.resolve(send({ data, count, codec })).then(
      () => settle(true),
      () => settle(false),
    );
  }
  while (inFlight > 0) await settled();
  return { published, dropped };
}

const MAX_IN_FLIGHT = 4;

/**
 * Event n's `ts` is base + n, 19 digits: `base` is a multiple of 10^12, so its
 * first 7 digits are fixed for a run and n fills the last 12 (n < 10^12; at
 * 10^6 events/s that is 11 days): writing them needs no BigInt per event.
 */
interface TsStamp {
  /** The 7 fixed leading digits, as bytes. */
  readonly head: Uint8Array;
  /** ts of event n as a string (the JSON codecs' lines). */
  text(n: number): string;
}

function tsStamp(base: bigint): TsStamp {
  const head = base / 1_000_000_000_000n;
  if (base % 1_000_000_000_000n !== 0n || head < 1_000_000n || head > 9_999_999n)
    throw new Error(`bench ts base ${base}: expected 19 digits ending in 12 zeros`);
  const text = String(head);
  return {
    head: Buffer.from(text, 'latin1'),
    text: (n) => text + String(n).padStart(12, '0'),
  };
}

/** One pool batch, encoded once. */
interface Template {
  readonly count: number;
  /** Encoded bytes of the template (the bytes per event figure). */
  readonly bytes: number;
  /** The batch with event k's ts = ts of (first + k) and num = first + k + 1; binary writes into `out`. */
  stamp(ts: TsStamp, first: number, out: Buffer): Uint8Array;
}

function encodeTemplates(pool: readonly SyscallEvent[], batch: number, codec: BatchCodec): Template[] {
  const out: Template[] = [];
  for (let from = 0; from < pool.length; from += batch) {
    const events = Array.from({ length: batch }, (_, k) => pool[(from + k) % pool.length] as SyscallEvent);
    out.push(codec === BATCH_CODEC_BINARY ? binaryTemplate(events) : jsonTemplate(events, codec));
  }
  return out;
}

function jsonTemplate(events: readonly SyscallEvent[], codec: BatchCodec): Template {
  const data = encodeBatch(events, { codec }).data;
  const lines = new TextDecoder().decode(data).split('\n');
  const head = codec === BATCH_CODEC_V2 ? `${lines.shift()}\n` : '';
  const tails = lines.map((line) => {
    const at = line.indexOf(',"cpu":');
    if (!line.startsWith('{"source":"syscall","ts":') || at < 0) throw new Error('unexpected event layout');
    return line.slice(at);
  });
  const encoder = new TextEncoder();
  return {
    count: events.length,
    bytes: data.length,
    stamp: (ts, first) => {
      const out: string[] = [];
      for (let k = 0; k < tails.length; k++)
        out.push(`{"source":"syscall","ts":"${ts.text(first + k)}","num":${first + k + 1}${tails[k]}`);
      return encoder.encode(head + out.join('\n'));
    },
  };
}

/**
 * The binary layout (docs/bus.md): each event's ts is its own 19-digit string
 * in the table, and num a float64 in its record, so stamping copies the
 * template into `out` and writes both in place, digit by digit.
 */
function binaryTemplate(events: readonly SyscallEvent[]): Template {
  const TS0 = 1_000_000_000_000_000_000n;
  const data = Buffer.from(
    encodeBatch(
      events.map((e, k) => ({ ...e, ts: String(TS0 + BigInt(k)), num: 1 })),
      { codec: BATCH_CODEC_BINARY },
    ).data,
  );
  const count = data.readUInt32LE(4);
  const nStrings = data.readUInt32LE(8);
  const textBytes = data.readUInt32LE(12);
  const textAt = 16 + 4 * nStrings;
  const recordsAt = (textAt + textBytes + 3) & ~3;
  const record = (data.length - recordsAt) / count;
  const tsAt = new Int32Array(count);
  const numAt = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const rec = recordsAt + k * record;
    const s = data.readUInt32LE(rec + 4);
    const start = s === 0 ? 0 : data.readUInt32LE(16 + 4 * (s - 1));
    if (data.readUInt32LE(16 + 4 * s) - start !== 19) throw new Error('unexpected binary layout: ts');
    tsAt[k] = textAt + start;
    numAt[k] = rec + 13 * 4;
  }
  return {
    count,
    bytes: data.length,
    stamp: (ts, first, out) => {
      data.copy(out);
      for (let k = 0; k < count; k++) {
        const at = tsAt[k] as number;
        out.set(ts.head, at);
        let n = first + k;
        for (let d = at + 18; d >= at + 7; d--) {
          out[d] = 48 + (n % 10);
          n = Math.floor(n / 10);
        }
        out.writeDoubleLE(first + k + 1, numAt[k] as number);
      }
      return out.subarray(0, data.length);
    },
  };
}

/** `base`: a child engine from another build (`--baseline`), beside this build's in the same run. */
type Mode = 'child' | 'inproc' | 'base';

interface ModeOptions {
  readonly mode: Mode;
  /** The baseline build's main.js, for mode `base`. */
  readonly baseline: string | undefined;
  readonly server: NatsServerHandle;
  /** What the publisher sends: the pool's events, or its batches encoded once per codec. */
  readonly source: Source;
  readonly batch: number;
  readonly seconds: number;
  readonly codec: BatchCodec;
  readonly perIndex: readonly number[];
  readonly base: bigint;
  /** Where the child engine writes its V8 CPU profile (`--profile`); undefined: none. */
  readonly profileDir: string | undefined;
  /** Node flags of the child engines, not the base's (`--engine-node-args`). */
  readonly engineNodeArgs: readonly string[];
  /** Engine replicas of the child and base modes (`--engines`). */
  readonly engines: number;
}

type Summed =
  | 'received'
  | 'invalid'
  | 'dropped'
  | 'evaluated'
  | 'inFlight'
  | 'alertsPublished'
  | 'alertsFailed';

/** The replicas' counters added up: the check and the rates see them as one engine. */
function summed(stats: StatsCollector, names: readonly string[]): EngineStats {
  const all = names.map((n) => stats.get(n));
  const sum = (k: Summed): number => all.reduce((n, s) => n + s[k], 0);
  return {
    ...(all[0] as EngineStats),
    received: sum('received'),
    invalid: sum('invalid'),
    dropped: sum('dropped'),
    evaluated: sum('evaluated'),
    inFlight: sum('inFlight'),
    alertsPublished: sum('alertsPublished'),
    alertsFailed: sum('alertsFailed'),
  };
}

async function runMode(o: ModeOptions): Promise<Figures> {
  const { mode, server, source, batch, seconds, codec, perIndex, base, profileDir, baseline } = o;
  const engines = mode === 'inproc' ? 1 : o.engines;
  const bus = await connectBus({ url: server.url, name: 'bench-publisher' });
  const storedBefore = (
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects, { maxMessages: 1_000_000 })
  ).messages;
  const name = `bench-${mode}-${codec}`;
  const names = engines === 1 ? [name] : Array.from({ length: engines }, (_, k) => `${name}-${k + 1}`);
  await using stats = new StatsCollector(bus);
  const replicas: Replica[] = [];
  let stopInproc: (() => Promise<void>) | undefined;
  if (mode === 'child' || mode === 'base') {
    for (const n of names)
      replicas.push(
        await startReplica({
          ...(mode === 'base' && baseline !== undefined ? { main: baseline } : {}),
          nats: server.url,
          name: n,
          rules: [RULES],
          extraArgs: ['--no-watch', '--stats-min-interval-ms', '10'],
          nodeArgs: [
            ...(mode === 'child' ? o.engineNodeArgs : []),
            ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
          ],
        }),
      );
  } else {
    const engineBus = await connectBus({ url: server.url, name: 'bench-engine' });
    const files = await readRuleFiles([RULES]);
    const ctl = new AbortController();
    const engine = await start(
      {
        bus: engineBus,
        name,
        rules: { format: 1, files, selections: [], updatedAt: new Date().toISOString() },
        watchRules: false,
        statsMinIntervalMs: 10,
        log: () => {},
      },
      ctl.signal,
    );
    stopInproc = async () => {
      ctl.abort();
      await engine.stopped;
      await engineBus.close();
    };
  }
  await stats.until('engine reports', (s) => names.every((n) => s.has(n)));
  const engine = (): EngineStats => summed(stats, names);

  const startEvaluated = engine().evaluated;
  const state: PublishState = {
    stop: false,
    // Woken by the engine's stats reports (every 10 ms while it works), not by polling a timer.
    credit: (sent) =>
      stats
        .until("the engine to evaluate the publisher's window", () => {
          return state.stop || sent - (engine().evaluated - startEvaluated) <= WINDOW;
        })
        .catch((err: unknown) => {
          if (!state.stop) throw err;
        }),
  };
  const publishing =
    source.pool !== undefined
      ? publishLoop(bus, source.pool, batch, state, base, codec)
      : publishPreencoded(bus, source.templates.get(codec) ?? [], state, codec, base);
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const from = engine();
  const pids = replicas.map((r) => r.pid);
  const t0 = performance.now();
  const cpu0 = cpuNow(pids, server.pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const to = engine();
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSince(cpu0, cpuNow(pids, server.pid));
  state.stop = true;
  const pub = await publishing;
  // Let the engine finish what it holds, then read its last figures. Not catching up is a
  // failed run (the check says so), never a figure.
  let caughtUp = true;
  await stats
    .until(
      'engine caught up',
      (s) => {
        if (!names.every((n) => s.has(n))) return false;
        const v = engine();
        return v.received === pub.published && v.inFlight === 0;
      },
      60_000,
    )
    .catch(() => {
      caughtUp = false;
    });
  const last: EngineStats = engine();
  const alertsStored =
    (await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects, { maxMessages: 1_000_000 })).messages -
    storedBefore;
  // Which pool event each published event copies: publishLoop walks the pool; the preencoded
  // publisher replays its batch templates, each `batch` pool events from a multiple of `batch`.
  const size = source.poolSize;
  const templates = Math.ceil(size / batch);
  const contentIndex =
    source.pool !== undefined
      ? (i: number) => i % size
      : (i: number) => ((Math.floor(i / batch) % templates) * batch + (i % batch)) % size;
  const run: PipelineRun = {
    published: pub.published,
    publisherDropped: pub.dropped,
    caughtUp,
    engine: last,
    alertsStored,
    alertsExpected: expectedAlerts(pub.published, perIndex, contentIndex),
  };
  for (const r of replicas) await r.stop();
  await stopInproc?.();
  await bus.close();
  return {
    mode,
    engines,
    codec,
    seconds: elapsed,
    published: pub.published,
    evaluated: (to.evaluated - from.evaluated) / elapsed,
    alerts: (to.alertsPublished - from.alertsPublished) / elapsed,
    engineDropped: last.dropped,
    publisherDropped: pub.dropped,
    inFlightAtEnd: last.inFlight,
    cpu,
    problems: checkPipelineRun(run),
  };
}

interface Source {
  readonly poolSize: number;
  /** The pool's events, kept for `--publisher batcher` only. */
  readonly pool: readonly SyscallEvent[] | undefined;
  /** Per codec run, the pool's batches encoded once (`--publisher preencoded`). */
  readonly templates: ReadonlyMap<BatchCodec, readonly Template[]>;
}

/**
 * The pool of events, what the publisher replays and the reference. The
 * preencoded publisher keeps only the encoded batches: the pool's ~75 MB of
 * objects would stay live in the heap of this process, and each of its
 * mark-compacts (set off by the batches' buffers) would mark them again.
 */
async function prepare(
  publisher: 'preencoded' | 'batcher',
  batch: number,
  codecs: readonly BatchCodec[],
): Promise<{
  source: Source;
  perIndex: readonly number[];
  eventBytes: number;
  codecBytes: ReadonlyMap<BatchCodec, number>;
}> {
  const pool = generateEvents(50_000, { seed: 99 });
  const eventBytes = pool.slice(0, 1000).reduce((n, e) => n + JSON.stringify(e).length + 1, 0) / 1000;
  // Bytes per event on the wire (what leaves a node), each codec over the whole pool in batches.
  const templates = new Map<BatchCodec, readonly Template[]>();
  const codecBytes = new Map<BatchCodec, number>();
  for (const c of new Set<BatchCodec>([...codecs, BATCH_CODEC])) {
    const t = encodeTemplates(pool, batch, c);
    const total = t.reduce((n, x) => n + x.bytes, 0);
    codecBytes.set(c, total / t.reduce((n, x) => n + x.count, 0));
    if (publisher === 'preencoded' && codecs.includes(c)) templates.set(c, t);
  }
  // The reference: alerts per pool event from the same rules, as the engine evaluates them
  // (rule_matching first, every priority).
  const loaded = loadRules(await readRuleFiles([RULES]));
  if (!loaded.ok) throw new Error(`${RULES} does not load`);
  const perIndex = pool.map(
    (e) => loaded.ruleset.evaluate(e, { ruleMatching: 'first', render: false }).length,
  );
  return {
    source: { poolSize: pool.length, pool: publisher === 'batcher' ? pool : undefined, templates },
    perIndex,
    eventBytes,
    codecBytes,
  };
}

function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'both' },
      batch: { type: 'string' },
      publisher: { type: 'string', default: 'preencoded' },
      codec: { type: 'string', default: `${BATCH_CODEC_BINARY},${BATCH_CODEC_V2}` },
      profile: { type: 'string' },
      baseline: { type: 'string' },
      engines: { type: 'string', default: '1' },
      'engine-node-args': { type: 'string', default: '' },
    },
  });
  const publisher = values.publisher;
  if (publisher !== 'preencoded' && publisher !== 'batcher')
    throw new Error('--publisher preencoded|batcher');
  const codecs = values.codec.split(',') as BatchCodec[];
  for (const c of codecs)
    if (!(BATCH_CODECS as readonly string[]).includes(c))
      throw new Error(`--codec: expected codecs among ${BATCH_CODECS.join(', ')}, got ${JSON.stringify(c)}`);
  const mode = values.mode;
  if (mode !== 'child' && mode !== 'inproc' && mode !== 'both') throw new Error('--mode child|inproc|both');
  const batch = Number(values.batch ?? process.env.SAKER_BENCH_BATCH ?? 512);
  const seconds = Number(process.env.SAKER_BENCH_SECONDS ?? 10);
  const engines = Number(values.engines);
  if (!Number.isInteger(engines) || engines < 1 || engines > 16)
    throw new Error(`--engines: expected an integer from 1 to 16, got ${values.engines}`);
  const engineNodeArgs = values['engine-node-args'].split(' ').filter((a) => a !== '');
  for (const a of engineNodeArgs)
    if (!/^--[a-z][a-z0-9-]*(=[A-Za-z0-9._-]+)?$/.test(a))
      throw new Error(
        `--engine-node-args: expected flags like --name or --name=value, got ${JSON.stringify(a)}`,
      );
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`--batch: expected a positive integer, got ${batch}`);
  if (!(seconds >= 1)) throw new Error(`SAKER_BENCH_SECONDS: expected >= 1, got ${seconds}`);

  const { source, perIndex, eventBytes: bytes, codecBytes } = await prepare(publisher, batch, codecs);
  process.stdout.write(
    `bench:pipeline  ${process.argv.slice(1).join(' ')}\n` +
      `  node ${process.version}, batch ${batch} events, event ~${Math.round(bytes)} B as one JSON line, ` +
      `${engines} engine replica${engines === 1 ? '' : 's'} in the child and base modes` +
      `${engineNodeArgs.length > 0 ? ` (child: node ${engineNodeArgs.join(' ')})` : ''}, ` +
      `publisher ${publisher}, codecs ${codecs.join(', ')}, rules/saker_rules.yaml, ` +
      `${seconds} s measured after ${WARMUP_S} s warm-up; load average at start ${loadLine()}\n`,
  );
  for (const [c, b] of codecBytes)
    process.stdout.write(`  codec ${c.padEnd(12)} ${b.toFixed(1)} bytes per event\n`);
  const server = await startNatsServer({ jetstream: true });
  let failed = false;
  try {
    const own: ('child' | 'inproc')[] = mode === 'both' ? ['child', 'inproc'] : [mode];
    // The baseline runs beside this build's child engine, codec by codec, so both see the same load;
    // the order alternates (base first for the 1st, 3rd, ... codec listed), so that a codec listed
    // twice (`--codec binary-v1,binary-v1`) gives an A-B-B-A pair.
    const runs = own.flatMap((m) =>
      codecs.flatMap((codec, i) => {
        const pair: Mode[] = i % 2 === 0 ? ['base', m] : [m, 'base'];
        return (m === 'child' && values.baseline !== undefined ? pair : [m]).map((x) => ({ m: x, codec }));
      }),
    );
    let run = 0;
    for (const { m, codec } of runs) {
      // Each run's events get timestamps of their own: the alerts' msgIds derive from them, and
      // SAKER_ALERTS would de-duplicate a later run's alerts against an earlier one's.
      const base = 1_100_000_000_000_000_000n + BigInt(run++) * 100_000_000_000_000_000n;
      const f = await runMode({
        mode: m,
        server,
        source,
        batch,
        seconds,
        codec,
        perIndex,
        base,
        profileDir: values.profile,
        baseline: values.baseline,
        engines,
        engineNodeArgs,
      });
      if (f.problems.length > 0) {
        failed = true;
        process.stderr.write(
          `  engine ${f.mode} ${f.codec}: CHECK FAILED, no rate reported:\n${f.problems.map((x) => `    - ${x}\n`).join('')}`,
        );
        continue;
      }
      process.stdout.write(
        `  engine ${`${f.mode}${f.engines > 1 ? `×${f.engines}` : ''}`.padEnd(6)} ${f.codec.padEnd(12)} ${Math.round(f.evaluated).toLocaleString('en')} events/s end to end, ` +
          `${Math.round(f.alerts).toLocaleString('en')} alerts/s, ` +
          `drops: engine ${f.engineDropped}, publisher ${f.publisherDropped}; ` +
          `published ${f.published.toLocaleString('en')} in total, in flight at end ${f.inFlightAtEnd}; ` +
          'checked: every event evaluated, SAKER_ALERTS holds the reference count of alerts\n' +
          cpuLine(f),
      );
    }
  } finally {
    await server.stop();
  }
  process.stdout.write(`  load average at end ${loadLine()}\n`);
  if (failed) process.exitCode = 1;
}

await main();
