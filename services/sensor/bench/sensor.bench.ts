/**
 * npm run bench:sensor — what the sensor costs the machine it watches.
 *
 * Runs a workload (build/saker-bench-load: an openat+close loop and a
 * fork/exec loop, timed inside the workload process) without the sensor and
 * with it, capturing what Falco's stable rules need. Prints the commands, the
 * slowdown of both loops (median and range of the runs), events/s captured,
 * drops per category, the average BPF program time per hook and per program
 * (kernel bpf stats: run_time_ns / run_cnt) and the sensor's RSS.
 *
 * The slowdown runs are timed with kernel bpf stats OFF (they add two clock
 * reads to every program run); the per-hook times come from separate runs
 * with stats on. The machine may be shared: compare ranges, not one figure.
 * Besides the wall time (the goal's measure), the workload's own CPU time is
 * compared: the probe runs in the traced task, so its cost is in it, while
 * waiting for a CPU that other processes hold is not. On a busy machine it is
 * the steadier figure of the kernel-side cost.
 *
 * The node side: every event is evaluated in this process against Falco's
 * stable rules (../shared/falco-rules/falco_rules.yaml), as the node's engine
 * evaluates it (bench/node-side.ts). Reported: the workload's events/s
 * captured, events/s evaluated, drops, and the user-space CPU time per event
 * (this process's CPU time over the unpaced open loop / the events it handled;
 * the evaluation alone measured again afterwards on a sample of the events).
 *
 * Goals: <= 15% slowdown on open/close, 0 drops at 100k events/s and at
 * 300k events/s (paced), >= 500k events/s unpaced, <= 1 µs of user-space CPU
 * per event, <= 300 ns per hook on average. Needs root.
 *
 * `--loader <path>` runs another build of the loader (an A/B comparison in
 * the same conditions: keep a copy of the old build/saker-sensor-loader).
 * `--against <dist/src>` runs the node side of another build (a copy of an
 * older `services/sensor/dist/src`) and this one, alternately, on the
 * unpaced open loop, before the rest.
 * `--loops <N[,N...]>` runs only the multi-loop measurement: N unpaced open
 * loops at once (one loop is one process, so it can use one core at most),
 * without the sensor, with the probe capturing nothing, and with the sensor,
 * and reports over the loops' interval
 * the opens/s, the events/s captured, evaluated and dropped, and the CPU
 * share of the loops, this process (the node side) and the loader.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RuleText, type Ruleset, loadRules, readRuleFiles } from '@saker/rules';
import { sharedPath } from '@saker/testing';
import { interestFromEventTypes } from '../src/interest.js';
import { Sensor, type SensorOptions, type SensorStats } from '../src/sensor.js';
import { type NodeSide, consume, cpuNow, evaluateOnlyNs } from './node-side.js';
import { checkCapture, checkPacedRate, pacedDropGoal } from './sensor-check.js';

const LOAD = fileURLToPath(new URL('../../build/saker-bench-load', import.meta.url));
const FALCO_RULES = sharedPath('falco-rules', 'falco_rules.yaml');
const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';
const HOOKS = ['on_sys_exit', 'on_exec_args', 'on_exec', 'on_fork', 'on_exit'];

interface Timed {
  readonly ns: number;
  readonly n: number;
  /** CPU time of the workload and its children (user + system). */
  readonly cpuNs: number;
}

/**
 * The pids of the workload processes of the current phase: only their events
 * (and their children's) are counted. Cleared when a phase starts (after the
 * backlog drained): pids wrap, and on a shared machine another process can
 * later get an old workload pid and open the same file.
 */
const workloadPids = new Set<number>();

/** Runs the workload without blocking this process: the sensor in it must keep reading meanwhile. */
function load(
  mode: 'open' | 'fork',
  n: number,
  rate?: number,
  onSpawn?: (pid: number) => void,
): Promise<Timed> {
  const args = [mode, String(n), ...(rate !== undefined ? [String(rate)] : [])];
  return new Promise((resolve, reject) => {
    const child = execFile(LOAD, args, { encoding: 'utf8' }, (err, stdout) => {
      if (err) {
        reject(err);
        return;
      }
      const [ns, count, cpuNs] = stdout.trim().split(' ').map(Number);
      resolve({ ns: ns ?? 0, n: count ?? 0, cpuNs: cpuNs ?? 0 });
    });
    // Known before the process can make a syscall the sensor reads.
    if (child.pid !== undefined) {
      workloadPids.add(child.pid);
      onSpawn?.(child.pid);
    }
  });
}

interface Runs {
  readonly median: Timed;
  readonly min: Timed;
  readonly max: Timed;
  /** All runs together, for rates. */
  readonly total: Timed;
  /** CPU time per iteration of each run, sorted. */
  readonly cpuPerOp: readonly number[];
}

