/**
 * User-space cost per record: decodes a captured loader stream and builds the
 * events exactly as the Sensor does (RecordPipeline), without the kernel.
 *
 *   saker-sensor-loader --syscalls <ids> > /tmp/cap.bin   (while a workload runs)
 *   node services/sensor/dist/bench/decode.bench.js /tmp/cap.bin [rounds] [--validate]
 */
import { readFileSync } from 'node:fs';
import { REC_STATS, StreamDecoder } from '../src/decoder.js';
import { RecordPipeline } from '../src/sensor.js';

const file = process.argv[2] ?? '/tmp/cap.bin';
const rounds = Number(process.argv[3] ?? 3);
const validate = process.argv.includes('--validate');
const bytes = readFileSync(file);
const CHUNK = 65536;

for (let r = 0; r < rounds; r++) {
  const decoder = new StreamDecoder();
  const pipe = new RecordPipeline({ hostname: 'bench', maxAncestors: 5, validate, onError: () => {} });
  let records = 0;
  let events = 0;
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += CHUNK) {
    for (const rec of decoder.push(bytes.subarray(off, Math.min(bytes.length, off + CHUNK)))) {
      if (!pipe.bootEpochNs && decoder.header) pipe.bootEpochNs = decoder.header.bootEpochNs;
      if (rec.kind === REC_STATS) continue;
      records++;
      if (pipe.handle(rec) !== undefined) events++;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(
    `round ${r + 1}: ${records} records, ${events} events in ${(ns / 1e6).toFixed(0)} ms: ${(ns / records).toFixed(0)} ns/record (${validate ? 'with' : 'without'} parseEvent), ${pipe.invalidEvents} invalid`,
  );
}
