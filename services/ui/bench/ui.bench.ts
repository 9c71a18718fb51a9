/**
 * bench:ui — the UI's store at scale, through its real paths:
 *  1. fill: `SAKER_BENCH_ALERTS` (default 1,000,000) alerts written into the
 *     store in batches of 1000 (the store's own insert rate), spread over
 *     the last 24 h, 50 rules, 20 hosts, 25 namespaces, 4 priorities, 2 sources;
 *  2. feed: `SAKER_BENCH_FEED` (default 100,000) more alerts stored in
 *     SAKER_ALERTS on a real nats-server, then the UI service starts, in a
 *     child process of its own, with the full store (max_rows =
 *     SAKER_BENCH_ALERTS, so every batch also removes the oldest) and the
 *     clock runs until its durable consumer has stored them all: the
 *     ingestion rate; the child's RSS is sampled meanwhile and must stay
 *     under `SAKER_BENCH_RSS_MB` (default 400);
 *  3. queries over HTTP: p50/p95 of a filtered page (`api/events` with
 *     priority, namespace and since=24h) and of the dashboard's counts
 *     (`api/counts` by priority, source, rule and tag, `api/timeline`),
 *     `SAKER_BENCH_QUERIES` (default 40) each.
 * Self-check before any figure is printed: the store holds exactly max_rows
 * alerts, the newest is the last one fed, the counts add up to the rows,
 * and every event of the filtered page matches its filters.
 * The machine is shared: beside each rate the bench prints the child's CPU
 * time (all its threads: alerts per CPU-second, which the load moves much
 * less than the wall clock) and the load average at each phase.
 *
 * `--baseline DIR` runs phases 2 and 3 a first time with another build of
 * this package (DIR holds its compiled `src/`, e.g. main's), on a copy of
 * the same filled store (filled again by that build, with the same alerts,
 * when it refuses the copy as another layout) and the same messages (its durable consumer is
 * deleted before this build's run), so both see the same data and nearly
 * the same load. With `SAKER_BENCH_CPU_PROFILE=<dir>`, each child writes
 * `node --cpu-prof` profiles of its threads there.
 *
 *   npm run bench:ui [-- --baseline DIR]
 *   SAKER_BENCH_ALERTS=1000000  SAKER_BENCH_FEED=100000  SAKER_BENCH_QUERIES=40  SAKER_BENCH_RSS_MB=400
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAMS, connectBus } from '@saker/bus';
import { loadConfig } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { createLogger } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { startNatsServer } from '@saker/testing';
import { AlertStore, UI_DURABLE, type startUi } from '../src/mod.js';

const N = Number(process.env.SAKER_BENCH_ALERTS ?? '1000000');
const FEED = Number(process.env.SAKER_BENCH_FEED ?? '100000');
const QUERIES = Number(process.env.SAKER_BENCH_QUERIES ?? '40');
const RSS_MB = Number(process.env.SAKER_BENCH_RSS_MB ?? '400');
const PROFILE = process.env.SAKER_BENCH_CPU_PROFILE ?? null;
const PRIORITIES = ['Critical', 'Error', 'Warning', 'Notice'];
const DAY = 86_400_000;
const PAGE = 'api/events?priority=critical&priority=error&namespace=ns-3&since=24h&limit=50';
const DASHBOARD = [
  'api/counts?by=priority&since=24h',
  'api/counts?by=source&since=24h',
  'api/counts?by=rule&since=24h',
  'api/counts?by=tag&since=24h',
  'api/timeline?by=priority&points=60&since=24h',
];
const TEXT = 'api/events?q=shadow123&since=24h&limit=50';

function makeAlert(i: number, now: number, spanMs: number, count: number): FalcoAlert {
  const t = new Date(now - spanMs + Math.floor((i * spanMs) / count));
  return {
    hostname: `node-${i % 20}`,
    output: `${t.toISOString()}: Warning Sensitive file opened for reading by non-trusted program (file=/etc/shadow${i % 1000} gparent=bash ggparent=sshd evt_type=openat user=root user_uid=0 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=34816 container_id=c${i % 300} container_name=web-${i % 300})`,
    priority: PRIORITIES[i % 4] ?? 'Warning',
    rule: `Rule number ${i % 50}`,
    source: i % 5 === 4 ? 'k8s_audit' : 'syscall',
    tags: ['filesystem', 'mitre_credential_access', `T${i % 30}`],
    time: t.toISOString(),
    output_fields: {
      'evt.time': t.getTime() * 1e6,
      'fd.name': `/etc/shadow${i % 1000}`,
      'proc.cmdline': 'cat /etc/shadow',
      'proc.pid': 1000 + (i % 5000),
      'k8s.ns.name': `ns-${i % 25}`,
      'k8s.pod.name': `pod-${i % 500}`,
      'container.image.repository': `registry.local/app-${i % 10}`,
      'user.name': 'root',
    },
  };
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** CPU seconds (user + system, every thread) of this process since `start`. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timeQueries(url: string, paths: readonly string[]): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    for (const p of paths) {
      const res = await fetch(new URL(p, url));
      if (res.status !== 200) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

/** What a child (one build's service) is given, as JSON in SAKER_BENCH_CHILD. */
interface ChildJob {
  /** That build's `src/mod.js`. */
  readonly mod: string;
  readonly path: string;
  readonly nats: string;
}

