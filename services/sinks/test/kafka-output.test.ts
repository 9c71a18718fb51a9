/**
 * The Kafka output (kafkajs) against a test broker that speaks Kafka's wire
 * protocol on loopback (helpers/kafka-broker.ts: its own decoder, record
 * batch CRC-32C checked): the payload byte for byte, falcosidekick's
 * balancers, compression, required acks, topic creation, SASL PLAIN, TLS,
 * error classification, and through JetStream: priority filter, routing
 * condition, an outage with no alert lost, dead-lettering after max age.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, sinksView } from '@saker/config';
import { makeTestPki } from '@saker/testing';
import { sidekickOutputsFromConfig } from '../src/config.js';
import { DeliveryError, SinksOptionsError } from '../src/errors.js';
import { crc32, murmur2 } from '../src/outputs/kafka-balancer.js';
import { KafkaOutput, type KafkaOutputOptions } from '../src/outputs/kafka.js';
import { readSidekickConfig } from '../src/sidekick/registry.js';
import { JSON_FORMAT, alertJsonText, makeAlert, publishAlerts, sleep, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv, waitForConsumer } from './helpers/env.js';
import { KAFKA_ERRORS, MockKafkaBroker, decodeRecordBatches } from './helpers/kafka-broker.js';
import { crc32c } from './helpers/kafka-wire.js';

function output(broker: MockKafkaBroker, o: Partial<KafkaOutputOptions> = {}): KafkaOutput {
  return new KafkaOutput({
    format: JSON_FORMAT,
    brokers: [broker.address],
    topic: 'falco',
    timeoutMs: 2000,
    ...o,
  });
}

async function deliverAll(out: KafkaOutput, n: number, from = 0): Promise<string[]> {
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) {
    const a = makeAlert(i);
    lines.push(alertJsonText(a));
    await out.deliver(a, alertJsonText(a));
  }
  return lines;
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `a DeliveryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the delivery to fail');
}

describe('kafka wire checks', () => {
  it('computes the checksums and hashes Kafka uses', () => {
    const nine = Buffer.from('123456789');
    assert.equal(crc32c(nine), 0xe3069283);
    assert.equal(crc32(nine), 0xcbf43926);
    // The Java client's Utils.murmur2 test vectors.
    assert.equal(murmur2(Buffer.from('21')), -973932308);
    assert.equal(murmur2(Buffer.from('foobar')), -790332482);
    assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(Buffer.from('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    assert.equal(murmur2(Buffer.from('abc')), 479470107);
  });

  it('refuses bad options, naming them', () => {
    const base = { format: JSON_FORMAT, brokers: ['localhost'], topic: 'falco' };
    assert.throws(() => new KafkaOutput({ ...base, brokers: [] }), /outputs\.kafka\.brokers/);
    assert.throws(() => new KafkaOutput({ ...base, brokers: ['a:b:c'] }), /outputs\.kafka\.brokers\[0\]/);
    assert.throws(() => new KafkaOutput({ ...base, topic: 'a b' }), /outputs\.kafka\.topic/);
    assert.throws(
      () => new KafkaOutput({ ...base, compression: 'snappy' as 'gzip' }),
      (e: unknown) => e instanceof SinksOptionsError && e.path === 'outputs.kafka.compression',
    );
    assert.throws(
      () => new KafkaOutput({ ...base, balancer: 'hash' as 'crc32' }),
      /outputs\.kafka\.balancer/,
    );
    assert.throws(
      () => new KafkaOutput({ ...base, requiredAcks: 'two' as 'one' }),
      /outputs\.kafka\.requiredAcks/,
    );
  });
});

describe('kafka output', () => {
  it('produces each alert as Falco JSON, no key, round robin over the partitions, acks=all', async () => {
    await using broker = await MockKafkaBroker.start({ topics: { falco: 3 } });
    const out = output(broker, { clientId: 'falcosidekick' });
    const lines = await deliverAll(out, 6);
    await out.close();
    const records = broker.records('falco');
    assert.equal(records.length, 6);
    // Across partitions only the set is defined (two records can share a millisecond timestamp).
    assert.deepEqual(
      records.map((r) => r.value?.toString()).sort(),
      [...lines].sort(),
      'values are the alerts JSON byte for byte',
    );
    for (const r of records) {
      assert.equal(r.key, null);
      assert.deepEqual(r.headers, []);
      assert.equal(r.compression, 0);
    }
    for (let p = 0; p < 3; p++) assert.equal(broker.records('falco', p).length, 2, `partition ${p}`);
    assert.deepEqual(new Set(broker.acks), new Set([-1]));
    assert.ok(broker.clientIds.has('falcosidekick'));
    assert.deepEqual(broker.protocolErrors, []);
  });

  it('gzips batches, sends the batching hook in one produce, honours crc32, murmur2 and acks', async () => {
    await using broker = await MockKafkaBroker.start({ topics: { falco: 4 } });
    const gz = output(broker, { compression: 'gzip', balancer: 'crc32', requiredAcks: 'one' });
    const alerts = [1, 2, 3].map((i) => makeAlert(i));
    await gz.deliverBatch(alerts.map((a) => ({ alert: a, raw: alertJsonText(a) })));
    await gz.close();
    // No key: crc32 of nothing is 0, so every alert goes to partition 0, in order.
    assert.deepEqual(
      broker.records('falco', 0).map((r) => r.value?.toString()),
      alerts.map(alertJsonText),
    );
    assert.ok(broker.records('falco', 0).every((r) => r.compression === 1));
    assert.deepEqual(broker.acks, [1], 'one produce request for the batch');
    // The CRC-32C is checked: a flipped byte is refused.
    const raw = broker.lastRecords;
    assert.ok(raw);
    assert.equal(decodeRecordBatches('falco', 0, raw, 0n).length, 3);
    const bad = Buffer.from(raw);
    bad[bad.length - 3] = (bad[bad.length - 3] ?? 0) ^ 0xff;
    assert.throws(() => decodeRecordBatches('falco', 0, bad, 0n), /CRC-32C/);

    const mm = output(broker, { balancer: 'murmur2', requiredAcks: 'none' });
    await deliverAll(mm, 2);
    // acks=0: delivered once written; the broker stores it when it reads the socket.
    await until('2 more records', () => broker.records('falco').length === 5);
    await mm.close();
    const empty = (murmur2(new Uint8Array(0)) & 0x7fffffff) % 4;
    assert.equal(broker.records('falco', empty).length, empty === 0 ? 5 : 2);
    assert.deepEqual(broker.acks.slice(1), [0, 0], 'acks=0: no answer awaited');
    assert.deepEqual(broker.protocolErrors, []);
  });

  it('needs the topic unless topiccreation is on', async () => {
    await using broker = await MockKafkaBroker.start({ autoCreatePartitions: 2 });
    const strict = output(broker, { topic: 'alerts' });
    const err = await failure(strict.deliver(makeAlert(1), alertJsonText(makeAlert(1))));
    await strict.close();
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /UNKNOWN_TOPIC_OR_PARTITION/);
    assert.deepEqual(broker.topics(), []);
    assert.ok(broker.autoCreateRequests.every((a) => !a));

    const creating = output(broker, { topic: 'alerts', topicCreation: true });
    await creating.deliver(makeAlert(2), alertJsonText(makeAlert(2)));
    await creating.close();
    assert.deepEqual(broker.topics(), ['alerts']);
    assert.deepEqual(broker.values('alerts'), [alertJsonText(makeAlert(2))]);
  });

  it('classifies broker errors: record errors are permanent, the rest retryable', async () => {
    await using broker = await MockKafkaBroker.start({ topics: { falco: 1 } });
    const out = output(broker);
    broker.failProduce(KAFKA_ERRORS.MESSAGE_TOO_LARGE);
    const tooLarge = await failure(out.deliver(makeAlert(1), alertJsonText(makeAlert(1))));
    assert.equal(tooLarge.kind, 'permanent');
    assert.match(tooLarge.message, /MESSAGE_TOO_LARGE/);
    broker.failProduce(KAFKA_ERRORS.REQUEST_TIMED_OUT);
    const timedOut = await failure(out.deliver(makeAlert(2), alertJsonText(makeAlert(2))));
    assert.equal(timedOut.kind, 'retryable');
    // A single leader error is ridden out by kafkajs's own retry.
    broker.failProduce(KAFKA_ERRORS.NOT_LEADER_OR_FOLLOWER, 1);
    await out.deliver(makeAlert(3), alertJsonText(makeAlert(3)));
    assert.deepEqual(broker.values('falco'), [alertJsonText(makeAlert(3))]);
    // A broker that is down is retryable, and the producer reconnects once it is back.
    broker.clearFailures();
    await broker.down();
    const down = await failure(out.deliver(makeAlert(4), alertJsonText(makeAlert(4))));
    assert.equal(down.kind, 'retryable');
    await broker.up();
    await out.deliver(makeAlert(5), alertJsonText(makeAlert(5)));
    assert.deepEqual(broker.values('falco'), [alertJsonText(makeAlert(3)), alertJsonText(makeAlert(5))]);
    await out.close();
  });

  it('authenticates with SASL PLAIN; wrong credentials are retryable', async () => {
    await using broker = await MockKafkaBroker.start({
      topics: { falco: 1 },
      sasl: { username: 'saker', password: 's3cret' },
    });
    const good = output(broker, { sasl: { mechanism: 'plain', username: 'saker', password: 's3cret' } });
    await good.deliver(makeAlert(1), alertJsonText(makeAlert(1)));
    await good.close();
    assert.deepEqual(broker.values('falco'), [alertJsonText(makeAlert(1))]);
    const bad = output(broker, { sasl: { mechanism: 'plain', username: 'saker', password: 'nope' } });
    const err = await failure(bad.deliver(makeAlert(2), alertJsonText(makeAlert(2))));
    await bad.close();
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /SASL|auth/i);
    assert.equal(broker.values('falco').length, 1);
    assert.deepEqual(broker.protocolErrors, []);
  });

  it('speaks TLS, trusting a test CA and refusing an unknown one', async () => {
    using pki = makeTestPki();
    await using broker = await MockKafkaBroker.start({
      topics: { falco: 1 },
      tls: { key: pki.serverKey, cert: pki.serverCert },
    });
    const out = output(broker, { tls: { ca: pki.caCert } });
    await out.deliver(makeAlert(1), alertJsonText(makeAlert(1)));
    await out.close();
    assert.deepEqual(broker.values('falco'), [alertJsonText(makeAlert(1))]);
    const rogue = output(broker, { tls: { ca: pki.rogueCaCert } });
    const err = await failure(rogue.deliver(makeAlert(2), alertJsonText(makeAlert(2))));
    await rogue.close();
    assert.equal(err.kind, 'retryable');
    assert.equal(broker.values('falco').length, 1);
  });
});

/** The outage the retry test rides out (the acceptance number is 30 s: SAKER_SINKS_OUTAGE_MS=30000). */
const OUTAGE_MS = Number(process.env.SAKER_SINKS_OUTAGE_MS ?? '2000');

