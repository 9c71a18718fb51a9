import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { natsAuthorization, parseNatsUser } from '../src/commands/nats-authorization.js';
import { UsageError } from '../src/io.js';

async function run(args: string[]): Promise<string> {
  let out = '';
  const io = {
    out: async (t: string): Promise<void> => {
      out += t;
    },
    err: (): void => undefined,
  };
  const code = await natsAuthorization.run(args, io);
  assert.equal(code, 0);
  return out;
}

describe('saker nats authorization', () => {
  it("prints each user with its service's permissions and a password variable", async () => {
    const out = await run(['engine=engine', 'sensor-a=sensor@node-a.example']);
    assert.match(out, /user: "engine", password: \$SAKER_NATS_ENGINE_PASSWORD/);
    assert.match(
      out,
      /publish: \{ allow: \["saker\.v1\.events\.syscall\.node-a_example", "saker\.v1\.sensor\.stats\.node-a_example", "saker\.v1\.alerts\.internal\.debug",/,
    );
    assert.match(out, /subscribe: \{ allow: \["_INBOX_sensor\.>"\] \}/);
    const json = JSON.parse(await run(['--json', 'control=control'])) as { publish: string[] }[];
    assert.ok(json[0]?.publish.includes('$KV.saker_rules.>'));
  });

  it('a user for every node (@*) and a leaf node user under a JetStream domain', async () => {
    const out = await run(['sensor=sensor@*', 'enrich-node=enrich-node@*', 'leaf=leaf@hub1']);
    assert.match(
      out,
      /user: "sensor", password: \$SAKER_NATS_SENSOR_PASSWORD\n {6}permissions: \{\n {8}publish: \{ allow: \["saker\.v1\.events\.syscall\.\*",/,
    );
    assert.match(out, /"\$KV\.saker_meta\.containers\.\*\.\*"/);
    assert.match(out, /user: "leaf", password: \$SAKER_NATS_LEAF_PASSWORD/);
    assert.match(out, /"\$JS\.hub1\.API\.CONSUMER\.CREATE\.SAKER_AUDIT"/);
    assert.doesNotMatch(await run(['leaf=leaf@hub1']), /"\$JS\.API\./);
    const json = JSON.parse(await run(['--json', 'leaf=leaf@hub1'])) as { service: string; domain: string }[];
    assert.deepEqual([json[0]?.service, json[0]?.domain], ['leaf', 'hub1']);
    assert.throws(() => parseNatsUser('leaf=leaf'), /names the hub's JetStream domain/);
  });

  it('refuses an unknown service and a sensor without its node', () => {
    assert.throws(() => parseNatsUser('x=bogus'), UsageError);
    assert.throws(() => parseNatsUser('s=sensor'), /needs its node/);
    const nkey = `U${'A'.repeat(55)}`;
    assert.deepEqual(parseNatsUser(`e=engine:${nkey}`), { service: 'engine', nkey });
  });
});
