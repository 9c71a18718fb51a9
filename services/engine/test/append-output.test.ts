/**
 * Falco's append_output in the engine: applied to each ruleset it loads, seen
 * by the metadata join (metadataNeed), and, end to end, a joined container's
 * image and pod printed by a rule whose own output names neither.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKETS, type Bus, STREAMS, batchHeaders, connectBus, encodeBatch } from '@saker/bus';
import {
  type AppendOutputEntry,
  FALCO_DEFAULT_APPEND_OUTPUT,
  RULESET_KEY,
  type Ruleset,
  type RulesetDocument,
  encodeRulesetDocument,
  loadRules,
} from '@saker/rules';
import { startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import { metadataNeed } from '../src/metadata.js';
import { compileDocument } from '../src/ruleset-state.js';
import { bareEvent, containerId, containerRecord, putContainer, until } from './helpers/metadata-records.js';

const SUBJECT = 'saker.v1.events.syscall.append';

/** Like Falco's "Terminal shell in container": its own output names no container field. */
const RULES = `- rule: Terminal shell
  desc: a shell with a terminal
  condition: evt.type = execve and proc.name = bash and proc.tty != 0
  output: A shell was spawned with an attached terminal (user=%user.name process=%proc.name)
  priority: NOTICE
  tags: [container, shell]
- rule: Audit exec
  desc: kubectl exec
  condition: ka.verb = create and ka.target.subresource = exec
  output: exec into %ka.target.name
  priority: NOTICE
  source: k8s_audit
`;

