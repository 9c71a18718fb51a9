/**
 * `npm run bench:enrich`: what the metadata join costs the engine.
 *
 * The rules benchmark's event mix (libs/rules/bench/mix.ts, 50,000 events)
 * is spread over 500 container ids, each with a container record and a pod
 * record in KV saker_meta (the in-memory bus), loaded by
 * createKvMetadataProvider. Falco's stable rules (plus Saker's defaults) read
 * container.* fields in their conditions, so every event is joined.
 *
 *   without: events that already carry their container and pod metadata are
 *            evaluated (batches of 512, as the engine takes them);
 *   with:    the same events as the sensor sends them (container.id only)
 *            go through joinBatch (the engine's own join step) and the cache,
 *            then are evaluated.
 *
 * Both see the same metadata, so they fire the same rules (checked); the
 * difference is the join. As in the engine, each batch is decoded from its
 * wire form (codec v2) just before it is used, so the events are fresh and
 * owned, and the cost of decoding is measured apart: `evaluation` rates count
 * the join and the rules only (the rules benchmark's figure), `engine` rates
 * add the decoding the engine does for every batch anyway.
 *
 * Rates are per CPU second of this process (getrusage around each step), not
 * per wall-clock second: the machine is shared, and CPU time does not count
 * the time other processes hold the core. After a 2 s warm-up of each, the
 * modes alternate in 0.5 s slices, SAKER_BENCH_SECONDS (default 10) each; the
 * slowdown is the median over neighbouring pairs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BATCH_CODEC_V2,
  BUCKETS,
  type EncodedBatch,
  batchHeaders,
  connectBus,
  decodeBatch,
  encodeBatch,
} from '@saker/bus';
import type { ContainerInfo, PodInfo, SakerEvent, SyscallEvent } from '@saker/events';
import { type RuleText, type Ruleset, loadRules } from '@saker/rules';
import { repoRoot, sharedPath } from '@saker/testing';
import { createKvMetadataProvider } from '../src/metadata-cache.js';
import { joinBatch } from '../src/metadata-join.js';
import { metadataNeed } from '../src/metadata.js';
import { containerRecord, podRecord, putContainer, putPod, until } from '../test/helpers/metadata-records.js';
import { checkEnrichRuns } from './enrich-check.js';

const CONTAINERS = 500;
const POOL_SIZE = 50_000;
const BATCH = 512;
const SEED = 20240514;

type GenerateMix = (opts: { size: number; seed?: number }) => SyscallEvent[];

/** The rules benchmark's generator, from @saker/rules' compiled bench (built by the same npm script). */
async function loadMix(): Promise<GenerateMix> {
  const file = join(repoRoot(), 'libs', 'rules', 'dist', 'bench', 'mix.js');
  const mod: unknown = await import(pathToFileURL(file).href);
  const fn = (mod as { generateMix?: unknown }).generateMix;
  if (typeof fn !== 'function') throw new Error(`${file} does not export generateMix: build @saker/rules`);
  return fn as GenerateMix;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

function ruleTexts(): RuleText[] {
  const falco = sharedPath('falco-rules', 'falco_rules.yaml');
  if (falco === undefined) throw new Error("Falco's falco_rules.yaml is needed: set SAKER_SHARED");
  const texts: RuleText[] = [{ name: falco, content: readFileSync(falco, 'utf8') }];
  const dir = join(repoRoot(), 'rules');
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.yaml')) texts.push({ name: join(dir, f), content: readFileSync(join(dir, f), 'utf8') });
  }
  return texts;
}

interface Pools {
  /** What evaluation sees after the join: metadata included. */
  readonly enriched: SyscallEvent[];
  /** What the sensor sends: container.id only. */
  readonly bare: SyscallEvent[];
  readonly containers: Map<string, { container: ContainerInfo; k8s: PodInfo | undefined }>;
}

/** Spreads the mix's containers over CONTAINERS ids: event i of a workload goes to one of its ids. */
function spread(pool: readonly SyscallEvent[]): Pools {
  const workloads = [...new Set(pool.filter((e) => e.container.id !== 'host').map((e) => e.container.id))];
  const containers = new Map<string, { container: ContainerInfo; k8s: PodInfo | undefined }>();
  const idsOf = new Map<string, string[]>();
  for (let n = 0; n < CONTAINERS; n++) {
    const w = workloads[n % workloads.length] as string;
    const sample = pool.find((e) => e.container.id === w) as SyscallEvent;
    const id = (0x100000000000 + n * 7919).toString(16).slice(0, 12);
    const uid = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    const k8s =
      sample.k8s === undefined
        ? undefined
        : { ...sample.k8s, pod_uid: uid, pod_name: `${sample.k8s.pod_name}-${n}` };
    containers.set(id, { container: { ...sample.container, id, full_id: `${id}${'0'.repeat(52)}` }, k8s });
    idsOf.set(w, [...(idsOf.get(w) ?? []), id]);
  }
  const enriched: SyscallEvent[] = [];
  const bare: SyscallEvent[] = [];
  pool.forEach((e, i) => {
    const ids = idsOf.get(e.container.id);
    if (ids === undefined) {
      enriched.push(e);
      bare.push(e);
      return;
    }
    const id = ids[i % ids.length] as string;
    const meta = containers.get(id);
    if (meta === undefined) throw new Error('unreachable');
    const { k8s: _dropped, ...rest } = e;
    // Round-trip through JSON, as the engine's events come off the wire (same object shapes).
    const withMeta =
      meta.k8s === undefined
        ? { ...rest, container: meta.container }
        : { ...rest, container: meta.container, k8s: meta.k8s };
    enriched.push(JSON.parse(JSON.stringify(withMeta)) as SyscallEvent);
    bare.push(JSON.parse(JSON.stringify({ ...rest, container: { id } })) as SyscallEvent);
  });
  return { enriched, bare, containers };
}

