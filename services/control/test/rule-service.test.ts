import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BUCKETS, type Bus, connectBus } from '@saker/bus';
import { RULESET_KEY, decodeRulesetDocument } from '@saker/rules';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import { ControlCallError, ControlClient } from '../src/client.js';
import { type ControlService, RULE_SERVICE_NAME, start } from '../src/server.js';
import { BROKEN_RULES, GOOD_RULES, MORE_RULES } from './helpers.js';

/** Rejects with a ControlCallError of `code`; returns it for more checks. */
async function rejectsWith(p: Promise<unknown>, code: status): Promise<ControlCallError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ControlCallError, `expected ControlCallError, got ${String(err)}`);
    assert.equal(err.codeName, status[code], err.message);
    return err;
  }
  assert.fail(`expected ${status[code]}, but the call succeeded`);
}

interface Backend {
  readonly name: string;
  open(): Promise<{ bus: Bus; [Symbol.asyncDispose](): Promise<void> }>;
}

const memory: Backend = {
  name: 'in-memory bus',
  open: async () => {
    const bus = await connectBus({ memory: true });
    return { bus, [Symbol.asyncDispose]: () => bus.close() };
  },
};

const nats: Backend = {
  name: 'nats-server (JetStream KV)',
  open: async () => {
    const server: NatsServerHandle = await startNatsServer({ jetstream: true });
    const bus = await connectBus({ url: server.url, name: 'control-test' });
    return {
      bus,
      [Symbol.asyncDispose]: async () => {
        await bus.close();
        await server.stop();
      },
    };
  },
};