interface Quantiles {
  readonly p50: number;
  readonly p95: number;
}

/** What a child prints, as one JSON line. */
interface ChildResult {
  readonly feedS: number;
  readonly feedCpu: number;
  readonly feedLoad: string;
  readonly rssMax: number;
  readonly page: Quantiles;
  readonly dashboard: Quantiles;
  readonly text: Quantiles;
  readonly rows: number;
  readonly problems: string[];
}

function storeOptions(path: string) {
  return { path, maxRows: N, maxBytes: 64 * 1024 ** 3, maxAgeMs: 30 * DAY, cacheBytes: 32 * 1024 * 1024 };
}

/** Fills a new store at `path` with the N bench alerts (batches of 1000) through `Store`; returns its bytes in use. */
function fill(Store: typeof AlertStore, path: string, now: number): number {
  const store = new Store(storeOptions(path));
  for (let at = 0; at < N; at += 1000) {
    const batch = [];
    for (let i = at; i < Math.min(N, at + 1000); i++) {
      const alert = makeAlert(i, now - 60_000, DAY - 120_000, N);
      batch.push({ seq: i + 1, ts: Date.parse(alert.time), alert });
    }
    store.add(batch);
  }
  const bytes = store.bytes();
  store.close();
  return bytes;
}

/** Phases 2 and 3 in this process, with the build at job.mod. */
async function child(job: ChildJob): Promise<void> {
  const mod = (await import(job.mod)) as { startUi: typeof startUi };
  const bus = await connectBus({ url: job.nats });
  // The store full from the start: max_rows is the rows filled.
  const store = { path: job.path, max_rows: N, max_bytes: 64 * 1024 ** 3 };
  const ui = { listen: '127.0.0.1:0', auth: { anonymous: 'viewer' }, store };
  const config = loadConfig({ env: {}, onNotice: () => undefined, overrides: { ui } });
  let rssMax = 0;
  const sample = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  }, 100);
  const t = performance.now();
  const cpu = process.cpuUsage();
  const service = await mod.startUi({
    config: config.ui,
    bus,
    metrics: new MetricsRegistry(),
    logger: createLogger({ name: 'ui', level: 'warn' }),
    webRoot: null,
    health: null,
    version: 'bench',
  });
  const last = N + FEED;
  while (service.store.lastSequence() < last) await new Promise((r) => setTimeout(r, 20));
  const feedS = (performance.now() - t) / 1000;
  const feedCpu = cpuSeconds(cpu);
  const feedLoad = load();
  clearInterval(sample);

  const page = await timeQueries(service.url, [PAGE]);
  const dashboard = await timeQueries(service.url, DASHBOARD);
  const text = await timeQueries(service.url, [TEXT]);

  // self-check
  const problems: string[] = [];
  const rows = service.store.rows;
  if (rows !== N) problems.push(`the store holds ${rows} alerts, expected max_rows = ${N}`);
  const all = (await (await fetch(new URL('api/counts?by=source', service.url))).json()) as {
    buckets: { count: number }[];
  };
  const sum = all.buckets.reduce((n, b) => n + b.count, 0);
  if (sum !== rows) problems.push(`counts add up to ${sum}, the store holds ${rows}`);
  const got = (await (await fetch(new URL(PAGE, service.url))).json()) as {
    events: { priority: string; output_fields: Record<string, unknown> }[];
  };
  if (got.events.length !== 50) problems.push(`the page query gave ${got.events.length} events`);
  for (const e of got.events) {
    if (!['Critical', 'Error'].includes(e.priority) || e.output_fields['k8s.ns.name'] !== 'ns-3')
      problems.push(`a page event does not match: ${JSON.stringify(e).slice(0, 200)}`);
  }
  if (rssMax > RSS_MB * 1024 * 1024)
    problems.push(`RSS reached ${(rssMax / 1024 ** 2).toFixed(0)} MiB, over the ${RSS_MB} MiB bound`);
  await service.stop();
  await bus.close();
  const result: ChildResult = { feedS, feedCpu, feedLoad, rssMax, page, dashboard, text, rows, problems };
  console.log(JSON.stringify(result));
}

