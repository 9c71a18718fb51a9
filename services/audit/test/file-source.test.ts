import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, connectBus } from '@saker/bus';
import { readCheckpoint } from '../src/checkpoint.js';
import { type AuditService, start } from '../src/service.js';
import { collectAuditEvents } from './collect.js';
import { podCreateEvent } from './events.js';

const quiet = (): void => undefined;

/** `n` audit log lines, one Event each, numbered from `from`. */
function lines(from: number, n: number): string {
  let out = '';
  for (let i = from; i < from + n; i++) out += `${JSON.stringify(podCreateEvent(i))}\n`;
  return out;
}

function idsOf(from: number, n: number): string[] {
  return Array.from({ length: n }, (_, k) => podCreateEvent(from + k).auditID);
}

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), 'saker-audit-log-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Waits until the checkpoint says the whole of `log` was read and handed off:
 * past that, nothing more (no duplicate) can come from it. Throws after 10 s.
 */
async function untilCheckpointed(log: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const cp = await readCheckpoint(`${log}.saker-checkpoint`);
    const size = readFileSync(log).length;
    if (cp?.offset === size) return;
    if (Date.now() > deadline)
      throw new Error(`checkpoint of ${log} at ${cp?.offset}, the file has ${size} bytes`);
    await sleep(10);
  }
}

function tail(bus: Bus, path: string, extra: { startAt?: 'beginning' | 'end' } = {}): Promise<AuditService> {
  return start({
    bus,
    log: quiet,
    webhook: false,
    handoff: { mode: 'publish' },
    files: [{ path, pollIntervalMs: 10, maxBatchEvents: 7, ...extra }],
  });
}

describe('audit log file source', () => {
  it('reads the whole lines of a log, waits for a line to be finished, skips bad lines (counted)', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    writeFileSync(log, `${lines(0, 20)}not json\n${JSON.stringify({ kind: 'Event', apiVersion: 'v1' })}\n`);
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using service = await tail(bus, log);
    await got.waitFor(20);
    // Half a line: not read until its newline arrives.
    const next = JSON.stringify(podCreateEvent(20));
    appendFileSync(log, next.slice(0, 100));
    await sleep(80);
    assert.equal(got.events.length, 20);
    appendFileSync(log, `${next.slice(100)}\n`);
    await got.waitFor(21);
    await untilCheckpointed(log); // the counters and the checkpoint follow the hand-off
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(0, 21),
    );
    assert.equal(service.counters.eventsRejected.get({ input: 'file', reason: 'not_json' }), 1);
    assert.equal(service.counters.eventsRejected.get({ input: 'file', reason: 'invalid' }), 1);
    assert.equal(service.counters.eventsAccepted.get({ input: 'file' }), 21);
    const cp = await readCheckpoint(`${log}.saker-checkpoint`);
    assert.equal(cp?.offset, readFileSync(log).length);
  });

  it('reads v1beta1 lines and lines without apiVersion/kind (counted as lenient), refuses other objects', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    const { apiVersion: _v, kind: _k, ...untyped } = podCreateEvent(1);
    const beta = { ...podCreateEvent(2), apiVersion: 'audit.k8s.io/v1beta1' };
    const notAudit = { metadata: { name: 'x' }, auditID: 'y' };
    writeFileSync(
      log,
      [podCreateEvent(0), untyped, beta, notAudit].map((e) => JSON.stringify(e)).join('\n') + '\n',
    );
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using service = await tail(bus, log);
    await got.waitFor(3);
    await sleep(50);
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(0, 3),
    );
    assert.equal(service.counters.eventsLenient.get({ input: 'file', leniency: 'untyped' }), 1);
    assert.equal(service.counters.eventsLenient.get({ input: 'file', leniency: 'v1beta1' }), 1);
    assert.equal(service.counters.eventsRejected.get({ input: 'file', reason: 'invalid' }), 1);
  });

  it('follows a rename rotation: finishes the old file, then reads the new one from its start', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    writeFileSync(log, lines(0, 10));
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using service = await tail(bus, log);
    await got.waitFor(10);
    // The writer's last lines land in the old file just as it is renamed.
    appendFileSync(log, lines(10, 5));
    renameSync(log, join(tmp.dir, 'audit-2024-05-14T09-30-00.000.log'));
    writeFileSync(log, lines(15, 5));
    await got.waitFor(20);
    await untilCheckpointed(log);
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(0, 20),
    );
    assert.equal(service.counters.fileRotations.get({ kind: 'rename' }), 1);
  });

  it('follows copytruncate: reads the file again from its start', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    writeFileSync(log, lines(0, 10));
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using service = await tail(bus, log);
    await got.waitFor(10);
    truncateSync(log, 0);
    await sleep(50);
    appendFileSync(log, lines(10, 3));
    await got.waitFor(13);
    await untilCheckpointed(log);
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(0, 13),
    );
    assert.equal(service.counters.fileRotations.get({ kind: 'truncate' }), 1);
  });

  it('restarts from the checkpoint without loss or duplication, across a rotation while stopped', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    writeFileSync(log, lines(0, 30));
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);

    const first = await tail(bus, log);
    await got.waitFor(30);
    await first.stop();

    // While stopped: more lines, a rotation, more lines in the new file.
    appendFileSync(log, lines(30, 12));
    renameSync(log, join(tmp.dir, 'audit.log.1'));
    writeFileSync(log, lines(42, 8));

    const second = await tail(bus, log);
    await got.waitFor(50);
    await second.stop();

    // And a plain restart with nothing new, then one more line.
    appendFileSync(log, lines(50, 1));
    await using third = await tail(bus, log);
    await got.waitFor(51);
    await untilCheckpointed(log);
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(0, 51),
    );
    assert.equal(third.counters.eventsAccepted.get({ input: 'file' }), 1);
  });

  it('with no checkpoint and startAt "end", reads only what is written from then on', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    writeFileSync(log, lines(0, 5));
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using _service = await tail(bus, log, { startAt: 'end' });
    // The source finds the end of the file after start() returns: a line
    // written before that would count as already there. Its first checkpoint
    // (at the end of the five lines) says it has looked.
    await untilCheckpointed(log);
    appendFileSync(log, lines(5, 2));
    await got.waitFor(2);
    assert.deepEqual(
      got.events.map((e) => e.event.auditID),
      idsOf(5, 2),
    );
  });

  it('waits for a log that does not exist yet', async () => {
    using tmp = tempDir();
    const log = join(tmp.dir, 'audit.log');
    await using bus = await connectBus({ memory: true });
    using got = collectAuditEvents(bus);
    await using _service = await tail(bus, log);
    await sleep(40);
    writeFileSync(log, lines(0, 3));
    await got.waitFor(3);
  });
});
