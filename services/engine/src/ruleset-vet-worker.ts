/** The worker of ruleset-vet.ts: compiles each ruleset it is sent and says whether it loaded. */
import { parentPort } from 'node:worker_threads';
import { compileKvValue } from './ruleset-state.js';
import type { VetAnswer, VetRequest } from './ruleset-vet.js';

parentPort?.on('message', (request: VetRequest) => {
  const outcome = compileKvValue(request.data, 0, request.appendOutput);
  const answer: VetAnswer = outcome.ok
    ? { id: request.id, ok: true }
    : { id: request.id, ok: false, error: outcome.error };
  parentPort?.postMessage(answer);
});