/** `runs` timings: the median decides, the range shows the noise. */
async function repeat(runs: number, f: () => Promise<Timed>): Promise<Runs> {
  const all: Timed[] = [];
  for (let i = 0; i < runs; i++) all.push(await f());
  all.sort((a, b) => a.ns / a.n - b.ns / b.n);
  const z = { ns: 0, n: 0, cpuNs: 0 };
  return {
    median: all[Math.floor(all.length / 2)] ?? z,
    min: all[0] ?? z,
    max: all[all.length - 1] ?? z,
    total: all.reduce((a, t) => ({ ns: a.ns + t.ns, n: a.n + t.n, cpuNs: a.cpuNs + t.cpuNs }), z),
    cpuPerOp: all.map((t) => t.cpuNs / t.n).sort((a, b) => a - b),
  };
}

interface ProgStat {
  readonly name: string;
  readonly runTimeNs: number;
  readonly runCnt: number;
}

/** Ids of the BPF programs the loader holds (from its fds): other probes with the same names are not ours. */
function loaderProgIds(pid: number | undefined): Set<number> {
  const ids = new Set<number>();
  if (pid === undefined) return ids;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return ids;
}

let ownProgs = new Set<number>();

function progStats(): Map<string, ProgStat> {
  const out = new Map<string, ProgStat>();
  const json = execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const p of JSON.parse(json) as {
    id?: number;
    name?: string;
    run_time_ns?: number;
    run_cnt?: number;
  }[]) {
    if (p.name === undefined || !HOOKS.includes(p.name)) continue;
    if (ownProgs.size > 0 && !ownProgs.has(p.id ?? -1)) continue;
    const prev = out.get(p.name);
    out.set(p.name, {
      name: p.name,
      runTimeNs: (prev?.runTimeNs ?? 0) + (p.run_time_ns ?? 0),
      runCnt: (prev?.runCnt ?? 0) + (p.run_cnt ?? 0),
    });
  }
  return out;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

