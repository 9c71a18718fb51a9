/**
 * bench:sinks — alerts/s delivered to an HTTP receiver through JetStream:
 * `SAKER_BENCH_ALERTS` alerts are stored in SAKER_ALERTS first, then the
 * sinks start and the clock runs until the receiver has counted every one.
 *
 * Shapes:
 *  - webhook: falcosidekick's webhook output, one POST per alert (falcosidekick's shape), run by
 *    `SAKER_BENCH_REPLICAS` (default 2) processes of the real service (dist/src/main.js, the
 *    webhook from a saker.yaml: `sinks.sidekick.webhook.{address, concurrency}`) that share the
 *    output's durable consumer, against `SAKER_BENCH_RECEIVER` (default nginx: Debian's nginx,
 *    bench/nginx.ts; or node: bench/receiver.ts). The clock starts when every replica is ready
 *    and `SAKER_BENCH_WARMUP` alerts (default 10000) were delivered: fresh processes compile their
 *    hot paths first, and the figure is meant to be a running service's. The rate counting the
 *    warm-up is printed too. Before a rate is printed, the run checks
 *    that no alert is left unacked on the consumer and none was dead-lettered (each alert was
 *    answered 2xx), and that the receiver counted at least every alert.
 *    SAKER_BENCH_REPLICAS=0: the round-one shape, the sinks in the bench's process, node receiver;
 *  - http-replicas: the same with Falco's http_output (`sinks.outputs.http.concurrency`) (not run by default);
 *  - pipelined: webhook in the bench's process (node receiver), with HTTP/1.1 pipelining (16 requests
 *    in flight per connection, 256 in all);
 *  - http: Falco's http_output, one POST per alert (same transport as webhook; not run by default);
 *  - batched: Saker's batching hook on the http output (JSON lines, up to 256 alerts per POST);
 *  - null: an output that does nothing, to time the consumer path alone (not run by default);
 *  - bare, bare-pipelined: the HTTP exchange alone, no NATS and no sinks: the transport POSTs
 *    the alerts straight to the receiver, as many at once as above (not run by default).
 *
 * Each run prints the CPU time per alert of the processes (each sinks
 * replica, nats-server, the receiver, and the bench's polling): on a 2-CPU
 * machine they share, that is what bounds the rate. The shapes other than
 * webhook and http-replicas run the sinks in the bench's process against the
 * node receiver, as round one did, so their figures compare with its.
 *
 *   npm run bench:sinks
 *   SAKER_BENCH_ALERTS=50000 (default)  SAKER_BENCH_SHAPES=webhook,pipelined,batched (default)
 *   SAKER_BENCH_REPLICAS=2 (default)  SAKER_BENCH_RECEIVER=nginx (default) | node
 *   SAKER_BENCH_CONCURRENCY=64 (default): the webhook's `concurrency` key, per replica
 *   SAKER_BENCH_WARMUP=10000 (default): replica shapes, alerts delivered before the clock starts
 *   SAKER_BENCH_PROFILE=<dir>: CPU profiles of the sinks (timed part only) and the receiver
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import { formatAlertJson } from '@saker/rules';
import { MetricsRegistry } from '@saker/telemetry';
import { procCpuSeconds, startNatsServer } from '@saker/testing';
import type { OutputSettings } from '../src/options.js';
import { HttpTransport } from '../src/outputs/http-client.js';
import { HttpOutput } from '../src/outputs/http.js';
import { WebhookOutput } from '../src/outputs/webhook.js';
import { start } from '../src/service.js';
import { durableName } from '../src/subjects.js';
import { NginxReceiver, getText } from './nginx.js';
import { Replicas } from './replicas.js';
import { checkSinksRun } from './sinks-check.js';

const N = Number(process.env.SAKER_BENCH_ALERTS ?? '50000');
const SHAPES = (process.env.SAKER_BENCH_SHAPES ?? 'webhook,pipelined,batched').split(',');
const PROFILE = process.env.SAKER_BENCH_PROFILE;
const REPLICAS = Number(process.env.SAKER_BENCH_REPLICAS ?? '2');
const RECEIVER_KIND = process.env.SAKER_BENCH_RECEIVER ?? 'nginx';
const REPLICA_CONCURRENCY = Number(process.env.SAKER_BENCH_CONCURRENCY ?? '64');
/** Replica shapes: alerts delivered before the clock starts (the processes' JIT warm-up). */
const WARMUP = Math.min(Number(process.env.SAKER_BENCH_WARMUP ?? '10000'), N / 2);
if (!Number.isInteger(REPLICAS) || REPLICAS < 0)
  throw new Error('SAKER_BENCH_REPLICAS: expected an integer ≥ 0');