function doc(content: string): RulesetDocument {
  return {
    format: 1,
    files: [{ name: 'append.yaml', content }],
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

function loaded(): Ruleset {
  const res = loadRules([{ name: 'append.yaml', content: RULES }]);
  assert.ok(res.ok);
  return res.ruleset;
}

function need(entries: readonly AppendOutputEntry[]): string {
  const out = loaded().withAppendedOutput(entries);
  assert.ok(out.ok, out.ok ? '' : out.error);
  return metadataNeed(out.ruleset);
}

describe('append_output and the metadata join', () => {
  it('metadataNeed counts what append_output adds to the text and to the fields', () => {
    assert.equal(need([]), 'none', "the rules' own outputs print no metadata");
    assert.equal(need(FALCO_DEFAULT_APPEND_OUTPUT), 'output', 'suggested_output: container.name, image, pod');
    assert.equal(need([{ match: { source: 'syscall' }, extraOutput: 'pod=%k8s.pod.name' }]), 'output');
    assert.equal(
      need([{ match: { source: 'syscall' }, extraFields: ['container.image.repository'] }]),
      'output',
    );
    assert.equal(
      need([
        { match: { source: 'syscall' }, extraFields: [{ name: 'img', format: 'image %container.image' }] },
      ]),
      'output',
    );
    assert.equal(need([{ match: { source: 'syscall' }, extraFields: ['container.id', 'proc.pid'] }]), 'none');
    assert.equal(need([{ match: { source: 'k8s_audit' }, suggestedOutput: true }]), 'none');
    assert.equal(need([{ match: { rule: 'Another rule' }, suggestedOutput: true }]), 'none');
  });

  it('compileDocument applies append_output and refuses an entry that does not compile', () => {
    const ok = compileDocument(doc(RULES), 3, FALCO_DEFAULT_APPEND_OUTPUT);
    assert.ok(ok.ok);
    assert.equal(ok.loaded.need, 'output');
    assert.equal(ok.loaded.revision, 3);
    const bad = compileDocument(doc(RULES), 4, [{ extraOutput: '%proc.name' }]);
    assert.equal(bad.ok, false);
    assert.match(
      bad.ok ? '' : bad.error,
      /^append_output\[0\]\.extra_output: .* \(rule 'Audit exec', source k8s_audit\)$/,
    );
  });

  it('a bad entry stops start() with the entry named', async () => {
    const bus = await connectBus({ memory: true });
    try {
      await assert.rejects(
        start(
          { bus, rules: doc(RULES), watchRules: false, appendOutput: [{ extraFields: ['proc.name'] }] },
          AbortSignal.timeout(5000),
        ),
        /the initial ruleset does not load: append_output\[0\]\.extra_fields\[0\]: .*rule 'Audit exec'/,
      );
    } finally {
      await bus.close();
    }
  });
});

interface Alert {
  readonly rule: string;
  readonly output: string;
  readonly output_fields: Readonly<Record<string, unknown>>;
}

async function readOne(bus: Bus, durable: string): Promise<Alert> {
  const feed = await bus.consumer(STREAMS.alerts.name, durable, {});
  const timer = setTimeout(() => void feed.stop(), 15_000);
  try {
    for await (const m of feed) {
      m.ack();
      return JSON.parse(new TextDecoder().decode(m.data)) as Alert;
    }
  } finally {
    clearTimeout(timer);
    await feed.stop();
  }
  throw new Error('no alert');
}

describe('engine with append_output (real nats-server, KV metadata)', () => {
  it("a joined container's image and pod are printed by a rule whose output has no container field", async () => {
    await using server = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url });
    const ctl = new AbortController();
    let engine: Awaited<ReturnType<typeof start>> | undefined;
    try {
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      const meta = await bus.kv(BUCKETS.meta);
      const id = containerId(0xbeef);
      await putContainer(
        meta,
        containerRecord(
          { id, name: 'api', image_repository: 'registry.example.com/shop/api', image_tag: '1.4' },
          { k8s: { pod_name: 'api-7d9f', pod_uid: '11111111-2222-3333-4444-555555555555', ns_name: 'shop' } },
        ),
      );
      engine = await start(
        {
          bus,
          name: 'append',
          rules: doc(RULES),
          watchRules: true,
          appendOutput: [
            ...FALCO_DEFAULT_APPEND_OUTPUT,
            {
              match: { source: 'syscall' },
              extraFields: [{ name: 'where', format: '%k8s.ns.name/%k8s.pod.name' }],
            },
          ],
          metadata: { kv: { waitMs: 1000 } },
          log: () => {},
        },
        ctl.signal,
      );
      assert.ok(
        engine.metadataStats() !== undefined,
        'appended fields made the engine start its metadata cache',
      );
      await until('record cached', () => engine?.metadataStats()?.containers === 1);

      const b = encodeBatch([bareEvent(id, { num: 1 })]);
      bus.publish(SUBJECT, b.data, batchHeaders(b.count));
      const alert = await readOne(bus, 'append');
      assert.equal(alert.rule, 'Terminal shell');
      assert.equal(
        alert.output.replace(/^\S+ Notice /, ''),
        'A shell was spawned with an attached terminal (user=root process=bash)' +
          ` container_id=${id} container_name=api container_image_repository=registry.example.com/shop/api` +
          ' container_image_tag=1.4 k8s_pod_name=api-7d9f k8s_ns_name=shop',
      );
      assert.equal(alert.output_fields['container.image.repository'], 'registry.example.com/shop/api');
      assert.equal(alert.output_fields['k8s.pod.name'], 'api-7d9f');
      assert.equal(alert.output_fields.where, 'shop/api-7d9f', 'extra_fields: in output_fields only');
      assert.ok(!alert.output.includes('shop/api-7d9f'));

      // A hot swap is prepared the same way: the new rule's output gets the fields too.
      const rules = await bus.kv(BUCKETS.rules);
      const revision = await rules.put(
        RULESET_KEY,
        encodeRulesetDocument(doc(RULES.replace('A shell was spawned', 'Shell spawned'))),
      );
      await until('swapped', () => engine?.revision === revision);
      const b2 = encodeBatch([bareEvent(id, { num: 2 })]);
      bus.publish(SUBJECT, b2.data, batchHeaders(b2.count));
      const swapped = await readOne(bus, 'append');
      assert.match(
        swapped.output,
        /Shell spawned with .* container_image_repository=registry\.example\.com\/shop\/api .* k8s_pod_name=api-7d9f /,
      );
    } finally {
      ctl.abort();
      await engine?.stopped;
      await bus.close();
    }
  });
});