interface DropCounts {
  ringbuf: number;
  scratch: number;
  enterFull: number;
  missingEnter: number;
}
const dropCounts = (s: SensorStats): DropCounts => ({
  ringbuf: Number(s.totals.dropRingbuf),
  scratch: Number(s.totals.dropScratch),
  enterFull: Number(s.totals.dropEnterFull),
  missingEnter: Number(s.totals.dropMissingEnter),
});
const dropDiff = (a: DropCounts, b: DropCounts): DropCounts => ({
  ringbuf: b.ringbuf - a.ringbuf,
  scratch: b.scratch - a.scratch,
  enterFull: b.enterFull - a.enterFull,
  missingEnter: b.missingEnter - a.missingEnter,
});
/** Lost events: the ring was full, the scratch was too small, or the call could not be tracked. */
const lost = (d: DropCounts) => d.ringbuf + d.scratch + d.enterFull;
const fmtDrops = (d: DropCounts) =>
  `drops: ${lost(d)} (ringbuf ${d.ringbuf}, scratch ${d.scratch}, enter_full ${d.enterFull}; missing_enter ${d.missingEnter})`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:sensor needs root (it loads the eBPF probe)');
    process.exit(1);
  }
  const OPEN_N = 200_000;
  const FORK_N = 1_000;
  const RUNS = 5;
  const PACED_RATE = 100_000;
  const PACED_N = 300_000;
  const FAST_RATE = 300_000;
  const FAST_N = 900_000;
  const li = process.argv.indexOf('--loader');
  const loaderPath = li >= 0 ? process.argv[li + 1] : undefined;
  if (li >= 0 && loaderPath === undefined) {
    console.error('--loader needs a path');
    process.exit(2);
  }
  const ai = process.argv.indexOf('--against');
  const againstDir = ai >= 0 ? process.argv[ai + 1] : undefined;
  if (ai >= 0 && againstDir === undefined) {
    console.error('--against needs the dist/src directory of another build');
    process.exit(2);
  }
  if (FALCO_RULES === undefined) {
    console.error(
      "bench:sensor needs Falco's stable rules (../shared/falco-rules/falco_rules.yaml, SAKER_SHARED)",
    );
    process.exit(1);
  }
  const ruleTexts = await readRuleFiles([FALCO_RULES]);
  const loaded = loadRules(ruleTexts);
  if (!loaded.ok) {
    console.error(`bench:sensor: ${FALCO_RULES} does not load`);
    process.exit(1);
  }
  const ruleset: Ruleset = loaded.ruleset;

  console.log(`command: node ${process.argv.slice(1).join(' ')}`);
  console.log(
    `workloads: ${LOAD} open ${OPEN_N} | ${LOAD} fork ${FORK_N} | ${LOAD} open ${PACED_N} ${PACED_RATE} | ${LOAD} open ${FAST_N} ${FAST_RATE}; ${RUNS} runs each, median [min–max]`,
  );
  console.log(
    `node side: every event evaluated in this process against ${FALCO_RULES} (${ruleset.rules.filter((r) => r.enabled).length} rules enabled, rule_matching first)`,
  );
  console.log(
    `machine: ${execFileSync('nproc', { encoding: 'utf8' }).trim()} CPUs, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );

  const tracing = (
    JSON.parse(
      execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as { type?: string; name?: string }[]
  ).filter((p) => p.type === 'tracing');
  if (tracing.length > 0)
    console.log(
      `WARNING: ${tracing.length} tracing BPF programs are already loaded (${[...new Set(tracing.map((p) => p.name))].join(', ')}; another sensor?): the baseline and every figure below include their cost`,
    );

  // `--worker-only`: the node worker against one thread, nothing else (a few minutes instead of many).
  const workerOnly = process.argv.includes('--worker-only');
  const loops = loopCounts();
  // Warm up, then the baseline without the probe.
  await load('open', 20_000);
  if (loops !== undefined) {
    const syscalls = interestFromEventTypes(ruleset.eventTypes()).syscalls;
    await compareLoops(
      {
        syscalls,
        statsIntervalMs: 100,
        queueLimit: 50_000,
        ...(loaderPath !== undefined ? { loaderPath } : {}),
      },
      ruleset,
      loops,
      LOOP_N,
    );
    return;
  }
  const baseOpen = workerOnly ? undefined : await repeat(RUNS, () => load('open', OPEN_N));
  const baseFork = workerOnly ? undefined : await repeat(RUNS, () => load('fork', FORK_N));

  const statsBefore = readFileSync(BPF_STATS, 'utf8').trim();
  writeFileSync(BPF_STATS, '0');
  try {
    const syscalls = interestFromEventTypes(ruleset.eventTypes()).syscalls;
    const sensorOptions: SensorOptions = {
      syscalls,
      statsIntervalMs: 100,
      queueLimit: 50_000,
      ...(loaderPath !== undefined ? { loaderPath } : {}),
    };
    if (againstDir !== undefined) await compareNodeSides(againstDir, sensorOptions, ruleset, OPEN_N);
    await compareWorker(sensorOptions, ruleset, ruleTexts, OPEN_N, FAST_N, FAST_RATE);
    if (baseOpen === undefined || baseFork === undefined) return;
    const sensor = await Sensor.start(sensorOptions);
    ownProgs = loaderProgIds(sensor.loaderPid);
    const node = consume(sensor, ruleset, workloadPids, 50_000);
    const { own } = node.counts;
    await sleep(300);
    const settle = () => settleNode(node);
    const phase = async <T>(f: () => Promise<T>) => {
      await settle();
      workloadPids.clear();
      const o0 = { ...own };
      const d0 = dropCounts(sensor.stats);
      const p0 = progStats();
      const e0 = { ...node.counts };
      const cpu0 = cpuNow();
      const t0 = performance.now();
      const t = await f();
      const p1 = progStats();
      await settle();
      // The Node process's CPU time and what it handled, from the start of the workload to the drained backlog.
      const nodeSide = {
        cpuNs: cpuNow() - cpu0,
        events: node.counts.events - e0.events,
        evaluated: node.counts.evaluated - e0.evaluated,
        matches: node.counts.matches - e0.matches,
        seconds: (performance.now() - t0) / 1000,
      };
      // The workload's own events only: the host's background activity is not counted.
      const events = own.open + own.exec + own.other - (o0.open + o0.exec + o0.other);
      const opens = own.open - o0.open;
      const execs = own.exec - o0.exec;
      const drops = dropDiff(d0, dropCounts(sensor.stats));
      const per = HOOKS.map((h) => {
        const a = p1.get(h);
        const b = p0.get(h);
        const cnt = (a?.runCnt ?? 0) - (b?.runCnt ?? 0);
        const ns = (a?.runTimeNs ?? 0) - (b?.runTimeNs ?? 0);
        return { hook: h, cnt, avg: cnt > 0 ? ns / cnt : 0, ns };
      });
      return { t, events, opens, execs, drops, per, nodeSide };
    };

    // 1. Slowdown, bpf stats off.
    const withOpen = await phase(() => repeat(RUNS, () => load('open', OPEN_N)));
    const withFork = await phase(() => repeat(RUNS, () => load('fork', FORK_N)));
    // 2. Paced drop tests, bpf stats off.
    const paced = await phase(() => load('open', PACED_N, PACED_RATE));
    const fast = await phase(() => load('open', FAST_N, FAST_RATE));
    // 3. Per-hook BPF time, bpf stats on.
    writeFileSync(BPF_STATS, '1');
    const hookOpen = await phase(() => load('open', OPEN_N));
    const hookFork = await phase(() => load('fork', FORK_N));
    writeFileSync(BPF_STATS, '0');
    const rssNode = rssKb(process.pid);
    const rssLoader = sensor.loaderPid !== undefined ? rssKb(sensor.loaderPid) : 0;
    await sensor.stop();
    await node.done;
    const evalNs = evaluateOnlyNs(ruleset, node.sample);

    // Checked before any figure is printed: the workload's operations were captured, and the
    // paced run reached its rate.
    const problems = [
      ...checkCapture({
        label: 'open loop',
        expected: withOpen.t.total.n,
        captured: withOpen.opens,
        lost: lost(withOpen.drops),
      }),
      ...checkCapture({
        label: 'fork loop',
        expected: withFork.t.total.n,
        captured: withFork.execs,
        lost: lost(withFork.drops),
      }),
      ...checkCapture({
        label: 'paced open loop',
        expected: paced.t.n,
        captured: paced.opens,
        lost: lost(paced.drops),
      }),
      ...checkCapture({
        label: 'paced open loop at 300k/s',
        expected: fast.t.n,
        captured: fast.opens,
        lost: lost(fast.drops),
      }),
      ...checkCapture({
        label: 'open loop (bpf stats)',
        expected: hookOpen.t.n,
        captured: hookOpen.opens,
        lost: lost(hookOpen.drops),
      }),
      ...checkCapture({
        label: 'fork loop (bpf stats)',
        expected: hookFork.t.n,
        captured: hookFork.execs,
        lost: lost(hookFork.drops),
      }),
      ...checkPacedRate('paced open loop', PACED_RATE, paced.t.n, paced.t.ns / 1e9),
    ];
    if (problems.length > 0) {
      console.error(
        `bench:sensor: CHECK FAILED, no figure reported:\n${problems.map((x) => `  - ${x}`).join('\n')}`,
      );
      process.exitCode = 1;
      return;
    }

    const perOp = (t: Timed) => t.ns / t.n;
    const report = (
      name: string,
      base: Runs,
      w: Awaited<ReturnType<typeof phase<Runs>>>,
      hooks: Awaited<ReturnType<typeof phase<Timed>>>,
    ) => {
      const slow = perOp(w.t.median) / perOp(base.median) - 1;
      const lo = perOp(w.t.min) / perOp(base.max) - 1;
      const hi = perOp(w.t.max) / perOp(base.min) - 1;
      console.log(`\n${name}`);
      console.log(
        `  without sensor: ${fmt(perOp(base.median))} ns/iter [${fmt(perOp(base.min))}–${fmt(perOp(base.max))}]`,
      );
      console.log(
        `  with sensor:    ${fmt(perOp(w.t.median))} ns/iter [${fmt(perOp(w.t.min))}–${fmt(perOp(w.t.max))}]  slowdown ${fmt(slow * 100, 1)}% [${fmt(lo * 100, 1)}% – ${fmt(hi * 100, 1)}%]`,
      );
      const med = (xs: readonly number[]) => xs[Math.floor(xs.length / 2)] ?? 0;
      const [b, c] = [base.cpuPerOp, w.t.cpuPerOp];
      const cpuSlow = med(c) / med(b) - 1;
      const cpuLo = (c[0] ?? 0) / (b[b.length - 1] ?? 1) - 1;
      const cpuHi = (c[c.length - 1] ?? 0) / (b[0] ?? 1) - 1;
      console.log(
        `  workload CPU time: ${fmt(med(b))} → ${fmt(med(c))} ns/iter  ${cpuSlow >= 0 ? '+' : ''}${fmt(cpuSlow * 100, 1)}% [${fmt(cpuLo * 100, 1)}% – ${fmt(cpuHi * 100, 1)}%]`,
      );
      const secs = w.t.total.ns / 1e9;
      console.log(
        `  the workload's events captured: ${fmt(w.events)} (${fmt(w.events / secs)} /s over the ${RUNS} timed runs; every ${w.opens > 0 ? 'open' : 'exec'} of the loop checked captured)  ${fmtDrops(w.drops)}`,
      );
      const n = w.nodeSide;
      console.log(
        `  node side: ${fmt(n.evaluated)} events evaluated (${fmt(n.evaluated / n.seconds)} /s from the loop's start to the drained backlog, the host's own events included), ${fmt(n.matches)} matches; user-space CPU ${fmt(n.cpuNs / Math.max(1, n.events))} ns per event`,
      );
      console.log('  BPF time per program (separate run, bpf stats on):');
      for (const p of hooks.per.filter((x) => x.cnt > 0))
        console.log(`    ${p.hook.padEnd(13)} ${fmt(p.cnt).padStart(12)} runs  avg ${fmt(p.avg)} ns`);
      return slow;
    };
    console.log(
      `\nsaker sensor bench: ${syscalls === 'all' ? 'all' : syscalls.length} syscalls captured (Falco stable rules' interest set)`,
    );
    const so = report(
      'open/close loop (openat(AT_FDCWD, /etc/hostname) + close)',
      baseOpen,
      withOpen,
      hookOpen,
    );
    report('fork/exec loop (fork + execve /bin/true + wait)', baseFork, withFork, hookFork);

    const pacedSecs = paced.t.ns / 1e9;
    const pacedRate = paced.events / pacedSecs;
    console.log(`\npaced openat/close at ${fmt(PACED_RATE)} opens/s, ${fmt(PACED_N)} opens`);
    console.log(
      `  achieved ${fmt(paced.t.n / pacedSecs)} opens/s (checked >= 99% of the target); captured ${fmt(paced.opens)} of its ${fmt(paced.t.n)} opens, ${fmt(paced.events)} events of the workload (${fmt(pacedRate)} /s); ${fmtDrops(paced.drops)}`,
    );
    const fastSecs = fast.t.ns / 1e9;
    // The 300k/s run tests its goal only if the loop reached the rate; on a busy machine it may not.
    const fastReached = checkPacedRate('', FAST_RATE, fast.t.n, fastSecs).length === 0;
    console.log(`paced openat/close at ${fmt(FAST_RATE)} opens/s, ${fmt(FAST_N)} opens`);
    console.log(
      `  achieved ${fmt(fast.t.n / fastSecs)} opens/s (${fastReached ? 'the rate tested' : 'BELOW the rate: the 300k/s goal is not tested by this run'}); captured ${fmt(fast.opens)} of its ${fmt(fast.t.n)} opens (${fmt(fast.events / fastSecs)} /s); ${fmtDrops(fast.drops)}; evaluated ${fmt(fast.nodeSide.evaluated)} events (${fmt(fast.nodeSide.evaluated / fast.nodeSide.seconds)} /s)`,
    );
    const perEvent = withOpen.nodeSide.cpuNs / Math.max(1, withOpen.nodeSide.events);
    console.log(
      `\nuser-space CPU per event, unpaced open loop: ${fmt(perEvent)} ns (decode, process table, event and evaluation together: this process's CPU time / the ${fmt(withOpen.nodeSide.events)} events it handled); evaluation alone, again on ${fmt(node.sample.length)} of the events: ${fmt(evalNs)} ns`,
    );

    const all = [...hookOpen.per, ...hookFork.per];
    const total = all.reduce((a, p) => ({ cnt: a.cnt + p.cnt, ns: a.ns + p.ns }), { cnt: 0, ns: 0 });
    const avgHook = total.cnt > 0 ? total.ns / total.cnt : 0;
    console.log(`\naverage BPF program time over all hooks: ${fmt(avgHook)} ns (${fmt(total.cnt)} runs)`);
    // The per-hook average depends on how many hooks there are (the probe has no sys_enter hook):
    // the BPF time per traced syscall (sys_exit runs once for every syscall on the host) compares designs.
    const exits = all.filter((p) => p.hook === 'on_sys_exit').reduce((a, p) => a + p.cnt, 0);
    if (exits > 0)
      console.log(
        `BPF time per syscall on the host: ${fmt(total.ns / exits)} ns (all programs' time / ${fmt(exits)} syscalls)`,
      );
    console.log(`sensor RSS: node ${fmt(rssNode / 1024, 1)} MiB + loader ${fmt(rssLoader / 1024, 1)} MiB`);
    const unpacedRate = withOpen.events / (withOpen.t.total.ns / 1e9);
    const fastGoal = pacedDropGoal(
      FAST_RATE,
      {
        label: 'paced open loop at 300k/s',
        expected: fast.t.n,
        captured: fast.opens,
        lost: lost(fast.drops),
      },
      fastSecs,
    );
    console.log(
      `\ngoals: open/close slowdown <= 15%: ${so <= 0.15 ? 'met' : 'NOT met'}; 0 drops at 100k events/s: ${lost(paced.drops) === 0 && paced.opens === paced.t.n ? 'met' : 'NOT met'}; 0 drops at 300k events/s: ${fastGoal}; >= 500k events/s unpaced: ${unpacedRate >= 500_000 && lost(withOpen.drops) === 0 ? 'met' : 'NOT met'} (${fmt(unpacedRate)} /s, ${fmt(lost(withOpen.drops))} drops); <= 1 µs user-space CPU per event: ${perEvent <= 1000 ? 'met' : 'NOT met'}; <= 300 ns per hook: ${avgHook <= 300 ? 'met' : 'NOT met'}`,
    );
  } finally {
    writeFileSync(BPF_STATS, statsBefore);
  }
}

