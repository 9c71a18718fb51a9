/**
 * bench:sinks — alerts/s delivered to the http (webhook) output through
 * JetStream: alerts are stored in SAKER_ALERTS first, then the sinks start
 * and the clock runs until the receiver (a separate Node process, so it does
 * not share the sinks' CPU) has counted every one.
 *
 * Two shapes: Falco's (one POST per alert, `concurrency` requests at once)
 * and Saker's batching hook (JSON lines, up to `maxAlerts` per POST).
 *
 *   npm run bench:sinks            (SAKER_BENCH_ALERTS=50000 by default)
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { STREAMS, SUBJECTS, connectBus } from '@saker/bus';
import { formatAlertJson } from '@saker/rules';
import { MetricsRegistry } from '@saker/telemetry';
import { startNatsServer } from '@saker/testing';
import { HttpOutput, type OutputSettings, start } from '../src/mod.js';

const N = Number(process.env.SAKER_BENCH_ALERTS ?? '50000');
const FORMAT = {
  json: true,
  includeOutput: true,
  includeTags: true,
  includeOutputFields: true,
  timeIso8601: false,
};

const RECEIVER = `
const http = require('node:http');
let alerts = 0, requests = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') { res.end(JSON.stringify({ alerts, requests })); return; }
  let n = 0, last = 10;
  req.on('data', (c) => { for (const b of c) if (b === 10) n++; last = c[c.length - 1]; });
  req.on('end', () => { requests++; alerts += n + (last === 10 ? 0 : 1); res.end('ok'); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

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

async function run(label: string, settings: (url: string) => OutputSettings): Promise<number> {
  await using server = await startNatsServer({ jetstream: true });
  const bus = await connectBus({ url: server.url });
  const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) =>
      receiver.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    const url = `http://127.0.0.1:${port}/`;
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
    let got = { alerts: 0, requests: 0 };
    while (got.alerts < N) {
      await new Promise((r) => setTimeout(r, 20));
      got = (await (await fetch(url)).json()) as typeof got;
    }
    const seconds = (performance.now() - t0) / 1000;
    abort.abort();
    await sinks.stopped;
    const rate = N / seconds;
    console.log(
      `${label.padEnd(44)} ${N} alerts in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} alerts/s ` +
        `(${got.requests} POSTs, ${got.alerts - N} duplicates)`,
    );
    return rate;
  } finally {
    receiver.kill();
    await bus.close();
  }
}

console.log(
  `$ npm run bench:sinks   (node ${process.version}, ${availableParallelism()} CPUs, SAKER_BENCH_ALERTS=${N})`,
);
await run('http, one POST per alert, concurrency 64', (url) => ({
  output: new HttpOutput({ format: FORMAT, url, maxSockets: 64 }),
  format: FORMAT,
  concurrency: 64,
}));
const batched = await run('http, batching hook (256 per POST, 4 at once)', (url) => ({
  output: new HttpOutput({ format: FORMAT, url }),
  format: FORMAT,
  concurrency: 4,
  maxAckPending: 4096,
  batch: { maxAlerts: 256, lingerMs: 5 },
}));
console.log(`goal ≥20,000 alerts/s: ${batched >= 20_000 ? 'met' : 'NOT met'} (batched)`);
