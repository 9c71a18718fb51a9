/**
 * npm run bench:audit — how many audit events per second the webhook accepts.
 *
 * A load generator in a worker thread plays the API server's webhook backend:
 * EventLists of 100 RequestResponse pod-create events, over mTLS, on
 * keep-alive connections, several requests in flight. The service runs in
 * the main thread, handing off to the in-memory bus (`saker run`), or with
 * SAKER_BENCH_NATS=1 to JetStream on a local nats-server (durable hand-off).
 *
 * Environment: SAKER_BENCH_SECONDS (default 10), SAKER_BENCH_CONCURRENCY
 * (default 8), SAKER_BENCH_GZIP=1 (gzip the bodies, as --audit-webhook-... does not by default).
 */
import { Agent } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { type Bus, HEADERS, SUBJECTS, connectBus } from '@saker/bus';
import { makeTestPki, startNatsServer } from '@saker/testing';
import { start } from '../src/service.js';
import { post } from '../test/client.js';
import { podCreateEvent } from '../test/events.js';
import { checkAuditRun } from './audit-check.js';

const BATCH = 100;

interface LoadConfig {
  readonly url: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly seconds: number;
  readonly concurrency: number;
  readonly gzip: boolean;
}

interface LoadResult {
  readonly requests: number;
  readonly events: number;
  readonly failures: number;
  readonly latenciesMs: number[];
  readonly elapsedMs: number;
  readonly bodyBytes: number;
}

/** One EventList template; `@@` becomes a request number so every batch is new (no de-duplication). */
function template(): string {
  const items = Array.from({ length: BATCH }, (_, i) => {
    const e = podCreateEvent(i);
    return { ...e, auditID: `${e.auditID.slice(0, 24)}@@-${String(i).padStart(3, '0')}` };
  });
  return JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
}

async function generateLoad(c: LoadConfig): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: c.concurrency, ca: c.ca, cert: c.cert, key: c.key });
  const tpl = template();
  const latenciesMs: number[] = [];
  let requests = 0;
  let failures = 0;
  let seq = 0;
  let bodyBytes = 0;
  const started = performance.now();
  const until = started + c.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const n = String(seq++).padStart(8, '0');
      const text = tpl.replaceAll('@@', n);
      const body = c.gzip ? gzipSync(text) : Buffer.from(text);
      bodyBytes += body.length;
      const t0 = performance.now();
      const r = await post(c.url, body, {
        agent,
        ca: c.ca,
        cert: c.cert,
        key: c.key,
        headers: c.gzip ? { 'content-encoding': 'gzip' } : {},
      });
      latenciesMs.push(performance.now() - t0);
      if (r.status === 200) requests++;
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { requests, events: requests * BATCH, failures, latenciesMs, elapsedMs, bodyBytes };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Counts events arriving on the bus, to check nothing accepted went missing. */
function countOnBus(bus: Bus): { count: () => number } {
  let n = 0;
  const sub = bus.subscribe(SUBJECTS.k8sAuditEvents);
  void (async () => {
    for await (const m of sub) n += Number(m.headers[HEADERS.batchCount] ?? 0);
  })();
  return { count: () => n };
}

async function main(): Promise<void> {
  const seconds = Number(process.env.SAKER_BENCH_SECONDS ?? 10);
  const concurrency = Number(process.env.SAKER_BENCH_CONCURRENCY ?? 8);
  const gzip = process.env.SAKER_BENCH_GZIP === '1';
  const useNats = process.env.SAKER_BENCH_NATS === '1';
  using pki = makeTestPki({ clientCn: 'kube-apiserver' });
  await using nats = useNats ? await startNatsServer({ jetstream: true }) : undefined;
  await using bus = await connectBus(nats ? { url: nats.url } : { memory: true });
  const seen = countOnBus(bus);
  await using service = await start({
    bus,
    log: () => undefined,
    handoff: { mode: nats ? 'durable' : 'publish' },
    webhook: {
      host: '127.0.0.1',
      port: 0,
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
    },
  });
  const config: LoadConfig = {
    url: service.webhook?.url ?? '',
    ca: pki.caCert,
    cert: pki.clientCert,
    key: pki.clientKey,
    seconds,
    concurrency,
    gzip,
  };
  const worker = new Worker(new URL(import.meta.url), { workerData: config });
  const result = await new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', (r: LoadResult) => resolve(r));
    worker.once('error', reject);
  });
  await worker.terminate();
  await bus.flush();
  // Every accepted event is on its way to the subscriber: wait for the count, bounded.
  const deadline = Date.now() + 10_000;
  while (seen.count() < result.events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const problems = checkAuditRun({
    requests: result.requests,
    acceptedEvents: result.events,
    failedRequests: result.failures,
    onBus: seen.count(),
  });
  if (problems.length > 0) {
    process.stderr.write(
      `bench:audit: CHECK FAILED, no rate reported:\n${problems.map((x) => `  - ${x}\n`).join('')}`,
    );
    process.exitCode = 1;
    return;
  }

  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const rate = result.events / (result.elapsedMs / 1000);
  const line = (k: string, v: string): void => {
    process.stdout.write(`${k.padEnd(22)} ${v}\n`);
  };
  process.stdout.write(
    `\nnpm run bench:audit  (SAKER_BENCH_SECONDS=${seconds} SAKER_BENCH_CONCURRENCY=${concurrency}` +
      `${gzip ? ' SAKER_BENCH_GZIP=1' : ''}${useNats ? ' SAKER_BENCH_NATS=1' : ''})\n`,
  );
  line('node', `${process.version} on ${cpus()[0]?.model ?? '?'} x${cpus().length}`);
  line(
    'hand-off',
    nats ? 'JetStream publishDurable to SAKER_AUDIT (file store)' : 'in-memory bus (publish + flush)',
  );
  line('transport', `HTTPS, mTLS, keep-alive, ${concurrency} in flight${gzip ? ', gzip' : ''}`);
  line(
    'batches',
    `${result.requests} x ${BATCH} events, ${(result.bodyBytes / result.requests / 1024).toFixed(0)} KiB each`,
  );
  line('failed requests', String(result.failures));
  line('accepted', `${result.events} events in ${(result.elapsedMs / 1000).toFixed(1)} s`);
  line(
    'events/s',
    `${Math.round(rate)}${rate >= 20_000 ? '  (goal 20000: met)' : '  (goal 20000: NOT met)'}`,
  );
  line(
    'latency p50 / p99',
    `${percentile(sorted, 50).toFixed(1)} ms / ${percentile(sorted, 99).toFixed(1)} ms per batch`,
  );
  line('on the bus', `${seen.count()} events: all accepted events (checked before the rate)`);
  line(
    'load average',
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  );
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:audit: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  generateLoad(workerData as LoadConfig).then(
    (r) => parentPort?.postMessage(r),
    (err: unknown) => {
      throw err;
    },
  );
}
