/**
 * The bus contract: one suite, run against every transport. If a behaviour
 * matters to a service, it is pinned here, and both the NATS and the
 * in-memory bus must pass it unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BusClosedError,
  BusTimeoutError,
  InvalidNameError,
  InvalidSubjectError,
  KvKeyExistsError,
  KvRevisionMismatchError,
  NoRespondersError,
  NoStreamError,
  RemoteHandlerError,
  StreamNotFoundError,
} from '../src/errors.js';
import type { Bus, ConsumerState, StreamMessage } from '../src/transport.js';
import { DeadlineError, bytes, expectQuiet, nextWithin, take, text, uid, withDeadline } from './helpers.js';

/** A place where buses live: a nats-server, or an in-memory broker. */
export interface BusEnv extends AsyncDisposable {
  /** A new client; several clients of one env talk to each other. */
  connect(): Promise<Bus>;
}

const T = { timeout: 15_000 };

export function busContract(name: string, makeEnv: () => Promise<BusEnv>): void {
  describe(`bus contract: ${name}`, () => {
    let env: BusEnv;
    before(async () => {
      env = await makeEnv();
    });
    after(async () => {
      await env?.[Symbol.asyncDispose]();
    });

    describe('core publish/subscribe', () => {
      it('matches "*" to exactly one token and ">" to one or more trailing tokens', T, async () => {
        await using bus = await env.connect();
        const p = `t${uid()}`;
        await using star = bus.subscribe(`${p}.*.x`);
        await using tail = bus.subscribe(`${p}.a.>`);
        await bus.flush();
        for (const s of [`${p}.a.x`, `${p}.a.b.x`, `${p}.a`, `${p}.b.x`, `${p}.a.b`, `${p}.end.x`]) {
          bus.publish(s, bytes(s));
        }
        bus.publish(`${p}.a.end`, bytes('end'));
        const starGot = (await take(star[Symbol.asyncIterator](), 3)).map((m) => m.subject);
        assert.deepEqual(starGot, [`${p}.a.x`, `${p}.b.x`, `${p}.end.x`]);
        const tailGot = (await take(tail[Symbol.asyncIterator](), 4)).map((m) => m.subject);
        // `${p}.a` itself is not matched by `${p}.a.>`.
        assert.deepEqual(tailGot, [`${p}.a.x`, `${p}.a.b.x`, `${p}.a.b`, `${p}.a.end`]);
      });

      it('carries data and headers, and copies the payload', T, async () => {
        await using a = await env.connect();
        await using b = await env.connect();
        const s = `t${uid()}.h`;
        await using sub = a.subscribe(s);
        await a.flush();
        const payload = bytes('hello');
        b.publish(s, payload, { 'X-Test': 'yes' });
        payload.fill(0);
        const [m] = await take(sub[Symbol.asyncIterator](), 1);
        assert.equal(text(m?.data ?? new Uint8Array()), 'hello');
        assert.equal(m?.headers['X-Test'], 'yes');
        assert.equal(m?.reply, undefined);
      });

      it(
        'gives each message to exactly one member of a queue group, and all to plain subscribers',
        T,
        async () => {
          await using m1 = await env.connect();
          await using m2 = await env.connect();
          await using pub = await env.connect();
          const s = `t${uid()}.work`;
          const q1 = m1.subscribe(s, { queue: 'workers' });
          const q2 = m2.subscribe(s, { queue: 'workers' });
          const all = pub.subscribe(s);
          await Promise.all([m1.flush(), m2.flush(), pub.flush()]);
          const n = 200;
          for (let i = 0; i < n; i++) pub.publish(s, bytes(String(i)));
          await pub.flush();

          const seen: [string[], string[]] = [[], []];
          let total = 0;
          let reachedAll: () => void = () => undefined;
          const allIn = new Promise<void>((resolve) => {
            reachedAll = resolve;
          });
          const collect = async (sub: typeof q1, into: string[]): Promise<void> => {
            for await (const m of sub) {
              into.push(text(m.data));
              if (++total === n) reachedAll();
            }
          };
          const done = Promise.all([collect(q1, seen[0]), collect(q2, seen[1])]);
          const everything = await take(all[Symbol.asyncIterator](), n);
          assert.equal(everything.length, n);
          await withDeadline(allIn, 5_000, 'the group to receive every message');
          // Drain: anything still on its way (a duplicate would be) is counted before the checks.
          await Promise.all([q1.drain(), q2.drain()]);
          await done;
          const union = [...seen[0], ...seen[1]];
          assert.equal(union.length, n, 'every message delivered once across the group');
          assert.equal(new Set(union).size, n, 'no message delivered twice');
          assert.ok(seen[0].length > 0 && seen[1].length > 0, 'both members got some');
          all.unsubscribe();
        },
      );

      it('rejects wildcards and malformed subjects where a concrete subject is needed', T, async () => {
        await using bus = await env.connect();
        for (const bad of ['a.*', 'a.>', '', 'a..b', 'a b', '.a', 'a.']) {
          assert.throws(() => bus.publish(bad, bytes('x')), InvalidSubjectError, bad);
        }
        for (const bad of ['a.>.b', 'a.b*', '']) {
          assert.throws(() => bus.subscribe(bad), InvalidSubjectError, bad);
        }
      });

      it('drain() delivers what was received, then ends the subscription', T, async () => {
        await using bus = await env.connect();
        const s = `t${uid()}.d`;
        const sub = bus.subscribe(s);
        await bus.flush();
        for (let i = 0; i < 5; i++) bus.publish(s, bytes(String(i)));
        await bus.flush();
        const got: string[] = [];
        const reading = (async () => {
          for await (const m of sub) got.push(text(m.data));
        })();
        await sub.drain();
        await reading;
        await sub.closed;
        assert.deepEqual(got, ['0', '1', '2', '3', '4']);
      });
    });

    describe('request/reply', () => {
      it('replies, with headers, through respond()', T, async () => {
        await using server = await env.connect();
        await using client = await env.connect();
        const s = `t${uid()}.echo`;
        await using _r = server.respond(s, (req) => ({
          data: bytes(`echo:${text(req.data)}`),
          headers: { 'X-Seen': req.headers['X-Ask'] ?? '' },
        }));
        await server.flush();
        const reply = await client.request(s, bytes('hi'), { timeoutMs: 2_000, headers: { 'X-Ask': 'q' } });
        assert.equal(text(reply.data), 'echo:hi');
        assert.equal(reply.headers['X-Seen'], 'q');
      });

      it('spreads requests over a queue group of responders', T, async () => {
        await using a = await env.connect();
        await using b = await env.connect();
        await using client = await env.connect();
        const s = `t${uid()}.svc`;
        await using _ra = a.respond(s, () => bytes('a'), { queue: 'svc' });
        await using _rb = b.respond(s, () => bytes('b'), { queue: 'svc' });
        await Promise.all([a.flush(), b.flush()]);
        const answers = new Set<string>();
        for (let i = 0; i < 40; i++)
          answers.add(text((await client.request(s, bytes(''), { timeoutMs: 2_000 })).data));
        assert.deepEqual([...answers].sort(), ['a', 'b']);
      });

      it('reports a failing handler as RemoteHandlerError', T, async () => {
        await using bus = await env.connect();
        const s = `t${uid()}.fail`;
        await using _r = bus.respond(s, () => {
          throw new Error('rules did not compile');
        });
        await bus.flush();
        await assert.rejects(
          bus.request(s, bytes(''), { timeoutMs: 2_000 }),
          (err: unknown) =>
            err instanceof RemoteHandlerError &&
            err.subject === s &&
            err.remoteMessage === 'rules did not compile',
        );
      });

      it('times out with BusTimeoutError when a subscriber never answers', T, async () => {
        await using bus = await env.connect();
        const s = `t${uid()}.mute`;
        await using _mute = bus.subscribe(s);
        await bus.flush();
        const started = Date.now();
        await assert.rejects(
          bus.request(s, bytes(''), { timeoutMs: 150 }),
          (err: unknown) =>
            err instanceof BusTimeoutError &&
            err.name === 'BusTimeoutError' &&
            err.subject === s &&
            err.timeoutMs === 150 &&
            err.operation === 'request',
        );
        assert.ok(Date.now() - started >= 100);
      });

      it('fails fast with NoRespondersError when nobody listens', T, async () => {
        await using bus = await env.connect();
        const s = `t${uid()}.nobody`;
        const started = Date.now();
        await assert.rejects(
          bus.request(s, bytes(''), { timeoutMs: 5_000 }),
          (err: unknown) => err instanceof NoRespondersError && err.subject === s,
        );
        assert.ok(Date.now() - started < 4_000, 'did not wait for the timeout');
      });
    });

    describe('lifecycle', () => {
      it(
        'after close(): operations throw BusClosedError, subscriptions end, closed resolves',
        T,
        async () => {
          const bus = await env.connect();
          const sub = bus.subscribe(`t${uid()}.x`);
          const ended = (async () => {
            for await (const _ of sub) {
              // nothing is published
            }
          })();
          await bus.close();
          await bus.closed;
          await ended;
          assert.equal(bus.isClosed, true);
          assert.throws(() => bus.publish('a.b', bytes('')), BusClosedError);
          assert.throws(() => bus.subscribe('a.b'), BusClosedError);
          await assert.rejects(bus.request('a.b', bytes(''), { timeoutMs: 100 }), BusClosedError);
          await assert.rejects(bus.kv('b'), BusClosedError);
          await bus.close(); // idempotent
        },
      );
    });

    describe('KV', () => {
      it('puts and gets with bucket-wide, increasing revisions', T, async () => {
        await using bus = await env.connect();
        const kv = await bus.kv(`b${uid()}`);
        assert.equal(await kv.get('missing'), null);
        const r1 = await kv.put('a', bytes('1'));
        const r2 = await kv.put('b', bytes('2'));
        const r3 = await kv.put('a', bytes('3'));
        assert.ok(r1 >= 1 && r2 > r1 && r3 > r2, `revisions ${r1} ${r2} ${r3}`);
        const a = await kv.get('a');
        assert.equal(a?.revision, r3);
        assert.equal(a?.operation, 'PUT');
        assert.equal(a?.key, 'a');
        assert.equal(a?.bucket, kv.bucket);
        assert.equal(text(a?.value ?? new Uint8Array()), '3');
        // Another client sees the same bucket.
        await using other = await env.connect();
        assert.equal(text((await (await other.kv(kv.bucket)).get('b'))?.value ?? new Uint8Array()), '2');
      });

      it('create fails when the key exists, succeeds after delete', T, async () => {
        await using bus = await env.connect();
        const kv = await bus.kv(`b${uid()}`);
        const r1 = await kv.create('ruleset', bytes('v1'));
        await assert.rejects(
          kv.create('ruleset', bytes('v2')),
          (err: unknown) =>
            err instanceof KvKeyExistsError && err.key === 'ruleset' && err.bucket === kv.bucket,
        );
        await kv.delete('ruleset');
        assert.equal(await kv.get('ruleset'), null);
        const r2 = await kv.create('ruleset', bytes('v2'));
        assert.ok(r2 > r1);
      });

      it('update succeeds only at the expected revision', T, async () => {
        await using bus = await env.connect();
        const kv = await bus.kv(`b${uid()}`);
        const r1 = await kv.put('k', bytes('1'));
        const r2 = await kv.update('k', bytes('2'), r1);
        await assert.rejects(
          kv.update('k', bytes('stale'), r1),
          (err: unknown) =>
            err instanceof KvRevisionMismatchError &&
            err.expectedRevision === r1 &&
            err.key === 'k' &&
            err.operation === 'kv.update',
        );
        await assert.rejects(kv.update('never', bytes('x'), 1), KvRevisionMismatchError);
        await assert.rejects(kv.delete('k', { expectedRevision: r1 }), KvRevisionMismatchError);
        await kv.delete('k', { expectedRevision: r2 });
        assert.equal(await kv.get('k'), null);
      });

      it('lists keys with a value, filtered, and forgets purged keys', T, async () => {
        await using bus = await env.connect();
        const kv = await bus.kv(`b${uid()}`);
        assert.deepEqual(await kv.keys(), []);
        await kv.put('pod.ns1.a', bytes(''));
        await kv.put('pod.ns2.b', bytes(''));
        await kv.put('container.c1', bytes(''));
        await kv.put('container.c2', bytes(''));
        await kv.delete('container.c2');
        await kv.put('gone', bytes(''));
        await kv.purge('gone');
        assert.deepEqual(await kv.keys(), ['container.c1', 'pod.ns1.a', 'pod.ns2.b']);
        assert.deepEqual(await kv.keys('pod.>'), ['pod.ns1.a', 'pod.ns2.b']);
        assert.deepEqual(await kv.keys('pod.*.a'), ['pod.ns1.a']);
        assert.equal(await kv.get('gone'), null);
      });

      it('rejects bad keys and bucket names', T, async () => {
        await using bus = await env.connect();
        await assert.rejects(bus.kv('no.dots'), InvalidNameError);
        const kv = await bus.kv(`b${uid()}`);
        await assert.rejects(kv.put('a b', bytes('')), InvalidSubjectError);
        await assert.rejects(kv.put('a.*', bytes('')), InvalidSubjectError);
        await assert.rejects(kv.get(''), InvalidSubjectError);
      });

      it(
        'watch sends current values, then every change (PUT, DEL, PURGE) matching the pattern',
        T,
        async () => {
          await using bus = await env.connect();
          const kv = await bus.kv(`b${uid()}`);
          const ra = await kv.put('cfg.a', bytes('a1'));
          await kv.put('cfg.gone', bytes('x'));
          await kv.delete('cfg.gone');
          const rb = await kv.put('cfg.b', bytes('b1'));
          await kv.put('other.z', bytes('z'));
          await using watch = await kv.watch({ key: 'cfg.>' });
          const it = watch[Symbol.asyncIterator]();
          const initial = await take(it, 2);
          assert.deepEqual(
            initial.map((e) => [e.key, text(e.value), e.revision, e.operation, e.isUpdate]),
            [
              ['cfg.a', 'a1', ra, 'PUT', false],
              ['cfg.b', 'b1', rb, 'PUT', false],
            ],
          );
          const rc = await kv.put('cfg.c', bytes('c1'));
          await kv.put('other.y', bytes('ignored'));
          await kv.delete('cfg.a');
          await kv.purge('cfg.b');
          const updates = await take(it, 3);
          assert.deepEqual(
            updates.map((e) => [e.key, e.operation, e.isUpdate]),
            [
              ['cfg.c', 'PUT', true],
              ['cfg.a', 'DEL', true],
              ['cfg.b', 'PURGE', true],
            ],
          );
          assert.equal(updates[0]?.revision, rc);
          assert.ok(
            (updates[1]?.revision ?? 0) > rc && (updates[2]?.revision ?? 0) > (updates[1]?.revision ?? 0),
          );
          watch.stop();
        },
      );

      it('watch on one exact key', T, async () => {
        await using bus = await env.connect();
        const kv = await bus.kv(`b${uid()}`);
        await using watch = await kv.watch({ key: 'ruleset' });
        const it = watch[Symbol.asyncIterator]();
        await kv.put('ruleset.other', bytes('no'));
        await kv.put('ruleset', bytes('v1'));
        const [e] = await take(it, 1);
        assert.equal(e?.key, 'ruleset');
        assert.equal(e?.isUpdate, true);
      });
    });

    describe('streams and durable consumers', () => {
      const setup = async (bus: Bus) => {
        const id = uid();
        const stream = `S_${id}`;
        const prefix = `st${id}`;
        await bus.stream(stream, [`${prefix}.>`], { storage: 'memory' });
        return { stream, prefix };
      };

      it('publishDurable stores and acks; core subscribers see it; msgId de-duplicates', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        await using sub = bus.subscribe(`${prefix}.>`);
        await bus.flush();
        const a1 = await bus.publishDurable(`${prefix}.a`, bytes('1'));
        const a2 = await bus.publishDurable(`${prefix}.a`, bytes('2'), { msgId: 'm-2' });
        const a3 = await bus.publishDurable(`${prefix}.a`, bytes('2 again'), { msgId: 'm-2' });
        assert.deepEqual([a1.stream, a1.sequence, a1.duplicate], [stream, 1, false]);
        assert.deepEqual([a2.sequence, a2.duplicate], [2, false]);
        assert.deepEqual([a3.sequence, a3.duplicate], [2, true]);
        const got = await take(sub[Symbol.asyncIterator](), 2);
        assert.deepEqual(
          got.map((m) => text(m.data)),
          ['1', '2'],
        );
        const info = await bus.stream(stream, [`${prefix}.>`], { storage: 'memory' });
        assert.equal(info.messages, 2);
        assert.equal(info.lastSequence, 2);
        await assert.rejects(
          bus.publishDurable(`nostream${uid()}.x`, bytes('')),
          (err: unknown) => err instanceof NoStreamError && err.operation === 'stream.publish',
        );
      });

      it(
        'publishDurableBatch acks each message in order, de-duplicates, and gives each failure its own entry',
        T,
        async () => {
          await using bus = await env.connect();
          const { stream, prefix } = await setup(bus);
          const none = `nostream${uid()}.x`;
          const outcomes = await bus.publishDurableBatch([
            { subject: `${prefix}.b`, data: bytes('1'), msgId: 'b-1', headers: { 'X-Trace': 't' } },
            { subject: none, data: bytes('lost') },
            { subject: `${prefix}.b`, data: bytes('2') },
            { subject: `${prefix}.b`, data: bytes('1 again'), msgId: 'b-1' },
            { subject: 'bad subject', data: bytes('') },
          ]);
          assert.equal(outcomes.length, 5);
          const [a1, lost, a2, again, bad] = outcomes;
          assert.deepEqual(a1, { stream, sequence: 1, duplicate: false });
          assert.ok(lost instanceof NoStreamError, `no stream: ${String(lost)}`);
          assert.equal(lost.operation, 'stream.publish');
          assert.deepEqual(a2, { stream, sequence: 2, duplicate: false });
          assert.deepEqual(again, { stream, sequence: 1, duplicate: true });
          assert.ok(bad instanceof InvalidSubjectError, `bad subject: ${String(bad)}`);
          assert.deepEqual(await bus.publishDurableBatch([]), []);
          await using c = await bus.consumer(stream, 'batch');
          const got = await take(c[Symbol.asyncIterator](), 2);
          assert.deepEqual(
            got.map((m) => [text(m.data), m.headers['X-Trace']]),
            [
              ['1', 't'],
              ['2', undefined],
            ],
          );
          for (const m of got) m.ack();
        },
      );

      it('captures plain publishes on stream subjects too', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        bus.publish(`${prefix}.core`, bytes('via core'));
        await using c = await bus.consumer(stream, 'd');
        const [m] = await take(c[Symbol.asyncIterator](), 1);
        assert.equal(text(m?.data ?? new Uint8Array()), 'via core');
        m?.ack();
      });

      it('delivers in order with deliveryCount 1; acked messages are done', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        for (let i = 1; i <= 3; i++) await bus.publishDurable(`${prefix}.m`, bytes(String(i)));
        await using c = await bus.consumer(stream, 'sink', { ackWaitMs: 5_000 });
        const got = await take(c[Symbol.asyncIterator](), 3);
        assert.deepEqual(
          got.map((m) => [text(m.data), m.sequence, m.deliveryCount, m.redelivered]),
          [
            ['1', 1, 1, false],
            ['2', 2, 1, false],
            ['3', 3, 1, false],
          ],
        );
        for (const m of got) m.ack();
        await bus.flush();
        const state = await waitForState(c, (s) => s.ackPending === 0, 'the three acks to settle');
        assert.equal(state.ackPending, 0, 'acked messages are no longer pending an ack');
        assert.equal(state.pending, 0);
        assert.equal(state.delivered, 3, 'three deliveries, none repeated');
        assert.equal(state.name, 'sink');
        assert.equal(state.stream, stream);
      });

      it(
        'nak redelivers at once; nak(delay) redelivers after the delay; deliveryCount grows',
        T,
        async () => {
          await using bus = await env.connect();
          const { stream, prefix } = await setup(bus);
          await bus.publishDurable(`${prefix}.n`, bytes('x'));
          await using c = await bus.consumer(stream, 'nak', { ackWaitMs: 10_000 });
          const it = c[Symbol.asyncIterator]();
          const first = await nextWithin(it, 5_000);
          first.nak();
          const second = await nextWithin(it, 5_000);
          assert.equal(second.sequence, first.sequence);
          assert.equal(second.deliveryCount, 2);
          assert.equal(second.redelivered, true);
          const nakAt = Date.now();
          second.nak(300);
          const third = await nextWithin(it, 5_000);
          assert.ok(Date.now() - nakAt >= 250, `redelivered after ${Date.now() - nakAt} ms, asked for 300`);
          assert.equal(third.deliveryCount, 3);
          third.ack();
        },
      );

      it('redelivers a message not acked within ackWait', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        await bus.publishDurable(`${prefix}.w`, bytes('slow'));
        await using c = await bus.consumer(stream, 'wait', { ackWaitMs: 200 });
        const it = c[Symbol.asyncIterator]();
        const first = await nextWithin(it, 5_000);
        const at = Date.now();
        const again = await nextWithin(it, 5_000);
        assert.ok(Date.now() - at >= 150, `redelivered after ${Date.now() - at} ms`);
        assert.equal(again.sequence, first.sequence);
        assert.equal(again.deliveryCount, 2);
        again.ack();
        await bus.flush();
        const state = await waitForState(c, (s) => s.ackPending === 0, 'the ack of the redelivery');
        assert.equal(state.delivered, 2, 'the consumer counts the redelivery');
      });

      it('working() holds off redelivery', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        await bus.publishDurable(`${prefix}.k`, bytes('busy'));
        // An ack wait ten times the keep-alive period: a loaded machine may hold a 100 ms timer
        // back a few hundred ms, and a keep-alive that late would let the server redeliver.
        await using c = await bus.consumer(stream, 'busy', { ackWaitMs: 1_000 });
        const it = c[Symbol.asyncIterator]();
        const m = await nextWithin(it, 5_000);
        const start = Date.now();
        // Keep it alive for ~2 ack waits, then ack: the redelivery would be at ~1 s.
        const keepAlive = setInterval(() => m.working(), 100);
        const next = it.next();
        const quiet = await Promise.race([next.then(() => 'delivered'), delay(2_100).then(() => 'quiet')]);
        clearInterval(keepAlive);
        m.ack();
        assert.equal(quiet, 'quiet', `redelivered after ${Date.now() - start} ms despite working()`);
      });

      it('stops after maxDeliver deliveries, and never redelivers a termed message', T, async () => {
        await using bus = await env.connect();
        const { stream, prefix } = await setup(bus);
        await bus.publishDurable(`${prefix}.p`, bytes('poison'));
        await bus.publishDurable(`${prefix}.t`, bytes('term me'));
        await using c = await bus.consumer(stream, 'max', { ackWaitMs: 200, maxDeliver: 2 });
        const it = c[Symbol.asyncIterator]();
        const seen: StreamMessage[] = [];
        // poison: delivered twice (never acked); term-me: termed on first delivery.
        while (seen.filter((m) => text(m.data) === 'poison').length < 2) {
          const m = await nextWithin(it, 5_000);
          seen.push(m);
          if (text(m.data) === 'term me') m.term();
        }
        assert.deepEqual(
          seen.map((m) => [text(m.data), m.deliveryCount]),
          [
            ['poison', 1],
            ['term me', 1],
            ['poison', 2],
          ],
        );
        await expectQuiet(it, 600);
      });

      it('a durable resumes after its feed stops, even from another client', T, async () => {
        const first = await env.connect();
        const { stream, prefix } = await setup(first);
        for (let i = 1; i <= 5; i++) await first.publishDurable(`${prefix}.r`, bytes(String(i)));
        const c1 = await first.consumer(stream, 'resume', { ackWaitMs: 200 });
        const got = await take(c1[Symbol.asyncIterator](), 2);
        for (const m of got) m.ack();
        await first.flush();
        await c1.stop();
        await first.close();

        await using second = await env.connect();
        await using c2 = await second.consumer(stream, 'resume', { ackWaitMs: 200 });
        const it = c2[Symbol.asyncIterator]();
        const rest = new Set<number>();
        while (rest.size < 3) {
          const m = await nextWithin(it, 5_000);
          assert.ok(m.sequence > 2, `acked message ${m.sequence} came again`);
          rest.add(m.sequence);
          m.ack();
        }
        assert.deepEqual([...rest].sort(), [3, 4, 5]);
      });

      it(
        'a new durable with deliverPolicy "new" skips what is stored; filterSubject narrows',
        T,
        async () => {
          await using bus = await env.connect();
          const { stream, prefix } = await setup(bus);
          await bus.publishDurable(`${prefix}.old`, bytes('old'));
          await using fresh = await bus.consumer(stream, 'fresh', { deliverPolicy: 'new' });
          await using only = await bus.consumer(stream, 'only', { filterSubject: `${prefix}.keep` });
          await bus.publishDurable(`${prefix}.skip`, bytes('skip'));
          await bus.publishDurable(`${prefix}.keep`, bytes('keep'));
          const [f] = await take(fresh[Symbol.asyncIterator](), 1);
          assert.equal(text(f?.data ?? new Uint8Array()), 'skip');
          const [o] = await take(only[Symbol.asyncIterator](), 1);
          assert.equal(text(o?.data ?? new Uint8Array()), 'keep');
        },
      );

      it('StreamNotFoundError for a consumer on a missing stream', T, async () => {
        await using bus = await env.connect();
        const missing = `NOPE_${uid()}`;
        await assert.rejects(
          bus.consumer(missing, 'd'),
          (err: unknown) => err instanceof StreamNotFoundError && err.stream === missing,
        );
        await assert.rejects(bus.stream('bad.name', ['x.>']), InvalidNameError);
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls consumer state until `ok` (acks travel asynchronously on NATS).
 * Throws after 5 s, naming what it waited for and the last state seen.
 */
async function waitForState(
  c: { state(): Promise<ConsumerState> },
  ok: (s: ConsumerState) => boolean,
  what: string,
): Promise<ConsumerState> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const s = await c.state();
    if (ok(s)) return s;
    if (Date.now() > deadline) {
      throw new DeadlineError(
        `waited 5000 ms for ${what}; consumer state: pending ${s.pending}, ackPending ${s.ackPending}`,
      );
    }
    await delay(20);
  }
}
