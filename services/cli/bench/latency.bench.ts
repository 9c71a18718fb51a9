import { Buffer } from 'node:buffer';
/**
 * `npm run bench:latency`: from a real action on the kernel to the alert line
 * the file output wrote, through `saker run` with the eBPF sensor (as root).
 *
 *   this process opens a marker file  →  sensor (eBPF)  →  bus  →  engine
 *     →  SAKER_ALERTS  →  sinks  →  file_output  →  this process sees the line
 *
 * Two transports: the in-memory bus (`saker run`, embedded) and a real
 * nats-server (`saker run --nats`). For each, two phases: low rate (one
 * action every 30 ms, nothing else running) and under a heavy flow (the
 * sensor bench's workload, `saker-bench-load open`, opening and closing
 * /etc/hostname on the side at SAKER_BENCH_LOAD_RATE opens/s, default
 * 50,000, every open captured and evaluated).
 * The latency of an action is the time between just before its open(2) and
 * this process reading the alert line (fs.watch on the file, then a read):
 * both ends in this process's clock.
 *
 * Under each phase's percentiles: the records/s the probe captured and the
 * drops, and, under the heavy flow, the engine's queue (the most events in
 * flight and the largest lag /metrics showed, read every 250 ms; not at low
 * rate, where a scrape's few ms on saker run's thread would be measured). Then where the time went, from real timestamps
 * (p50/p99 per stage): the action → the kernel's timestamp of its event (the
 * alert's `time`) → the alert on SAKER_ALERTS (over NATS: a core subscriber
 * to its subjects) → the line read.
 *
 * Before any percentile is printed, each phase is checked
 * (bench/latency-check.ts): every action has exactly one alert, of the bench's
 * rule, no alert carries a marker no action made, and the heavy phase's load
 * ran. A failed check prints CHECK FAILED with what was wrong, no figure, and
 * exits 1.
 *
 * Env: SAKER_BENCH_ACTIONS (per phase, default 100), SAKER_BENCH_INTERVAL_MS
 * (default 30), SAKER_BENCH_LOAD_RATE (default 50000), SAKER_BENCH_TRANSPORT
 * (embedded or nats; default both), SAKER_BENCH_DEBUG (saker run's stderr),
 * SAKER_BENCH_NODE_ARGS (node flags for saker run, e.g. --cpu-prof).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, STREAMS, SUBJECTS, type Subscription, connectBus } from '@saker/bus';
import { startNatsServer } from '@saker/testing';
import { type LatencyPhase, checkLatencyPhase, percentile } from './latency-check.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../../../sensor/build/saker-bench-load', import.meta.url));
const RULE = 'Saker bench latency marker';
const ACTIONS = Number(process.env.SAKER_BENCH_ACTIONS ?? 100);
const INTERVAL_MS = Number(process.env.SAKER_BENCH_INTERVAL_MS ?? 30);
/** The heavy flow: opens per second (each an openat the sensor captures and the engine evaluates). */
const LOAD_RATE = Number(process.env.SAKER_BENCH_LOAD_RATE ?? 50_000);
/** Node flags for `saker run` (SAKER_BENCH_NODE_ARGS, space-separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const NODE_ARGS = (process.env.SAKER_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
/** An action whose alert has not come after this long counts as missing. */
const ALERT_TIMEOUT_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An alert's `time` (the kernel's timestamp of the event, ISO with
 * nanoseconds) on this process's performance.now() clock; NaN when absent.
 */
function isoToPerformanceMs(time: unknown): number {
  const m = typeof time === 'string' ? /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time) : null;
  if (m === null) return Number.NaN;
  const ms = Date.parse(`${m[1]}Z`) + Number(`0.${m[2] ?? '0'}`) * 1000;
  return ms - performance.timeOrigin;
}

const MARKER = 'latency-marker-';

/** A marker in an alert's output, or undefined. */
function markerOf(output: unknown): string | undefined {
  return /latency-marker-[a-z]+-\d+/.exec(String(output))?.[0];
}

/**
 * Over NATS: when each marker's alert was on SAKER_ALERTS (a core subscriber
 * to its subjects) and, during the low-rate phases, when the event batch
 * that carried its open(2) was on the bus (a core subscriber to the syscall
 * event subjects, finding the marker in the batch's bytes: its file name is
 * in the batch's string table, whatever the codec).
 */
class AlertTap implements AsyncDisposable {
  readonly arrivals = new Map<string, number>();
  readonly events = new Map<string, number>();
  readonly #bus: Bus;
  #eventSub: Subscription | undefined;