if (RECEIVER_KIND !== 'nginx' && RECEIVER_KIND !== 'node') {
  throw new Error(`SAKER_BENCH_RECEIVER: expected nginx or node, got ${JSON.stringify(RECEIVER_KIND)}`);
}
const RECEIVER = fileURLToPath(new URL('./receiver.js', import.meta.url));
/** Deliveries in progress at once, one POST per alert: one connection each. */
const PER_ALERT_CONCURRENCY = 64;
/** Pipelined: this many deliveries in progress, PIPELINING deep on each connection. */
const PIPELINED_CONCURRENCY = 256;
const PIPELINING = 16;
const FORMAT = {
  json: true,
  includeOutput: true,
  includeTags: true,
  includeOutputFields: true,
  timeIso8601: false,
};

interface ReceiverStats {
  readonly alerts: number;
  readonly requests: number;
  readonly userUs: number;
  readonly systemUs: number;
}

function alertText(i: number): string {
  const ns = 1_700_000_000_000_000_000n + BigInt(i) * 1000n;
  const iso = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return formatAlertJson({
    hostname: 'bench-node',
    output: `${iso.slice(11)}.${frac}: Warning Sensitive file opened for reading (user=root command=cat /etc/shadow pid=${i})`,
    priority: 'Warning',
    rule: 'Read sensitive file untrusted',
    source: 'syscall',
    tags: ['filesystem', 'mitre_credential_access'],
    time: `${iso}.${frac}Z`,
    output_fields: {
      'evt.time': Number(ns),
      'proc.cmdline': 'cat /etc/shadow',
      'proc.pid': i,
      'user.name': 'root',
      'fd.name': '/etc/shadow',
      'container.id': 'host',
    },
  });
}

function lines(stream: NodeJS.ReadableStream): AsyncIterator<string> {
  let buffered = '';
  const queue: string[] = [];
  const waiting: ((line: IteratorResult<string>) => void)[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i !== -1; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w({ value: line, done: false });
      else queue.push(line);
    }
  });
  stream.on('end', () => {
    for (const w of waiting.splice(0)) w({ value: undefined, done: true });
  });
  return {
    next: () => {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve({ value: line, done: false });
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function us(seconds: number): string {
  return Number.isNaN(seconds) ? '?' : `${Math.round((seconds * 1e6) / N)} µs`;
}

/** Stores the N alerts in SAKER_ALERTS, 500 publishes at a time. */
async function storeAlerts(bus: Bus): Promise<void> {
  await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const subject = SUBJECTS.alert('syscall', 'warning');
  const enc = new TextEncoder();
  for (let i = 0; i < N; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, N - i) }, (_, k) =>
        bus.publishDurable(subject, enc.encode(alertText(i + k))),
      ),
    );
  }
}