/** Waits until the backlog is drained: the host's background keeps a trickle coming, so "drained" is under 200 events in 300 ms, or 10 s at most. */
async function settleNode(node: NodeSide): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = node.counts.events;
  do {
    last = node.counts.events;
    await sleep(300);
  } while (node.counts.events - last > 200 && Date.now() < deadline);
}

/**
 * The node side of another build (its dist/src) and of this one, alternately,
 * on the unpaced open loop: events/s captured, drops and CPU per event, in the
 * same minutes. The kernel side is the same loader for both.
 */
async function compareNodeSides(
  dir: string,
  options: SensorOptions,
  ruleset: Ruleset,
  n: number,
): Promise<void> {
  const other = (await import(new URL('sensor.js', pathToFileURL(`${resolve(dir)}/`)).href)) as {
    Sensor: typeof Sensor;
  };
  const builds = [
    { name: dir, start: other.Sensor.start.bind(other.Sensor) },
    { name: 'this build', start: Sensor.start.bind(Sensor) },
  ];
  console.log(
    `\nnode side, ${dir} against this build: unpaced open loop, ${fmt(n)} opens, 2 rounds each, alternating`,
  );
  for (let round = 1; round <= 2; round++) {
    for (const b of builds) {
      const r = await oneThreadRound(b.start, options, ruleset, n, undefined);
      checkRoundOrExit(`${b.name} round ${round}`, r);
      console.log(
        `  round ${round} ${b.name}: ${fmt(r.opens)} of ${fmt(r.t.n)} opens captured (${fmt(r.opens / (r.t.ns / 1e9))} /s), ${fmtDrops(r.drops)}; user-space CPU ${fmt(r.cpuNs / Math.max(1, r.events))} ns per event (${fmt(r.events)} events, evaluation included)`,
      );
    }
  }
}