function ruleServiceSuite(backend: Backend): void {
  describe(`RuleService over gRPC, ${backend.name}`, () => {
    let env: Awaited<ReturnType<Backend['open']>>;
    let service: ControlService;
    let client: ControlClient;
    const controller = new AbortController();

    before(async () => {
      env = await backend.open();
      service = await start({ bus: env.bus }, controller.signal);
      client = new ControlClient({ address: service.address, timeoutMs: 10_000 });
    });

    after(async () => {
      client.close();
      controller.abort();
      await service.closed;
      await env[Symbol.asyncDispose]();
    });

    const storedRevision = async (): Promise<number | null> => {
      const entry = await (await env.bus.kv(BUCKETS.rules)).get(RULESET_KEY);
      return entry?.revision ?? null;
    };

    test('listens on a loopback port the OS picked, and the health service says SERVING', async () => {
      assert.match(service.address, /^127\.0\.0\.1:\d+$/);
      assert.ok(service.port > 0);
      assert.equal(await client.health(), 'SERVING');
      assert.equal(await client.health(RULE_SERVICE_NAME), 'SERVING');
    });

    test('before the first put: no rules at revision 0, DescribeRule NOT_FOUND, Enable FAILED_PRECONDITION', async () => {
      const list = await client.listRules();
      assert.equal(list.revision, 0);
      assert.deepEqual(list.rules, []);
      await rejectsWith(client.describeRule('Shell spawned'), status.NOT_FOUND);
      const err = await rejectsWith(
        client.enableRules({ selector: { rule: 'Shell spawned' } }),
        status.FAILED_PRECONDITION,
      );
      assert.match(err.details, /put one first/);
    });

    test('ValidateRuleset: load results with file, line and column; nothing written', async () => {
      const ok = await client.validateRuleset({ files: [{ name: 'good.yaml', content: GOOD_RULES }] });
      assert.equal(ok.ok, true);
      assert.equal(ok.ruleCount, 2);
      assert.equal(ok.results[0]?.name, 'good.yaml');
      assert.equal(ok.results[0]?.successful, true);

      const bad = await client.validateRuleset({
        files: [
          { name: 'good.yaml', content: GOOD_RULES },
          { name: 'broken.yaml', content: BROKEN_RULES },
        ],
      });
      assert.equal(bad.ok, false);
      const broken = bad.results.find((r) => r.name === 'broken.yaml');
      assert.equal(broken?.successful, false);
      const d = broken?.errors[0];
      assert.equal(d?.code, 'LOAD_ERR_COMPILE_CONDITION');
      assert.ok(d?.codedesc);
      const inner = d?.locations.at(-1);
      assert.deepEqual([inner?.file, inner?.line, inner?.column], ['broken.yaml', 4, 36]);
      assert.ok(d?.locations.some((l) => l.itemType === 'rule' && l.itemName === 'Broken'));
      assert.match(d?.snippet ?? '', /\^/);
      assert.equal(await storedRevision(), null);
    });

    test('bad request fields are INVALID_ARGUMENT naming the field', async () => {
      const noFiles = await rejectsWith(client.putRuleset({ files: [] }), status.INVALID_ARGUMENT);
      assert.match(noFiles.details, /^files: /);
      const dup = await rejectsWith(
        client.validateRuleset({
          files: [
            { name: 'a.yaml', content: GOOD_RULES },
            { name: 'a.yaml', content: MORE_RULES },
          ],
        }),
        status.INVALID_ARGUMENT,
      );
      assert.match(dup.details, /^files\[1\]\.name: /);
      const noName = await rejectsWith(
        client.putRuleset({ files: [{ name: '', content: GOOD_RULES }] }),
        status.INVALID_ARGUMENT,
      );
      assert.match(noName.details, /^files\[0\]\.name: /);
      const action = await rejectsWith(
        client.putRuleset({
          files: [{ name: 'a.yaml', content: GOOD_RULES }],
          selections: [{ selector: { rule: 'x' } }],
        }),
        status.INVALID_ARGUMENT,
      );
      assert.match(action.details, /^selections\[0\]\.action: /);
      const empty = await rejectsWith(client.disableRules({ selector: {} }), status.INVALID_ARGUMENT);
      assert.match(empty.details, /^selector: /);
      const missing = await rejectsWith(client.disableRules({}), status.INVALID_ARGUMENT);
      assert.match(missing.details, /^selector: /);
      const blankTag = await rejectsWith(
        client.disableRules({ selector: { tags: ['ok', ' '] } }),
        status.INVALID_ARGUMENT,
      );
      assert.match(blankTag.details, /^selector\.tags\[1\]: /);
      await rejectsWith(client.describeRule(''), status.INVALID_ARGUMENT);
      assert.equal(await storedRevision(), null);
    });

    test('PutRuleset writes a new revision (the KV revision); List and Describe read it', async () => {
      const put = await client.putRuleset({
        files: [
          { name: 'good.yaml', content: GOOD_RULES },
          { name: 'more.yaml', content: MORE_RULES },
        ],
        author: 'alice',
        comment: 'first',
        expectedRevision: 0,
      });
      const rev = put.revision?.revision ?? 0;
      assert.ok(rev > 0);
      assert.equal(rev, await storedRevision());
      // The author is who authenticated (here nobody, on loopback), never the client's claim.
      assert.equal(put.revision?.author, 'unauthenticated:127.0.0.1');
      assert.equal(put.revision?.comment, '[claimed author: alice] first');
      assert.equal(put.revision?.ruleCount, 3);
      assert.equal(put.revision?.enabledRuleCount, 3);
      assert.equal(put.revision?.fileCount, 2);
      assert.ok(!Number.isNaN(Date.parse(put.revision?.updatedAt ?? '')));

      const list = await client.listRules();
      assert.equal(list.revision, rev);
      assert.deepEqual(
        list.rules.map((r) => r.name),
        ['Shell spawned', 'Open etc', 'Shell in container'],
      );
      assert.deepEqual(
        (await client.listRules({ tag: 'shell' })).rules.map((r) => r.name),
        ['Shell spawned'],
      );
      assert.equal((await client.listRules({ source: 'k8s_audit' })).rules.length, 0);

      const described = await client.describeRule('Open etc');
      assert.equal(described.revision, rev);
      assert.equal(described.rule?.priority, 'ERROR');
      assert.equal(described.rule?.file, 'good.yaml');
      assert.equal(described.rule?.line, 11);
      assert.deepEqual(described.rule?.tags, ['filesystem']);
      const nf = await rejectsWith(client.describeRule('Nope'), status.NOT_FOUND);
      assert.match(nf.details, /Nope/);

      // The document in KV is what engines read.
      const entry = await (await env.bus.kv(BUCKETS.rules)).get(RULESET_KEY);
      assert.ok(entry);
      const doc = decodeRulesetDocument(entry.value);
      assert.deepEqual(
        doc.files.map((f) => f.name),
        ['good.yaml', 'more.yaml'],
      );
      assert.equal(doc.author, 'unauthenticated:127.0.0.1');
    });

    test('an invalid ruleset is refused with its load results, and KV is unchanged', async () => {
      const before = await storedRevision();
      const err = await rejectsWith(
        client.putRuleset({
          files: [
            { name: 'good.yaml', content: GOOD_RULES },
            { name: 'broken.yaml', content: BROKEN_RULES },
          ],
        }),
        status.INVALID_ARGUMENT,
      );
      assert.match(err.details, /broken\.yaml:4:36/);
      assert.match(err.details, /nothing was written/);
      const failed = err.loadResults?.find((r) => r.name === 'broken.yaml');
      assert.equal(failed?.successful, false);
      const at = failed?.errors[0]?.locations.at(-1);
      assert.deepEqual([at?.file, at?.line, at?.column], ['broken.yaml', 4, 36]);
      assert.equal(await storedRevision(), before);
      assert.equal((await client.listRules()).rules.length, 3);
    });

    test('expected_revision guards a put: stale or "none yet" is ABORTED; current succeeds', async () => {
      const current = (await storedRevision()) ?? 0;
      await rejectsWith(
        client.putRuleset({ files: [{ name: 'good.yaml', content: GOOD_RULES }], expectedRevision: 0 }),
        status.ABORTED,
      );
      await rejectsWith(
        client.putRuleset({
          files: [{ name: 'good.yaml', content: GOOD_RULES }],
          expectedRevision: current + 100,
        }),
        status.ABORTED,
      );
      assert.equal(await storedRevision(), current);
      const put = await client.putRuleset({
        files: [
          { name: 'good.yaml', content: GOOD_RULES },
          { name: 'more.yaml', content: MORE_RULES },
        ],
        expectedRevision: current,
      });
      assert.ok((put.revision?.revision ?? 0) > current);
    });

    test('Disable and Enable by exact name, wildcard and tag; each a new revision', async () => {
      const r0 = (await storedRevision()) ?? 0;
      const byName = await client.disableRules({ selector: { rule: 'Open etc' }, author: 'bob' });
      assert.deepEqual(byName.matched, ['Open etc']);
      const r1 = byName.revision?.revision ?? 0;
      assert.ok(r1 > r0);
      assert.equal(byName.revision?.enabledRuleCount, 2);
      assert.equal(byName.revision?.author, 'unauthenticated:127.0.0.1');

      const wild = await client.disableRules({ selector: { rule: 'Shell *' } });
      assert.deepEqual(wild.matched, ['Shell spawned', 'Shell in container']);
      const r2 = wild.revision?.revision ?? 0;
      assert.ok(r2 > r1);
      assert.equal(wild.revision?.enabledRuleCount, 0);

      const tag = await client.enableRules({ selector: { tags: ['process'] } });
      assert.deepEqual(tag.matched, ['Shell spawned', 'Shell in container']);
      const r3 = tag.revision?.revision ?? 0;
      assert.ok(r3 > r2);
      const enabled = (await client.listRules()).rules.filter((r) => r.enabled).map((r) => r.name);
      assert.deepEqual(enabled, ['Shell spawned', 'Shell in container']);
      assert.equal(tag.revision?.selectionCount, 3);

      const none = await rejectsWith(
        client.enableRules({ selector: { rule: 'No such *' } }),
        status.NOT_FOUND,
      );
      assert.match(none.details, /No such/);
      assert.equal(await storedRevision(), r3);

      await rejectsWith(
        client.enableRules({ selector: { rule: 'Open etc' }, expectedRevision: r2 }),
        status.ABORTED,
      );
      const pinned = await client.enableRules({ selector: { rule: 'Open etc' }, expectedRevision: r3 });
      assert.ok((pinned.revision?.revision ?? 0) > r3);
      assert.equal(pinned.revision?.enabledRuleCount, 3);
    });

    test('concurrent enable/disable calls all land, each on its own revision (conflicts retried)', async () => {
      const start = (await client.listRules()).revision;
      const selectionsBefore = (await client.disableRules({ selector: { rule: 'Open etc' } })).revision
        ?.selectionCount;
      const names = ['Shell spawned', 'Open etc', 'Shell in container'];
      const calls = Array.from({ length: 8 }, (_, i) => {
        const selector = { rule: names[i % 3] ?? 'Open etc' };
        return i % 2 === 0 ? client.disableRules({ selector }) : client.enableRules({ selector });
      });
      const results = await Promise.all(calls);
      const revisions = results.map((r) => r.revision?.revision ?? 0);
      assert.equal(new Set(revisions).size, 8, `revisions ${revisions.join(',')}`);
      assert.ok(revisions.every((r) => r > start));
      const final = await client.listRules();
      assert.equal(final.revision, Math.max(...revisions));
      const entry = await (await env.bus.kv(BUCKETS.rules)).get(RULESET_KEY);
      assert.ok(entry);
      assert.equal(decodeRulesetDocument(entry.value).selections.length, (selectionsBefore ?? 0) + 8);
    });

    test('concurrent puts pinned to the same revision: exactly one wins, the rest are ABORTED', async () => {
      const current = (await storedRevision()) ?? 0;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          client.putRuleset({
            files: [{ name: 'good.yaml', content: GOOD_RULES }],
            comment: `writer ${i}`,
            expectedRevision: current,
          }),
        ),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          assert.ok(o.reason instanceof ControlCallError);
          assert.equal(o.reason.code, status.ABORTED);
        }
      }
    });

    test('WatchRulesets streams the current revision, then each new one', async () => {
      const ac = new AbortController();
      const seen: number[] = [];
      const stream = client.watchRulesets({}, ac.signal);
      const first = await stream.next();
      assert.equal(first.done, false);
      const current = first.value?.revision ?? 0;
      assert.equal(current, await storedRevision());
      const put = await client.putRuleset({
        files: [{ name: 'more.yaml', content: MORE_RULES }],
        author: 'watcher',
      });
      const next = await stream.next();
      seen.push(next.value?.revision ?? 0);
      assert.equal(next.value?.revision, put.revision?.revision);
      assert.equal(next.value?.author, 'unauthenticated:127.0.0.1');
      assert.equal(next.value?.ruleCount, 1);
      // A refused put never shows up on the stream.
      await rejectsWith(
        client.putRuleset({ files: [{ name: 'broken.yaml', content: BROKEN_RULES }] }),
        status.INVALID_ARGUMENT,
      );
      const dis = await client.disableRules({ selector: { rule: 'Shell in container' } });
      const third = await stream.next();
      assert.equal(third.value?.revision, dis.revision?.revision);
      assert.ok((third.value?.revision ?? 0) > (next.value?.revision ?? 0));
      assert.equal(third.value?.enabledRuleCount, 0);
      ac.abort();
      const end = await stream.next();
      assert.equal(end.done, true);
    });

    test('WatchRulesets with skip_current sends only later revisions', async () => {
      const ac = new AbortController();
      const stream = client.watchRulesets({ skipCurrent: true }, ac.signal);
      await stream.ready;
      const put = await client.putRuleset({ files: [{ name: 'good.yaml', content: GOOD_RULES }] });
      const first = await stream.next();
      assert.equal(first.value?.revision, put.revision?.revision);
      ac.abort();
      await stream.return(undefined);
    });
  });
}

ruleServiceSuite(memory);
ruleServiceSuite(nats);