async function run(shape: string, label: string, settings: (url: string) => OutputSettings): Promise<number> {
  await using server = await startNatsServer({ jetstream: true });
  const bus = await connectBus({ url: server.url });
  const profArgs = PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`, `--cpu-prof-name=receiver-${shape}.cpuprofile`]
    : [];
  const receiver = spawn(process.execPath, [...profArgs, RECEIVER, String(N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out = lines(receiver.stdout);
  try {
    const port = Number((await out.next()).value);
    const url = `http://127.0.0.1:${port}/`;
    await storeAlerts(bus);
    const before = (await (await fetch(url)).json()) as ReceiverStats;
    const load = loadavg()[0] ?? 0;
    const session = new Session();
    if (PROFILE) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const natsCpu0 = procCpuSeconds(server.pid);
    const cpu0 = process.cpuUsage();
    const abort = new AbortController();
    const t0 = performance.now();
    const sinks = await start(
      {
        bus,
        hostname: 'bench',
        metrics: new MetricsRegistry(),
        outputs: [settings(url)],
        log: () => undefined,
      },
      abort.signal,
    );
    let done: ReceiverStats;
    if (shape === 'null') {
      // No HTTP: the output does nothing, so the run times the consumer path alone.
      while ((sinks.stats('null')?.delivered ?? 0) < N) await new Promise((r) => setTimeout(r, 5));
      done = before;
    } else {
      done = JSON.parse((await out.next()).value ?? '{}') as ReceiverStats;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = procCpuSeconds(server.pid) - natsCpu0;
    if (PROFILE) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(PROFILE, `sinks-${shape}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    }
    await sinks.stop({ drainMs: 5000 });
    const after = (await (await fetch(url)).json()) as ReceiverStats;
    // No silent loss: every alert acked (after a 2xx) and none dead-lettered.
    const output = sinks.outputs[0] ?? shape;
    const deadLettered = sinks.stats(output)?.deadLettered ?? 0;
    const consumer = await bus.consumer(STREAMS.alerts.name, durableName(output), {
      filterSubject: STREAMS.alerts.subjects[0],
      ...(shape === 'batched' ? { maxAckPending: 4096 } : {}),
    });
    const state = await consumer.state();
    await consumer.stop();
    const problems = checkSinksRun({
      alerts: N,
      unacked: state.pending + state.ackPending,
      deadLetters: deadLettered,
      received: shape === 'null' ? undefined : after.alerts - before.alerts,
      receiverProblems: [],
    });
    if (problems.length > 0) {
      console.log(`${label}: NOT every alert was delivered: ${problems.join('; ')}; no rate`);
      process.exitCode = 1;
      return Number.NaN;
    }
    const rate = N / seconds;
    const sinksCpu = (cpu.user + cpu.system) / 1e6;
    const receiverCpu = (done.userUs + done.systemUs - before.userUs - before.systemUs) / 1e6;
    const busy = (sinksCpu + natsCpu + receiverCpu) / seconds;
    console.log(
      `${label.padEnd(50)} ${N} alerts in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} alerts/s ` +
        (shape === 'null'
          ? '(no HTTP)'
          : `(${after.requests - before.requests} POSTs, ${after.alerts - N} duplicates, 0 unacked, 0 dead letters)`),
    );
    console.log(
      `${''.padEnd(4)}CPU per alert: sinks ${us(sinksCpu)} (user ${us(cpu.user / 1e6)}, system ${us(cpu.system / 1e6)}), ` +
        `nats-server ${us(natsCpu)}, receiver ${us(receiverCpu)}; ${busy.toFixed(2)} CPUs busy; load average ${load.toFixed(2)} at start`,
    );
    return rate;
  } finally {
    receiver.kill('SIGTERM');
    await bus.close();
  }
}

/** A receiver in its own process for the replicas' runs: what it counted, and its processes for CPU time. */
interface BenchReceiver {
  readonly name: string;
  readonly url: string;
  pids(): number[];
  /** POSTs answered (nginx) or alerts counted (node receiver) so far. */
  count(): Promise<number>;
  /** Stops it; returns the POSTs answered 2xx, and anything wrong it saw. */
  close(): Promise<{ posts: number; problems: string[] }>;
}

async function startReceiver(kind: 'nginx' | 'node'): Promise<BenchReceiver> {
  if (kind === 'nginx') {
    const nginx = await NginxReceiver.start();
    return {
      name: 'nginx',
      url: nginx.url,
      pids: () => nginx.pids(),
      count: () => nginx.posts(),
      async close() {
        const log = await nginx.close();
        const problems: string[] = [];
        if (log.others > 0) problems.push(`${log.others} requests not answered 200`);
        // Each alert's JSON is well over 400 bytes (the webhook re-renders it, so not byte for byte):
        // a shorter body is not a whole alert.
        if (log.posts > 0 && log.minPostBody < 400) problems.push(`a POST of ${log.minPostBody} bytes`);
        return { posts: log.posts, problems };
      },
    };
  }
  const proc = spawn(process.execPath, [RECEIVER, String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number((await lines(proc.stdout).next()).value);
  const url = `http://127.0.0.1:${port}/`;
  const stats = async (): Promise<ReceiverStats> => JSON.parse(await getText(url)) as ReceiverStats;
  return {
    name: 'node receiver',
    url,
    pids: () => (proc.pid === undefined ? [] : [proc.pid]),
    count: async () => (await stats()).alerts,
    async close() {
      const s = await stats();
      proc.kill('SIGTERM');
      return { posts: s.requests, problems: [] };
    },
  };
}

function cpuOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + procCpuSeconds(pid), 0);
}

