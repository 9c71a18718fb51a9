/**
 * The http output through JetStream, against a real HTTP(S) server: payload
 * format, priority filter, routing condition, an outage with no alert lost
 * (duplicates measured and bounded), dead-lettering, TLS with a test CA,
 * mTLS, gzip, dedup and batching.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTestPki } from '@saker/testing';
import { DEDUP_COUNT_FIELD } from '../src/alert.js';
import { HttpOutput } from '../src/outputs/http.js';
import { JSON_FORMAT, alertJsonText, makeAlert, publishAlerts, sleep, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv, waitForConsumer } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

/** The outage the retry test rides out. The acceptance number is 30 s: SAKER_SINKS_OUTAGE_MS=30000. */
const OUTAGE_MS = Number(process.env.SAKER_SINKS_OUTAGE_MS ?? '3000');

function ids(bodies: readonly string[]): number[] {
  return bodies.map(
    (b) => (JSON.parse(b) as { output_fields: Record<string, number> }).output_fields['alert.id'] ?? -1,
  );
}

describe('http output', () => {
  it('POSTs each alert as Falco JSON, byte for byte, with Falco headers', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    const alerts = [makeAlert(1), makeAlert(2)];
    await publishAlerts(env.bus, alerts);
    await env.startSinks({
      outputs: [
        { output: new HttpOutput({ format: JSON_FORMAT, url: `${rx.url}falco` }), format: JSON_FORMAT },
      ],
    });
    await until('2 requests', () => rx.accepted.length === 2);
    assert.deepEqual(rx.accepted.sort(), alerts.map(alertJsonText).sort());
    const r = rx.requests[0];
    assert.equal(r?.method, 'POST');
    assert.equal(r?.url, '/falco');
    assert.equal(r?.headers['content-type'], 'application/json');
    assert.equal(r?.headers['user-agent'], 'falcosecurity/falco');
    await until('stats', () => env.sinks?.stats('http')?.delivered === 2);
  });

  it('honours json_include_* and text output', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await using rx2 = await new HttpReceiver().start();
    await publishAlerts(env.bus, [makeAlert(1)]);
    const noOutput = { ...JSON_FORMAT, includeOutput: false, includeTags: false };
    const text = { ...JSON_FORMAT, json: false, timeIso8601: true };
    await env.startSinks({
      outputs: [
        { output: new HttpOutput({ name: 'slim', format: noOutput, url: rx.url }), format: noOutput },
        { output: new HttpOutput({ name: 'text', format: text, url: rx2.url }), format: text },
      ],
    });
    await until('both', () => rx.accepted.length === 1 && rx2.accepted.length === 1);
    const slim = JSON.parse(rx.accepted[0] ?? '') as Record<string, unknown>;
    assert.equal(slim.output, undefined);
    assert.equal(slim.tags, undefined);
    assert.equal(slim.rule, 'Read sensitive file');
    // Exact nanoseconds survive reformatting.
    assert.match(rx.accepted[0] ?? '', /"evt.time":1700000000000001000[,}]/);
    assert.equal(
      rx2.accepted[0],
      '2023-11-14T22:13:20.000001000+0000: Warning Sensitive file opened (cmdline=cat /etc/shadow id=1)',
    );
    assert.equal(rx2.requests[0]?.headers['content-type'], 'text/plain');
  });

  it('filters by minimum priority and by routing condition', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await publishAlerts(env.bus, [
      makeAlert(1, { priority: 'Notice' }),
      makeAlert(2, { priority: 'Critical' }),
      makeAlert(3, { priority: 'Critical', rule: 'Other rule' }),
      makeAlert(4, { priority: 'Error', tags: ['k8s'] }),
      makeAlert(5, { priority: 'Warning' }),
    ]);
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          minimumPriority: 'error',
          condition:
            'alert.rule = "Read sensitive file" and not alert.tags contains k8s and output_fields.proc.cmdline startswith cat',
        },
      ],
    });
    await until('filtered 4', () => env.sinks?.stats('http')?.filtered === 4);
    // Every alert settled on the server: nothing more can be POSTed.
    await waitForConsumer(env.sinks, 'http', (s) => s.pending === 0 && s.ackPending === 0);
    assert.deepEqual(ids(rx.accepted), [2]);
    const m = env.sinks?.metrics.render() ?? '';
    assert.match(m, /saker_sinks_alerts_filtered_total\{output="http",reason="priority"\} 2/);
    assert.match(m, /saker_sinks_alerts_filtered_total\{output="http",reason="condition"\} 2/);
  });

  it(
    `loses nothing through 500s and an outage of ${OUTAGE_MS} ms; duplicates are counted and bounded`,
    {
      timeout: OUTAGE_MS * 4 + 60_000,
    },
    async () => {
      await using env = await testEnv();
      const rx = await new HttpReceiver().start();
      const N = 300;
      await env.startSinks({
        outputs: [
          {
            output: new HttpOutput({ format: JSON_FORMAT, url: rx.url, timeoutMs: 2000 }),
            format: JSON_FORMAT,
            concurrency: 16,
            backoff: { initialMs: 100, maxMs: 1000 },
          },
        ],
      });
      await publishAlerts(
        env.bus,
        Array.from({ length: 100 }, (_, i) => makeAlert(i)),
      );
      await until('first 100', () => new Set(ids(rx.accepted)).size === 100);
      // Phase 1: the receiver answers 500.
      rx.status = 500;
      await publishAlerts(
        env.bus,
        Array.from({ length: 100 }, (_, i) => makeAlert(100 + i)),
      );
      await sleep(OUTAGE_MS / 2);
      // Phase 2: it is down (connection refused).
      await rx.stop();
      await publishAlerts(
        env.bus,
        Array.from({ length: 100 }, (_, i) => makeAlert(200 + i)),
      );
      await sleep(OUTAGE_MS / 2);
      rx.status = 200;
      await rx.restart();
      await until('all after recovery', () => new Set(ids(rx.accepted)).size === N, 30_000 + OUTAGE_MS);
      // Duplicates are counted once everything is settled on the server, not after a pause.
      await waitForConsumer(env.sinks, 'http', (s) => s.pending === 0 && s.ackPending === 0);
      const got = ids(rx.accepted);
      const duplicates = got.length - new Set(got).size;
      const stats = env.sinks?.stats('http');
      console.log(
        `outage ${OUTAGE_MS} ms: ${N} alerts, ${got.length} accepted POSTs, ${duplicates} duplicates, ` +
          `${stats?.retried} retries, ${rx.requests.length - got.length} refused requests`,
      );
      assert.deepEqual(new Set(got), new Set(Array.from({ length: N }, (_, i) => i)));
      // Nothing was answered 2xx and then redelivered here; at-least-once would allow a few.
      assert.ok(duplicates <= 16, `duplicates ${duplicates} ≤ concurrency`);
      assert.ok((stats?.retried ?? 0) > 0, 'retries happened');
      assert.equal(stats?.deadLettered, 0);
      await rx.stop();
    },
  );

  it('dead-letters on a permanent 4xx, with reason and attempts', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    rx.status = 400;
    await publishAlerts(env.bus, [makeAlert(7)]);
    await env.startSinks({
      outputs: [{ output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }), format: JSON_FORMAT }],
    });
    const [dl] = await readDeadLetters(env.bus, 1);
    assert.equal(dl?.output, 'http');
    assert.equal(dl?.reason, 'permanent');
    assert.equal(dl?.attempts, 1);
    assert.match(String(dl?.error), /answered 400/);
    assert.equal((dl?.alert as { rule: string }).rule, 'Read sensitive file');
    assert.equal(rx.requests.length, 1);
    await until('stats', () => env.sinks?.stats('http')?.deadLettered === 1);
  });

  it('dead-letters after the maximum age when the receiver keeps failing', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    rx.status = 503;
    await publishAlerts(env.bus, [makeAlert(8), makeAlert(9)]);
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          maxAgeMs: 1500,
          backoff: { initialMs: 100, maxMs: 400 },
        },
      ],
    });
    const dls = await readDeadLetters(env.bus, 2);
    assert.equal(dls.length, 2);
    for (const dl of dls) {
      assert.equal(dl.reason, 'max_age');
      assert.ok(Number(dl.attempts) >= 3, `attempts ${dl.attempts}`);
      assert.match(String(dl.error), /answered 503/);
    }
    assert.ok(rx.requests.length >= 6);
  });

  it('trusts a test CA, presents a client certificate (mTLS) and gzips', async () => {
    using pki = makeTestPki({ clientCn: 'saker-sinks' });
    await using env = await testEnv();
    await using rx = await new HttpReceiver({
      cert: pki.files.serverCert,
      key: pki.files.serverKey,
      clientCa: pki.files.caCert,
    }).start();
    await using plain = await new HttpReceiver({
      cert: pki.files.serverCert,
      key: pki.files.serverKey,
    }).start();
    await publishAlerts(env.bus, [makeAlert(1)]);
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({
            name: 'mtls',
            format: JSON_FORMAT,
            url: rx.url,
            caCert: pki.files.caCert,
            mtls: true,
            clientCert: pki.files.clientCert,
            clientKey: pki.files.clientKey,
            compressUploads: true,
          }),
          format: JSON_FORMAT,
        },
        // Without the CA the certificate is refused (retried); `insecure` accepts it.
        {
          output: new HttpOutput({ name: 'insecure', format: JSON_FORMAT, url: plain.url, insecure: true }),
          format: JSON_FORMAT,
        },
        {
          output: new HttpOutput({
            name: 'capath',
            format: JSON_FORMAT,
            url: plain.url,
            caPath: pki.files.caDir,
          }),
          format: JSON_FORMAT,
        },
      ],
    });
    await until('mtls', () => rx.accepted.length === 1);
    await until('plain', () => plain.accepted.length === 2);
    assert.equal(rx.accepted[0], alertJsonText(makeAlert(1)));
    assert.equal(rx.requests[0]?.headers['content-encoding'], 'gzip');
    assert.equal(rx.requests[0]?.clientCertCn, 'saker-sinks');
  });

  it('refuses an unknown CA (retryable, not lost)', async () => {
    using pki = makeTestPki();
    await using env = await testEnv();
    await using rx = await new HttpReceiver({ cert: pki.files.serverCert, key: pki.files.serverKey }).start();
    await publishAlerts(env.bus, [makeAlert(1)]);
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          backoff: { initialMs: 100, maxMs: 200 },
        },
      ],
    });
    await until('retried', () => (env.sinks?.stats('http')?.retried ?? 0) >= 2);
    assert.equal(rx.accepted.length, 0);
    assert.ok(
      env.logs.some((l) => /certificate/i.test(l)),
      env.logs.join('\n'),
    );
  });

  it('collapses identical alerts inside the dedup window into one with a count', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    const same = makeAlert(1);
    const other = makeAlert(2);
    // Identical but for the event time.
    const copies = Array.from({ length: 5 }, (_, i) => ({
      ...same,
      time: makeAlert(10 + i).time,
      output_fields: { ...same.output_fields, 'evt.time': makeAlert(10 + i).output_fields['evt.time'] ?? 0 },
    }));
    await publishAlerts(env.bus, [...copies, other]);
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          dedup: { windowMs: 500, fields: ['proc.cmdline'] },
        },
      ],
    });
    await until('2 deliveries', () => rx.accepted.length === 2);
    // The copies are held (unacked) until their window closes: settled means the window closed.
    await waitForConsumer(env.sinks, 'http', (s) => s.pending === 0 && s.ackPending === 0);
    assert.equal(rx.accepted.length, 2);
    const bodies = rx.accepted.map((b) => JSON.parse(b) as { output_fields: Record<string, unknown> });
    const counted = bodies.find((b) => b.output_fields['alert.id'] === 1);
    assert.equal(counted?.output_fields[DEDUP_COUNT_FIELD], 5);
    const single = bodies.find((b) => b.output_fields['alert.id'] === 2);
    assert.equal(single?.output_fields[DEDUP_COUNT_FIELD], undefined);
    assert.equal(env.sinks?.stats('http')?.deduplicated, 4);
  });

  it('batches through the batching hook (JSON lines)', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await publishAlerts(
      env.bus,
      Array.from({ length: 50 }, (_, i) => makeAlert(i)),
    );
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          batch: { maxAlerts: 20, lingerMs: 50 },
        },
      ],
    });
    await until('50 alerts', () => rx.accepted.join('').split('\n').filter(Boolean).length === 50);
    assert.ok(rx.requests.length <= 10, `${rx.requests.length} requests`);
    assert.equal(rx.requests[0]?.headers['content-type'], 'application/x-ndjson');
  });

  it('sends a lone alert at once when no delivery is in progress, whatever the linger', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await env.startSinks({
      outputs: [
        {
          output: new HttpOutput({ format: JSON_FORMAT, url: rx.url }),
          format: JSON_FORMAT,
          batch: { maxAlerts: 20, lingerMs: 600_000 },
        },
      ],
    });
    await publishAlerts(env.bus, [makeAlert(1)]);
    // until() gives up long before the linger (10 minutes) would send it.
    await until('the alert', () => rx.accepted.join('').split('\n').filter(Boolean).length === 1);
    assert.equal(rx.requests.length, 1);
  });
});