/**
 * The node worker against the node path in one thread, alternately, in the
 * same minutes (node-worker.ts): the unpaced open loop and the open loop
 * paced at `fastRate`. In one thread, this process decodes, evaluates and
 * formats every event (consume); with the worker, this thread only reads the
 * loader's pipe and hands the chunks over, and the worker does the rest and
 * hands back the alerts. Per mode: the workload's opens captured per second,
 * the events evaluated per second (the host's own included), the drops, and
 * the process's user-space CPU time per event (both threads together).
 */
async function compareWorker(
  options: SensorOptions,
  ruleset: Ruleset,
  rules: readonly RuleText[],
  n: number,
  fastN: number,
  fastRate: number,
): Promise<void> {
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `\nnode worker (sensor.worker) against one thread, alternating, 2 rounds each, each after a warm-up of ${fmt(WARMUP_N)} opens: unpaced open loop (${fmt(n)} opens) and paced at ${fmt(fastRate)} opens/s (${fmt(fastN)} opens); load average ${loadavg()}`,
  );
  const modes = ['one thread', 'worker'] as const;
  const workloads = [
    { name: 'unpaced', n, rate: undefined },
    { name: `paced ${fmt(fastRate)}/s`, n: fastN, rate: fastRate },
  ] as const;
  for (const w of workloads) {
    for (let round = 1; round <= 2; round++) {
      for (const mode of modes) {
        const r =
          mode === 'worker'
            ? await workerRound(options, rules, w.n, w.rate)
            : await oneThreadRound(Sensor.start.bind(Sensor), options, ruleset, w.n, w.rate);
        checkRoundOrExit(`${mode} ${w.name} round ${round}`, r);
        const secs = r.t.ns / 1e9;
        console.log(
          `  ${w.name} round ${round} ${mode.padEnd(10)}: loop ${fmt(r.t.n / secs)} opens/s; captured ${fmt(r.opens)} of ${fmt(r.t.n)} opens (${fmt(r.opens / secs)} /s); evaluated ${fmt(r.events)} events (${fmt(r.events / r.seconds)} /s, to the drained backlog), ${fmt(r.matches)} matches; ${fmtDrops(r.drops)}; user-space CPU ${fmt(r.cpuNs / Math.max(1, r.events))} ns per event${r.peak !== undefined ? `; peak in flight to the worker ${fmt(r.peak / 1024)} KiB` : ''}`,
        );
      }
    }
  }
  console.log(`  load average after: ${loadavg()}`);
}

