/**
 * `saker <service>` against a nats-server that requires TLS (client
 * certificates) and a user/password login, one user per service with the
 * least permissions (`natsAuthorizationBlock`, docs/security.md). Each
 * process starts through the runtime's normal path from its own saker.yaml,
 * whose `nats:` section names the CA, its certificate and key, its user and
 * a password_file (as a mounted Secret would): `saker engine` and `saker
 * sinks` writing a file. Recorded events, published as a batch by the test
 * logged in as a node's sensor user, become the alerts the sink writes; no
 * password is ever printed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BUCKETS,
  STREAMS,
  SUBJECTS,
  batchHeaders,
  connectBus,
  encodeBatch,
  natsAuthorizationBlock,
  natsInboxPrefix,
  toToken,
} from '@saker/bus';
import type { SakerService } from '@saker/bus';
import { type SakerEvent, readEventsFile } from '@saker/events';
import {
  type NatsServerHandle,
  type TestPki,
  makeTestPki,
  natsServerTls,
  repoRoot,
  startNatsServer,
  within,
} from '@saker/testing';
import { SakerProcess, alertsIn } from './saker-process.js';

/** A NATS user of one service. */
type Account = Readonly<{ service: SakerService; user: string }>;

const ACCOUNTS: readonly Account[] = [
  { service: 'sensor', user: 'sensor-w1' },
  { service: 'engine', user: 'engine' },
  { service: 'sinks', user: 'sinks' },
  { service: 'admin', user: 'admin' },
];

const passwordOf = (user: string): string => `pw-${user}-${user.length * 7919}-secret`;

const DEMO = join(repoRoot(), 'examples', 'demo-events.jsonl');
/** The demo's events come from this node; its sensor user may publish that node's subject only. */
const NODE = 'worker-1';
/** Syscall alerts of the demo recording with Saker's default rules (as in services.test.ts). */
const SYSCALL_ALERTS = 6;

describe('saker <service> over NATS with TLS and a password login', { timeout: 180_000 }, () => {
  let pki: TestPki;
  let nats: NatsServerHandle;

  /** A bus logged in as `user` over TLS, with its password from its file. */
  const login = (service: SakerService, user: string) =>
    connectBus({
      url: nats.url,
      tls: { ca: pki.files.caCert, cert: pki.files.clientCert, key: pki.files.clientKey },
      auth: { user, passwordFile: passwordFileOf(user) },
      inboxPrefix: natsInboxPrefix(service),
      maxReconnectAttempts: 0,
    });

  /** The user's password in a file of its own, as a mounted Secret holds it. */
  function passwordFileOf(user: string, password = passwordOf(user)): string {
    const file = join(pki.dir, `${user}.${password === passwordOf(user) ? '' : 'wrong.'}password`);
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    return file;
  }

  /** The saker.yaml of one service: its own NATS user; the rest is the same for all. */
  function configFor(account: Account, password = passwordOf(account.user)): string {
    const passwordFile = passwordFileOf(account.user, password);
    const file = join(
      pki.dir,
      `saker-${account.service}${password === passwordOf(account.user) ? '' : '-wrong'}.yaml`,
    );
    writeFileSync(
      file,
      [
        `hostname: ${NODE}`,
        'nats:',
        `  url: ${JSON.stringify(nats.url)}`,
        '  tls:',
        `    ca: ${JSON.stringify(pki.files.caCert)}`,
        `    cert: ${JSON.stringify(pki.files.clientCert)}`,
        `    key: ${JSON.stringify(pki.files.clientKey)}`,
        '  auth:',
        `    user: ${account.user}`,
        `    password_file: ${JSON.stringify(passwordFile)}`,
        `  inbox_prefix: _INBOX_${account.service}`,
        'json_output: true',
        'stdout_output: { enabled: false }',
        'syslog_output: { enabled: false }',
        `file_output: { enabled: true, filename: ${JSON.stringify(join(pki.dir, 'alerts.json'))} }`,
        'telemetry: { listen: 127.0.0.1:0 }',
        'log: { format: text, level: info }',
        '',
      ].join('\n'),
    );
    return file;
  }

  before(async () => {
    pki = makeTestPki({ prefix: 'saker-e2e-nats-tls-' });
    const users = natsAuthorizationBlock(
      ACCOUNTS.map((a) => ({
        service: a.service,
        user: a.user,
        password: passwordOf(a.user),
        ...(a.service === 'sensor' ? { node: NODE } : {}),
      })),
    );
    nats = await startNatsServer({
      jetstream: true,
      config: `${natsServerTls(pki)}\n${users}`,
    });
    // What the chart's set-up job does as admin: the streams and buckets the services use.
    const admin = await login('admin', 'admin');
    try {
      for (const s of [STREAMS.alerts, STREAMS.audit, STREAMS.deadLetter])
        await admin.stream(s.name, s.subjects);
      for (const b of [BUCKETS.rules, BUCKETS.meta]) await admin.kv(b);
    } finally {
      await admin.close();
    }
  });

  after(async () => {
    await nats?.stop();
    pki?.[Symbol.dispose]();
  });

  it('engine and sinks log in with their own user over TLS; a node’s events become alerts', async () => {
    const procs: SakerProcess[] = [];
    const start = (account: Account, ...args: string[]): SakerProcess => {
      const p = new SakerProcess(`saker ${account.service}`, [
        account.service,
        '--config',
        configFor(account),
        ...args,
      ]);
      procs.push(p);
      return p;
    };
    const account = (service: SakerService): Account => {
      const a = ACCOUNTS.find((x) => x.service === service);
      assert.ok(a, service);
      return a;
    };
    try {
      const sinks = start(account('sinks'));
      const engine = start(account('engine'));
      for (const p of [sinks, engine]) await p.waitFor(/running: bus=/);
      // What a sensor of that node publishes: one batch on its node's subject.
      const events: SakerEvent[] = [];
      for await (const e of readEventsFile(DEMO)) events.push(e);
      const sensor = await login('sensor', account('sensor').user);
      try {
        const batch = encodeBatch(events);
        sensor.publish(
          SUBJECTS.syscallEvents(toToken(NODE)),
          batch.data,
          batchHeaders(batch.count, batch.codec),
        );
        await sensor.flush();
      } finally {
        await sensor.close();
      }
      const alerts = await alertsIn(join(pki.dir, 'alerts.json'), SYSCALL_ALERTS);
      assert.equal(alerts.length, SYSCALL_ALERTS, alerts.join('\n'));
      for (const line of alerts) assert.equal((JSON.parse(line) as { hostname: string }).hostname, NODE);
      for (const p of [engine, sinks]) assert.equal(await p.stop(), 0, `${p.what}:\n${p.stderr}`);
      for (const p of procs) {
        for (const a of ACCOUNTS) {
          assert.ok(!p.stderr.includes(passwordOf(a.user)), `${p.what} printed ${a.user}'s password`);
        }
        assert.doesNotMatch(p.stderr, /permission|not authorized|authorization violation/i, p.stderr);
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });

  it('a wrong password is refused at start, and not printed', async () => {
    const wrong = 'not-the-engine-password-123';
    const engine = new SakerProcess('saker engine (wrong password)', [
      'engine',
      '--config',
      configFor({ service: 'engine', user: 'engine' }, wrong),
    ]);
    try {
      assert.equal(await within('saker engine exiting', engine.exited, 60_000), 1, engine.stderr);
      assert.match(engine.stderr, /authorization violation/i);
      assert.ok(!engine.stderr.includes(wrong), engine.stderr);
    } finally {
      await engine.stop();
    }
  });
});
