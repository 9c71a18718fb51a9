/**
 * KV buckets get their copies like streams do: `kvReplicas` on the bus
 * (saker.yaml `kv.replicas`) or `replicas` per bucket, read back from the
 * bucket's stream config on a real 3-server JetStream cluster, and the
 * bucket keeps working when the server that led it is killed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryUntilLeader, startNatsCluster } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { NatsBus } from '../src/nats/bus.js';
import { bytes } from './helpers.js';

async function bucketStream(bus: NatsBus, bucket: string) {
  const jsm = await bus.jsm();
  return jsm.streams.info(`KV_${bucket}`);
}

describe('KV replicas on a 3-server JetStream cluster', { timeout: 120_000 }, () => {
  it('makes buckets with the bus kvReplicas (R3), a per-bucket replicas, and R1 by default', async () => {
    await using cluster = await startNatsCluster({ size: 3 });
    const r3 = await connectBus({ url: [...cluster.urls], kvReplicas: 3, name: 'kv-r3' });
    const plain = await connectBus({ url: [...cluster.urls], name: 'kv-default' });
    try {
      assert.ok(r3 instanceof NatsBus && plain instanceof NatsBus);
      const rules = await retryUntilLeader('R3 bucket', () => r3.kv('saker_rules'));
      await rules.put('current', bytes('rev-1'));
      const info = await bucketStream(r3, 'saker_rules');
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.cluster?.replicas?.length, 2, 'a leader and two followers');

      await plain.kv('r1_bucket');
      assert.equal((await bucketStream(plain, 'r1_bucket')).config.num_replicas, 1);
      await plain.kv('r2_bucket', { replicas: 2 });
      assert.equal((await bucketStream(plain, 'r2_bucket')).config.num_replicas, 2);

      // An R3 bucket survives the loss of its leader: the value is read back from a follower.
      const leader = info.cluster?.leader;
      const at = cluster.servers.findIndex((s) => s.name === leader);
      assert.ok(
        at >= 0,
        `leader ${String(leader)} is one of ${cluster.servers.map((s) => s.name).join(', ')}`,
      );
      await cluster.kill(at);
      const entry = await retryUntilLeader('read after the leader died', async () => {
        const e = await rules.get('current');
        if (e === null) throw new Error('no value yet');
        return e;
      });
      assert.equal(new TextDecoder().decode(entry.value), 'rev-1');
    } finally {
      await r3.close();
      await plain.close();
    }
  });
});