/**
 * One POST per alert from `REPLICAS` processes of the real sinks service,
 * sharing the output's durable consumer (see the header).
 */
async function runReplicas(shape: 'webhook' | 'http', label: string): Promise<number> {
  await using server = await startNatsServer({ jetstream: true });
  const bus = await connectBus({ url: server.url });
  const rx = await startReceiver(RECEIVER_KIND === 'node' ? 'node' : 'nginx');
  const dir = mkdtempSync(join(tmpdir(), 'saker-bench-sinks-'));
  let replicas: Replicas | undefined;
  try {
    await storeAlerts(bus);
    const config = {
      hostname: 'bench',
      json_output: true,
      stdout_output: { enabled: false },
      syslog_output: { enabled: false },
      ...(shape === 'webhook'
        ? { sinks: { sidekick: { webhook: { address: rx.url, concurrency: REPLICA_CONCURRENCY } } } }
        : {
            // keep_alive: Falco's default (false) opens a connection per alert.
            http_output: { enabled: true, url: rx.url, keep_alive: true },
            sinks: { outputs: { http: { concurrency: REPLICA_CONCURRENCY } } },
          }),
    };
    // JSON is YAML: the file the replicas load is a saker.yaml.
    const file = join(dir, 'saker.yaml');
    writeFileSync(file, JSON.stringify(config, null, 2));
    const load = loadavg()[0] ?? 0;
    const tStart = performance.now();
    replicas = await Replicas.start(REPLICAS, file, server.url, PROFILE);
    const ready = performance.now();
    const pids = replicas.list.map((r) => r.pid);
    const atReady = await rx.count();
    // Fresh processes compile their hot paths first: the clock and the CPU counters start after
    // the warm-up, so the figures are those of a running service.
    let before = atReady;
    while (before < WARMUP) {
      await new Promise((r) => setTimeout(r, 5));
      before = await rx.count();
    }
    const t0 = performance.now();
    const cpu0 = {
      replicas: pids.map((p) => procCpuSeconds(p)),
      nats: procCpuSeconds(server.pid),
      rx: cpuOf(rx.pids()),
      bench: process.cpuUsage(),
    };
    // Every 20 ms: finer polls cost the bench more CPU than they gain in precision (<1% of a run).
    while ((await rx.count()) < N) await new Promise((r) => setTimeout(r, 20));
    const t1 = performance.now();
    const sinksCpu = pids.map((p, i) => procCpuSeconds(p) - (cpu0.replicas[i] ?? 0));
    const natsCpu = procCpuSeconds(server.pid) - cpu0.nats;
    const rxCpu = cpuOf(rx.pids()) - cpu0.rx;
    const b = process.cpuUsage(cpu0.bench);
    const benchCpu = (b.user + b.system) / 1e6;
    const output = shape;
    const shares = await Promise.all(
      replicas.list.map((r) => r.counter('saker_sinks_alerts_delivered_total', output)),
    );
    const deadLetters = (
      await Promise.all(replicas.list.map((r) => r.counter('saker_sinks_alerts_deadlettered_total', output)))
    ).reduce((a, n) => a + n, 0);
    await replicas.stop();
    // Every alert settled: nothing left undelivered or unacked on the shared durable.
    const consumer = await bus.consumer(STREAMS.alerts.name, durableName(output), {
      filterSubject: STREAMS.alerts.subjects[0],
    });
    const state = await consumer.state();
    await consumer.stop();
    const rxDone = await rx.close();
    const problems = checkSinksRun({
      alerts: N,
      unacked: state.pending + state.ackPending,
      deadLetters,
      received: rxDone.posts,
      receiverProblems: rxDone.problems,
    });
    if (problems.length > 0) {
      console.log(`${label}: NOT every alert was delivered: ${problems.join('; ')}; no rate`);
      process.exitCode = 1;
      return Number.NaN;
    }
    const alerts = N - before;
    const seconds = (t1 - t0) / 1000;
    const rate = alerts / seconds;
    const wholeRate = (N - atReady) / ((t1 - ready) / 1000);
    const perAlert = (cpu: number): string => `${Math.round((cpu * 1e6) / alerts)} µs`;
    const total = sinksCpu.reduce((a, n) => a + n, 0);
    const busy = (total + natsCpu + rxCpu + benchCpu) / seconds;
    console.log(
      `${label.padEnd(50)} ${N} alerts; after ${before} to warm up, ${alerts} in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} alerts/s ` +
        `(${rxDone.posts} POSTs, ${rxDone.posts - N} duplicates, 0 unacked, 0 dead letters; shares ${shares.join(' / ')}; ` +
        `${Math.round(wholeRate).toLocaleString('en-US')} alerts/s counting the warm-up; ${((ready - tStart) / 1000).toFixed(2)} s to start)`,
    );
    console.log(
      `${''.padEnd(4)}CPU per alert: sinks ${sinksCpu.map(perAlert).join(' + ')} = ${perAlert(total)}, nats-server ${perAlert(natsCpu)}, ` +
        `${rx.name} ${perAlert(rxCpu)}, bench (polling) ${perAlert(benchCpu)}; ${busy.toFixed(2)} CPUs busy; ` +
        `each replica ${sinksCpu.map((c) => (c / seconds).toFixed(2)).join(' / ')} CPU; load average ${load.toFixed(2)} at start`,
    );
    return rate;
  } finally {
    await replicas?.stop();
    await rx.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await bus.close();
  }
}

