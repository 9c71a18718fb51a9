import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The contract suite can fail on what it names: run against a bus whose
 * ack() does nothing (contract-noop-ack.fixture.ts), exactly the tests that
 * claim acked messages are done fail, and the rest still pass.
 */
describe('bus contract against a broken transport', () => {
  it('a no-op ack() fails the tests that claim acks settle messages, and only those', () => {
    const fixture = fileURLToPath(new URL('./contract-noop-ack.fixture.js', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, SAKER_CONTRACT_FIXTURE: 'noop-ack' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', fixture], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 1, `the suite must fail:\n${r.stdout.slice(-2000)}`);
    const failed = [...r.stdout.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1] ?? '');
    const passed = [...r.stdout.matchAll(/^\s*ok \d+ - (.+)$/gm)].map((m) => m[1] ?? '');
    const suites = ['bus contract: memory, ack() a no-op', 'streams and durable consumers'];
    assert.deepEqual(failed.filter((n) => !suites.includes(n)).sort(), [
      'a durable resumes after its feed stops, even from another client',
      'delivers in order with deliveryCount 1; acked messages are done',
      'redelivers a message not acked within ackWait',
    ]);
    assert.match(
      r.stdout,
      /waited 5000 ms for the three acks to settle; consumer state: pending 0, ackPending 3/,
    );
    assert.ok(passed.length > 20, `the rest of the suite passes (${passed.length} ok)`);
  });
});
