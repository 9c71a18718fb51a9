/**
 * The binary batch codec changes how events are read (lazily, from views),
 * never what the rules conclude: the same events, published through each
 * codec to an engine of its own (Falco's stable rules and Saker's, with
 * Falco's default append_output), give the same alerts in SAKER_ALERTS, field
 * for field, with the same msgIds. Views found invalid are counted as such.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BATCH_CODEC,
  BATCH_CODEC_BINARY,
  BATCH_CODEC_V2,
  type BatchCodec,
  batchHeaders,
  connectBus,
  encodeBatch,
} from '@saker/bus';
import type { SakerEvent, SyscallEvent } from '@saker/events';
import { FALCO_DEFAULT_APPEND_OUTPUT, type RulesetDocument, loadRules } from '@saker/rules';
import { repoRoot, sharedPath, sharedSkip } from '@saker/testing';
import { start } from '../src/mod.js';
import { generateEvents } from './helpers/events.js';
import { publishEvents } from './helpers/publish.js';

const SUBJECT = 'saker.v1.events.syscall.parity';
const falcoRules = sharedPath('falco-rules', 'falco_rules.yaml');

function rulesDoc(): RulesetDocument {
  const files = [{ name: 'saker_rules.yaml', path: join(repoRoot(), 'rules', 'saker_rules.yaml') }];
  if (falcoRules !== undefined) files.push({ name: 'falco_rules.yaml', path: falcoRules });
  return {
    format: 1,
    files: files.map((f) => ({ name: f.name, content: readFileSync(f.path, 'utf8') })),
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Run {
  /** Alert payloads (parsed JSON) by msgId. */
  readonly alerts: Map<string, unknown>;
  readonly evaluated: number;
  readonly invalid: number;
}

