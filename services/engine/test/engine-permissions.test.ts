/**
 * The real engine runs with its own NATS user and only the permissions the
 * map gives it (libs/bus permissions.ts): it reads the rules, syscall events
 * and SAKER_AUDIT, publishes alerts and stats, watches stream fill; a sensor
 * user feeds it events of its node only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BUCKETS,
  STREAMS,
  SUBJECTS,
  type SakerService,
  batchHeaders,
  connectBus,
  encodeBatch,
  natsAuthorizationBlock,
  natsInboxPrefix,
} from '@saker/bus';
import { parseEvent } from '@saker/events';
import { RULESET_KEY, type RulesetDocument, encodeRulesetDocument } from '@saker/rules';
import { startNatsServer } from '@saker/testing';
import { start } from '../src/engine.js';
import { readAlerts } from './helpers/alerts.js';
import { until } from './helpers/metadata-records.js';

const RULES = `- rule: Git run
  desc: git
  condition: evt.type = execve and proc.name = git
  output: git ran by %proc.name
  priority: NOTICE
`;

const doc: RulesetDocument = {
  format: 1,
  files: [{ name: 'p.yaml', content: RULES }],
  selections: [],
  updatedAt: '2024-01-01T00:00:00Z',
};

function execve(i: number, node: string) {
  return parseEvent({
    source: 'syscall',
    ts: String(1_700_000_000_000_000_000n + BigInt(i)),
    hostname: node,
    type: 'execve',
    res: 0,
    args: {},
    proc: { pid: 100 + i, tid: 100 + i, ppid: 1, name: 'git', exe: 'git', exepath: '/usr/bin/git', args: [] },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    container: { id: 'host' },
  });
}

describe('the engine with its own NATS user', { timeout: 60_000 }, () => {
  it('does its whole job within the permission map', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-engine-perm-'));
    const users: { service: SakerService; user: string; node?: string }[] = [
      { service: 'engine', user: 'engine' },
      { service: 'control', user: 'control' },
      { service: 'sensor', user: 'sensor-a', node: 'node-a' },
      { service: 'audit', user: 'audit' },
      { service: 'admin', user: 'admin' },
    ];
    const config = natsAuthorizationBlock(users.map((u) => ({ ...u, password: `pw-${u.user}` })));
    await using nats = await startNatsServer({ jetstream: true, config });
    const as = async (u: (typeof users)[number]) => {
      const file = join(dir, `${u.user}.pw`);
      writeFileSync(file, `pw-${u.user}`);
      return connectBus({
        url: nats.url,
        auth: { user: u.user, passwordFile: file },
        inboxPrefix: natsInboxPrefix(u.service),
        name: u.user,
      });
    };
    const [engineUser, controlUser, sensorUser, auditUser, adminUser] = users;
    assert.ok(engineUser && controlUser && sensorUser && auditUser && adminUser);
    await using control = await as(controlUser);
    await (await control.kv(BUCKETS.rules)).put(RULESET_KEY, encodeRulesetDocument(doc));
    await using engineBus = await as(engineUser);
    const logs: string[] = [];
    const engine = await start(
      {
        bus: engineBus,
        name: 'perm',
        streamWatch: { intervalMs: 200, alertRatio: { SAKER_ALERTS: 0.9 } },
        log: (l) => logs.push(l),
      },
      new AbortController().signal,
    );
    try {
      await until('the KV ruleset in use', () => engine.ruleset.rules.length === 1);
      await using sensor = await as(sensorUser);
      const batch = encodeBatch([execve(1, 'node-a'), execve(2, 'node-a')]);
      sensor.publish(SUBJECTS.syscallEvents('node-a'), batch.data, batchHeaders(batch.count));
      sensor.publish(SUBJECTS.syscallEvents('node-b'), batch.data, batchHeaders(batch.count)); // refused
      await sensor.flush();
      await using audit = await as(auditUser);
      await audit.stream(STREAMS.audit.name, STREAMS.audit.subjects);
      await until('2 events evaluated', () => engine.stats().evaluated >= 2);
      await using admin = await as(adminUser);
      const alerts = await readAlerts(admin, 'perm-reader', { expected: 2 });
      assert.equal(alerts.length, 2, 'the node-b batch never reached the engine');
      assert.ok(alerts.every((a) => a.rule === 'Git run'));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        logs.filter((l) => /permission|denied|cannot/i.test(l)),
        [],
        'no permission error in the engine log',
      );
      assert.equal(engine.health().ok, true);
    } finally {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
