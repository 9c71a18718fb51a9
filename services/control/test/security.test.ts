import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BUCKETS, type Bus, connectBus } from '@saker/bus';
import { RULESET_KEY, decodeRulesetDocument, verifyRulesetDocument } from '@saker/rules';
import { parseHostPort } from '@saker/runtime';
import { isLoopbackHost } from '@saker/telemetry';
import { type TestPki, makeTestPki } from '@saker/testing';
import { ControlCallError, ControlClient, type ControlClientOptions } from '../src/client.js';
import { ControlConfigError } from '../src/options.js';
import { type ControlService, start } from '../src/server.js';
import { GOOD_RULES } from './helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    assert.ok(err instanceof ControlCallError, `expected ControlCallError, got ${String(err)}`);
    return err.codeName;
  }
}

async function withClient<T>(
  options: ControlClientOptions,
  fn: (c: ControlClient) => Promise<T>,
): Promise<T> {
  const client = new ControlClient({ timeoutMs: 5000, ...options });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

describe('mTLS: the service requires a client certificate from its CA', () => {
  let pki: TestPki;
  let bus: Bus;
  let service: ControlService;
  const controller = new AbortController();
  const signing = generateKeyPairSync('ed25519');

  before(async () => {
    pki = makeTestPki();
    bus = await connectBus({ memory: true });
    service = await start(
      {
        bus,
        tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
        signingKey: signing.privateKey,
      },
      controller.signal,
    );
  });
  after(async () => {
    controller.abort();
    await service.closed;
    await bus.close();
    pki[Symbol.dispose]();
  });

  test('a client with a certificate from the CA gets through (RuleService and health)', async () => {
    assert.equal(service.tls, true);
    assert.equal(service.mtls, true);
    await withClient(
      { address: service.address, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } },
      async (c) => {
        assert.equal(await c.health(), 'SERVING');
        const put = await c.putRuleset({
          files: [{ name: 'good.yaml', content: GOOD_RULES }],
          author: 'mallory',
        });
        assert.ok((put.revision?.revision ?? 0) > 0);
        assert.equal((await c.listRules()).rules.length, 2);
        // The author is the certificate's subject, not the client's claim.
        assert.equal(put.revision?.author, 'mtls:saker-test-client');
        assert.match(put.revision?.comment ?? '', /^\[claimed author: mallory\]/);
        const disabled = await c.disableRules({ selector: { rule: '*' } });
        assert.equal(disabled.revision?.author, 'mtls:saker-test-client');
      },
    );
    // Every revision control writes is signed with its key.
    const entry = await (await bus.kv(BUCKETS.rules)).get(RULESET_KEY);
    assert.ok(entry);
    const doc = decodeRulesetDocument(entry.value);
    assert.deepEqual(verifyRulesetDocument(doc, [signing.publicKey]).ok, true);
    assert.equal(doc.author, 'mtls:saker-test-client');
  });

  test('a signing key that is not an Ed25519 private key is refused at start', async () => {
    await assert.rejects(
      start({ bus, signingKey: signing.publicKey }, controller.signal),
      (err: unknown) => err instanceof ControlConfigError && err.option === 'signingKey',
    );
  });

  test('a client without a certificate is rejected', async () => {
    assert.equal(
      await codeOf(withClient({ address: service.address, tls: { ca: pki.caCert } }, (c) => c.listRules())),
      'UNAVAILABLE',
    );
  });

  test('a client whose certificate another CA signed is rejected', async () => {
    const code = await codeOf(
      withClient(
        {
          address: service.address,
          tls: { ca: pki.caCert, cert: pki.rogueCert, key: pki.rogueKey },
        },
        (c) => c.listRules(),
      ),
    );
    assert.equal(code, 'UNAVAILABLE');
  });

  test('a client that does not trust the server CA refuses the server', async () => {
    const code = await codeOf(
      withClient(
        { address: service.address, tls: { ca: pki.rogueCaCert, cert: pki.clientCert, key: pki.clientKey } },
        (c) => c.listRules(),
      ),
    );
    assert.equal(code, 'UNAVAILABLE');
  });

  test('a plaintext client is rejected', async () => {
    assert.equal(await codeOf(withClient({ address: service.address }, (c) => c.listRules())), 'UNAVAILABLE');
  });
});

