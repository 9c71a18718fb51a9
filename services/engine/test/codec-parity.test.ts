/**
 * The binary batch codec changes how events are read (lazily, from views),
 * never what the rules conclude: the same events, published through each
 * codec to an engine of its own (Falco's stable rules and Saker's, with
 * Falco's default append_output), give the same alerts in SAKER_ALERTS, field
 * for field, with the same msgIds. Views found invalid are counted as such.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BATCH_CODEC,
  BATCH_CODEC_BINARY,
  BATCH_CODEC_V2,
  type BatchCodec,
  type Bus,
  batchHeaders,
  encodeBatch,
} from '@saker/bus';
import type { SakerEvent, SyscallEvent } from '@saker/events';
import { FALCO_DEFAULT_APPEND_OUTPUT, type RulesetDocument, loadRules } from '@saker/rules';
import { repoRoot, sharedPath, sharedSkip } from '@saker/testing';
import { rulesOf, withMemoryEngine } from './helpers/engine.js';
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
  const options = {
    name: `parity-${codec}`,
    rules: rulesDoc(),
    appendOutput: FALCO_DEFAULT_APPEND_OUTPUT,
    ruleMatching: 'all' as const,
  };
  return withMemoryEngine(options, async (bus, engine) => {
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
  });
}

/** Publishes `events` as one binary batch after `spoil` edited its bytes. */
function publishSpoiled(bus: Bus, events: readonly SyscallEvent[], spoil: (data: Buffer) => void): void {
  const data = Buffer.from(encodeBatch(events, { codec: BATCH_CODEC_BINARY }).data);
  spoil(data);
  bus.publish(SUBJECT, data, batchHeaders(events.length, BATCH_CODEC_BINARY));
}

/** Writes `text` over the first occurrence of `find` (same length or shorter). */
function overwrite(data: Buffer, find: string, text: string): void {
  const at = data.indexOf(find);
  assert.ok(at > 0, `${find} not in the batch`);
  data.write(text, at, 'latin1');
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
    const rules = `- rule: Shadow read
  desc: shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: shadow read by %proc.name (user=%user.name)
  priority: CRITICAL
`;
    await withMemoryEngine({ name: 'parity-bad', rules: rulesOf(rules) }, async (bus, engine) => {
      const base = generateEvents(3, { seed: 3 })[0] as SyscallEvent;
      const shadow = (i: number, uid: number): SyscallEvent => ({
        ...base,
        ts: String(1_700_000_000_000_000_000n + BigInt(i)),
        type: 'openat',
        args: { fd: 3, name: '/etc/shadow', flags: 'O_RDONLY' },
        fd: { num: 3, type: 'file', name: '/etc/shadow' },
        user: { uid, name: `u${uid}` },
      });
      // The second event's user part stops being JSON: only the output reads it.
      publishSpoiled(bus, [shadow(1, 1), shadow(2, 2)], (d) => overwrite(d, '{"uid":2,', '{"uid":"2'));
      await until('both events settled', () => engine.stats().evaluated + engine.stats().invalid === 2);
      assert.deepEqual([engine.stats().evaluated, engine.stats().invalid], [1, 1]);
      await until('one alert', () => engine.stats().alertsPublished === 1);
    });
  });

  it('consults the evt.type index before anything else: events of a type no rule has are never parsed', async () => {
    const rules = `- rule: Shell run
  desc: shell
  condition: evt.type = execve and proc.name = bash
  output: bash ran (user=%user.name)
  priority: WARNING
`;
    await withMemoryEngine({ name: 'parity-lazy', rules: rulesOf(rules) }, async (bus, engine) => {
      const base = generateEvents(1, { seed: 5 })[0] as SyscallEvent;
      const open = (i: number): SyscallEvent => ({
        ...base,
        ts: String(1_700_000_000_000_000_000n + BigInt(i)),
        type: 'openat',
        proc: { ...base.proc, name: `spoil-${i}` },
      });
      // Both procs stop being JSON; no rule has openat, so nothing reads them.
      publishSpoiled(bus, [open(1), open(2)], (d) => {
        overwrite(d, '"name":"spoil-1"', '{');
        overwrite(d, '"name":"spoil-2"', '{');
      });
      await until('both events settled', () => engine.stats().evaluated + engine.stats().invalid === 2);
      assert.deepEqual([engine.stats().evaluated, engine.stats().invalid], [2, 0]);
      // The same spoiled proc on an execve, which the rule's index holds, is found invalid.
      publishSpoiled(bus, [{ ...open(3), type: 'execve' }], (d) => overwrite(d, '"name":"spoil-3"', '{'));
      await until('the execve settled', () => engine.stats().evaluated + engine.stats().invalid === 3);
      assert.deepEqual([engine.stats().evaluated, engine.stats().invalid], [2, 1]);
    });
  });
});