interface Run {
  readonly events: number;
  readonly alerts: number;
  /** What the reference pass gives for the batches this run evaluated. */
  readonly expectedAlerts: number;
  /** CPU time (user + system, µs) spent decoding, and in the step (join and rules). */
  readonly decodeUs: number;
  readonly stepUs: number;
}

const HEADERS = batchHeaders(BATCH, BATCH_CODEC_V2);

function encode(pool: readonly SakerEvent[]): EncodedBatch[] {
  const out: EncodedBatch[] = [];
  for (let off = 0; off < pool.length; off += BATCH) {
    out.push(encodeBatch(pool.slice(off, off + BATCH), { codec: BATCH_CODEC_V2 }));
  }
  return out;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function decode(b: EncodedBatch): SakerEvent[] {
  const { events, invalid } = decodeBatch(b.data, HEADERS);
  if (invalid.length > 0) throw new Error(`the pool does not decode: ${invalid[0]?.message}`);
  return events;
}

function measure(
  step: (batch: SakerEvent[]) => number,
  batches: readonly EncodedBatch[],
  seconds: number,
  reference: readonly number[],
): Run {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let events = 0;
  let alerts = 0;
  let expectedAlerts = 0;
  let decodeUs = 0;
  let stepUs = 0;
  let k = 0;
  for (;;) {
    const b = batches[k] as EncodedBatch;
    expectedAlerts += reference[k] ?? 0;
    k = k + 1 === batches.length ? 0 : k + 1;
    const t0 = cpuUs();
    const batch = decode(b);
    const t1 = cpuUs();
    alerts += step(batch);
    const t2 = cpuUs();
    decodeUs += t1 - t0;
    stepUs += t2 - t1;
    events += batch.length;
    if (process.hrtime.bigint() >= deadline) return { events, alerts, expectedAlerts, decodeUs, stepUs };
  }
}

function evaluateAll(ruleset: Ruleset, batch: readonly SakerEvent[]): number {
  let n = 0;
  for (const e of batch) n += ruleset.evaluate(e).length;
  return n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
}

function quartiles(xs: readonly number[]): string {
  const s = [...xs].sort((x, y) => x - y);
  const q = (f: number): number => s[Math.floor(f * (s.length - 1))] as number;
  return `${q(0.25).toFixed(1)}% – ${q(0.75).toFixed(1)}%`;
}

function range(xs: readonly number[]): string {
  return `${Math.round(Math.min(...xs))} – ${Math.round(Math.max(...xs))}`;
}

async function main(): Promise<void> {
  const seconds = envNumber('SAKER_BENCH_SECONDS', 10);
  const slice = 0.5;
  const rounds = Math.max(1, Math.round(seconds / slice));
  const load0 = loadavg();
  const texts = ruleTexts();
  const load = loadRules(texts);
  if (!load.ok) throw new Error('the rules have load errors; the benchmark needs them to load');
  const ruleset = load.ruleset;
  const need = metadataNeed(ruleset);
  if (need !== 'condition') throw new Error(`expected the rules to read metadata in conditions, got ${need}`);

  const generateMix = await loadMix();
  const { enriched, bare, containers } = spread(generateMix({ size: POOL_SIZE, seed: SEED }));
  const enrichedBatches = encode(enriched);
  const bareBatches = encode(bare);

  const bus = await connectBus({ memory: true });
  const kv = await bus.kv(BUCKETS.meta);
  const pods = new Set<string>();
  for (const { container, k8s } of containers.values()) {
    await putContainer(kv, containerRecord(container, k8s === undefined ? {} : { k8s }));
    if (k8s?.pod_uid !== undefined && !pods.has(k8s.pod_uid)) {
      pods.add(k8s.pod_uid);
      await putPod(kv, podRecord(k8s));
    }
  }
  const cache = await createKvMetadataProvider(bus, { log: (l) => process.stderr.write(`${l}\n`) });
  await until(
    'records cached',
    () => cache.stats().containers === CONTAINERS && cache.stats().pods === pods.size,
  );

  let failures = 0;
  const failed = (): void => {
    failures++;
  };
  const without = (batch: SakerEvent[]): number => evaluateAll(ruleset, batch);
  // Not timed apart inside the slices: two more getrusage calls a batch would be counted to `with` only.
  const withJoin = (batch: SakerEvent[]): number => {
    if (joinBatch(cache, batch, failed) !== undefined) throw new Error('a join waited: a record is missing');
    return evaluateAll(ruleset, batch);
  };

  // The reference pass: alerts per batch both ways. The same rules must fire both ways, or the
  // comparison means nothing, and every timed slice must give the reference count.
  const referenceWithout = enrichedBatches.map((batch) => without(decode(batch)));
  const referenceWith = bareBatches.map((batch) => withJoin(decode(batch)));
  const a = referenceWithout.reduce((x, y) => x + y, 0);

  measure(without, enrichedBatches, 2, referenceWithout);
  measure(withJoin, bareBatches, 2, referenceWith);
  const runs: { without: Run[]; with: Run[] } = { without: [], with: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const mode of order) {
      runs[mode].push(
        mode === 'with'
          ? measure(withJoin, bareBatches, slice, referenceWith)
          : measure(without, enrichedBatches, slice, referenceWithout),
      );
    }
  }
  const joinOnly = measure(
    (batch) => {
      joinBatch(cache, batch, failed);
      return 0;
    },
    bareBatches,
    Math.min(2, seconds),
    [],
  );
  const stats = cache.stats();
  await cache.close();
  await bus.close();

  const problems = checkEnrichRuns({
    referenceWithout,
    referenceWith,
    slices: (['without', 'with'] as const).flatMap((mode) =>
      runs[mode].map((r) => ({ mode, events: r.events, alerts: r.alerts, expectedAlerts: r.expectedAlerts })),
    ),
    joinFailures: failures,
    joinWaits: stats.waits,
  });
  if (problems.length > 0) {
    process.stderr.write(
      `bench:enrich: CHECK FAILED, no rate reported:\n${problems.map((x) => `  - ${x}\n`).join('')}`,
    );
    process.exitCode = 1;
    return;
  }

  const evalRate = (r: Run): number => r.events / (r.stepUs / 1e6);
  const engineRate = (r: Run): number => r.events / ((r.stepUs + r.decodeUs) / 1e6);
  const nsPerEvent = (xs: readonly Run[]): number => median(xs.map((r) => (r.stepUs * 1000) / r.events));
  const joinInsideNs = nsPerEvent(runs.with) - nsPerEvent(runs.without);
  const lines: string[] = [];
  for (const [label, rate] of [
    ['evaluation (join + rules)', evalRate],
    ['engine (decode + join + rules)', engineRate],
  ] as const) {
    const w = runs.without.map(rate);
    const j = runs.with.map(rate);
    const pairs = j.map((x, i) => (1 - x / (w[i] as number)) * 100);
    lines.push(
      `${label}:`,
      `  without join: ${Math.round(median(w))} events/CPU-s (median; range ${range(w)})`,
      `  with join:    ${Math.round(median(j))} events/CPU-s (median; range ${range(j)})`,
      `  slowdown: ${median(pairs).toFixed(1)}% (median of ${pairs.length} pairs; quartiles ${quartiles(pairs)}); ratio of medians ${(median(j) / median(w)).toFixed(3)}; goal ≤ 10%`,
    );
  }
  const load1 = loadavg();
  const cmd = `${process.env.SAKER_BENCH_SECONDS ? `SAKER_BENCH_SECONDS=${seconds} ` : ''}npm run bench:enrich`;
  const out = [
    `command: ${cmd}`,
    `node ${process.version} ${process.platform}/${process.arch}, ${cpus()[0]?.model ?? 'unknown cpu'}, one thread`,
    `load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`,
    `rules: ${texts.map((t) => basename(t.name)).join(' + ')}: ${ruleset.rules.filter((r) => r.enabled).length} enabled; metadata read in conditions`,
    `checked: every timed slice gave the reference pass's alerts for its batches (${runs.without.length + runs.with.length} slices), both ways the same per batch, no join failed or waited`,
    `pool: ${POOL_SIZE} events of the rules mix over ${CONTAINERS} container ids (${pods.size} pods), ${bare.filter((e) => e.container.id !== 'host').length} in containers; ${a} matches per pass both ways`,
    `measured: ${seconds} s per mode in ${rounds} alternating pairs of ${slice} s slices, batches of ${BATCH} decoded (codec v2) before use`,
    ...lines,
    `join step: ${Math.round(joinInsideNs)} CPU ns/event inside the with-join runs (difference of the median evaluation times), ${Math.round((joinOnly.stepUs * 1000) / joinOnly.events)} alone; cache: ${stats.containers} containers, ${stats.pods} pods, ${stats.joinHits} hits, ${stats.joinMisses} misses, ${stats.waits} waits, ${failures} failures`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