/** Opens per loop process in `--loops`: a few seconds of work each. */
const LOOP_N = 1_000_000;

/** `--loops 1,2,3`: the loop counts to measure, or undefined without the option (exits 2 on a bad value). */
function loopCounts(): number[] | undefined {
  const i = process.argv.indexOf('--loops');
  if (i < 0) return undefined;
  const raw = process.argv[i + 1] ?? '';
  const counts = raw.split(',').map(Number);
  if (raw === '' || counts.some((c) => !Number.isInteger(c) || c < 1 || c > 16)) {
    console.error(`--loops needs a comma-separated list of loop counts from 1 to 16, got '${raw}'`);
    process.exit(2);
  }
  return counts;
}

/** CPU time (user + system) of process `pid` so far, in ns (clock ticks of /proc/<pid>/stat: 10 ms resolution). */
function procCpuNs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the comm (which may hold spaces and parentheses): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e9 / CLOCK_TICKS);
}
/** CPU time (ns) the whole machine spent busy so far: /proc/stat's cpu line, idle and iowait left out. */
function machineBusyNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const busy = ticks.slice(0, 8).reduce((a, t, i) => (i === 3 || i === 4 ? a : a + t), 0);
  return busy * (1e9 / CLOCK_TICKS);
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** `count` open loops of `n` opens each, started together; the interval runs from their start to the last one's end. */
async function loopsTogether(
  count: number,
  n: number,
): Promise<{ ns: number; opens: number; loopCpuNs: number }> {
  const t0 = performance.now();
  const runs = await Promise.all(Array.from({ length: count }, () => load('open', n)));
  return {
    ns: (performance.now() - t0) * 1e6,
    opens: runs.reduce((a, r) => a + r.n, 0),
    loopCpuNs: runs.reduce((a, r) => a + r.cpuNs, 0),
  };
}

/**
 * N unpaced open loops at once, without the sensor, with the probe attached
 * but capturing none of their calls (the hook's own cost), and with it (every
 * event evaluated in this thread against Falco's stable rules, as in the
 * main phases), for each N of `counts`. Over the loops' interval: opens/s,
 * the workload's events captured (each open of the loop is one event; close
 * is not in the rules' interest set), events evaluated by this process within
 * the interval (the host's own included) and after it until the backlog
 * drained, drops, and the CPU used by the loops (their syscalls and the probe
 * running in them), this process and the loader, in CPUs.
 */