function alertIds(values: readonly string[]): number[] {
  return values.map(
    (v) => (JSON.parse(v) as { output_fields: Record<string, number> }).output_fields['alert.id'] ?? -1,
  );
}

/** `sinks.sidekick` read as the sinks read it: a bad key throws here. */
function kafkaConfig(kafka: Record<string, unknown>, env: Record<string, string> = {}) {
  const view = sinksView(
    loadConfig({ env, overrides: { sinks: { sidekick: { kafka } } }, onNotice: () => undefined }),
  );
  return { sidekick: readSidekickConfig(view.sidekick) };
}

describe('kafka from saker.yaml (sinks.sidekick.kafka)', () => {
  it('maps falcosidekick keys; filters by minimumpriority and condition through JetStream', async () => {
    await using broker = await MockKafkaBroker.start({ topics: { 'falco-alerts': 2 } });
    const view = kafkaConfig(
      {
        topic: 'falco-alerts',
        minimumpriority: 'error',
        condition: 'not alert.tags contains k8s',
        compression: 'gzip',
        balancer: 'CRC32',
        requiredacks: 'one',
        clientid: 'saker-test',
      },
      { SAKER__SINKS__SIDEKICK__KAFKA__HOSTPORT: broker.address },
    );
    assert.equal(view.sidekick.kafka.hostport, broker.address, 'the environment override is read');
    const outputs = sidekickOutputsFromConfig(view);
    assert.deepEqual(
      outputs.map((o) => o.output.name),
      ['kafka'],
    );
    await using env = await testEnv();
    const alerts = [
      makeAlert(1, { priority: 'Notice' }),
      makeAlert(2, { priority: 'Critical' }),
      makeAlert(3, { priority: 'Error', tags: ['k8s'] }),
      makeAlert(4, { priority: 'Emergency' }),
      makeAlert(5, { priority: 'Warning' }),
    ];
    await publishAlerts(env.bus, alerts);
    await env.startSinks({ outputs });
    await until('3 filtered', () => env.sinks?.stats('kafka')?.filtered === 3);
    await until('2 delivered', () => env.sinks?.stats('kafka')?.delivered === 2);
    // crc32 of no key: partition 0, in stream order; the JSON exactly as stored in JetStream.
    assert.deepEqual(broker.values('falco-alerts'), [
      alertJsonText(alerts[1] ?? makeAlert(0)),
      alertJsonText(alerts[3] ?? makeAlert(0)),
    ]);
    assert.equal(broker.records('falco-alerts', 0).length, 2);
    assert.ok(broker.records('falco-alerts').every((r) => r.compression === 1));
    assert.deepEqual(new Set(broker.acks), new Set([1]));
    assert.ok(broker.clientIds.has('saker-test'));
  });

  it('maps tls, tlsclient.cacertfile and mutualtls to a client certificate', async () => {
    using pki = makeTestPki();
    await using broker = await MockKafkaBroker.start({
      topics: { falco: 1 },
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.caCert },
    });
    const load = (mutualtls: boolean) =>
      sinksView(
        loadConfig({
          env: {},
          overrides: {
            sinks: {
              sidekick: {
                tlsclient: { cacertfile: pki.files.caCert },
                mutualtlsclient: { certfile: pki.files.clientCert, keyfile: pki.files.clientKey },
                kafka: { hostport: broker.address, topic: 'falco', tls: true, mutualtls },
              },
            },
          },
          onNotice: () => undefined,
        }),
      );
    const [mtls] = sidekickOutputsFromConfig(load(true));
    assert.ok(mtls);
    await mtls.output.deliver(makeAlert(1), alertJsonText(makeAlert(1)));
    await mtls.output.close();
    assert.deepEqual(broker.values('falco'), [alertJsonText(makeAlert(1))]);
    const [anonymous] = sidekickOutputsFromConfig(load(false));
    assert.ok(anonymous);
    const err = await failure(anonymous.output.deliver(makeAlert(2), alertJsonText(makeAlert(2))));
    await anonymous.output.close();
    assert.equal(err.kind, 'retryable');
    assert.equal(broker.values('falco').length, 1);
    assert.throws(
      () =>
        sidekickOutputsFromConfig(kafkaConfig({ hostport: broker.address, topic: 'falco', mutualtls: true })),
      /sinks\.sidekick\.kafka\.mutualtls: needs sinks\.sidekick\.kafka\.tls: true/,
    );
  });

  it('names the key of a bad value', () => {
    assert.throws(() => kafkaConfig({ hostport: 'a:1,b c' }), /sinks\.sidekick\.kafka\.hostport/);
    assert.throws(
      () => kafkaConfig({ compression: 'zstd' }),
      /sinks\.sidekick\.kafka\.compression: ZSTD is not supported/,
    );
    assert.throws(() => kafkaConfig({ balancer: 'hash' }), /sinks\.sidekick\.kafka\.balancer/);
    assert.throws(() => kafkaConfig({ sasl: 'GSSAPI' }), /sinks\.sidekick\.kafka\.sasl/);
    assert.throws(() => kafkaConfig({ requiredacks: 'TWO' }), /sinks\.sidekick\.kafka\.requiredacks/);
    assert.throws(
      () => sidekickOutputsFromConfig(kafkaConfig({ hostport: 'localhost' })),
      /sinks\.sidekick\.kafka\.topic: required/,
    );
    assert.throws(
      () => sidekickOutputsFromConfig(kafkaConfig({ hostport: 'localhost', topic: 'a/b' })),
      /sinks\.sidekick\.kafka\.topic/,
    );
    assert.throws(
      () =>
        sidekickOutputsFromConfig(
          kafkaConfig({ hostport: 'localhost:9092', topic: 'falco', sasl: 'PLAIN', username: 'saker' }),
        ),
      /sinks\.sidekick\.kafka\.sasl\.password: must not be empty/,
    );
    const d = kafkaConfig({}).sidekick.kafka;
    assert.equal(d.requiredacks, 'ALL', 'Saker waits for every in-sync replica by default');
    assert.equal(d.balancer, 'round_robin');
    assert.equal(d.compression, 'NONE');
    assert.deepEqual(sidekickOutputsFromConfig(kafkaConfig({ topic: 'x' })), [], 'off without hostport');
  });
});

