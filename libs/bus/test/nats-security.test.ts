/**
 * NATS security against a real nats-server: TLS with a CA from the test PKI
 * (and client certificates), one user per service with the permission map,
 * each service's allowed work done and its forbidden work refused.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { type NatsServerHandle, makeTestPki, natsServerTls, startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { BusConnectionError, type BusError, BusPermissionError } from '../src/errors.js';
import {
  type NatsAuthFiles,
  NatsSecurityConfigError,
  type NatsTlsFiles,
  redactNatsUrl,
  splitUrlCredentials,
} from '../src/nats/auth.js';
import {
  type SakerService,
  natsAuthorizationBlock,
  natsInboxPrefix,
  natsPermissions,
} from '../src/permissions.js';
import { BUCKETS, STREAMS, SUBJECTS } from '../src/subjects.js';
import type { Bus } from '../src/transport.js';
import { bytes, nextWithin, text } from './helpers.js';

const pki = makeTestPki({ prefix: 'saker-nats-sec-' });
const NODE = 'node-a.example';

interface Account {
  readonly service: SakerService;
  readonly user: string;
  readonly node?: string;
}

const ACCOUNTS: readonly Account[] = [
  { service: 'sensor', user: 'sensor-a', node: NODE },
  { service: 'audit', user: 'audit' },
  { service: 'engine', user: 'engine' },
  { service: 'control', user: 'control' },
  { service: 'sinks', user: 'sinks' },
  { service: 'enrich-node', user: 'enrich-a', node: NODE },
  { service: 'enrich-cluster', user: 'enrich-cluster' },
  { service: 'admin', user: 'admin' },
];

const passwordOf = (user: string): string => `pw-${user}-${user.length}`;
const nkeyUser = createUser();

function secretFile(name: string, content: string): string {
  const path = join(pki.dir, name);
  writeFileSync(path, `${content}\n`, { mode: 0o600 });
  return path;
}

const tls: NatsTlsFiles = { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey };

function serverConfig(): string {
  const users = natsAuthorizationBlock([
    ...ACCOUNTS.map((a) => ({
      service: a.service,
      user: a.user,
      password: passwordOf(a.user),
      ...(a.node === undefined ? {} : { node: a.node }),
    })),
    { service: 'engine', nkey: nkeyUser.getPublicKey() },
  ]);
  return `${natsServerTls(pki)}\n${users}`;
}

describe('NATS security: TLS and one user per service', () => {
  let server: NatsServerHandle;
  const buses = new Map<SakerService, Bus>();
  const asyncErrors = new Map<SakerService, BusError[]>();

  async function as(account: Account): Promise<Bus> {
    const errors: BusError[] = [];
    asyncErrors.set(account.service, errors);
    const bus = await connectBus({
      url: server.url,
      name: `test-${account.user}`,
      tls,
      auth: { user: account.user, passwordFile: secretFile(`${account.user}.pw`, passwordOf(account.user)) },
      inboxPrefix: natsInboxPrefix(account.service),
      onAsyncError: (err) => errors.push(err),
      maxReconnectAttempts: 0,
    });
    buses.set(account.service, bus);
    return bus;
  }
  const bus = (service: SakerService): Bus => {
    const b = buses.get(service);
    assert.ok(b, service);
    return b;
  };
  const account = (service: SakerService): Account => {
    const a = ACCOUNTS.find((x) => x.service === service);
    assert.ok(a);
    return a;
  };
  async function refusedAsync(service: SakerService, subject: string): Promise<void> {
    const errors = asyncErrors.get(service) ?? [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const hit = errors.find((e) => e instanceof BusPermissionError && e.subject === subject);
      if (hit !== undefined) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`${service}: no permission error for ${subject}; saw ${errors.map(String).join('; ')}`);
  }

  before(async () => {
    server = await startNatsServer({ jetstream: true, config: serverConfig() });
    for (const a of ACCOUNTS) await as(a);
  });
  after(async () => {
    for (const b of buses.values()) await b.close();
    await server?.stop();
    pki[Symbol.dispose]();
  });

  test('the server speaks TLS and refuses anonymous clients, wrong passwords and rogue certificates', async () => {
    assert.match(server.url, /^(nats|tls):\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(
      connectBus({ url: server.url, tls, maxReconnectAttempts: 0, connectTimeoutMs: 2_000 }),
      BusConnectionError,
    );
    await assert.rejects(
      connectBus({
        url: server.url,
        tls,
        auth: { user: 'engine', passwordFile: secretFile('wrong.pw', 'not-the-password') },
        maxReconnectAttempts: 0,
        connectTimeoutMs: 2_000,
      }),
      BusConnectionError,
    );
    await assert.rejects(
      connectBus({
        url: server.url,
        tls: { ca: pki.files.caCert, cert: pki.files.rogueCert, key: pki.files.rogueKey },
        auth: { user: 'engine', passwordFile: secretFile('engine2.pw', passwordOf('engine')) },
        maxReconnectAttempts: 0,
        connectTimeoutMs: 2_000,
      }),
      BusConnectionError,
    );
  });

  test('credentials in the URL are used, not dropped, and never printed', async () => {
    const port = new URL(server.url.replace(/^\w+:/, 'http:')).port;
    const url = `tls://engine:${encodeURIComponent(passwordOf('engine'))}@127.0.0.1:${port}`;
    assert.deepEqual(splitUrlCredentials(url).credentials, { user: 'engine', pass: passwordOf('engine') });
    assert.equal(redactNatsUrl(url), `tls://***@127.0.0.1:${port}`);
    const b = await connectBus({ url, tls, inboxPrefix: natsInboxPrefix('engine'), maxReconnectAttempts: 0 });
    try {
      await b.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    } finally {
      await b.close();
    }
    const bad = `tls://engine:wrong-secret@127.0.0.1:${port}`;
    await assert.rejects(
      connectBus({ url: bad, tls, maxReconnectAttempts: 0, connectTimeoutMs: 2_000 }),
      (err: unknown) => err instanceof BusConnectionError && !err.message.includes('wrong-secret'),
    );
  });

  test('an nkey seed read from a file authenticates', async () => {
    const seedFile = secretFile('engine.nk', new TextDecoder().decode(nkeyUser.getSeed()));
    const b = await connectBus({
      url: server.url,
      tls,
      auth: { nkeySeedFile: seedFile },
      inboxPrefix: natsInboxPrefix('engine'),
      maxReconnectAttempts: 0,
    });
    await b.kv(BUCKETS.rules).catch(() => undefined);
    await b.close();
  });

  test('two ways to authenticate at once are refused, naming both', async () => {
    const auth: NatsAuthFiles = {
      tokenFile: secretFile('t', 'x'),
      user: 'a',
      passwordFile: secretFile('p', 'y'),
    };
    await assert.rejects(
      connectBus({ url: server.url, auth }),
      (err: unknown) =>
        err instanceof BusConnectionError &&
        err.cause instanceof NatsSecurityConfigError &&
        err.cause.option === 'auth.tokenFile' &&
        /choose one way to authenticate, got auth\.user and auth\.tokenFile/.test(err.message),
    );
  });

  test('only control writes saker_rules; the engine reads and watches it, and may not write it', async () => {
    const rules = await bus('control').kv(BUCKETS.rules);
    const rev = await rules.put('ruleset.current', bytes('{"v":1}'));
    const engineKv = await bus('engine').kv(BUCKETS.rules);
    const got = await engineKv.get('ruleset.current');
    assert.equal(got?.revision, rev);
    const watch = await engineKv.watch({ key: 'ruleset.current' });
    const it = watch[Symbol.asyncIterator]();
    assert.equal(text((await nextWithin(it, 5_000)).value), '{"v":1}');
    await assert.rejects(engineKv.put('ruleset.current', bytes('{"v":"forged"}')), BusPermissionError);
    await assert.rejects(bus('sinks').kv(BUCKETS.rules), BusPermissionError);
    await rules.put('ruleset.current', bytes('{"v":2}'));
    assert.equal(text((await nextWithin(it, 5_000)).value), '{"v":2}');
    watch.stop();
  });

  test('a sensor publishes its own node only; the engine reads events and publishes alerts; sinks consume them', async () => {
    const engine = bus('engine');
    await engine.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const sub = engine.subscribe(SUBJECTS.allSyscallEvents, { queue: 'engine' });
    await engine.flush();
    const it = sub[Symbol.asyncIterator]();
    const sensor = bus('sensor');
    const own = SUBJECTS.syscallEvents('node-a_example');
    const other = SUBJECTS.syscallEvents('node-b');
    // Its own node's events and status report, the drop alert (internal, debug), the rules KV read: no other node, no other alert.
    const mine = natsPermissions('sensor', { node: NODE }).publish;
    assert.deepEqual(
      mine.filter((s) => !s.startsWith('$JS.')),
      [own, SUBJECTS.sensorStats('node-a_example'), SUBJECTS.alert('internal', 'debug')],
    );
    sensor.publish(other, bytes('forged'));
    sensor.publish(own, bytes('mine'));
    await sensor.flush();
    const first = await nextWithin(it, 5_000);
    assert.equal(first.subject, own, 'the forged batch for node-b never reached the engine');
    await refusedAsync('sensor', other);
    // A sensor cannot read alerts nor other services' replies.
    sensor.subscribe(SUBJECTS.allAlerts);
    await refusedAsync('sensor', SUBJECTS.allAlerts);
    sub.unsubscribe();

    await engine.publishDurable(SUBJECTS.alert('syscall', 'warning'), bytes('{"rule":"r"}'), { msgId: 'a1' });
    await assert.rejects(
      sensor.publishDurable(SUBJECTS.alert('syscall', 'warning'), bytes('{"rule":"forged"}')),
      BusPermissionError,
    );
    // The engine may not delete the stream it writes to.
    await assert.rejects(
      engine.request(`$JS.API.STREAM.DELETE.${STREAMS.alerts.name}`, bytes(''), { timeoutMs: 2_000 }),
      BusPermissionError,
    );

    const sinks = bus('sinks');
    await sinks.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const feed = await sinks.consumer(STREAMS.alerts.name, 'sink-test', {
      filterSubject: SUBJECTS.allAlerts,
    });
    const msg = await nextWithin(feed[Symbol.asyncIterator](), 5_000);
    assert.equal(text(msg.data), '{"rule":"r"}');
    msg.ack();
    await feed.stop();
    await sinks.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
    await sinks.publishDurable(SUBJECTS.deadLetter('webhook'), bytes('{}'));
    await assert.rejects(
      engine.publishDurable(SUBJECTS.deadLetter('webhook'), bytes('{}')),
      BusPermissionError,
    );
  });

  test('audit batches go through SAKER_AUDIT to the engine’s durable consumer', async () => {
    const audit = bus('audit');
    await audit.stream(STREAMS.audit.name, STREAMS.audit.subjects);
    await audit.publishDurable(SUBJECTS.k8sAuditEvents, bytes('batch'));
    const feed = await bus('engine').consumer(STREAMS.audit.name, 'engine');
    const msg = await nextWithin(feed[Symbol.asyncIterator](), 5_000);
    assert.equal(text(msg.data), 'batch');
    msg.ack();
    await feed.stop();
    await assert.rejects(
      bus('engine').publishDurable(SUBJECTS.k8sAuditEvents, bytes('forged')),
      BusPermissionError,
    );
  });

  test('node-mode enrich writes only its own node’s containers', async () => {
    const meta = await bus('enrich-node').kv(BUCKETS.meta);
    await meta.put('containers.node-a_example.abcdef123456', bytes('{}'));
    await assert.rejects(meta.put('containers.node-b.abcdef123456', bytes('{}')), BusPermissionError);
    await assert.rejects(meta.put('pods.uid-1', bytes('{}')), BusPermissionError);
    const cluster = await bus('enrich-cluster').kv(BUCKETS.meta);
    await cluster.put('pods.uid-1', bytes('{}'));
    const engineMeta = await bus('engine').kv(BUCKETS.meta);
    assert.ok(await engineMeta.get('pods.uid-1'));
    assert.equal(account('sensor').node, NODE);
  });
});

describe('NATS token auth from a file', () => {
  test('a token read from a file connects; a wrong one is refused', async () => {
    using local = makeTestPki({ prefix: 'saker-nats-token-' });
    const token = 's3cret-token';
    await using server = await startNatsServer({
      config: `authorization { token: ${JSON.stringify(token)} }\n`,
    });
    const file = join(local.dir, 'token');
    writeFileSync(file, token);
    const b = await connectBus({ url: server.url, auth: { tokenFile: file }, maxReconnectAttempts: 0 });
    await b.flush();
    await b.close();
    writeFileSync(file, 'wrong');
    await assert.rejects(
      connectBus({
        url: server.url,
        auth: { tokenFile: file },
        maxReconnectAttempts: 0,
        connectTimeoutMs: 2_000,
      }),
      BusConnectionError,
    );
  });
});
