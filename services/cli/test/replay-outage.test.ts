/**
 * A replay reports what the bus confirmed. Audit events go through
 * SAKER_AUDIT, so "published" means stored; a NATS outage in the middle of a
 * replay shows up as events lost, and every event reported published is in
 * the stream once the server is back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STREAMS, connectBus } from '@saker/bus';
import { startNatsCluster } from '@saker/testing';
import { EventPublisher, describeReplay, replayFile } from '../src/services/parts.js';

function auditLine(i: number): string {
  return JSON.stringify({
    source: 'k8s_audit',
    ts: String(1_715_679_012_000_000_000n + BigInt(i)),
    event: {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      stage: 'ResponseComplete',
      requestURI: '/api/v1/namespaces/default/pods',
      verb: 'get',
      user: { username: 'alice' },
      objectRef: { resource: 'pods', namespace: 'default', name: `p${i}` },
      requestReceivedTimestamp: '2024-05-14T09:30:12.338678Z',
      stageTimestamp: '2024-05-14T09:30:12.338678Z',
    },
  });
}

describe('replay through a NATS outage', { timeout: 120_000 }, () => {
  it('reports read = published + lost, and every event it calls published is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-replay-outage-'));
    const file = join(dir, 'audit.jsonl');
    const total = 3000;
    writeFileSync(file, `${Array.from({ length: total }, (_, i) => auditLine(i)).join('\n')}\n`);
    await using nats = await startNatsCluster({ size: 1 });
    const url = nats.urls[0] ?? '';
    const bus = await connectBus({ url, maxReconnectAttempts: -1 });
    await bus.stream(STREAMS.audit.name, STREAMS.audit.subjects);
    const errors: string[] = [];
    const publisher = new EventPublisher(
      bus,
      'replay-host',
      { maxEvents: 50, flushIntervalMs: 5 },
      {
        out: async () => undefined,
        err: (t) => errors.push(t),
      },
    );
    try {
      // The server is down when the replay starts and comes back 8 s later,
      // past the 5 s a durable publish waits: the first batches are lost.
      await nats.kill(0);
      const outage = (async () => {
        await new Promise((r) => setTimeout(r, 8_000));
        await nats.restart(0);
      })();
      const result = await replayFile(file, publisher, 50, new AbortController().signal);
      await outage;
      assert.equal(result.read, total);
      assert.equal(result.published + result.lost, total);
      assert.ok(result.lost > 0, `the outage lost some events (${JSON.stringify(result)})`);
      assert.match(
        describeReplay(file, result),
        new RegExp(`${total} events read, ${result.published} published, ${result.lost} lost`),
      );
      const check = await connectBus({ url });
      try {
        const info = await check.streamInfo(STREAMS.audit.name);
        const stored = await countEvents(check);
        assert.ok(
          stored >= result.published,
          `stored ${stored} (in ${info.messages} batches) >= reported published ${result.published}`,
        );
      } finally {
        await check.close();
      }
    } finally {
      await publisher.close();
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Events in SAKER_AUDIT, from each batch's count header. */
async function countEvents(bus: Awaited<ReturnType<typeof connectBus>>): Promise<number> {
  const info = await bus.streamInfo(STREAMS.audit.name);
  const feed = await bus.consumer(STREAMS.audit.name, 'replay-outage-count');
  let events = 0;
  let seen = 0;
  for await (const m of feed) {
    events += Number(m.headers['Saker-Batch-Count'] ?? '0');
    m.ack();
    if (++seen >= info.messages) break;
  }
  await feed.stop();
  return events;
}
