/**
 * The worker thread of store-writer.ts: the store's writing connection.
 * Requests are answered one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WriterAnswer, WriterRequest } from './store-writer.js';
import { AlertStore, type StoreOptions } from './store.js';

const port = parentPort;
if (port === null) throw new Error('store-writer-worker.js runs as a worker thread of store-writer.js');
let store: AlertStore;
try {
  store = new AlertStore({ ...(workerData as StoreOptions), role: 'writer' });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  port.postMessage({ id: 0, ok: false, name: e.name, error: e.message } satisfies WriterAnswer);
  throw e;
}
port.postMessage({ id: 0, ok: true, value: 0, rows: store.rows } satisfies WriterAnswer);
port.on('message', (req: WriterRequest) => {
  let answer: WriterAnswer;
  try {
    const value = req.op === 'add' ? store.addRows(req.batch) : req.op === 'enforce' ? store.enforce() : 0;
    if (req.op === 'close') store.close();
    answer = { id: req.id, ok: true, value, rows: store.rows };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    answer = { id: req.id, ok: false, name: e.name, error: e.message };
  }
  port.postMessage(answer);
  if (req.op === 'close') port.close();
});