async function compareLoops(
  options: SensorOptions,
  ruleset: Ruleset,
  counts: readonly number[],
  n: number,
): Promise<void> {
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  console.log(
    `
unpaced open loops at once (${LOAD} open ${fmt(n)} per loop), without and with the sensor; ${cpus} CPUs; load average ${loadavg()}`,
  );
  const verdicts: string[] = [];
  for (const count of counts) {
    const base = await loopsTogether(count, n);
    const baseSecs = base.ns / 1e9;
    console.log(
      `  ${count} loop${count > 1 ? 's' : ''} without sensor: ${fmt(base.opens / baseSecs)} opens/s; loops' CPU ${fmt(base.loopCpuNs / base.ns, 2)} CPUs (${fmt(base.loopCpuNs / base.opens)} ns per open+close)`,
    );
    // The probe attached but capturing none of the loop's calls: what the hook itself costs the loops.
    const idle = await Sensor.start({ ...options, syscalls: [] });
    let attached: Awaited<ReturnType<typeof loopsTogether>>;
    try {
      const drain = consume(idle, ruleset, workloadPids, 0);
      attached = await loopsTogether(count, n);
      await idle.stop();
      await drain.done;
    } finally {
      await idle.stop();
    }
    console.log(
      `  ${count} loop${count > 1 ? 's' : ''}, probe attached, capturing none of their calls: ${fmt(attached.opens / (attached.ns / 1e9))} opens/s; loops' CPU ${fmt(attached.loopCpuNs / attached.ns, 2)} CPUs (${fmt(attached.loopCpuNs / attached.opens)} ns per open+close)`,
    );
    const { sensor, node, mark } = await warmedSensor(Sensor.start.bind(Sensor), options, ruleset);
    try {
      const { drops: d0, own: own0, evaluated: ev0, matches: m0, cpu: nodeCpu0 } = mark;
      const loaderCpu0 = procCpuNs(sensor.loaderPid);
      const busy0 = machineBusyNs();
      const w = await loopsTogether(count, n);
      const nodeCpu = cpuNow() - nodeCpu0;
      const loaderCpu = procCpuNs(sensor.loaderPid) - loaderCpu0;
      const machineCpus = (machineBusyNs() - busy0) / w.ns;
      const evalIn = node.counts.evaluated - ev0;
      const tDrain = performance.now();
      await settleNode(node);
      const drainSecs = (performance.now() - tDrain) / 1000;
      const drops = dropDiff(d0, dropCounts(sensor.stats));
      const opens = node.counts.own.open - own0;
      checkRoundOrExit(`${count} loops`, { t: { n: w.opens }, opens, drops });
      const secs = w.ns / 1e9;
      const [loopsCpu, nodeCpus, loaderCpus] = [w.loopCpuNs / w.ns, nodeCpu / w.ns, loaderCpu / w.ns];
      console.log(
        `  ${count} loop${count > 1 ? 's' : ''} with sensor:    ${fmt(w.opens / secs)} opens/s over ${fmt(secs, 2)} s; captured ${fmt(opens)} of ${fmt(w.opens)} opens (${fmt(opens / secs)} events/s); evaluated ${fmt(evalIn)} events within the interval (${fmt(evalIn / secs)} /s, the host's own included) and ${fmt(node.counts.evaluated - ev0 - evalIn)} more in the ${fmt(drainSecs, 1)} s after, ${fmt(node.counts.matches - m0)} matches; ${fmtDrops(drops)} (${fmt(lost(drops) / secs)} /s); load average ${loadavg()}`,
      );
      console.log(
        `    CPU over the interval: loops ${fmt(loopsCpu, 2)} (${fmt(w.loopCpuNs / w.opens)} ns per open+close, probe included) + node side ${fmt(nodeCpus, 2)} (${fmt(nodeCpu / Math.max(1, evalIn))} ns per event evaluated) + loader ${fmt(loaderCpus, 2)} = ${fmt(loopsCpu + nodeCpus + loaderCpus, 2)} CPUs; the machine was busy ${fmt(machineCpus, 2)} of ${cpus} CPUs (other processes and interrupts: ${fmt(Math.max(0, machineCpus - loopsCpu - nodeCpus - loaderCpus), 2)})`,
      );
      // What 500k events/s would take at the costs measured here (per open+close, per event evaluated, per event read).
      const [needLoops, needNode, needLoader] = [
        w.loopCpuNs / w.opens,
        nodeCpu / Math.max(1, evalIn),
        loaderCpu / Math.max(1, evalIn),
      ].map((ns) => (ns * 500_000) / 1e9);
      console.log(
        `    500k events/s at these costs needs ${fmt((needLoops ?? 0) + (needNode ?? 0) + (needLoader ?? 0), 2)} of ${cpus} CPUs: loops ${fmt(needLoops ?? 0, 2)} + node side ${fmt(needNode ?? 0, 2)} + loader ${fmt(needLoader ?? 0, 2)}`,
      );
      const rate = opens / secs;
      const sustained = rate >= 500_000 && lost(drops) === 0 && evalIn / secs >= 500_000;
      verdicts.push(
        `${count} loop${count > 1 ? 's' : ''}: ${sustained ? 'met' : 'NOT met'} (${fmt(rate)} events/s captured, ${fmt(evalIn / secs)} /s evaluated within the interval, ${fmt(lost(drops))} drops)`,
      );
      await sensor.stop();
      await node.done;
    } finally {
      await sensor.stop();
    }
  }
  console.log(
    `
goal >= 500k events/s sustained unpaced (captured and evaluated within the loops' interval, 0 drops): ${verdicts.join('; ')}`,
  );
}