describe('bearer token', () => {
  let bus: Bus;
  let service: ControlService;
  const controller = new AbortController();
  const token = 's3cret-token-value';

  before(async () => {
    bus = await connectBus({ memory: true });
    service = await start({ bus, token }, controller.signal);
  });
  after(async () => {
    controller.abort();
    await service.closed;
    await bus.close();
  });

  test('the right token passes every RPC', async () => {
    await withClient({ address: service.address, token }, async (c) => {
      await c.putRuleset({ files: [{ name: 'good.yaml', content: GOOD_RULES }] });
      assert.equal((await c.listRules()).rules.length, 2);
      assert.equal((await c.describeRule('Open etc')).rule?.name, 'Open etc');
      assert.equal((await c.validateRuleset({ files: [{ name: 'g.yaml', content: GOOD_RULES }] })).ok, true);
      assert.deepEqual((await c.disableRules({ selector: { rule: 'Open etc' } })).matched, ['Open etc']);
      assert.deepEqual((await c.enableRules({ selector: { rule: 'Open etc' } })).matched, ['Open etc']);
      const ac = new AbortController();
      const first = await c.watchRulesets({}, ac.signal).next();
      assert.ok((first.value?.revision ?? 0) > 0);
      ac.abort();
    });
  });

  test('a missing or wrong token is UNAUTHENTICATED on every RPC, the watch included', async () => {
    for (const t of [undefined, 'wrong', `${token}x`, token.slice(0, -1)]) {
      await withClient({ address: service.address, ...(t === undefined ? {} : { token: t }) }, async (c) => {
        assert.equal(await codeOf(c.listRules()), 'UNAUTHENTICATED');
        assert.equal(await codeOf(c.describeRule('Open etc')), 'UNAUTHENTICATED');
        assert.equal(await codeOf(c.validateRuleset({ files: [] })), 'UNAUTHENTICATED');
        assert.equal(
          await codeOf(c.putRuleset({ files: [{ name: 'good.yaml', content: GOOD_RULES }] })),
          'UNAUTHENTICATED',
        );
        assert.equal(await codeOf(c.enableRules({ selector: { rule: 'x' } })), 'UNAUTHENTICATED');
        assert.equal(await codeOf(c.disableRules({ selector: { rule: 'x' } })), 'UNAUTHENTICATED');
        const watch = c.watchRulesets({}).next();
        assert.equal(await codeOf(watch), 'UNAUTHENTICATED');
      });
    }
  });

  test('the health service answers without a token (kubelet probes send none)', async () => {
    await withClient({ address: service.address }, async (c) => {
      assert.equal(await c.health(), 'SERVING');
    });
  });
});

describe('options', () => {
  test('without TLS or a token, a non-loopback address is refused before listening', async () => {
    await using bus = await connectBus({ memory: true });
    await assert.rejects(
      start({ bus, listen: '0.0.0.0:0' }, new AbortController().signal),
      (err: unknown) =>
        err instanceof ControlConfigError && err.option === 'listen' && /loopback/.test(err.message),
    );
    await assert.rejects(start({ bus, listen: '[::]:0' }, new AbortController().signal), ControlConfigError);
    // A token alone is read by anyone on the path: refused without TLS, unless opted out loudly.
    await assert.rejects(
      start({ bus, listen: '0.0.0.0:0', token: 't' }, new AbortController().signal),
      (err: unknown) =>
        err instanceof ControlConfigError &&
        err.option === 'listen' &&
        /bearer tokens in clear on 0\.0\.0\.0 .*allowPlaintextToken/.test(err.message),
    );
    const ac = new AbortController();
    const svc = await start({ bus, listen: '0.0.0.0:0', token: 't', allowPlaintextToken: true }, ac.signal);
    assert.ok(svc.port > 0);
    ac.abort();
    await svc.closed;
  });

  test('bad listen addresses name the option', async () => {
    await using bus = await connectBus({ memory: true });
    for (const listen of ['nope', '127.0.0.1', '127.0.0.1:99999', '[zz]:1']) {
      await assert.rejects(
        start({ bus, listen }, new AbortController().signal),
        (err: unknown) => err instanceof ControlConfigError && err.option === 'listen',
        listen,
      );
    }
  });

  test('loopback detection and host:port parsing', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) {
      assert.equal(isLoopbackHost(h), true, h);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) {
      assert.equal(isLoopbackHost(h), false, h);
    }
    assert.deepEqual(parseHostPort('[::1]:50051', 'x'), { host: '::1', port: 50051 });
    assert.deepEqual(parseHostPort('localhost:0', 'x'), { host: 'localhost', port: 0 });
  });

  test('close() and the abort signal stop the service; health goes away', async () => {
    await using bus = await connectBus({ memory: true });
    const ac = new AbortController();
    const svc = await start({ bus }, ac.signal);
    await withClient({ address: svc.address, timeoutMs: 1000 }, async (c) => {
      assert.equal(await c.health(), 'SERVING');
      await svc.close();
      assert.equal(await codeOf(c.health()), 'UNAVAILABLE');
    });
    await svc.closed;
  });

  test('the client retryable set is UNAVAILABLE and RESOURCE_EXHAUSTED', () => {
    const e = new ControlCallError('ListRules', status.UNAVAILABLE, 'down', undefined);
    assert.equal(e.retryable, true);
    assert.equal(new ControlCallError('PutRuleset', status.ABORTED, 'race', undefined).retryable, false);
    assert.equal(
      new ControlCallError('PutRuleset', status.INVALID_ARGUMENT, 'bad', undefined).retryable,
      false,
    );
  });
});