  private constructor(bus: Bus) {
    this.#bus = bus;
  }

  static async open(url: string): Promise<AlertTap> {
    const tap = new AlertTap(await connectBus({ url, name: 'bench-latency-tap' }));
    const sub = tap.#bus.subscribe(STREAMS.alerts.subjects[0] as string);
    void (async () => {
      for await (const msg of sub) {
        const now = performance.now();
        try {
          const marker = markerOf(
            (JSON.parse(new TextDecoder().decode(msg.data)) as { output?: unknown }).output,
          );
          if (marker !== undefined && !tap.arrivals.has(marker)) tap.arrivals.set(marker, now);
        } catch {
          // not an alert of this bench
        }
      }
    })();
    await tap.#bus.flush();
    return tap;
  }

  /** Starts (or stops) timing the event batches; off under the heavy flow, where it would add work. */
  async watchEvents(on: boolean): Promise<void> {
    this.#eventSub?.unsubscribe();
    this.#eventSub = undefined;
    if (!on) return;
    const sub = this.#bus.subscribe(SUBJECTS.allSyscallEvents);
    this.#eventSub = sub;
    void (async () => {
      for await (const msg of sub) {
        const now = performance.now();
        const bytes = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
        for (let at = bytes.indexOf(MARKER); at >= 0; at = bytes.indexOf(MARKER, at + 1)) {
          const marker = markerOf(bytes.toString('latin1', at, at + 64));
          if (marker !== undefined && !this.events.has(marker)) this.events.set(marker, now);
        }
      }
    })();
    await this.#bus.flush();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#bus.close();
  }
}

/** Follows the alert file: each JSON line's rule, by the marker in its output, with its arrival time. */
class AlertFile implements Disposable {
  readonly #path: string;
  #fd: number | undefined;
  #offset = 0;
  #rest = '';
  readonly #watcher: ReturnType<typeof watch>;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly arrivals = new Map<string, { rule: string; at: number; kernelAt: number }[]>();

  constructor(dir: string, path: string) {
    this.#path = path;
    // The file appears with the first alert: watch the directory, and read on every change.
    this.#watcher = watch(dir, () => this.#read());
    // A safety net, should an inotify event be missed; it only adds arrivals, never earlier times.
    this.#timer = setInterval(() => this.#read(), 20);
  }

  #read(): void {
    const now = performance.now();
    if (this.#fd === undefined) {
      if (!existsSync(this.#path)) return;
      this.#fd = openSync(this.#path, 'r');
    }
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(this.#fd, buf, 0, buf.length, this.#offset);
      if (n <= 0) break;
      this.#offset += n;
      this.#rest += buf.toString('utf8', 0, n);
    }
    let nl = this.#rest.indexOf('\n');
    while (nl >= 0) {
      const line = this.#rest.slice(0, nl);
      this.#rest = this.#rest.slice(nl + 1);
      nl = this.#rest.indexOf('\n');
      let alert: { rule?: unknown; output?: unknown; time?: unknown };
      try {
        alert = JSON.parse(line) as { rule?: unknown; output?: unknown; time?: unknown };
      } catch {
        continue;
      }
      const marker = markerOf(alert.output);
      if (marker === undefined) continue;
      const list = this.arrivals.get(marker) ?? [];
      list.push({ rule: String(alert.rule), at: now, kernelAt: isoToPerformanceMs(alert.time) });
      this.arrivals.set(marker, list);
    }
  }

  [Symbol.dispose](): void {
    this.#watcher.close();
    clearInterval(this.#timer);
    if (this.#fd !== undefined) closeSync(this.#fd);
  }
}

/** `saker run` with the sensor and the file output; resolves once it runs. */
/** `saker run` and where its /metrics is (from the `running:` line it logs), once known. */
interface Saker {
  readonly child: ChildProcess;
  metricsUrl(): string | undefined;
}

function startSaker(dir: string, nats: string | undefined): Saker {
  const args = [
    ...NODE_ARGS,
    MAIN,
    'run',
    '--config',
    join(dir, 'saker.yaml'),
    '-r',
    join(dir, 'rules.yaml'),
    '--control-listen',
    'off',
    '--metrics-listen',
    '127.0.0.1:0',
    ...(nats === undefined ? [] : ['--nats', nats]),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8');
  let stderr = '';
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
  });
  if (process.env.SAKER_BENCH_DEBUG) child.stderr?.on('data', (d: string) => process.stderr.write(d));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM')
      process.stderr.write(`saker run exited ${code ?? signal}:\n${stderr}\n`);
  });
  let metrics: string | undefined;
  child.stderr?.on('data', () => {
    metrics ??= /metrics=(http:\/\/\S+)/.exec(stderr)?.[1];
  });
  return { child, metricsUrl: () => metrics };
}

