/** The worker of ruleset-vet.ts: compiles one KV value and says whether it loaded. */
import { parentPort, workerData } from 'node:worker_threads';
import { compileKvValue } from './ruleset-state.js';
import type { VetReply, VetRequest } from './ruleset-vet.js';

const request = workerData as VetRequest;
const outcome = compileKvValue(request.data, 0, request.appendOutput);
const reply: VetReply = outcome.ok ? { ok: true } : { ok: false, error: outcome.error };
parentPort?.postMessage(reply);