/** The HTTP exchange alone: HttpTransport POSTs every alert to the receiver, no NATS, no runner. */
async function bare(shape: string, label: string, pipelining: number): Promise<number> {
  const receiver = spawn(process.execPath, [RECEIVER, String(N)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = lines(receiver.stdout);
  try {
    const url = new URL(`http://127.0.0.1:${Number((await out.next()).value)}/`);
    const bodies = Array.from({ length: N }, (_, i) => alertText(i));
    const concurrency = pipelining > 1 ? PIPELINED_CONCURRENCY : PER_ALERT_CONCURRENCY;
    const http = new HttpTransport(shape, url, { maxSockets: PER_ALERT_CONCURRENCY, pipelining });
    const headers = { 'content-type': 'application/json' };
    const before = (await (await fetch(url)).json()) as ReceiverStats;
    const load = loadavg()[0] ?? 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < N) await http.sendOk('POST', url, bodies[next++] ?? '', headers);
      }),
    );
    const done = JSON.parse((await out.next()).value ?? '{}') as ReceiverStats;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    http.close();
    const rate = N / seconds;
    const clientCpu = (cpu.user + cpu.system) / 1e6;
    const receiverCpu = (done.userUs + done.systemUs - before.userUs - before.systemUs) / 1e6;
    console.log(
      `${label.padEnd(50)} ${N} POSTs in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} requests/s`,
    );
    console.log(
      `${''.padEnd(4)}CPU per request: client ${us(clientCpu)}, receiver ${us(receiverCpu)}; ` +
        `${((clientCpu + receiverCpu) / seconds).toFixed(2)} CPUs busy; load average ${load.toFixed(2)} at start`,
    );
    return rate;
  } finally {
    receiver.kill('SIGTERM');
  }
}

