import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import type { SyscallEvent } from '@saker/events';
import { repoRoot, sharedPath } from '@saker/testing';
import { type RuleText, loadRules } from '../src/loader/load.js';
import { generateMix } from './mix.js';
import { checkRulesRun } from './rules-check.js';

/**
 * `npm run bench:rules`: one thread evaluating a realistic syscall mix (see
 * mix.ts and docs/bench-rules.md) against Falco's stable rules plus Saker's
 * defaults, for SAKER_BENCH_SECONDS (default 10) after a warm-up.
 */

const POOL_SIZE = 50_000;
/** How many events between clock reads; small enough to stop on time, large enough not to matter. */
const CHECK_EVERY = 4096;

function benchSeconds(): number {
  const raw = process.env.SAKER_BENCH_SECONDS;
  if (raw === undefined || raw === '') return 10;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`SAKER_BENCH_SECONDS must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function ruleTexts(): RuleText[] {
  const texts: RuleText[] = [];
  const falco = sharedPath('falco-rules', 'falco_rules.yaml');
  if (falco === undefined) throw new Error("Falco's falco_rules.yaml is needed: set SAKER_SHARED");
  texts.push({ name: falco, content: readFileSync(falco, 'utf8') });
  const dir = join(repoRoot(), 'rules');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.yaml'))
        texts.push({ name: join(dir, f), content: readFileSync(join(dir, f), 'utf8') });
    }
  }
  return texts;
}

interface Run {
  readonly events: number;
  readonly alerting: number;
  readonly matches: number;
  readonly ns: bigint;
}

function run(evaluate: (e: SyscallEvent) => number, pool: readonly SyscallEvent[], seconds: number): Run {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let events = 0;
  let alerting = 0;
  let matches = 0;
  let i = 0;
  const n = pool.length;
  for (;;) {
    for (let k = 0; k < CHECK_EVERY; k++) {
      const hits = evaluate(pool[i] as SyscallEvent);
      if (hits > 0) alerting++;
      matches += hits;
      if (++i === n) i = 0;
    }
    events += CHECK_EVERY;
    const ns = process.hrtime.bigint() - start;
    if (ns >= budget) return { events, alerting, matches, ns };
  }
}

function main(): void {
  const seconds = benchSeconds();
  const texts = ruleTexts();

  const t0 = process.hrtime.bigint();
  const load = loadRules(texts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!load.ok) {
    for (const r of load.results) {
      for (const e of r.errors) process.stderr.write(`${r.name}: ${e.code}: ${e.message}\n`);
    }
    throw new Error('the rules have load errors; the benchmark needs them to load');
  }
  const ruleset = load.ruleset;
  const enabled = ruleset.rules.filter((r) => r.enabled).length;

  const t1 = process.hrtime.bigint();
  const pool = generateMix({ size: POOL_SIZE, seed: 20240514 });
  const genMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const types = new Set(pool.map((e) => e.type));

  // Which rules fire on one pass of the pool, and how often: shows the mix does what it says.
  // It is also the reference the timed run is checked against (matches per pool event).
  const fired = new Map<string, number>();
  const matchesPerIndex: number[] = [];
  let alertingOnce = 0;
  for (const e of pool) {
    const m = ruleset.evaluate(e);
    matchesPerIndex.push(m.length);
    if (m.length > 0) alertingOnce++;
    for (const x of m) fired.set(x.rule.name, (fired.get(x.rule.name) ?? 0) + 1);
  }

  const evaluate = (e: SyscallEvent): number => ruleset.evaluate(e).length;
  const warm = Math.min(3, Math.max(1, seconds * 0.2));
  run(evaluate, pool, warm);
  const globalGc = (globalThis as { gc?: () => void }).gc;
  if (globalGc) globalGc();
  const res = run(evaluate, pool, seconds);
  const heapMb = process.memoryUsage().heapUsed / (1024 * 1024);
  const problems = checkRulesRun(res, matchesPerIndex);
  if (problems.length > 0) {
    process.stderr.write(
      `bench:rules: CHECK FAILED, no rate reported:\n${problems.map((x) => `  - ${x}\n`).join('')}`,
    );
    process.exitCode = 1;
    return;
  }

  const secs = Number(res.ns) / 1e9;
  const rate = res.events / secs;
  const nsPer = Number(res.ns) / res.events;
  const pct = (100 * res.alerting) / res.events;
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const files = texts.map((t) => basename(t.name)).join(' + ');

  const out: string[] = [];
  out.push(
    `command: ${process.env.SAKER_BENCH_SECONDS ? `SAKER_BENCH_SECONDS=${seconds} ` : ''}npm run bench:rules`,
  );
  out.push(`node ${process.version} ${process.platform}/${process.arch}, ${cpu}, one thread`);
  out.push(
    `rules: ${files}: ${ruleset.rules.length} rules (${enabled} enabled), ${ruleset.macros.length} macros, ` +
      `${ruleset.lists.length} lists; loaded in ${loadMs.toFixed(0)} ms`,
  );
  out.push(
    `pool: ${pool.length} distinct events, ${types.size} syscall types, generated in ${genMs.toFixed(0)} ms; ` +
      `${alertingOnce} (${((100 * alertingOnce) / pool.length).toFixed(2)}%) alert on one pass`,
  );
  const top = [...fired.entries()].sort((a, b) => b[1] - a[1]);
  for (const [name, count] of top) out.push(`  fired: ${String(count).padStart(5)}  ${name}`);
  out.push(
    `warm-up ${warm.toFixed(1)} s, measured ${secs.toFixed(2)} s, ${res.events} events, ${res.alerting} alerts ` +
      '(checked: the reference pass gives the same alerts and matches for these events)',
  );
  out.push(
    `rules: ${Math.round(rate)} events/s (${Math.round(nsPer)} ns/event), ${pct.toFixed(2)}% alerts, ` +
      `heap ${Math.round(heapMb)} MB`,
  );
  out.push(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