/**
 * The probe's records and drops so far (saker_sensor_events_total and
 * saker_sensor_drops_total, every label), from saker run's /metrics. The
 * probe sees every process of the machine: on a shared machine another
 * user's syscall flood is captured too, and what a "low rate" phase really
 * carried is printed beside its figures.
 */
/** saker run's counters this bench prints: the sensor's records and drops, the engine's queue. */
interface Counters {
  readonly events: number;
  readonly drops: number;
  /** Events received by the engine and not yet evaluated (`saker_engine_events_in_flight`). */
  readonly engineInFlight: number;
  readonly engineLagS: number;
}

async function sensorCounters(url: string | undefined): Promise<Counters | undefined> {
  if (url === undefined) return undefined;
  try {
    const text = await (await fetch(`${url.replace(/\/$/, '')}/metrics`)).text();
    const sum = (name: string): number =>
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    return {
      events: sum('saker_sensor_events_total'),
      drops: sum('saker_sensor_drops_total'),
      engineInFlight: sum('saker_engine_events_in_flight'),
      engineLagS: sum('saker_engine_lag_seconds'),
    };
  } catch {
    return undefined;
  }
}

/**
 * The engine's queue during a phase: its largest in-flight count and lag,
 * read from /metrics every 250 ms (a queue that grows is where a rare
 * event's alert waits under a flow).
 */