describe('delegation: saker-on-behalf-of, from the identities in delegates only', () => {
  let pki: TestPki;
  let bus: Bus;
  const controller = new AbortController();
  const services: ControlService[] = [];

  before(async () => {
    pki = makeTestPki();
    bus = await connectBus({ memory: true });
  });
  after(async () => {
    controller.abort();
    await Promise.all(services.map((s) => s.closed));
    await bus.close();
    pki[Symbol.dispose]();
  });

  const mtls = async (delegates?: readonly string[]): Promise<ControlClientOptions> => {
    const service = await start(
      {
        bus,
        tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert },
        ...(delegates === undefined ? {} : { delegates }),
      },
      controller.signal,
    );
    services.push(service);
    return { address: service.address, tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } };
  };

  test('a listed identity writes as "<name> via <identity>"; a name with control characters is refused', async () => {
    await withClient(await mtls(['mtls:saker-test-client']), async (c) => {
      const put = await c.putRuleset(
        { files: [{ name: 'good.yaml', content: GOOD_RULES }], comment: 'from the UI' },
        undefined,
        'ui:alice',
      );
      assert.equal(put.revision?.author, 'ui:alice via mtls:saker-test-client');
      assert.equal(put.revision?.comment, 'from the UI');
      const off = await c.disableRules({ selector: { rule: 'Open etc' } }, undefined, 'ui:bob@example.com');
      assert.equal(off.revision?.author, 'ui:bob@example.com via mtls:saker-test-client');
      const accented = await c.enableRules({ selector: { rule: 'Open etc' } }, undefined, 'ui:zoë');
      assert.equal(accented.revision?.author, 'ui:zoë via mtls:saker-test-client');
      for (const bad of ['ui:\u001b[31mroot', 'ui:a\u202eb', 'x'.repeat(257), '']) {
        assert.equal(
          await codeOf(c.enableRules({ selector: { rule: 'Open etc' } }, undefined, bad)),
          'INVALID_ARGUMENT',
          JSON.stringify(bad),
        );
      }
      // Without the metadata, the author is the caller itself.
      const own = await c.enableRules({ selector: { rule: 'Open etc' } });
      assert.equal(own.revision?.author, 'mtls:saker-test-client');
    });
  });

  test('an identity not listed (an mTLS client under the default list) is PERMISSION_DENIED, nothing written', async () => {
    await withClient(await mtls(), async (c) => {
      const before = (await c.listRules()).revision;
      const err = await c.disableRules({ selector: { rule: 'Open etc' } }, undefined, 'ui:alice').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ControlCallError);
      assert.equal(err.codeName, 'PERMISSION_DENIED');
      assert.match(
        err.details,
        /saker-on-behalf-of-bin: mtls:saker-test-client may not act on behalf of another author/,
      );
      assert.equal((await c.listRules()).revision, before);
    });
  });

  test('a delegates entry that is no caller identity is refused at start', async () => {
    await assert.rejects(
      start({ bus, delegates: ['alice'] }, controller.signal),
      (err: unknown) => err instanceof ControlConfigError && err.option === 'delegates',
    );
  });
});
