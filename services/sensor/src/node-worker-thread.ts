/**
 * The node worker's thread (node:worker_threads): it receives the loader's
 * stream as transferred chunks, in order, and does everything per record
 * there: decoding, the process table, the event, the rules and the alert's
 * Falco JSON. Only alerts, stats records and counters go back; no event
 * object crosses the thread boundary. One thread holds the one process
 * table, so every exec, fork and exit is applied in stream order.
 *
 * Every message to the main thread answers a chunk (`done`, with its byte
 * count), so the main thread knows how many bytes are still in flight and
 * pauses the loader's output past its bound (node-worker.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { REC_STATS, StreamDecoder } from './decoder.js';
import { NodeEvaluator } from './node-evaluator.js';
import type { FromWorker, NodeWorkerInit, ToWorker, WatchCounts } from './node-worker-protocol.js';
import { RecordPipeline } from './record-pipeline.js';

const port = parentPort;
if (port === null) throw new Error('node-worker-thread.js runs only as a worker thread');
const init = workerData as NodeWorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);

let evaluator: NodeEvaluator;
try {
  evaluator = new NodeEvaluator(init.evaluation, init.hostname);
} catch (err) {
  post({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
  throw err;
}
const decoder = new StreamDecoder({
  onError: (e) => post({ t: 'decodeError', offset: e.offset, field: e.field, reason: e.reason }),
});
let invalidReported = 0;
const pipeline = new RecordPipeline({
  hostname: init.hostname,
  maxAncestors: init.maxAncestors,
  validate: init.validate,
  ...(init.emittedIds !== undefined ? { emittedIds: init.emittedIds } : {}),
  // Invalid events are counted (pipeline.invalidEvents); the first few are described.
  onError: (err) => {
    if (invalidReported++ < 10) post({ t: 'invalid', message: err.message });
  },
});
let headerSent = false;
/** Processes whose events (and their children's) are counted by type and path, for benches and tests. */
const watched = new Set<number>();
let watchCounts: WatchCounts = {};

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'chunk':
      onChunk(new Uint8Array(m.buf, 0, m.length));
      break;
    case 'emitted':
      pipeline.setEmitted(m.ids);
      break;
    case 'rules':
      try {
        evaluator.setRules(m.evaluation);
      } catch (err) {
        post({ t: 'rulesRefused', message: err instanceof Error ? err.message : String(err) });
      }
      break;
    case 'watch':
      if (m.clear) watched.clear();
      for (const p of m.pids) watched.add(p);
      break;
    case 'end':
      post({ t: 'ended', counts: counts() });
      port.close();
      break;
  }
});
post({ t: 'ready' });

function counts() {
  return {
    events: pipeline.num,
    evaluated: evaluator.evaluated,
    matches: evaluator.matches,
    invalidEvents: pipeline.invalidEvents,
    decodeErrors: decoder.errors,
  };
}

function onChunk(chunk: Uint8Array): void {
  const alerts: string[] = [];
  for (const rec of decoder.push(chunk)) {
    if (rec.kind === REC_STATS) {
      post({ t: 'stats', perCpu: rec.perCpu });
      continue;
    }
    if (!headerSent && decoder.header) sendHeader();
    // The rules read a view of the record; the event is built only for a match.
    const ev = evaluator.evaluateRecord(pipeline, rec, alerts);
    if (ev === undefined) continue;
    if (watched.size > 0) {
      const rel = watched.has(rec.pid) ? 'self' : watched.has(rec.ppid) ? 'child' : undefined;
      if (rel !== undefined) {
        const path =
          ev.type === 'execve' ? ev.proc.exepath : typeof ev.args.name === 'string' ? ev.args.name : '';
        const key = `${rel} ${ev.type} ${path ?? ''}`;
        watchCounts[key] = (watchCounts[key] ?? 0) + 1;
      }
    }
  }
  if (!headerSent && decoder.header) sendHeader();
  const w = watchCounts;
  let any = false;
  for (const _ in w) {
    any = true;
    break;
  }
  if (any) watchCounts = {};
  post({ t: 'done', bytes: chunk.byteLength, alerts, counts: counts(), ...(any ? { watched: w } : {}) });
}

function sendHeader(): void {
  const h = decoder.header;
  if (h === undefined) return;
  headerSent = true;
  pipeline.onHeader(h);
  post({ t: 'header', header: h });
}
