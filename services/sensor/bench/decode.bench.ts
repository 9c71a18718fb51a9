/**
 * User-space cost per record: decodes a captured loader stream and builds the
 * events exactly as the Sensor does (RecordPipeline, its process table seeded
 * from /proc as the Sensor seeds it), without the kernel.
 *
 *   saker-sensor-loader --syscalls <ids> > /tmp/cap.bin   (while a workload runs)
 *   node services/sensor/dist/bench/decode.bench.js /tmp/cap.bin [rounds] [--validate] [--against DIR]
 *
 * Prints the CPU time per record (this process's user + system time, so the
 * garbage collector's threads count; steadier than wall time on a shared
 * machine) and the wall time. `--against DIR` alternates rounds with another
 * build's `dist/src` (e.g. a copy of main's), in the same minutes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as decoderModule from '../src/decoder.js';
import * as sensorModule from '../src/sensor.js';

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
const positional = args.filter((a, i) => !a.startsWith('--') && (ai < 0 || i !== ai + 1));
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
    });
    pipe.table.seed();
    let records = 0;
    let events = 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let off = 0; off < bytes.length; off += CHUNK) {
      for (const rec of decoder.push(bytes.subarray(off, Math.min(bytes.length, off + CHUNK)))) {
        if (!pipe.bootEpochNs && decoder.header) pipe.bootEpochNs = decoder.header.bootEpochNs;
        if (rec.kind === b.decoder.REC_STATS) continue;
        records++;
        if (pipe.handle(rec) !== undefined) events++;
      }
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const cpuNs = (cpu.user + cpu.system) * 1000;
    perRound.get(b.name)?.push(cpuNs / records);
    console.log(
      `round ${r + 1} ${b.name}: ${records} records, ${events} events: CPU ${(cpuNs / records).toFixed(0)} ns/record, wall ${(ns / records).toFixed(0)} ns/record (${validate ? 'with' : 'without'} parseEvent), ${pipe.invalidEvents} invalid`,
    );
  }
}
// The best round is the least disturbed by other work on a shared machine; the median shows the spread.
for (const [name, xs] of perRound) {
  const sorted = [...xs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(
    `${name}: CPU per record best ${(sorted[0] ?? 0).toFixed(0)} ns, median ${median.toFixed(0)} ns over ${xs.length} rounds`,
  );
}