if (PROFILE) mkdirSync(PROFILE, { recursive: true });
console.log(
  `$ SAKER_BENCH_ALERTS=${N} SAKER_BENCH_SHAPES=${SHAPES.join(',')} SAKER_BENCH_REPLICAS=${REPLICAS} ` +
    `SAKER_BENCH_RECEIVER=${RECEIVER_KIND} SAKER_BENCH_CONCURRENCY=${REPLICA_CONCURRENCY} SAKER_BENCH_WARMUP=${WARMUP} npm run bench:sinks` +
    `   (node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
);
const rates = new Map<string, number>();
function replicasLabel(): string {
  return `${REPLICAS} ${REPLICAS === 1 ? 'replica' : 'replicas'} × ${REPLICA_CONCURRENCY} at once`;
}
if (SHAPES.includes('bare')) {
  await bare('bare', `HTTP alone (no NATS), ${PER_ALERT_CONCURRENCY} at once`, 1);
}
if (SHAPES.includes('bare-pipelined')) {
  await bare(
    'bare-pipelined',
    `HTTP alone (no NATS), ${PIPELINED_CONCURRENCY} at once, pipelined by ${PIPELINING}`,
    PIPELINING,
  );
}
if (SHAPES.includes('null')) {
  await run('null', 'no HTTP: an output that does nothing', () => ({
    output: { name: 'null', deliver: async () => undefined, close: async () => undefined },
    format: FORMAT,
    concurrency: PER_ALERT_CONCURRENCY,
  }));
}
if (SHAPES.includes('webhook') && REPLICAS > 0) {
  rates.set(
    'webhook',
    await runReplicas('webhook', `webhook, one POST per alert, ${replicasLabel()}, ${RECEIVER_KIND}`),
  );
}
if (SHAPES.includes('http-replicas') && REPLICAS > 0) {
  rates.set(
    'http-replicas',
    await runReplicas('http', `http, one POST per alert, ${replicasLabel()}, ${RECEIVER_KIND}`),
  );
}
if (SHAPES.includes('webhook') && REPLICAS === 0) {
  rates.set(
    'webhook',
    await run('webhook', `webhook, one POST per alert, ${PER_ALERT_CONCURRENCY} at once`, (url) => ({
      output: new WebhookOutput({ address: url }),
      format: FORMAT,
      concurrency: PER_ALERT_CONCURRENCY,
    })),
  );
}
if (SHAPES.includes('pipelined')) {
  rates.set(
    'pipelined',
    await run(
      'pipelined',
      `webhook, one POST per alert, ${PIPELINED_CONCURRENCY} at once, pipelined by ${PIPELINING}`,
      (url) => ({
        output: new WebhookOutput({ address: url, pipelining: PIPELINING }),
        format: FORMAT,
        concurrency: PIPELINED_CONCURRENCY,
      }),
    ),
  );
}
if (SHAPES.includes('http')) {
  rates.set(
    'http',
    await run('http', `http, one POST per alert, ${PER_ALERT_CONCURRENCY} at once`, (url) => ({
      output: new HttpOutput({ format: FORMAT, url }),
      format: FORMAT,
      concurrency: PER_ALERT_CONCURRENCY,
    })),
  );
}
if (SHAPES.includes('batched')) {
  rates.set(
    'batched',
    await run('batched', 'http, batching hook (256 per POST, 4 at once)', (url) => ({
      output: new HttpOutput({ format: FORMAT, url }),
      format: FORMAT,
      concurrency: 4,
      maxAckPending: 4096,
      batch: { maxAlerts: 256, lingerMs: 5 },
    })),
  );
}
for (const [shape, rate] of rates) {
  if (!Number.isNaN(rate))
    console.log(`goal ≥20,000 alerts/s, ${shape}: ${rate >= 20_000 ? 'met' : 'NOT met'}`);
}
