/**
 * bench:ui — the UI's store at scale, through its real paths:
 *  1. fill: `SAKER_BENCH_ALERTS` (default 1,000,000) alerts written into the
 *     store in batches of 1000 (the store's own insert rate), spread over
 *     the last 24 h, 50 rules, 20 hosts, 25 namespaces, 4 priorities, 2 sources;
 *  2. feed: `SAKER_BENCH_FEED` (default 100,000) more alerts stored in
 *     SAKER_ALERTS on a real nats-server, then the UI service starts with the
 *     full store (max_rows = SAKER_BENCH_ALERTS, so every batch also removes
 *     the oldest) and the clock runs until its durable consumer has stored
 *     them all: the ingestion rate; the process's RSS is sampled meanwhile
 *     and must stay under `SAKER_BENCH_RSS_MB` (default 400);
 *  3. queries over HTTP: p50/p95 of a filtered page (`api/events` with
 *     priority, namespace and since=24h) and of the dashboard's counts
 *     (`api/counts` by priority, source, rule and tag, `api/timeline`),
 *     `SAKER_BENCH_QUERIES` (default 40) each.
 * Self-check before any figure is printed: the store holds exactly max_rows
 * alerts, the newest is the last one fed, the counts add up to the rows,
 * and every event of the filtered page matches its filters.
 * The machine is shared: beside each rate the bench prints the process's
 * CPU time (alerts per CPU-second, which the load moves much less than the
 * wall clock) and the load average at each phase.
 *
 *   npm run bench:ui
 *   SAKER_BENCH_ALERTS=1000000  SAKER_BENCH_FEED=100000  SAKER_BENCH_QUERIES=40  SAKER_BENCH_RSS_MB=400
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAMS, connectBus } from '@saker/bus';
import { loadConfig } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { createLogger } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { startNatsServer } from '@saker/testing';
import { AlertStore, startUi } from '../src/mod.js';

const N = Number(process.env.SAKER_BENCH_ALERTS ?? '1000000');
const FEED = Number(process.env.SAKER_BENCH_FEED ?? '100000');
const QUERIES = Number(process.env.SAKER_BENCH_QUERIES ?? '40');
const RSS_MB = Number(process.env.SAKER_BENCH_RSS_MB ?? '400');
const PRIORITIES = ['Critical', 'Error', 'Warning', 'Notice'];
const DAY = 86_400_000;

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

/** CPU seconds (user + system) of this process since `start`. */
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