describe('kafka through JetStream', () => {
  it(
    `loses nothing through broker errors and an outage of ${OUTAGE_MS} ms; duplicates are counted`,
    { timeout: OUTAGE_MS * 4 + 60_000 },
    async () => {
      await using env = await testEnv();
      await using broker = await MockKafkaBroker.start({ topics: { falco: 2 } });
      const N = 150;
      await env.startSinks({
        outputs: [
          {
            output: output(broker, { timeoutMs: 1000, connectTimeoutMs: 500 }),
            backoff: { initialMs: 100, maxMs: 500 },
          },
        ],
      });
      const batch = (from: number) => Array.from({ length: 50 }, (_, i) => makeAlert(from + i));
      await publishAlerts(env.bus, batch(0));
      await until('first 50', () => new Set(alertIds(broker.values('falco'))).size === 50);
      // Phase 1: the broker answers a retriable error (not enough in-sync replicas).
      broker.failProduce(19);
      await publishAlerts(env.bus, batch(50));
      await sleep(OUTAGE_MS / 2);
      // Phase 2: it is down (connections dropped, then refused).
      await broker.down();
      await publishAlerts(env.bus, batch(100));
      await sleep(OUTAGE_MS / 2);
      broker.clearFailures();
      await broker.up();
      await until('all after recovery', () => new Set(alertIds(broker.values('falco'))).size === N, 30_000);
      // Duplicates are counted once everything is settled on the server (nothing pending or
      // unacked: no produce can still be retried), not after a pause.
      await waitForConsumer(env.sinks, 'kafka', (s) => s.pending === 0 && s.ackPending === 0);
      const got = alertIds(broker.values('falco'));
      const duplicates = got.length - new Set(got).size;
      const stats = env.sinks?.stats('kafka');
      console.log(
        `kafka outage ${OUTAGE_MS} ms: ${N} alerts, ${got.length} records, ${duplicates} duplicates, ` +
          `${stats?.retried} retries, ${broker.failedProduces} produces refused`,
      );
      assert.deepEqual(new Set(got), new Set(Array.from({ length: N }, (_, i) => i)));
      // Concurrency 1: at most the one produce in flight when the broker went down can be stored twice.
      assert.ok(duplicates <= 1, `duplicates ${duplicates}`);
      assert.ok((stats?.retried ?? 0) > 0 && broker.failedProduces > 0, 'retries happened');
      assert.equal(stats?.deadLettered, 0);
      assert.deepEqual(broker.protocolErrors, []);
    },
  );

  it('dead-letters after the maximum age', async () => {
    await using env = await testEnv();
    await using broker = await MockKafkaBroker.start({ topics: { falco: 1 } });
    broker.failProduce(KAFKA_ERRORS.LEADER_NOT_AVAILABLE);
    await publishAlerts(env.bus, [makeAlert(8), makeAlert(9)]);
    await env.startSinks({
      outputs: [
        {
          output: output(broker, { timeoutMs: 1000 }),
          maxAgeMs: 1500,
          backoff: { initialMs: 100, maxMs: 400 },
        },
      ],
    });
    const dls = await readDeadLetters(env.bus, 2);
    assert.equal(dls.length, 2);
    for (const dl of dls) {
      assert.equal(dl.output, 'kafka');
      assert.equal(dl.reason, 'max_age');
      assert.ok(Number(dl.attempts) >= 3, `attempts ${dl.attempts}`);
      assert.match(String(dl.error), /LEADER_NOT_AVAILABLE/);
    }
    assert.deepEqual(
      dls.map((d) => (d.alert as { output_fields: Record<string, number> }).output_fields['alert.id']).sort(),
      [8, 9],
    );
    assert.equal(broker.records('falco').length, 0);
  });

  it('dead-letters a record the broker refuses as too large, once', async () => {
    await using env = await testEnv();
    await using broker = await MockKafkaBroker.start({ topics: { falco: 1 } });
    broker.failProduce(KAFKA_ERRORS.MESSAGE_TOO_LARGE, 1);
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
    await env.startSinks({ outputs: [{ output: output(broker) }] });
    const [dl] = await readDeadLetters(env.bus, 1);
    assert.equal(dl?.reason, 'permanent');
    assert.equal(dl?.attempts, 1);
    assert.match(String(dl?.error), /MESSAGE_TOO_LARGE/);
    await until('the other delivered', () => env.sinks?.stats('kafka')?.delivered === 1);
    assert.deepEqual(alertIds(broker.values('falco')), [2]);
  });
});