function watchEngineQueue(url: string | undefined): () => { inFlight: number; lagS: number } {
  const most = { inFlight: 0, lagS: 0 };
  const timer = setInterval(() => {
    void sensorCounters(url).then((c) => {
      if (c === undefined) return;
      most.inFlight = Math.max(most.inFlight, c.engineInFlight);
      most.lagS = Math.max(most.lagS, c.engineLagS);
    });
  }, 250);
  return () => {
    clearInterval(timer);
    return most;
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** Opens marker files one at a time; resolves with each marker's action time. */
async function act(dir: string, tag: string, count: number, file: AlertFile): Promise<Map<string, number>> {
  const started = new Map<string, number>();
  // Made under other names and renamed (rename(2) opens nothing): only the timed open matches the rule.
  for (let i = 0; i < count; i++) {
    writeFileSync(join(dir, `prep-${tag}-${i}`), '');
    renameSync(join(dir, `prep-${tag}-${i}`), join(dir, `latency-marker-${tag}-${i}`));
  }
  for (let i = 0; i < count; i++) {
    const marker = `latency-marker-${tag}-${i}`;
    const path = join(dir, marker);
    await sleep(INTERVAL_MS);
    started.set(marker, performance.now());
    closeSync(openSync(path, 'r'));
  }
  const deadline = performance.now() + ALERT_TIMEOUT_MS;
  while (performance.now() < deadline && [...started.keys()].some((m) => !file.arrivals.has(m)))
    await sleep(10);
  await sleep(200); // a second alert for an action would come now
  return started;
}

/** The side load: `saker-bench-load open`, paced at LOAD_RATE, in 1 s chunks until `stop`; returns opens per second. */
function runLoad(): { stop: () => Promise<number> } {
  let running = true;
  let opens = 0;
  let ns = 0;
  const loop = (async () => {
    while (running) {
      const child = spawn(LOAD, ['open', String(LOAD_RATE), String(LOAD_RATE)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
      });
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      const [total, n] = out.trim().split(/\s+/).map(Number);
      if (code === 0 && total !== undefined && n !== undefined && total > 0) {
        opens += n;
        ns += total;
      } else break;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return ns > 0 ? opens / (ns / 1e9) : 0;
    },
  };
}

async function phase(
  name: string,
  dir: string,
  tag: string,
  file: AlertFile,
  heavy: boolean,
  tap: AlertTap | undefined,
): Promise<{ check: LatencyPhase; latencies: number[]; stages: Stages }> {
  const load = heavy ? runLoad() : undefined;
  if (load !== undefined) await sleep(1_000); // the flow is on before the first action
  await tap?.watchEvents(!heavy);
  const started = await act(dir, tag, ACTIONS, file);
  await tap?.watchEvents(false);
  const loadPerSecond = await load?.stop();
  const alerts = new Map<string, { rule: string; ms: number }[]>();
  const latencies: number[] = [];
  const stages: Stages = { toKernel: [], toBus: [], busToStream: [], toStream: [], toFile: [] };
  for (const [marker, arrivals] of file.arrivals) {
    if (!marker.startsWith(`latency-marker-${tag}-`)) continue;
    const t0 = started.get(marker);
    const list = arrivals.map((a) => ({ rule: a.rule, ms: t0 === undefined ? Number.NaN : a.at - t0 }));
    alerts.set(marker, list);
    if (list[0] !== undefined) latencies.push(list[0].ms);
    const first = arrivals[0];
    if (first === undefined || t0 === undefined) continue;
    stages.toKernel.push(first.kernelAt - t0);
    const onStream = tap?.arrivals.get(marker);
    if (tap === undefined) stages.toFile.push(first.at - first.kernelAt);
    else if (onStream !== undefined) {
      stages.toStream.push(onStream - first.kernelAt);
      stages.toFile.push(first.at - onStream);
      const onBus = tap?.events.get(marker);
      if (onBus !== undefined) {
        stages.toBus.push(onBus - first.kernelAt);
        stages.busToStream.push(onStream - onBus);
      }
    }
  }
  return {
    check: {
      name,
      markers: [...started.keys()],
      alerts,
      rule: RULE,
      ...(loadPerSecond === undefined ? {} : { loadPerSecond }),
    },
    latencies,
    stages,
  };
}

/**
 * Where an action's latency went, per action (ms), from real timestamps: the
 * kernel's timestamp of the event (the alert's `time`), the moment the alert
 * was on SAKER_ALERTS (over NATS), the moment its line was read.
 */
interface Stages {
  /** The action (just before open(2)) → the kernel's timestamp of its event. */
  readonly toKernel: number[];
  /** Over NATS, low rate: the kernel's timestamp → the event's batch on the bus: loader drain, sensor, batcher. */
  readonly toBus: number[];
  /** Over NATS, low rate: the event's batch on the bus → the alert on SAKER_ALERTS: engine, JetStream publish. */
  readonly busToStream: number[];
  /** The kernel's timestamp → the alert on SAKER_ALERTS: loader drain, sensor, bus, engine, publish. */
  readonly toStream: number[];
  /** SAKER_ALERTS → the line read (over NATS); the kernel's timestamp → the line read (embedded). */
  readonly toFile: number[];
}

function stagesLine(s: Stages, overNats: boolean): string {
  const q = (v: readonly number[]): string =>
    v.length === 0 ? 'n/a' : `${percentile(v, 50).toFixed(1)}/${percentile(v, 99).toFixed(1)}`;
  if (overNats && s.toBus.length > 0)
    return `    stages p50/p99 ms: action → kernel timestamp ${q(s.toKernel)}; → event batch on the bus ${q(s.toBus)}; → alert on SAKER_ALERTS ${q(s.busToStream)} (kernel → SAKER_ALERTS ${q(s.toStream)}); → line read ${q(s.toFile)}\n`;
  return overNats
    ? `    stages p50/p99 ms: action → kernel timestamp ${q(s.toKernel)}; → alert on SAKER_ALERTS ${q(s.toStream)}; → line read ${q(s.toFile)}\n`
    : `    stages p50/p99 ms: action → kernel timestamp ${q(s.toKernel)}; → line read ${q(s.toFile)}\n`;
}

async function transport(name: string, nats: string | undefined): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'saker-latency-'));
  const alertsPath = join(dir, 'out', 'alerts.json');
  const outDir = join(dir, 'out');
  const problems: string[] = [];
  try {
    writeFileSync(
      join(dir, 'rules.yaml'),
      `- rule: ${RULE}\n  desc: an open of the latency bench's marker files\n` +
        `  condition: evt.type in (open, openat, openat2) and fd.name startswith "${dir}/latency-marker-"\n` +
        '  output: opened %fd.name (proc=%proc.name pid=%proc.pid)\n  priority: WARNING\n',
    );
    mkdirSync(outDir);
    writeFileSync(
      join(dir, 'saker.yaml'),
      [
        'json_output: true',
        'stdout_output: { enabled: false }',
        'syslog_output: { enabled: false }',
        `file_output: { enabled: true, keep_alive: true, filename: ${alertsPath} }`,
        'enrich: { node: { enabled: false } }',
        'watch_config_files: false',
        '',
      ].join('\n'),
    );
    using file = new AlertFile(outDir, alertsPath);
    await using tap = nats === undefined ? undefined : await AlertTap.open(nats);
    const saker = startSaker(dir, nats);
    const child = saker.child;
    try {
      // Warm-up: until an action's alert comes through (the probe is attached, every stage runs).
      const deadline = performance.now() + 120_000;
      let warm = false;
      for (let i = 0; !warm && performance.now() < deadline && child.exitCode === null; i++) {
        const marker = `latency-marker-warm-${i}`;
        writeFileSync(join(dir, marker), '');
        closeSync(openSync(join(dir, marker), 'r'));
        await sleep(250);
        warm = [...file.arrivals.keys()].some((m) => m.startsWith('latency-marker-warm-'));
      }
      if (!warm) return [`${name}: no alert came through saker run within 120 s (warm-up)`];
      for (const heavy of [false, true]) {
        const label = `${name}, ${heavy ? 'heavy flow' : 'low rate'}`;
        const before = await sensorCounters(saker.metricsUrl());
        // Under the heavy flow only: a scrape takes saker run's thread for a few ms, which a
        // low-rate action's alert would wait behind (and there the queue is empty anyway).
        const engineQueue = heavy ? watchEngineQueue(saker.metricsUrl()) : undefined;
        const t0 = performance.now();
        const { check, latencies, stages } = await phase(
          label,
          dir,
          heavy ? 'heavy' : 'low',
          file,
          heavy,
          tap,
        );
        const after = await sensorCounters(saker.metricsUrl());
        const seconds = (performance.now() - t0) / 1000;
        const queue = engineQueue?.();
        const sensor =
          before === undefined || after === undefined
            ? '    sensor: counters not read\n'
            : `    sensor, the whole machine: ${Math.round((after.events - before.events) / seconds).toLocaleString('en')} records/s, ` +
              `${(after.drops - before.drops).toLocaleString('en')} dropped during the phase; ` +
              (queue === undefined
                ? 'engine queue not watched at low rate\n'
                : `engine queue at most ${queue.inFlight.toLocaleString('en')} events in flight, lag ${queue.lagS.toFixed(2)} s (/metrics every 250 ms)\n`);
        const wrong = checkLatencyPhase(check);
        if (wrong.length > 0) {
          problems.push(...wrong);
          process.stdout.write(`  ${label}: CHECK FAILED (below)\n${sensor}`);
          continue;
        }
        const ms = (p: number): string => `${percentile(latencies, p).toFixed(1)} ms`;
        process.stdout.write(
          `  ${label.padEnd(26)} p50 ${ms(50)}, p90 ${ms(90)}, p99 ${ms(99)}, max ${ms(100)} over ${latencies.length} actions` +
            (check.loadPerSecond === undefined
              ? ''
              : `; load ${Math.round(check.loadPerSecond).toLocaleString('en')} opens/s (openat + close each)`) +
            '\n' +
            stagesLine(stages, tap !== undefined) +
            sensor,
        );
      }
    } finally {
      await stop(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

async function main(): Promise<void> {
  process.stdout.write(
    `bench:latency  ${process.argv.slice(1).join(' ')}\n` +
      `  node ${process.version}; ${ACTIONS} actions per phase, ${INTERVAL_MS} ms apart; heavy flow: ${LOAD_RATE.toLocaleString('en')} opens/s asked; an action: open(2) of a marker file; ` +
      "its latency: until this process read the alert line saker run's file_output wrote; " +
      `load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  );
  if (process.getuid?.() !== 0) {
    process.stderr.write('  CHECK FAILED, no figure reported: bench:latency needs root (the eBPF sensor)\n');
    process.exitCode = 1;
    return;
  }
  if (!existsSync(LOAD)) {
    process.stderr.write(`  CHECK FAILED, no figure reported: ${LOAD} is missing (build @saker/sensor)\n`);
    process.exitCode = 1;
    return;
  }
  const problems: string[] = [];
  const only = process.env.SAKER_BENCH_TRANSPORT; // embedded | nats; default both
  if (only !== 'nats') problems.push(...(await transport('embedded (memory bus)', undefined)));
  if (only !== 'embedded') {
    await using server = await startNatsServer({ jetstream: true });
    problems.push(...(await transport('over NATS', server.url)));
  }
  process.stdout.write(
    `  load average at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  if (problems.length > 0) {
    process.stderr.write(
      `  CHECK FAILED, no figure reported for:\n${problems.map((p) => `    - ${p}\n`).join('')}`,
    );
    process.exitCode = 1;
  }
}

await main();