async function main(): Promise<void> {
  console.log(
    `command: npm run bench:ui (SAKER_BENCH_ALERTS=${N} SAKER_BENCH_FEED=${FEED} SAKER_BENCH_QUERIES=${QUERIES} SAKER_BENCH_RSS_MB=${RSS_MB})`,
  );
  console.log(`load average at start: ${load()}`);
  const dir = mkdtempSync(join(tmpdir(), 'saker-ui-bench-'));
  const path = join(dir, 'alerts.db');
  const now = Date.now();
  try {
    // 1. fill
    const store = new AlertStore({
      path,
      maxRows: N,
      maxBytes: 64 * 1024 ** 3,
      maxAgeMs: 30 * DAY,
      cacheBytes: 32 * 1024 * 1024,
    });
    let t = performance.now();
    let cpu = process.cpuUsage();
    for (let at = 0; at < N; at += 1000) {
      const batch = [];
      for (let i = at; i < Math.min(N, at + 1000); i++) {
        const alert = makeAlert(i, now - 60_000, DAY - 120_000, N);
        batch.push({ seq: i + 1, ts: Date.parse(alert.time), alert });
      }
      store.add(batch);
    }
    const fillS = (performance.now() - t) / 1000;
    const fillCpu = cpuSeconds(cpu);
    const bytes = store.bytes();
    store.close();
    console.log(
      `fill: ${N} alerts in ${fillS.toFixed(1)} s: ${Math.round(N / fillS)} alerts/s into the store (${Math.round(N / fillCpu)} per CPU-second); ${(bytes / 1024 ** 2).toFixed(0)} MiB in use; load ${load()}`,
    );

    // 2. feed through NATS into the running service
    await using nats = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: nats.url });
    await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    // Ids are stream sequences: the stream starts past the store's ids, as one stream
    // that had carried the first N alerts would (a purge up to a later sequence moves it there).
    const nc = await connect({ servers: nats.url });
    await jetstreamManager(nc).then((jsm) => jsm.streams.purge(STREAMS.alerts.name, { seq: N + 1 }));
    await nc.close();
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
    const config = loadConfig({
      env: {},
      onNotice: () => undefined,
      overrides: {
        ui: {
          listen: '127.0.0.1:0',
          auth: { anonymous: 'viewer' },
          store: { path, max_rows: N, max_bytes: 64 * 1024 ** 3 },
        },
      },
    });
    let rssMax = 0;
    const sample = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
    }, 100);
    t = performance.now();
    cpu = process.cpuUsage();
    const ui = await startUi({
      config: config.ui,
      bus,
      metrics: new MetricsRegistry(),
      logger: createLogger({ name: 'ui', level: 'warn' }),
      webRoot: null,
      health: null,
    });
    const last = N + FEED;
    while (ui.store.lastSequence() < last) await new Promise((r) => setTimeout(r, 20));
    const feedS = (performance.now() - t) / 1000;
    const feedCpu = cpuSeconds(cpu);
    const feedLoad = load();
    clearInterval(sample);

    // 3. queries
    const page = 'api/events?priority=critical&priority=error&namespace=ns-3&since=24h&limit=50';
    const dashboard = [
      'api/counts?by=priority&since=24h',
      'api/counts?by=source&since=24h',
      'api/counts?by=rule&since=24h',
      'api/counts?by=tag&since=24h',
      'api/timeline?by=priority&points=60&since=24h',
    ];
    console.log(`queries start; load ${load()}`);
    const pageQ = await timeQueries(ui.url, [page]);
    const dashQ = await timeQueries(ui.url, dashboard);
    const textQ = await timeQueries(ui.url, ['api/events?q=shadow123&since=24h&limit=50']);

    // self-check
    const problems: string[] = [];
    if (ui.store.rows !== N)
      problems.push(`the store holds ${ui.store.rows} alerts, expected max_rows = ${N}`);
    const all = (await (await fetch(new URL('api/counts?by=source', ui.url))).json()) as {
      buckets: { count: number }[];
    };
    const sum = all.buckets.reduce((n, b) => n + b.count, 0);
    if (sum !== ui.store.rows) problems.push(`counts add up to ${sum}, the store holds ${ui.store.rows}`);
    const got = (await (await fetch(new URL(page, ui.url))).json()) as {
      events: { priority: string; output_fields: Record<string, unknown> }[];
      total: number;
    };
    if (got.events.length !== 50) problems.push(`the page query gave ${got.events.length} events`);
    for (const e of got.events) {
      if (!['Critical', 'Error'].includes(e.priority) || e.output_fields['k8s.ns.name'] !== 'ns-3')
        problems.push(`a page event does not match: ${JSON.stringify(e).slice(0, 200)}`);
    }
    if (rssMax > RSS_MB * 1024 * 1024)
      problems.push(`RSS reached ${(rssMax / 1024 ** 2).toFixed(0)} MiB, over the ${RSS_MB} MiB bound`);
    await ui.stop();
    await bus.close();
    if (problems.length > 0) {
      for (const p of problems) console.error(`self-check failed: ${p}`);
      process.exitCode = 1;
      return;
    }
    console.log(
      `feed: ${FEED} alerts from SAKER_ALERTS stored in ${feedS.toFixed(1)} s: ${Math.round(FEED / feedS)} alerts/s, ${Math.round(FEED / feedCpu)} per CPU-second of this process (store full: each batch removes as many of the oldest); load ${feedLoad} (goal 20,000 alerts/s)`,
    );
    console.log(`rss: at most ${(rssMax / 1024 ** 2).toFixed(0)} MiB during the feed (bound ${RSS_MB} MiB)`);
    console.log(
      `filtered page (${page}): p50 ${pageQ.p50.toFixed(1)} ms, p95 ${pageQ.p95.toFixed(1)} ms over ${QUERIES} runs (goal p95 < 200 ms)`,
    );
    console.log(
      `dashboard counts (4 counts + 1 timeline, since=24h, one after the other): p50 ${dashQ.p50.toFixed(1)} ms, p95 ${dashQ.p95.toFixed(1)} ms (goal p95 < 200 ms)`,
    );
    console.log(
      `free text page (q=shadow123): p50 ${textQ.p50.toFixed(1)} ms, p95 ${textQ.p95.toFixed(1)} ms`,
    );
    console.log(`with ${ui.store.rows} alerts stored; self-check passed`);
    console.log(`load average at end: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
