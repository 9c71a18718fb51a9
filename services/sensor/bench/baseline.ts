/**
 * Quiet baseline: about a minute of ordinary developer activity on this host
 * (a small tsc build, a make/gcc build, git operations, npm commands), watched
 * by the real sensor with Falco's stable rules and Saker's defaults loaded.
 * None of the stable CRITICAL rules may fire. Prints every rule that fired,
 * with counts, and exits 1 when a CRITICAL one did.
 *
 *   node services/sensor/dist/bench/baseline.js [seconds]   (root; default 60)
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RuleMatch, loadRules, readRuleFiles } from '@saker/rules';
import { sharedPath } from '@saker/testing';
import { interestFromEventTypes } from '../src/interest.js';
import { Sensor } from '../src/sensor.js';

const sh = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const TSC = join(REPO, 'node_modules/.bin/tsc');

async function step(cmd: string, args: string[], cwd: string): Promise<void> {
  try {
    await sh(cmd, args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'saker',
        GIT_AUTHOR_EMAIL: 's@example.org',
        GIT_COMMITTER_NAME: 'saker',
        GIT_COMMITTER_EMAIL: 's@example.org',
      },
    });
  } catch (e) {
    console.error(`  (${cmd} ${args.join(' ')} failed: ${(e as Error).message.split('\n')[0]})`);
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 60);
  const falco = sharedPath('falco-rules', 'falco_rules.yaml');
  if (falco === undefined) throw new Error('shared Falco rules missing (SAKER_SHARED)');
  const loaded = loadRules(await readRuleFiles([falco, join(REPO, 'rules')]));
  if (!loaded.ok) throw new Error('rules failed to load');
  const ruleset = loaded.ruleset;
  const interest = interestFromEventTypes(ruleset.eventTypes());
  const matches: RuleMatch[] = [];
  let events = 0;
  const sensor = await Sensor.start({ syscalls: interest.syscalls });
  const consuming = (async () => {
    for await (const e of sensor) {
      events++;
      for (const m of ruleset.evaluate(e, { ruleMatching: 'all' })) matches.push(m);
    }
  })();

  const dir = mkdtempSync(join(tmpdir(), 'saker-baseline-'));
  const proj = join(dir, 'proj');
  mkdirSync(join(proj, 'src'), { recursive: true });
  writeFileSync(
    join(proj, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, outDir: 'dist', types: [] },
      include: ['src'],
    }),
  );
  writeFileSync(
    join(proj, 'package.json'),
    JSON.stringify({ name: 'baseline-proj', version: '1.0.0', private: true, type: 'module' }),
  );
  writeFileSync(join(proj, 'main.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
  writeFileSync(join(proj, 'Makefile'), 'hello: main.c\n\t$(CC) -O2 -o $@ $<\nclean:\n\trm -f hello\n');
  const started = Date.now();
  let round = 0;
  await step('git', ['init', '-q'], proj);
  while (Date.now() - started < seconds * 1000) {
    round++;
    writeFileSync(join(proj, 'src', `m${round % 5}.ts`), `export const v${round}: number = ${round};\n`);
    await step(TSC, ['-p', '.'], proj);
    await step('make', ['-s', 'clean', 'hello'], proj);
    await step('./hello', [], proj);
    await step('git', ['add', '-A'], proj);
    await step('git', ['commit', '-q', '-m', `round ${round}`], proj);
    await step('git', ['log', '--oneline', '-n', '3'], proj);
    await step('git', ['status', '--short'], proj);
    await step('git', ['diff', 'HEAD~1', '--stat'], proj);
    await step('npm', ['--version'], proj);
    await step('npm', ['pkg', 'get', 'name'], proj);
    await step('npm', ['ls', '--depth=0'], proj);
    await step('ls', ['-la', proj], proj);
    await step('grep', ['-r', 'export', 'src'], proj);
  }
  await new Promise((r) => setTimeout(r, 1000));
  await sensor.stop();
  await consuming;
  rmSync(dir, { recursive: true, force: true });

  const byRule = new Map<string, { priority: string; count: number; sample: string }>();
  for (const m of matches) {
    const r = byRule.get(m.rule.name) ?? { priority: m.rule.priority, count: 0, sample: m.output };
    r.count++;
    byRule.set(m.rule.name, r);
  }
  const st = sensor.stats.totals;
  console.log(
    `baseline: ${round} rounds in ${((Date.now() - started) / 1000).toFixed(0)} s, ${events} events, drops ringbuf=${st.dropRingbuf} scratch=${st.dropScratch}`,
  );
  if (byRule.size === 0) console.log('no rule fired');
  for (const [name, r] of byRule)
    console.log(`  [${r.priority}] ${name}: ${r.count}  e.g. ${r.sample.slice(0, 300)}`);
  const critical = [...byRule.entries()].filter(([, r]) => r.priority.toUpperCase() === 'CRITICAL');
  console.log(
    critical.length === 0
      ? 'OK: no CRITICAL rule fired'
      : `FAIL: CRITICAL rules fired: ${critical.map(([n]) => n).join(', ')}`,
  );
  process.exitCode = critical.length === 0 ? 0 : 1;
}

await main();