/** Opens run before a measured round, so both modes are measured with their code optimised. */
const WARMUP_N = 50_000;

/** Every open of the round captured or among the drops, or CHECK FAILED and exit 1. */
function checkRoundOrExit(label: string, r: { t: { n: number }; opens: number; drops: DropCounts }): void {
  const problems = checkCapture({ label, expected: r.t.n, captured: r.opens, lost: lost(r.drops) });
  if (problems.length === 0) return;
  console.error(
    `bench:sensor: CHECK FAILED, no figure reported:\n${problems.map((x) => `  - ${x}`).join('\n')}`,
  );
  process.exit(1);
}

interface ModeRound {
  readonly t: Timed;
  readonly opens: number;
  readonly events: number;
  readonly matches: number;
  readonly drops: DropCounts;
  readonly cpuNs: number;
  readonly seconds: number;
  readonly peak?: number;
}

/** The counters when a measured run starts. */
interface RoundMark {
  readonly drops: DropCounts;
  /** The workload's opens captured. */
  readonly own: number;
  readonly events: number;
  readonly evaluated: number;
  readonly matches: number;
  /** This process's CPU time (cpuNow). */
  readonly cpu: number;
}

/**
 * A sensor from `start` with every event evaluated in this thread, after a
 * warm-up (as for the worker: a new thread compiles its code afresh) and its
 * drained backlog; the workload pids are cleared for the measured run, and
 * `mark` holds the counters at its start.
 */
async function warmedSensor(
  start: (o: SensorOptions) => Promise<Sensor>,
  options: SensorOptions,
  ruleset: Ruleset,
): Promise<{ sensor: Sensor; node: NodeSide; mark: RoundMark }> {
  const sensor = await start(options);
  try {
    const node = consume(sensor, ruleset, workloadPids, 0);
    await settleNode(node);
    await load('open', WARMUP_N);
    await settleNode(node);
    workloadPids.clear();
    const { own, events, evaluated, matches } = node.counts;
    return {
      sensor,
      node,
      mark: { drops: dropCounts(sensor.stats), own: own.open, events, evaluated, matches, cpu: cpuNow() },
    };
  } catch (e) {
    await sensor.stop();
    throw e;
  }
}

/** One round of the open loop with `start`'s sensor, every event evaluated in this thread. */
async function oneThreadRound(
  start: (o: SensorOptions) => Promise<Sensor>,
  options: SensorOptions,
  ruleset: Ruleset,
  n: number,
  rate: number | undefined,
): Promise<ModeRound> {
  const { sensor, node, mark } = await warmedSensor(start, options, ruleset);
  try {
    const { drops: d0, own: own0, events: e0, matches: m0, cpu: cpu0 } = mark;
    const t0 = performance.now();
    const t = await load('open', n, rate);
    await settleNode(node);
    const r = {
      t,
      cpuNs: cpuNow() - cpu0,
      seconds: (performance.now() - t0) / 1000,
      events: node.counts.events - e0,
      matches: node.counts.matches - m0,
      drops: dropDiff(d0, dropCounts(sensor.stats)),
      opens: node.counts.own.open - own0,
    };
    await sensor.stop();
    await node.done;
    return r;
  } finally {
    await sensor.stop();
  }
}

async function workerRound(
  options: SensorOptions,
  rules: readonly RuleText[],
  n: number,
  rate: number | undefined,
): Promise<ModeRound> {
  const sensor = await Sensor.start({ ...options, worker: { rules, ruleMatching: 'first' } });
  try {
    const w = sensor.nodeWorker;
    if (w === undefined) throw new Error('the sensor started without its worker');
    const emitted = () => sensor.stats.eventsEmitted;
    // Drained: fewer than 200 events in 300 ms and nothing in flight (or 10 s).
    const settle = async () => {
      const deadline = Date.now() + 10_000;
      let last = emitted();
      do {
        last = emitted();
        await sleep(300);
      } while ((emitted() - last > 200 || w.inFlightBytes > 0) && Date.now() < deadline);
    };
    await settle();
    // Warm-up: the worker's isolate compiles the decoder and the rules afresh; a running sensor has long done so.
    await load('open', WARMUP_N);
    await settle();
    workloadPids.clear();
    w.watch([], true);
    const opensOf = () => w.watched.get('self openat /etc/hostname') ?? 0;
    const d0 = dropCounts(sensor.stats);
    const own0 = opensOf();
    const e0 = emitted();
    const m0 = sensor.stats.matches ?? 0;
    const cpu0 = cpuNow();
    const t0 = performance.now();
    const t = await load('open', n, rate, (pid) => w.watch([pid]));
    await settle();
    return {
      t,
      cpuNs: cpuNow() - cpu0,
      seconds: (performance.now() - t0) / 1000,
      events: emitted() - e0,
      matches: (sensor.stats.matches ?? 0) - m0,
      drops: dropDiff(d0, dropCounts(sensor.stats)),
      opens: opensOf() - own0,
      peak: w.peakInFlightBytes,
    };
  } finally {
    await sensor.stop();
  }
}

await main();
