/**
 * Control refuses what the engines would refuse: both judge a ruleset by its
 * effective ruleset (effectiveRuleset of @saker/rules: files → selections →
 * append_output). Here the files load, but the engines' append_output names a
 * field the syscall source does not have: an engine would keep its old
 * ruleset, so control's put must not write it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BUCKETS, connectBus } from '@saker/bus';
import { type AppendOutputEntry, RULESET_KEY, effectiveRuleset } from '@saker/rules';
import { ControlCallError, ControlClient } from '../src/client.js';
import { start } from '../src/server.js';
import { GOOD_RULES } from './helpers.js';

const BAD_APPEND: readonly AppendOutputEntry[] = [
  { match: { source: 'syscall' }, extraOutput: '%no.such_field' },
];
const GOOD_APPEND: readonly AppendOutputEntry[] = [
  { match: { source: 'syscall' }, extraOutput: 'pid=%proc.pid' },
];
const FILES = [{ name: 'good.yaml', content: GOOD_RULES }];

async function withControl(
  appendOutput: readonly AppendOutputEntry[],
  fn: (client: ControlClient, stored: () => Promise<boolean>) => Promise<void>,
): Promise<void> {
  await using bus = await connectBus({ memory: true });
  const stop = new AbortController();
  const service = await start({ bus, appendOutput }, stop.signal);
  const client = new ControlClient({ address: service.address });
  try {
    const kv = await bus.kv(BUCKETS.rules);
    await fn(client, async () => (await kv.get(RULESET_KEY)) !== null);
  } finally {
    client.close();
    stop.abort();
    await service.close();
  }
}

describe('control judges a ruleset as the engines do (effectiveRuleset)', () => {
  it('the engines refuse the files with this append_output', () => {
    const doc = { format: 1 as const, files: FILES, selections: [], updatedAt: new Date().toISOString() };
    const refused = effectiveRuleset(doc, { appendOutput: BAD_APPEND });
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.stage === 'append_output', JSON.stringify(refused));
    assert.match(refused.ok ? '' : refused.error, /no\.such_field/);
    assert.equal(effectiveRuleset(doc, { appendOutput: GOOD_APPEND }).ok, true);
  });

  it('PutRuleset refuses it and writes nothing; ValidateRuleset says it is not ok', async () => {
    await withControl(BAD_APPEND, async (client, stored) => {
      const err = await client.putRuleset({ files: FILES }).then(
        () => assert.fail('the put succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ControlCallError, String(err));
      assert.equal(err.codeName, status[status.INVALID_ARGUMENT]);
      assert.match(err.message, /engines would refuse this ruleset: append_output: .*no\.such_field/);
      assert.equal(await stored(), false, 'nothing was written');
      assert.equal((await client.validateRuleset({ files: FILES })).ok, false);
    });
  });

  it('with an append_output the engines accept, the same put is written', async () => {
    await withControl(GOOD_APPEND, async (client, stored) => {
      const put = await client.putRuleset({ files: FILES });
      assert.ok((put.revision?.revision ?? 0) > 0);
      assert.equal(await stored(), true);
    });
  });
});
