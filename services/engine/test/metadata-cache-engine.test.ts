/**
 * The engine with its own metadata cache (`metadata: { kv }`): events on the
 * bus, records in KV saker_meta, alerts whose output shows the image and the
 * pod; and the cache started only once a ruleset reads metadata.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKETS, type Bus, STREAMS, batchHeaders, connectBus, encodeBatch } from '@saker/bus';
import { RULESET_KEY, type RulesetDocument, encodeRulesetDocument } from '@saker/rules';
import { startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import { readAlerts } from './helpers/alerts.js';
import {
  bareEvent,
  containerId,
  containerRecord,
  podRecord,
  putContainer,
  putPod,
  until,
} from './helpers/metadata-records.js';

const SUBJECT = 'saker.v1.events.syscall.meta';

const SHELL_RULE = `- macro: shop_image
  condition: container.image.repository startswith registry.example.com/shop/
- rule: Shell in shop container
  desc: a shell with a terminal in a shop container
  condition: evt.type = execve and proc.name = bash and proc.tty != 0 and shop_image
  output: Shell in container (image=%container.image.repository pod=%k8s.pod.name ns=%k8s.ns.name labels=%k8s.pod.labels)
  priority: NOTICE
`;

const PLAIN_RULE = `- rule: Git run
  desc: git
  condition: evt.type = execve and proc.name = git
  output: git ran
  priority: NOTICE
`;

function doc(content: string): RulesetDocument {
  return {
    format: 1,
    files: [{ name: 'meta.yaml', content }],
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

function pod(n: number) {
  return { pod_name: `api-${n}`, pod_uid: `0000000${n}-aaaa-bbbb-cccc-dddddddddddd`, ns_name: 'shop' };
}

async function endToEnd(bus: Bus): Promise<void> {
  await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const kv = await bus.kv(BUCKETS.meta);
  const [known, late, unknown] = [containerId(0xa1), containerId(0xa2), containerId(0xa3)];
  const image = (id: string, repo: string) => ({
    id,
    image: `${repo}:1`,
    image_repository: repo,
    image_tag: '1',
  });
  await putContainer(kv, containerRecord(image(known, 'registry.example.com/shop/api'), { k8s: pod(1) }));
  await putPod(kv, podRecord({ ...pod(1), pod_labels: { app: 'api' } }));
  const ctl = new AbortController();
  const logs: string[] = [];
  const engine = await start(
    {
      bus,
      name: 'meta',
      rules: doc(SHELL_RULE),
      watchRules: false,
      metadata: { kv: { waitMs: 1000, negativeTtlMs: 60_000 } },
      log: (l) => logs.push(l),
    },
    ctl.signal,
  );
  try {
    assert.ok(engine.metadataStats() !== undefined, 'the ruleset reads container fields: the cache started');
    await until(
      'known record cached',
      () => engine.metadataStats()?.containers === 1 && engine.metadataStats()?.pods === 1,
    );
    const events = [
      bareEvent(known, { num: 1 }),
      bareEvent(late, { num: 2 }),
      bareEvent(unknown, { num: 3 }),
    ];
    const b = encodeBatch(events);
    bus.publish(SUBJECT, b.data, batchHeaders(b.count));
    await until('the batch waits', () => engine.metadataStats()?.waits === 2);
    await new Promise((r) => setTimeout(r, 100));
    await putContainer(
      kv,
      containerRecord(image(late, 'registry.example.com/shop/billing'), { k8s: pod(2) }),
    );
    await until('evaluated', () => engine.stats().evaluated === events.length, 15_000);
    const alerts = await readAlerts(bus, 'meta-e2e', { expected: 2, idleMs: 200 });
    // The alert text starts with the time and priority.
    const outputs = alerts.map((a) => a.output.replace(/^\S+ Notice /, '')).sort();
    assert.deepEqual(outputs, [
      'Shell in container (image=registry.example.com/shop/api pod=api-1 ns=shop labels=app:api)',
      'Shell in container (image=registry.example.com/shop/billing pod=api-2 ns=shop labels=<NA>)',
    ]);
    const s = engine.metadataStats();
    assert.equal(s?.waitHits, 1, 'the late record arrived while its event waited');
    assert.equal(s?.waitTimeouts, 1, 'the unknown container was evaluated after wait_ms');
    assert.equal(s?.joinHits, 2);
    assert.equal(s?.joinMisses, 1);
  } finally {
    ctl.abort();
    await engine.stopped;
  }
}

describe('engine with the metadata cache', () => {
  it('events on a real nats-server → alerts showing container.image.repository and k8s.pod.name', async () => {
    await using server = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url });
    try {
      await endToEnd(bus);
    } finally {
      await bus.close();
    }
  });

  it('the same on the in-memory bus', async () => {
    const bus = await connectBus({ memory: true });
    try {
      await endToEnd(bus);
    } finally {
      await bus.close();
    }
  });

  it('starts the cache only once a ruleset in use reads metadata', async () => {
    const bus = await connectBus({ memory: true });
    const ctl = new AbortController();
    const engine = await start(
      { bus, name: 'lazy', rules: doc(PLAIN_RULE), metadata: { kv: {} }, log: () => {} },
      ctl.signal,
    );
    try {
      assert.equal(engine.metadataStats(), undefined, 'no rule reads metadata: no cache, no KV watch');
      const rules = await bus.kv(BUCKETS.rules);
      const revision = await rules.put(RULESET_KEY, encodeRulesetDocument(doc(SHELL_RULE)));
      await until('swapped', () => engine.revision === revision);
      assert.ok(engine.metadataStats() !== undefined, 'started before the ruleset that needs it is used');
    } finally {
      ctl.abort();
      await engine.stopped;
      await bus.close();
    }
  });

  it('refuses bad cache options at start', async () => {
    const bus = await connectBus({ memory: true });
    try {
      await assert.rejects(
        start(
          { bus, rules: doc(SHELL_RULE), metadata: { kv: { waitMs: -1 } } },
          new AbortController().signal,
        ),
        /metadata\.kv\.waitMs: expected an integer >= 0, got -1/,
      );
    } finally {
      await bus.close();
    }
  });
});
