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
      /publish: \{ allow: \["saker\.v1\.events\.syscall\.node-a_example", "saker\.v1\.sensor\.stats\.node-a_example"\] \}/,
    );
    assert.match(out, /subscribe: \{ allow: \["_INBOX_sensor\.>"\] \}/);
    const json = JSON.parse(await run(['--json', 'control=control'])) as { publish: string[] }[];
    assert.ok(json[0]?.publish.includes('$KV.saker_rules.>'));
  });

  it('refuses an unknown service and a sensor without its node', () => {
    assert.throws(() => parseNatsUser('x=bogus'), UsageError);
    assert.throws(() => parseNatsUser('s=sensor'), /needs its node/);
    const nkey = `U${'A'.repeat(55)}`;
    assert.deepEqual(parseNatsUser(`e=engine:${nkey}`), { service: 'engine', nkey });
  });
});