/** Publishes `events` in `codec` to an engine on a bus of its own; returns what SAKER_ALERTS holds. */
async function runCodec(codec: BatchCodec, events: readonly SakerEvent[], expected: number): Promise<Run> {
  const bus = await connectBus({ memory: true });
  const ctl = new AbortController();
  const engine = await start(
    {
      bus,
      name: `parity-${codec}`,
      rules: rulesDoc(),
      watchRules: false,
      appendOutput: FALCO_DEFAULT_APPEND_OUTPUT,
      ruleMatching: 'all',
      log: () => {},
    },
    ctl.signal,
  );
  try {
    const pub = await publishEvents(bus, SUBJECT, events, { codec, batchSize: 256 });
    assert.equal(pub.published, events.length);
    await until(`${codec}: every event evaluated`, () => engine.stats().evaluated === events.length);
    const feed = await bus.consumer('SAKER_ALERTS', `parity-${codec.replace(/[^a-z0-9]/g, '')}`, {
      maxAckPending: 100_000,
    });
    const alerts = new Map<string, unknown>();
    const it = feed[Symbol.asyncIterator]();
    while (alerts.size < expected) {
      const next = await Promise.race([
        it.next(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${codec}: ${alerts.size} of ${expected} alerts`)), 10_000),
        ),
      ]);
      if (next.done) break;
      const m = next.value;
      alerts.set(m.headers['Nats-Msg-Id'] ?? '', JSON.parse(new TextDecoder().decode(m.data)));
      m.ack();
    }
    await feed.stop();
    const s = engine.stats();
    return { alerts, evaluated: s.evaluated, invalid: s.invalid };
  } finally {
    ctl.abort();
    await engine.stopped;
    await bus.close();
  }
}

describe('codec parity: the same alerts from binary and JSON batches', { skip: sharedSkip() }, () => {
  it('Falco stable + Saker rules over 4,000 events: every alert equal field for field, in every codec', async () => {
    const events: SyscallEvent[] = generateEvents(4_000, { seed: 7, suspicious: 0.2 });
    const ruleset = loadRules(rulesDoc().files).ruleset.withAppendedOutput(FALCO_DEFAULT_APPEND_OUTPUT);
    assert.ok(ruleset.ok);
    const expected = events.reduce(
      (n, e) => n + ruleset.ruleset.evaluate(e, { ruleMatching: 'all' }).length,
      0,
    );
    assert.ok(expected > 200, `the events must make alerts to compare (${expected})`);
    const json = await runCodec(BATCH_CODEC, events, expected);
    const shared = await runCodec(BATCH_CODEC_V2, events, expected);
    const binary = await runCodec(BATCH_CODEC_BINARY, events, expected);
    for (const [name, run] of [
      ['jsonl', json],
      ['jsonl-shared', shared],
      ['binary-v1', binary],
    ] as const) {
      assert.equal(run.alerts.size, expected, `${name}: alerts`);
      assert.equal(run.evaluated, events.length, `${name}: evaluated`);
      assert.equal(run.invalid, 0, `${name}: invalid`);
    }
    for (const [id, alert] of json.alerts) {
      assert.deepEqual(binary.alerts.get(id), alert, `alert ${id}, binary against jsonl`);
      assert.deepEqual(shared.alerts.get(id), alert, `alert ${id}, jsonl-shared against jsonl`);
    }
  });

  it('counts a binary event whose part is invalid as invalid, and evaluates the rest', async () => {
    const bus = await connectBus({ memory: true });
    const ctl = new AbortController();
    const rules = `- rule: Shadow read
  desc: shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name (user=%user.name)
  priority: CRITICAL
`;
    const engine = await start(
      {
        bus,
        name: 'parity-bad',
        rules: { format: 1, files: [{ name: 'r.yaml', content: rules }], selections: [], updatedAt: 'x' },
        watchRules: false,
        log: () => {},
      },
      ctl.signal,
    );
    try {
      const base = generateEvents(3, { seed: 3 })[0] as SyscallEvent;
      const shadow = (i: number, uid: number): SyscallEvent => ({
        ...base,
        ts: String(1_700_000_000_000_000_000n + BigInt(i)),
        type: 'openat',
        args: { fd: 3, name: '/etc/shadow', flags: 'O_RDONLY' },
        fd: { num: 3, type: 'file', name: '/etc/shadow' },
        user: { uid, name: `u${uid}` },
      });
      const data = Buffer.from(encodeBatch([shadow(1, 1), shadow(2, 2)], { codec: BATCH_CODEC_BINARY }).data);
      // The second event's user part becomes {"uid":"2",...}: only the output reads it.
      const at = data.indexOf('{"uid":2,');
      assert.ok(at > 0);
      data.write('{"uid":"2', at, 'latin1');
      bus.publish(SUBJECT, data, batchHeaders(2, BATCH_CODEC_BINARY));
      await until('both events settled', () => engine.stats().evaluated + engine.stats().invalid === 2);
      assert.equal(engine.stats().evaluated, 1);
      assert.equal(engine.stats().invalid, 1);
      await until('one alert', () => engine.stats().alertsPublished === 1);
    } finally {
      ctl.abort();
      await engine.stopped;
      await bus.close();
    }
  });

  it('consults the evt.type index before anything else: events of a type no rule has are never parsed', async () => {
    const bus = await connectBus({ memory: true });
    const ctl = new AbortController();
    const rules = `- rule: Shell run
  desc: shell
  condition: evt.type = execve and proc.name = bash
  output: bash ran (user=%user.name)
  priority: WARNING
`;
    const engine = await start(
      {
        bus,
        name: 'parity-lazy',
        rules: { format: 1, files: [{ name: 'r.yaml', content: rules }], selections: [], updatedAt: 'x' },
        watchRules: false,
        log: () => {},
      },
      ctl.signal,
    );
    try {
      const base = generateEvents(1, { seed: 5 })[0] as SyscallEvent;
      const open = (i: number): SyscallEvent => ({
        ...base,
        ts: String(1_700_000_000_000_000_000n + BigInt(i)),
        type: 'openat',
        proc: { ...base.proc, name: `spoil-${i}` },
      });
      const data = Buffer.from(encodeBatch([open(1), open(2)], { codec: BATCH_CODEC_BINARY }).data);
      // Both procs become invalid JSON; no rule has openat, so nothing reads them.
      for (const i of [1, 2]) {
        const at = data.indexOf(`"name":"spoil-${i}"`);
        assert.ok(at > 0);
        data.write('{', at, 'latin1');
      }
      bus.publish(SUBJECT, data, batchHeaders(2, BATCH_CODEC_BINARY));
      await until('both events settled', () => engine.stats().evaluated + engine.stats().invalid === 2);
      assert.deepEqual([engine.stats().evaluated, engine.stats().invalid], [2, 0]);
      // The same spoiled proc on an execve, which the rule's index holds, is found invalid.
      const exec = Buffer.from(
        encodeBatch([{ ...open(3), type: 'execve' }], { codec: BATCH_CODEC_BINARY }).data,
      );
      exec.write('{', exec.indexOf('"name":"spoil-3"'), 'latin1');
      bus.publish(SUBJECT, exec, batchHeaders(1, BATCH_CODEC_BINARY));
      await until('the execve settled', () => engine.stats().evaluated + engine.stats().invalid === 3);
      assert.deepEqual([engine.stats().evaluated, engine.stats().invalid], [2, 1]);
    } finally {
      ctl.abort();
      await engine.stopped;
      await bus.close();
    }
  });
});
