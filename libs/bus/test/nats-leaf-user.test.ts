/**
 * A node's leaf node reaching the hub with one user for the node services it
 * carries (natsLeafPermissions(LEAF_SERVICES)): real hub (JetStream, domain
 * `saker`, per-service users) and leaf (the chart's mapping of `$JS.API.>`
 * into the domain). The node's sensor and engine work through the leaf; what
 * neither may publish (audit events) does not reach the hub; a KV write does
 * not cross the leaf at all (why node-mode enrich connects to the hub); a
 * client without credentials is refused by the hub.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type NatsServerHandle, freePort, startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { BusConnectionError, NoRespondersError } from '../src/errors.js';
import type { SakerService } from '../src/permissions.js';
import { LEAF_SERVICES } from '../src/permissions.js';
import { natsAuthorizationBlock, natsInboxPrefix, natsLeafPermissions } from '../src/permissions.js';
import { BUCKETS, STREAMS, SUBJECTS } from '../src/subjects.js';
import type { Bus } from '../src/transport.js';
import { bytes, expectQuiet, nextWithin, text } from './helpers.js';

const DOMAIN = 'saker';
const scratch = mkdtempSync(join(tmpdir(), 'saker-nats-leaf-'));

function passwordFile(user: string): string {
  const path = join(scratch, `${user}.pw`);
  writeFileSync(path, `pw-${user}\n`, { mode: 0o600 });
  return path;
}

describe('a leaf node user at the hub for the node services', { timeout: 60_000 }, () => {
  let hub: NatsServerHandle;
  let leaf: NatsServerHandle;
  const buses: Bus[] = [];

  async function at(server: NatsServerHandle, service: SakerService, user?: string): Promise<Bus> {
    const bus = await connectBus({
      url: server.url,
      name: `leaf-test-${service}`,
      inboxPrefix: natsInboxPrefix(service),
      maxReconnectAttempts: 0,
      ...(user === undefined ? {} : { auth: { user, passwordFile: passwordFile(user) } }),
    });
    buses.push(bus);
    return bus;
  }

  before(async () => {
    const leafPort = await freePort();
    const users = natsAuthorizationBlock([
      { service: 'control', user: 'control', password: 'pw-control' },
      { service: 'admin', user: 'admin', password: 'pw-admin' },
      {
        service: 'sensor',
        user: 'leaf',
        password: 'pw-leaf',
        leaf: { services: LEAF_SERVICES, domain: DOMAIN },
      },
    ]);
    hub = await startNatsServer({
      jetstream: true,
      config: `jetstream { domain: ${DOMAIN} }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n${users}`,
    });
    leaf = await startNatsServer({
      config: `leafnodes { remotes: [ { urls: ["nats-leaf://leaf:pw-leaf@127.0.0.1:${leafPort}"] } ] }
mappings { "$JS.API.>": "$JS.${DOMAIN}.API.>" }
`,
    });
  });
  after(async () => {
    for (const b of buses) await b.close();
    await leaf?.stop();
    await hub?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the union covers every node, with the JetStream API in the domain', () => {
    const p = natsLeafPermissions(LEAF_SERVICES, DOMAIN);
    assert.ok(p.publish.includes('saker.v1.events.syscall.*'));
    assert.ok(p.publish.includes(`$JS.${DOMAIN}.API.STREAM.INFO.KV_${BUCKETS.rules}`));
    assert.ok(!p.publish.some((s) => s.startsWith('$JS.API.')), 'no JetStream call outside the domain');
    assert.ok(!p.publish.some((s) => s.startsWith('$KV.')), 'no KV write');
    assert.ok(!p.publish.includes(SUBJECTS.k8sAuditEvents), 'no audit events');
    assert.ok(p.subscribe.includes(`${natsInboxPrefix('engine')}.>`));
  });

  test('sensor and engine work through the leaf; what they may not publish stays out of the hub', async () => {
    const control = await at(hub, 'control', 'control');
    const rules = await control.kv(BUCKETS.rules);
    await rules.put('current', bytes('rev-1'));
    const admin = await at(hub, 'admin', 'admin');
    const atHub = admin.subscribe('saker.v1.events.>');
    await admin.flush();

    const engine = await at(leaf, 'engine');
    const sensor = await at(leaf, 'sensor');
    const seen = engine.subscribe(SUBJECTS.allSyscallEvents, { queue: 'engine' });
    await engine.flush();
    sensor.publish(SUBJECTS.syscallEvents('node-a'), bytes('batch'));
    const got = await nextWithin(seen[Symbol.asyncIterator](), 5_000, 'the event batch');
    assert.equal(text(got.data), 'batch');

    const read = await engine.kv(BUCKETS.rules);
    assert.equal(text((await read.get('current'))?.value ?? bytes('')), 'rev-1');
    const info = await engine.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    assert.equal(info.name, STREAMS.alerts.name);
    await engine.publishDurable(SUBJECTS.alert('syscall', 'warning'), bytes('alert'));
    assert.equal((await admin.streamInfo(STREAMS.alerts.name)).messages, 1);

    // An event batch of another node reaches the hub (the leaf user is for every node); audit events do not.
    sensor.publish(SUBJECTS.k8sAuditEvents, bytes('forged audit'));
    sensor.publish(SUBJECTS.syscallEvents('node-b'), bytes('other node'));
    const it = atHub[Symbol.asyncIterator]();
    const first = await nextWithin(it, 5_000, 'the event batch at the hub');
    assert.equal(first.subject, SUBJECTS.syscallEvents('node-a'));
    const second = await nextWithin(it, 5_000, "node-b's batch at the hub");
    assert.equal(second.subject, SUBJECTS.syscallEvents('node-b'), 'the forged audit batch was dropped');
    await expectQuiet(it, 500);

    // A KV write does not cross a leaf connection into the hub's JetStream domain, whoever asks.
    const meta = await engine.kv(BUCKETS.rules);
    await assert.rejects(meta.put('current', bytes('rogue')), (e) => e instanceof NoRespondersError);
    assert.equal(text((await rules.get('current'))?.value ?? bytes('')), 'rev-1');
  });

  test('the hub refuses a client without credentials', async () => {
    await assert.rejects(
      connectBus({ url: hub.url, maxReconnectAttempts: 0, connectTimeoutMs: 2_000 }),
      BusConnectionError,
    );
  });
});
