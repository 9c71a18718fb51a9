/**
 * User-space cost per record: decodes a captured loader stream and builds the
 * events exactly as the Sensor does (RecordPipeline, its process table seeded
 * from /proc as the Sensor seeds it), without the kernel.
 *
 *   saker-sensor-loader --syscalls <ids> > /tmp/cap.bin   (while a workload runs)
 *   node services/sensor/dist/bench/decode.bench.js /tmp/cap.bin [rounds] [--validate] [--against DIR] [--rules FILE]
 *
 * `--rules FILE` (e.g. Falco's stable rules) also evaluates every event
 * against that ruleset (rule_matching first), as bench:sensor's node side
 * does, and builds events only for the calls its rules read (the sensor's
 * interest set; the others only update the process table). This build
 * evaluates on a view of each record and builds an event only for a match
 * (RecordPipeline.evaluate); a build without it builds every event first.
 * Prints the CPU time per record (this process's user + system time, so the
 * garbage collector's threads count; steadier than wall time on a shared
 * machine) and the wall time. `--against DIR` alternates rounds with another
 * build's `dist/src` (e.g. a copy of main's), in the same minutes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RuleMatch, type Ruleset, loadRules, readRuleFiles } from '@saker/rules';
import * as decoderModule from '../src/decoder.js';
import { interestFromEventTypes } from '../src/interest.js';
import * as sensorModule from '../src/sensor.js';
import { resolveSyscalls } from '../src/syscalls.js';

interface Build {
  readonly name: string;
  readonly decoder: Pick<typeof decoderModule, 'StreamDecoder' | 'REC_STATS'>;
  readonly sensor: Pick<typeof sensorModule, 'RecordPipeline'>;
}

const args = process.argv.slice(2);
const ai = args.indexOf('--against');
const against = ai >= 0 ? args[ai + 1] : undefined;
if (ai >= 0 && against === undefined) {
  console.error('--against needs the dist/src directory of another build');
  process.exit(2);
}
const ri = args.indexOf('--rules');
const rulesFile = ri >= 0 ? args[ri + 1] : undefined;
if (ri >= 0 && rulesFile === undefined) {
  console.error('--rules needs a rules file');
  process.exit(2);
}
const positional = args.filter(
  (a, i) => !a.startsWith('--') && (ai < 0 || i !== ai + 1) && (ri < 0 || i !== ri + 1),
);
let ruleset: Ruleset | undefined;
if (rulesFile !== undefined) {
  const loaded = loadRules(await readRuleFiles([rulesFile]));
  if (!loaded.ok) {
    console.error(`decode.bench: ${rulesFile} does not load`);
    process.exit(1);
  }
  ruleset = loaded.ruleset;
}
const interest = ruleset !== undefined ? interestFromEventTypes(ruleset.eventTypes()).syscalls : 'all';
const emittedIds = interest === 'all' ? undefined : resolveSyscalls(interest).ids;
const evalOpts = { ruleMatching: 'first' as const };
const file = positional[0] ?? '/tmp/cap.bin';
const rounds = Number(positional[1] ?? 3);
const validate = args.includes('--validate');
const bytes = readFileSync(file);
const CHUNK = 65536;

const builds: Build[] = [{ name: 'this build', decoder: decoderModule, sensor: sensorModule }];
if (against !== undefined) {
  const dir = pathToFileURL(`${resolve(against)}/`);
  builds.unshift({
    name: against,
    decoder: (await import(new URL('decoder.js', dir).href)) as typeof decoderModule,
    sensor: (await import(new URL('sensor.js', dir).href)) as typeof sensorModule,
  });
}

console.log(`command: node ${process.argv.slice(1).join(' ')}`);
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
/** Per build: CPU ns per record of each round. */
const perRound = new Map<string, number[]>(builds.map((b) => [b.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const b of builds) {
    const decoder = new b.decoder.StreamDecoder();
    const pipe = new b.sensor.RecordPipeline({
      hostname: 'bench',
      maxAncestors: 5,
      validate,
      onError: () => {},
      ...(emittedIds !== undefined ? { emittedIds } : {}),
    });
    pipe.table.seed();
    // An older build (`--against`) has no RecordPipeline.evaluate: it builds every event, then evaluates it.
    const viewPath = typeof (pipe as Partial<Pick<typeof pipe, 'evaluate'>>).evaluate === 'function';
    const found: RuleMatch[] = [];
    let records = 0;
    let events = 0;
    let matches = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let off = 0; off < bytes.length; off += CHUNK) {
      for (const rec of decoder.push(bytes.subarray(off, Math.min(bytes.length, off + CHUNK)))) {
        if (!pipe.bootEpochNs && decoder.header) pipe.bootEpochNs = decoder.header.bootEpochNs;
        if (rec.kind === b.decoder.REC_STATS) continue;
        records++;
        if (ruleset !== undefined && viewPath) {
          // The rules on a view of the record, the event built only for a match (RecordPipeline.evaluate).
          if (pipe.evaluate(rec, ruleset, evalOpts, found) === undefined) continue;
          events++;
          if (found.length > 0) {
            matches += found.length;
            found.length = 0;
          }
          continue;
        }
        const ev = pipe.handle(rec);
        if (ev === undefined) continue;
        events++;
        if (ruleset !== undefined) matches += ruleset.evaluate(ev, evalOpts).length;
      }
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const cpuNs = (cpu.user + cpu.system) * 1000;
    // With rules, per event (as bench:sensor's figure): the records of calls no rule reads only update the table.
    const per = ruleset !== undefined ? events : records;
    const unit = ruleset !== undefined ? 'event' : 'record';
    perRound.get(b.name)?.push(cpuNs / per);
    console.log(
      `round ${r + 1} ${b.name}: ${records} records, ${events} events${ruleset !== undefined ? `, ${matches} matches` : ''}: CPU ${(cpuNs / per).toFixed(0)} ns/${unit}, wall ${(ns / per).toFixed(0)} ns/${unit} (${validate ? 'with' : 'without'} parseEvent${ruleset !== undefined ? ', evaluation included' : ''}), ${pipe.invalidEvents} invalid`,
    );
  }
}
// The best round is the least disturbed by other work on a shared machine; the median shows the spread.
for (const [name, xs] of perRound) {
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(
    `${name}: CPU per ${ruleset !== undefined ? 'event' : 'record'} best ${(sorted[0] ?? 0).toFixed(0)} ns, median ${median.toFixed(0)} ns over ${xs.length} rounds`,
  );
}
