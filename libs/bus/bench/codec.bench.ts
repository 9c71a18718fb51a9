/**
 * Batch codec benchmark: JSON array vs JSON lines vs length-prefixed JSON, on
 * batches of realistic syscall events. `npm run bench -w @saker/bus`.
 * The result chose JSON lines (see src/batch.ts and docs/bus.md).
 */
import { loadavg } from 'node:os';
import { decodeBatch, encodeBatch } from '../src/batch.js';
import { checkDecodedBatch, checkRoundTrip } from './codec-check.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function event(i: number): Record<string, unknown> {
  return {
    source: 'syscall',
    ts: String(1_470_327_477_881_781_397n + BigInt(i)),
    type: 'openat',
    res: 3,
    args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
    proc: {
      pid: 42 + i,
      tid: 42 + i,
      ppid: 1,
      name: 'cat',
      exe: 'cat',
      exepath: '/usr/bin/cat',
      args: ['/etc/shadow'],
      cwd: '/root',
    },
    ancestors: [{ pid: 1, name: 'bash', exepath: '/bin/bash', cmdline: 'bash -l' }],
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'host' },
  };
}

interface Codec {
  encode(events: readonly unknown[]): Uint8Array;
  decode(data: Uint8Array): unknown[];
}

const codecs: Record<string, Codec> = {
  'json array': {
    encode: (es) => enc.encode(JSON.stringify(es)),
    decode: (b) => JSON.parse(dec.decode(b)) as unknown[],
  },
  'json lines': {
    encode: (es) => enc.encode(es.map((e) => JSON.stringify(e)).join('\n')),
    decode: (b) =>
      dec
        .decode(b)
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
  },
  'length-prefixed json': {
    encode: (es) => {
      const parts = es.map((e) => enc.encode(JSON.stringify(e)));
      const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
      const view = new DataView(out.buffer);
      let o = 0;
      for (const p of parts) {
        view.setUint32(o, p.length);
        out.set(p, o + 4);
        o += 4 + p.length;
      }
      return out;
    },
    decode: (b) => {
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const out: unknown[] = [];
      for (let o = 0; o < b.length; ) {
        const n = view.getUint32(o);
        out.push(JSON.parse(dec.decode(b.subarray(o + 4, o + 4 + n))));
        o += 4 + n;
      }
      return out;
    },
  },
};

const batchSize = 512;
const rounds = Number(process.env.SAKER_BENCH_ROUNDS ?? 200);
const events = Array.from({ length: batchSize }, (_, i) => event(i));

function rate(ms: number): string {
  return `${((rounds * batchSize) / ms / 1000).toFixed(2)} M ev/s`;
}

// Lines are printed only once every check passed: a rate for work not done is no figure.
const lines: string[] = [];
const problems: string[] = [];
for (const [name, codec] of Object.entries(codecs)) {
  const data = codec.encode(events);
  problems.push(...checkRoundTrip(name, events, codec.decode(data)));
  for (let i = 0; i < 20; i++) codec.decode(codec.encode(events));
  let t = performance.now();
  for (let i = 0; i < rounds; i++) codec.encode(events);
  const encMs = performance.now() - t;
  let decoded = 0;
  t = performance.now();
  for (let i = 0; i < rounds; i++) decoded += codec.decode(data).length;
  const decMs = performance.now() - t;
  if (decoded !== rounds * batchSize)
    problems.push(`${name}: ${decoded} events decoded of ${rounds * batchSize}`);
  lines.push(
    `${name.padEnd(22)} ${String(data.byteLength).padStart(7)} B/batch  encode ${rate(encMs)}  decode ${rate(decMs)}`,
  );
}

// The shipped codec, with validation of every event by parseEvent; every timed decode is checked.
const shipped = encodeBatch(events as never[]).data;
const t = performance.now();
const results = [];
for (let i = 0; i < rounds; i++) results.push(decodeBatch(shipped));
const shippedMs = performance.now() - t;
for (const [i, r] of results.entries())
  problems.push(...checkDecodedBatch(`decodeBatch round ${i}`, batchSize, r));
lines.push(
  `${'decodeBatch (validated)'.padEnd(22)} ${String(shipped.byteLength).padStart(7)} B/batch  decode ${rate(shippedMs)}`,
);
if (problems.length > 0) {
  process.stderr.write(
    `codec bench: CHECK FAILED, no rate reported:\n${problems
      .slice(0, 20)
      .map((x) => `  - ${x}\n`)
      .join('')}`,
  );
  process.exitCode = 1;
} else {
  console.log(
    `node libs/bus/dist/bench/codec.bench.js  (SAKER_BENCH_ROUNDS=${rounds}, batches of ${batchSize})`,
  );
  console.log(lines.join('\n'));
  console.log(
    `checked: every codec round-trips the batch; decodeBatch accepted all ${rounds * batchSize} lines`,
  );
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}