/** Runs one build's feed and queries in a child process; its last stdout line is the result. */
function runChild(job: ChildJob): Promise<ChildResult> {
  const args = PROFILE === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`];
  const c = spawn(process.execPath, [...args, fileURLToPath(import.meta.url)], {
    env: { ...process.env, SAKER_BENCH_CHILD: JSON.stringify(job) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  c.stdout.setEncoding('utf8');
  c.stdout.on('data', (d: string) => {
    out += d;
  });
  return new Promise((res, rej) => {
    c.on('error', rej);
    c.on('close', (code) => {
      const line = out.trimEnd().split('\n').at(-1) ?? '';
      if (code !== 0) return rej(new Error(`the bench child (${job.mod}) exited with ${code}: ${out}`));
      res(JSON.parse(line) as ChildResult);
    });
  });
}

function report(label: string, r: ChildResult): void {
  console.log(
    `${label}feed: ${FEED} alerts from SAKER_ALERTS stored in ${r.feedS.toFixed(1)} s: ${Math.round(FEED / r.feedS)} alerts/s, ${Math.round(FEED / r.feedCpu)} per CPU-second of the service's process (all threads; store full: each batch removes as many of the oldest); load ${r.feedLoad} (goal 20,000 alerts/s)`,
  );
  console.log(
    `${label}rss: at most ${(r.rssMax / 1024 ** 2).toFixed(0)} MiB during the feed (bound ${RSS_MB} MiB)`,
  );
  console.log(
    `${label}filtered page (${PAGE}): p50 ${r.page.p50.toFixed(1)} ms, p95 ${r.page.p95.toFixed(1)} ms over ${QUERIES} runs (goal p95 < 200 ms)`,
  );
  console.log(
    `${label}dashboard counts (4 counts + 1 timeline, since=24h, one after the other): p50 ${r.dashboard.p50.toFixed(1)} ms, p95 ${r.dashboard.p95.toFixed(1)} ms (goal p95 < 200 ms)`,
  );
  console.log(
    `${label}free text page (q=shadow123): p50 ${r.text.p50.toFixed(1)} ms, p95 ${r.text.p95.toFixed(1)} ms`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { baseline: { type: 'string' } } });
  const baseline = values.baseline === undefined ? null : resolve(values.baseline);
  console.log(
    `command: npm run bench:ui${baseline === null ? '' : ` -- --baseline ${values.baseline}`} (SAKER_BENCH_ALERTS=${N} SAKER_BENCH_FEED=${FEED} SAKER_BENCH_QUERIES=${QUERIES} SAKER_BENCH_RSS_MB=${RSS_MB})`,
  );
  if (baseline !== null) console.log(`baseline: the build in ${baseline}`);
  console.log(`load average at start: ${load()}`);
  const dir = mkdtempSync(join(tmpdir(), 'saker-ui-bench-'));
  const path = join(dir, 'alerts.db');
  const now = Date.now();
  try {
    // 1. fill
    const t = performance.now();
    const cpu = process.cpuUsage();
    const bytes = fill(AlertStore, path, now);
    const fillS = (performance.now() - t) / 1000;
    const fillCpu = cpuSeconds(cpu);
    console.log(
      `fill: ${N} alerts in ${fillS.toFixed(1)} s: ${Math.round(N / fillS)} alerts/s into the store (${Math.round(N / fillCpu)} per CPU-second); ${(bytes / 1024 ** 2).toFixed(0)} MiB in use; load ${load()}`,
    );
    const basePath = join(dir, 'baseline.db');
    if (baseline !== null) {
      copyFileSync(path, basePath);
      // A baseline of another store layout refuses the copy: it is filled by that build, with the same alerts.
      const base = (await import(pathToFileURL(join(baseline, 'src', 'mod.js')).href)) as {
        AlertStore: typeof AlertStore;
      };
      try {
        new base.AlertStore(storeOptions(basePath)).close();
      } catch (err) {
        if (!(err instanceof Error && err.name === 'StoreLayoutError')) throw err;
        rmSync(basePath);
        const b = fill(base.AlertStore, basePath, now);
        console.log(
          `baseline fill (another layout): ${(b / 1024 ** 2).toFixed(0)} MiB in use; load ${load()}`,
        );
      }
    }

    // 2. feed through NATS into the running service
    await using nats = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: nats.url });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    // Ids are stream sequences: the stream starts past the store's ids, as one stream
    // that had carried the first N alerts would (a purge up to a later sequence moves it there).
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(STREAMS.alerts.name, { seq: N + 1 });
    const enc = new TextEncoder();
    for (let at = 0; at < FEED; at += 5000) {
      await Promise.all(
        Array.from({ length: Math.min(5000, FEED - at) }, (_, k) =>
          bus.publishDurable(
            'saker.v1.alerts.syscall.warning',
            enc.encode(JSON.stringify(makeAlert(N + at + k, Date.now(), 60_000, FEED))),
          ),
        ),
      );
    }
    await bus.close();
    const results: [string, ChildResult][] = [];
    if (baseline !== null) {
      const mod = pathToFileURL(join(baseline, 'src', 'mod.js')).href;
      console.log(`baseline feed starts; load ${load()}`);
      results.push(['baseline', await runChild({ mod, path: basePath, nats: nats.url })]);
      rmSync(basePath, { force: true });
      // This build's service starts its durable consumer anew: the same messages again.
      await jsm.consumers.delete(STREAMS.alerts.name, UI_DURABLE);
    }
    console.log(`feed starts; load ${load()}`);
    const mod = new URL('../src/mod.js', import.meta.url).href;
    results.push(['this build', await runChild({ mod, path, nats: nats.url })]);
    await nc.close();
    let failed = false;
    for (const [label, r] of results) {
      report(baseline === null ? '' : `[${label}] `, r);
      for (const p of r.problems) console.error(`${label}: self-check failed: ${p}`);
      failed ||= r.problems.length > 0;
    }
    if (failed) {
      // The figures above are not to be quoted.
      process.exitCode = 1;
      return;
    }
    console.log(`with ${N} alerts stored; self-check passed`);
    console.log(`load average at end: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const job = process.env.SAKER_BENCH_CHILD;
if (job === undefined) await main();
else await child(JSON.parse(job) as ChildJob);
