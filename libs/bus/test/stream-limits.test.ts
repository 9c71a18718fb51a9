import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { StreamNotFoundError } from '../src/errors.js';
import { NatsBus } from '../src/nats/bus.js';
import { DEFAULT_STREAM_LIMITS } from '../src/stream-limits.js';
import { STREAMS } from '../src/subjects.js';
import { bytes } from './helpers.js';

describe('stream limits', () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  after(() => server?.stop());

  test('a Saker stream made without limits gets the defaults, and streamInfo reports them with the fill', async () => {
    await using bus = await connectBus({ url: server.url });
    await assert.rejects(bus.streamInfo(STREAMS.deadLetter.name), StreamNotFoundError);
    const made = await bus.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
    const want = DEFAULT_STREAM_LIMITS[STREAMS.deadLetter.name];
    assert.ok(want);
    assert.equal(made.limits.maxBytes, want.maxBytes);
    assert.equal(made.limits.maxAgeMs, want.maxAgeMs);
    await bus.publishDurable('saker.v1.deadletter.webhook', bytes('x'.repeat(1000)));
    const info = await bus.streamInfo(STREAMS.deadLetter.name);
    assert.equal(info.messages, 1);
    assert.ok(info.bytes >= 1000, `bytes ${info.bytes}`);
  });

  test('an existing unbounded stream is updated to the configured limits; the oldest messages go when full', async () => {
    const raw = await connectBus({ url: server.url });
    assert.ok(raw instanceof NatsBus);
    const jsm = await raw.jsm();
    // As an older Saker made it: no limits at all.
    await jsm.streams.add({ name: STREAMS.alerts.name, subjects: [...STREAMS.alerts.subjects] });
    for (let i = 0; i < 20; i++)
      await raw.publishDurable('saker.v1.alerts.syscall.warning', bytes('y'.repeat(500)));
    assert.equal((await raw.streamInfo(STREAMS.alerts.name)).limits.maxBytes, null);
    await raw.close();

    await using bus = await connectBus({
      url: server.url,
      streamLimits: { [STREAMS.alerts.name]: { maxBytes: 4096, maxAgeMs: 60_000 } },
    });
    const info = await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    assert.equal(info.limits.maxBytes, 4096);
    assert.equal(info.limits.maxAgeMs, 60_000);
    const after = await bus.streamInfo(STREAMS.alerts.name);
    assert.ok(after.bytes <= 4096, `bytes ${after.bytes}`);
    assert.ok(after.messages < 20);
    assert.equal(after.lastSequence, 20);
  });

  test('the memory bus applies the same defaults', async () => {
    await using bus = await connectBus({ memory: true });
    const info = await bus.stream(STREAMS.audit.name, STREAMS.audit.subjects);
    assert.equal(info.limits.maxBytes, DEFAULT_STREAM_LIMITS[STREAMS.audit.name]?.maxBytes);
    const other = await bus.stream('CUSTOM', ['custom.>']);
    assert.equal(other.limits.maxBytes, null, 'streams Saker does not know keep what the caller asked');
  });
});
